// `npm run bench`: what the safety layer costs. Prints tables, asserts nothing.
// Full path: JSON-RPC over Node's keep-alive fetch → wrangler dev (Worker + Durable Object) →
// bridge → simulator, all real processes on loopback. Every route is timed interleaved with the
// floors (a hello-world Worker and Durable Object in the edge's own Worker, test/bench/floor/), so
// load on the shared machine moves floor and route together. Also: edge→bridge trips per tool
// (the edge's own count), the link's ping, a modelled deployed latency, 10 concurrent readers
// with a slow order in flight, the direct @stoqey/ib path, the pure decision, the bridge's memory.
import { execFileSync } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";
import { type TestStack, ROOT, startTestStack } from "../e2e/harness";
import { type CondorOrder, ironCondor } from "../e2e/scenario";
import { decisionMicros } from "./decision";
import { directSeries } from "./direct";
import { type Floors, floorsBesideEdge, floorsOf } from "./floors";
import { ERAS, type Era, rawMcp } from "./raw-mcp";
import { percentile, summarize } from "./stats";

const READS = Number(process.env.BENCH_READS ?? 200);
const MEMORY_OPS = Number(process.env.BENCH_MEMORY_OPS ?? 1_000);
/** Calls of the tools that send several TWS messages each (paced: see `beside`). */
const PACED = Number(process.env.BENCH_PACED ?? 60);
const CONCURRENT = 10;
const CONCURRENT_CALLS = Number(process.env.BENCH_CONCURRENT_CALLS ?? 60);
/** The box↔Cloudflare round trip a deployed bridge pays per trip (10–40 ms; 20 ms modelled). */
const DEPLOYED_RTT_MS = 20;

/** Resident memory of a process group in MiB (tsx runs the bridge in a child node process). */
function groupRssMiB(pgid: number): number {
  const out = execFileSync("ps", ["-o", "rss=", "-g", String(pgid)], { encoding: "utf8" });
  return out.split("\n").map(Number).filter((n) => n > 0).reduce((a, b) => a + b, 0) / 1024;
}

const fmt = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(2) : "—");
const p50 = (samples: number[]) => percentile([...samples].sort((a, b) => a - b), 50);
const p99 = (samples: number[]) => percentile([...samples].sort((a, b) => a - b), 99);
const time = async (op: () => Promise<unknown>): Promise<number> => {
  const t0 = performance.now();
  await op();
  return performance.now() - t0;
};

interface Row {
  name: string;
  /** Per revision (a route outside MCP has one series, under the first). */
  samples: Partial<Record<Era, number[]>>;
  worker: number[];
  object: number[];
  trips: number;
}

type Link = { ping_ms: number | null; requests_sent: Record<string, number> };
async function link(t: TestStack): Promise<Link> {
  return (await t.stack.admin("/api/link")).json() as Promise<Link>;
}
const totalSent = (l: Link) => Object.values(l.requests_sent).reduce((a, b) => a + b, 0);

/**
 * `count` rounds, each one hello-Worker and one hello-DO request and then the route once per
 * revision given (interleaved, so load moves floors and both revisions alike). `gapMs` rests
 * between calls, untimed: the bridge paces TWS messages (at most 38 a second, 8 in 100 ms, as
 * IBKR's 50/s demands), so back-to-back calls of a tool that sends five messages (a 4-leg quote and
 * an order) would measure the pacer's queue, not the call.
 */
