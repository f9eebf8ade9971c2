// `npm run bench`: what the safety layer costs. Prints tables, asserts nothing.
// Full path: MCP SDK client → wrangler dev (Worker + Durable Object) → bridge → simulator, all real
// processes on loopback; direct path: @stoqey/ib straight to a simulator process; the pure
// decision in µs; the bridge's memory across 10,000 operations.
import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { type TestStack, ROOT, startTestStack } from "../e2e/harness";
import { type CondorOrder, ironCondor } from "../e2e/scenario";
import { decisionMicros } from "./decision";
import { directSeries } from "./direct";
import { type Series, printComparison, printTable, timeSeries } from "./stats";

const READS = Number(process.env.BENCH_READS ?? 200);
const MEMORY_OPS = Number(process.env.BENCH_MEMORY_OPS ?? 10_000);
// The hard limit of 5 orders a minute applies to the benchmark too: two batches of five.
const ORDER_BATCHES = Number(process.env.BENCH_ORDER_BATCHES ?? 2);

/** Resident memory of a process group in MiB (tsx runs the bridge in a child node process). */
function groupRssMiB(pgid: number): number {
  const out = execFileSync("ps", ["-o", "rss=", "-g", String(pgid)], { encoding: "utf8" });
  return out.split("\n").map(Number).filter((n) => n > 0).reduce((a, b) => a + b, 0) / 1024;
}

async function distinctCondors(t: TestStack): Promise<CondorOrder[]> {
  // The duplicate-order check refuses a repeat of the same structure, so each order differs.
  const specs: [string, number][] = [["SPY", 3], ["QQQ", 3], ["IWM", 3], ["SPY", 2], ["QQQ", 2], ["IWM", 2], ["SPY", 4], ["QQQ", 4], ["IWM", 4], ["SPY", 1]];
  const out: CondorOrder[] = [];
  for (const [symbol, width] of specs) {
    const order = await ironCondor(t.mcp, symbol, { width, pricing: "mid", strategy: "IRON_CONDOR" });
    if (order.max_risk <= 500) out.push(order);
  }
  return out;
}

async function fullPath(t: TestStack): Promise<{ series: Record<string, Series>; legs: CondorOrder["legs"] }> {
  const call = async (tool: string, args: Record<string, unknown> = {}) => {
    const answer = await t.mcp.tool(tool, args);
    if (answer.isError) throw new Error(`${tool}: ${answer.text}`);
    return answer;
  };
  // The floor under every tool: a request that stops in the Worker, and one that reaches the
  // Durable Object and returns without MCP or the bridge.
  const workerOnly = await timeSeries("floor: Worker only (404)", "HTTP → wrangler dev → Worker", READS, () => fetch(`${t.stack.edgeUrl}/nope`).then((r) => r.text()));
  const durableObject = await timeSeries("floor: Worker → Durable Object", "HTTP → wrangler dev → DO (/api/health)", READS, () => t.stack.admin("/api/health").then((r) => r.text()));
  const condors = await distinctCondors(t);
  const first = condors[0]!;
  const account = await timeSeries("get_account", "MCP → edge → bridge → sim", READS, () => call("get_account"));
  const positions = await timeSeries("get_positions", "MCP → edge → bridge → sim", READS, () => call("get_positions"));
  const preview = await timeSeries("preview_order", "MCP → edge → bridge → sim", READS, () => call("preview_order", { ...first }));
  const placeSamples: number[] = [];
  let wallMs = 0;
  for (let batch = 0; batch < ORDER_BATCHES; batch++) {
    if (batch > 0) await new Promise((r) => setTimeout(r, 61_000));
    const chunk = condors.slice(batch * 5, batch * 5 + 5);
    const s = await timeSeries("place_order→Submitted", "", chunk.length, (i) => call("place_order", { ...chunk[i]! }), 0);
    placeSamples.push(...s.samples);
    wallMs += s.wallMs;
  }
  const place: Series = { name: "place_order→Submitted", path: "MCP → edge → bridge → sim", samples: placeSamples, wallMs };
  return { series: { workerOnly, durableObject, account, positions, preview, place }, legs: first.legs };
}

async function bridgeMemory(t: TestStack): Promise<{ at: number; rssMiB: number }[]> {
  const bridge = t.stack.processes().find((p) => p.name === "bridge");
  if (!bridge?.child.pid) throw new Error("no bridge process");
  const pgid = bridge.child.pid;
  const leg = { action: "BUY", contract: { symbol: "SPY", sec_type: "STK" }, quantity: 1 };
  const samples = [{ at: 0, rssMiB: groupRssMiB(pgid) }];
  for (let i = 1; i <= MEMORY_OPS; i++) {
    const answer = await t.mcp.tool("get_quote", { legs: [leg] });
    if (answer.isError) throw new Error(`get_quote: ${answer.text}`);
    if (i % Math.max(1, Math.floor(MEMORY_OPS / 10)) === 0) samples.push({ at: i, rssMiB: groupRssMiB(pgid) });
  }
  return samples;
}

async function main(): Promise<void> {
  console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
  const decision = decisionMicros();
  console.log(`\nPure safety decision (risk analysis + every check), ${decision.iterations} orders: ${decision.perOrderUs.toFixed(2)} µs per order (fixture ${decision.allowed ? "allowed" : "REFUSED — fix the fixture"}); costliest shape (4 legs, 3 expiries, near legs at one strike): ${decision.threeExpiryUs.toFixed(2)} µs`);

  const t = await startTestStack("bench");
  try {
    const full = await fullPath(t);
    const direct = await directSeries(ROOT, full.legs, READS, full.series.place!.samples.length);
    printTable("Latency (sequential calls, after warm-up)", [full.series.workerOnly!, full.series.durableObject!, full.series.account!, direct.account, full.series.positions!, direct.positions, full.series.preview!, direct.preview, full.series.place!, direct.place]);
    printComparison([
      { name: "get_account", full: full.series.account!, direct: direct.account },
      { name: "get_positions", full: full.series.positions!, direct: direct.positions },
      { name: "preview_order", full: full.series.preview!, direct: direct.preview },
      { name: "place_order→Submitted", full: full.series.place!, direct: direct.place },
    ]);
    const memory = await bridgeMemory(t);
    console.log(`\nBridge resident memory (process group) across ${MEMORY_OPS} get_quote operations through the full path:`);
    console.log(`| operations | ${memory.map((m) => m.at).join(" | ")} |`);
    console.log(`|---|${memory.map(() => "---").join("|")}|`);
    console.log(`| RSS MiB | ${memory.map((m) => m.rssMiB.toFixed(1)).join(" | ")} |`);
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