async function beside(t: TestStack, floors: Floors, name: string, count: number, ops: Partial<Record<Era, (i: number) => Promise<unknown>>>, warmup = 5, gapMs = 0, after?: () => Promise<unknown>): Promise<Row> {
  const eras = ERAS.filter((era) => ops[era]);
  const rest = async () => {
    await after?.();
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
  };
  for (let i = 0; i < warmup; i++)
    for (const era of eras) {
      await ops[era]!(-1 - i);
      await rest();
    }
  const before = totalSent(await link(t));
  const row: Row = { name, samples: Object.fromEntries(eras.map((era) => [era, []])), worker: [], object: [], trips: 0 };
  for (let i = 0; i < count; i++) {
    row.worker.push(await time(() => fetch(floors.workerUrl).then((r) => r.text())));
    row.object.push(await time(() => fetch(floors.objectUrl).then((r) => r.text())));
    for (const era of eras) {
      row.samples[era]!.push(await time(() => ops[era]!(i)));
      await rest();
    }
  }
  // The probe itself is one request; background writes (write_log of a refusal) would show here too.
  // An `after` hook's own trips (an order's cancel) are not the route's: counted out by the caller.
  row.trips = (totalSent(await link(t)) - before) / (count * eras.length);
  return row;
}

/** The same MCP operation through a client of each revision. */
function bothEras(t: TestStack, op: (mcp: ReturnType<typeof rawMcp>, i: number) => Promise<unknown>): Record<Era, (i: number) => Promise<unknown>> {
  const clients = { "2025-11-25": rawMcp(t, "2025-11-25"), "2026-07-28": rawMcp(t, "2026-07-28") };
  return { "2025-11-25": (i) => op(clients["2025-11-25"], i), "2026-07-28": (i) => op(clients["2026-07-28"], i) };
}

async function distinctCondors(t: TestStack): Promise<CondorOrder[]> {
  // The duplicate-order check refuses a repeat of the same structure, so each order differs.
  const specs: [string, number][] = [3, 2, 4, 1, 5].flatMap((width) => ["SPY", "QQQ", "IWM"].map((symbol): [string, number] => [symbol, width]));
  const out: CondorOrder[] = [];
  for (const [symbol, width] of specs) {
    const order = await ironCondor(t.mcp, symbol, { width, pricing: "mid", strategy: "IRON_CONDOR" });
    if (order.max_risk <= 500) out.push(order);
  }
  return out;
}

function printRows(rows: Row[], pingMs: number): void {
  console.log("\nLatency, each round beside a hello-world Worker and Durable Object request (same run, same client); MCP routes by a client of each protocol revision in the same round");
  console.log("| route | n | 2025-11-25 p50 ms | 2026-07-28 p50 ms | 2025-11-25 p99 | 2026-07-28 p99 | Worker floor p50 | DO floor p50 | over DO floor p50 (2025 / 2026) | bridge trips | modelled deployed p50 (20 ms RTT, 2025 / 2026) |");
  console.log("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const [w, o] = [p50(r.worker), p50(r.object)];
    const of = (era: Era) => r.samples[era] ?? [];
    const both = ERAS.map((era) => of(era).length ? p50(of(era)) : Number.NaN);
    const over = both.map((m) => (Number.isFinite(m) ? `+${fmt(m - o)}` : "—")).join(" / ");
    const modelled = both.map((m) => fmt(m + r.trips * (DEPLOYED_RTT_MS - pingMs))).join(" / ");
    console.log(`| ${r.name} | ${Math.max(...ERAS.map((era) => of(era).length))} | ${fmt(both[0]!)} | ${fmt(both[1]!)} | ${fmt(p99(of("2025-11-25")))} | ${fmt(p99(of("2026-07-28")))} | ${fmt(w)} | ${fmt(o)} | ${over} | ${r.trips.toFixed(2)} | ${modelled} |`);
  }
}

/**
 * CONCURRENT readers at once (each its own client loop), while one order waits on a simulator
 * that holds its answers: the reads must not queue behind it. Then the same concurrency on the
 * hello-world Durable Object, as that run's floor.
 */
async function concurrency(t: TestStack, floors: Floors, order: CondorOrder): Promise<void> {
  const mcp = rawMcp(t);
  const tools = ["get_safety_status", "get_account", "get_positions", "health_check"];
  const run = async (op: (i: number) => Promise<unknown>) => {
    const samples: number[] = [];
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CONCURRENT }, async (_, s) => {
      for (let i = 0; i < CONCURRENT_CALLS; i++) samples.push(await time(() => op(s + i)));
    }));
    return { samples, wallMs: performance.now() - t0 };
  };
  const floor = await run(() => fetch(floors.objectUrl).then((r) => r.text()));
  const idle = await run((i) => mcp.tool(tools[i % tools.length]!));
  // A slow order: the simulator answers nothing for a moment, so the order's bridge trip hangs.
  await t.stack.simControl("/fault", { name: "silent", on: true });
  const slow = mcp.tool("place_order", { ...order }).then(
    (r) => `answered ${String(r.structuredContent?.status)}`,
    (e: Error) => `refused: ${/"check":"[a-z_]+"/g.exec(e.message)?.[0] ?? e.message.slice(0, 120)}`,
  );
  const slowStart = performance.now();
  const during = await run((i) => mcp.tool(tools[i % tools.length]!));
  const readsDoneAt = performance.now() - slowStart;
  await t.stack.simControl("/fault", { name: "silent", on: false });
  const slowOutcome = await slow;
  const slowMs = performance.now() - slowStart;
  console.log(`\nThroughput: ${CONCURRENT} readers at once, ${CONCURRENT_CALLS} calls each (${tools.join(", ")} in turn)`);
  console.log("| run | calls | p50 ms | p99 ms | calls/s |");
  console.log("|---|---|---|---|---|");
  for (const [name, r] of [["floor: hello-world Durable Object", floor], ["MCP reads", idle], ["MCP reads, one order held by a silent TWS", during]] as const)
    console.log(`| ${name} | ${r.samples.length} | ${fmt(p50(r.samples))} | ${fmt(p99(r.samples))} | ${(r.samples.length / (r.wallMs / 1000)).toFixed(0)} |`);
  console.log(`The held order was in flight for ${fmt(slowMs)} ms (${slowOutcome}); the reads beside it all finished after ${fmt(readsDoneAt)} ms.`);
}

/** Each order's time before and after the bridge sent it to TWS (its log line, ms resolution). */
function splitPlace(t: TestStack, marks: { start: number; end: number; tradeId: string }[], era: Era): void {
  const sentAt = new Map<string, number>();
  for (const line of t.stack.processes().find((p) => p.name === "bridge")?.output().split("\n") ?? []) {
    if (!line.includes("order sent to TWS")) continue;
    try {
      const entry = JSON.parse(line.slice(line.indexOf("{"))) as { time: string; order_ref: string };
      sentAt.set(entry.order_ref, Date.parse(entry.time));
    } catch {
      // not a log line of ours
    }
  }
  const before: number[] = [];
  const after: number[] = [];
  for (const m of marks) {
    const sent = sentAt.get(m.tradeId);
    if (sent === undefined) continue;
    before.push(sent - m.start);
    after.push(m.end - sent);
  }
  console.log(`\nplace_order (${era}) split at the bridge's send to TWS (wall clocks, 1 ms steps, ${before.length} orders): client → order leaves the bridge p50 ${fmt(p50(before))} ms (HTTP, Worker, object, MCP, the synchronous turn and its writes, the link, the bridge's own 4-leg quote and checks); order leaves the bridge → answer at the client p50 ${fmt(p50(after))} ms (TWS's acknowledgement, the link back, the object's ledger and audit writes, the answer)`);
}

async function pingSamples(t: TestStack): Promise<number[]> {
  const pings: number[] = [];
  for (let i = 0; i < 100; i++) pings.push((await link(t)).ping_ms ?? Number.NaN);
  return pings;
}

/** The routes that need no bridge trip: the Worker alone, the object without MCP, the read tools. */
async function readRows(t: TestStack, floors: Floors): Promise<Row[]> {
  const rows: Row[] = [];
  rows.push(await beside(t, floors, "edge: 404 (Worker only)", READS, { "2025-11-25": () => fetch(`${t.stack.edgeUrl}/nope`).then((r) => r.text()) }));
  rows.push(await beside(t, floors, "edge: /api/health (Durable Object)", READS, { "2025-11-25": () => t.stack.admin("/api/health").then((r) => r.text()) }));
  rows.push(await beside(t, floors, "MCP tools/list", READS, bothEras(t, (c) => c.list())));
  for (const tool of ["get_safety_status", "get_account", "get_positions", "list_trades", "health_check"])
    rows.push(await beside(t, floors, tool, READS, bothEras(t, (c) => c.tool(tool))));
  return rows;
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} at ${new Date().toISOString()}`);
  const decision = decisionMicros();
  console.log(`\nPure safety decision (risk analysis + every check), ${decision.iterations} orders: ${decision.perOrderUs.toFixed(2)} µs per order (fixture ${decision.allowed ? "allowed" : "REFUSED — fix the fixture"}); costliest shape (4 legs, 3 expiries, near legs at one strike): ${decision.threeExpiryUs.toFixed(2)} µs`);

  const t = await startTestStack("bench", { edgeEntry: floorsBesideEdge(ROOT) });
  const floors = floorsOf(t.stack.edgeUrl);
  try {
    if (process.env.BENCH_ONLY === "reads") {
      // The read routes only (about a minute): for comparing a change to the edge's read path.
      printRows(await readRows(t, floors), p50(await pingSamples(t)));
      return;
    }
    const mcp = rawMcp(t);
    const condors = await distinctCondors(t);
    // Twelve orders and the throughput run's held one.
    if (condors.length < 13) throw new Error(`only ${condors.length} distinct condors priced within the risk limit`);
    const first = condors[0]!;

    // place_order in three batches of four (two per revision), each batch a minute after the
    // last: 5 orders a minute is a hard limit (the held order of the throughput run takes the
    // fifth slot of the second minute). Each order is cancelled right after its answer, untimed:
    // a working order's worst case counts against the daily loss limit, which four would pass.
    const marks: { start: number; end: number; tradeId: string; era: Era }[] = [];
    const clients = { "2025-11-25": rawMcp(t, "2025-11-25"), "2026-07-28": rawMcp(t, "2026-07-28") };
    let nextCondor = 0;
    const placeOne = (era: Era) => async () => {
      const order = condors[nextCondor++]!;
      const start = Date.now();
      const answer = await clients[era].tool("place_order", { ...order });
      marks.push({ start, end: Date.now(), tradeId: String(answer.structuredContent?.trade_id), era });
    };
    const cancelLast = async () => {
      const tradeId = marks.at(-1)?.tradeId;
      if (!tradeId) return;
      await mcp.tool("cancel_order", { trade_id: tradeId }).catch(() => undefined);
      for (let i = 0; i < 40; i++) {
        const trades = (await mcp.tool("list_trades", {})).structuredContent?.trades as { trade_id: string; state: string }[] | undefined;
        if (trades?.find((tr) => tr.trade_id === tradeId)?.state !== "working") return;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const places: Row[] = [];
    const placeBatch = async () => {
      const before = totalSent(await link(t));
      const row = await beside(t, floors, "place_order→Submitted", 2, { "2025-11-25": placeOne("2025-11-25"), "2026-07-28": placeOne("2026-07-28") }, 0, 300, cancelLast);
      // The cancels' own trips (one each) are not the order's.
      row.trips = (totalSent(await link(t)) - before - 4) / 4;
      places.push(row);
      // The order-rate window runs from the last order placed.
      batchStart = performance.now();
    };
    let batchStart = 0;
    await placeBatch();
    const minuteAfter = async () => {
      const wait = 61_000 - (performance.now() - batchStart);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    };

    const pings = await pingSamples(t);
    const pingMs = p50(pings);

    const rows: Row[] = await readRows(t, floors);
    const quoteLeg = { action: "BUY", contract: { symbol: "SPY", sec_type: "STK" }, quantity: 1 };
    rows.push(await beside(t, floors, "get_quote (stock)", READS, bothEras(t, (c) => c.tool("get_quote", { legs: [quoteLeg] })), 5, 30));
    rows.push(await beside(t, floors, "get_quote (4-leg condor)", PACED, bothEras(t, (c) => c.tool("get_quote", { legs: first.legs })), 5, 300));
    rows.push(await beside(t, floors, "preview_order (4-leg condor)", PACED, bothEras(t, (c) => c.tool("preview_order", { ...first })), 5, 300));

    await minuteAfter();
    await concurrency(t, floors, condors[nextCondor++]!);
    await placeBatch();
    await minuteAfter();
    await placeBatch();
    const place: Row = {
      name: "place_order→Submitted",
      samples: Object.fromEntries(ERAS.map((era) => [era, places.flatMap((r) => r.samples[era] ?? [])])),
      worker: places.flatMap((r) => r.worker), object: places.flatMap((r) => r.object),
      trips: places.reduce((a, r) => a + r.trips, 0) / places.length,
    };
    rows.push(place);
    printRows(rows, pingMs);
    const mean = pings.reduce((a, b) => a + b, 0) / pings.length;
    console.log(`\nBridge link round trip (edge → bridge ping → edge, timed inside the Durable Object, whose clock has 1 ms steps): p50 ${fmt(pingMs)} ms, mean ${fmt(mean)} ms, p99 ${fmt(p99(pings))} ms over ${pings.length}`);

    for (const era of ERAS) splitPlace(t, marks.filter((m) => m.era === era), era);

    const direct = await directSeries(ROOT, first.legs, READS, 12, (await t.stack.moveClock(0)).sim.now);
    console.log("\nDirect @stoqey/ib against a simulator of its own (no edge, no bridge), and the full path's added time (2025-11-25 / 2026-07-28):");
    console.log("| operation | full p50 ms | direct p50 ms | added p50 ms | DO floor p50 | target: floor + ping + direct + 3 ms | full − target |");
    console.log("|---|---|---|---|---|---|---|");
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    for (const [name, full, d] of [["get_account", byName.get_account!, direct.account], ["get_positions", byName.get_positions!, direct.positions], ["preview_order", byName["preview_order (4-leg condor)"]!, direct.preview], ["place_order→Submitted", place, direct.place]] as const) {
      const [dd, o] = [summarize(d).p50, p50(full.object)];
      const f = ERAS.map((era) => p50(full.samples[era] ?? []));
      const target = o + pingMs + dd + 3;
      const isPlace = name === "place_order→Submitted";
      console.log(`| ${name} | ${f.map(fmt).join(" / ")} | ${fmt(dd)} | ${f.map((x) => fmt(x - dd)).join(" / ")} | ${fmt(o)} | ${isPlace ? fmt(target) : "—"} | ${isPlace ? f.map((x) => `+${fmt(x - target)}`).join(" / ") : "—"} |`);
    }

    const bridge = t.stack.processes().find((p) => p.name === "bridge");
    if (bridge?.child.pid) {
      const pgid = bridge.child.pid;
      const memory = [{ at: 0, rssMiB: groupRssMiB(pgid) }];
      for (let i = 1; i <= MEMORY_OPS; i++) {
        await mcp.tool("get_quote", { legs: [quoteLeg] });
        if (i % Math.max(1, Math.floor(MEMORY_OPS / 6)) === 0) memory.push({ at: i, rssMiB: groupRssMiB(pgid) });
      }
      console.log(`\nBridge resident memory (process group) across ${MEMORY_OPS} get_quote operations through the full path:`);
      console.log(`| operations | ${memory.map((m) => m.at).join(" | ")} |`);
      console.log(`|---|${memory.map(() => "---").join("|")}|`);
      console.log(`| RSS MiB | ${memory.map((m) => m.rssMiB.toFixed(1)).join(" | ")} |`);
    }
    console.log(`\nBench wall time ${((performance.now() - started) / 1000).toFixed(0)} s; load average at the end ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  } finally {
    await t.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : String(error));
    process.exit(1);
  },
);

