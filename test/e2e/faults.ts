// Fault-injection support for the end-to-end fault and concurrency tests: a stack whose bridge can
// talk to TWS and to the edge through loopback TCP proxies (so a test can cut, hold or trap single
// wire messages), freezing the bridge process (SIGSTOP), and the "nothing lost, nothing doubled"
// comparison of the simulator's orders and executions with the edge's ledger and audit chain.
import { mkdirSync, mkdtempSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { dashboardLogin, FAST_BRIDGE_ENV, OUTPUT, ROOT, type McpClient, saveStackLogs, type SimStateView } from "./harness";
import { connectMcp } from "./mcp-client";
import { isoDate } from "./scenario";
import { type Stack, startStack } from "../stack/local-stack";
import { freePort, waitUntil } from "../stack/processes";
import { type LocalSecrets, newSecrets } from "../stack/secrets";
import { testStart } from "../support/clock-pin";

export { waitUntil };

// ---- TCP proxy ---------------------------------------------------------------------------------

interface Pair { client: Socket; server: Socket; holdServer: boolean }

/** What to do with the next client→server TWS message of a given id (e.g. 3 = PLACE_ORDER). */
export type TrapMode =
  /** The message never reaches TWS (the bridge died before its bytes left the box). */
  | "drop"
  /** TWS gets the message, but nothing TWS says reaches the bridge afterwards (the ack is lost). */
  | "forward_then_mute"
  /** The message waits at the proxy until the test releases it (see holdNext). */
  | "hold";

interface Trap {
  msgId: string;
  mode: TrapMode;
  onTrapped: (fields: string[]) => void;
  onHeld?: (held: { fields: string[]; release: () => void }) => void;
}

/**
 * A loopback TCP proxy. With `tws: true` it reads the client's TWS framing ("API\0", then 4-byte
 * length-prefixed NUL-separated fields) so a trap can act on one message; otherwise bytes pass as is.
 */
export class TcpProxy {
  readonly pairs = new Set<Pair>();
  target: number | null = null;
  private server: Server | null = null;
  port = 0;
  private trap: Trap | null = null;
  /** While true, new connections are refused (closed at once). */
  refusing = false;
  /** Sees every server→client chunk before it is passed on (e.g. to freeze the client first). */
  onServerChunk: ((chunk: Buffer) => void) | null = null;

  constructor(private readonly tws: boolean) {}

  async listen(): Promise<number> {
    this.port = await freePort();
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.port, "127.0.0.1", () => resolve());
    });
    return this.port;
  }

  /** Arms a one-shot trap on the next client message whose first field is `msgId`. */
  trapNext(msgId: number, mode: TrapMode): Promise<string[]> {
    return new Promise((resolve) => {
      this.trap = { msgId: String(msgId), mode, onTrapped: resolve };
    });
  }

  /**
   * Holds the next client message of `msgId` at the proxy until `release()` is called, so a test
   * can change TWS (make it silent) between the moment the bridge sends and the moment TWS reads.
   */
  holdNext(msgId: number): Promise<{ fields: string[]; release: () => void }> {
    return new Promise((resolve) => {
      this.trap = { msgId: String(msgId), mode: "hold", onTrapped: () => undefined, onHeld: resolve };
    });
  }

  /** Cuts every proxied connection at once, both sides (a network blip). */
  dropAll(): void {
    for (const p of this.pairs) {
      p.client.destroy();
      p.server.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    if (this.target === null || this.refusing) {
      client.destroy();
      return;
    }
    const server = connect({ host: "127.0.0.1", port: this.target });
    const pair: Pair = { client, server, holdServer: false };
    this.pairs.add(pair);
    client.setNoDelay(true);
    server.setNoDelay(true);
    const end = () => {
      client.destroy();
      server.destroy();
      this.pairs.delete(pair);
    };
    client.on("close", end).on("error", end);
    server.on("close", end).on("error", end);
    server.on("data", (chunk) => {
      this.onServerChunk?.(chunk);
      if (!pair.holdServer) client.write(chunk);
    });
    if (!this.tws) {
      // Ask for no permessage-deflate, so the frames on this wire stay readable to onServerChunk.
      let first = true;
      client.on("data", (chunk) => {
        if (first) {
          first = false;
          chunk = Buffer.from(chunk.toString("latin1").replace(/\r\nSec-WebSocket-Extensions:[^\r]*/i, ""), "latin1");
        }
        server.write(chunk);
      });
      return;
    }
    let buf = Buffer.alloc(0);
    let greeted = false;
    client.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!greeted) {
        if (buf.length < 4) return;
        greeted = true;
        server.write(buf.subarray(0, 4)); // "API\0"
        buf = buf.subarray(4);
      }
      while (buf.length >= 4) {
        const size = buf.readUInt32BE(0);
        if (buf.length < 4 + size) return;
        const frame = buf.subarray(0, 4 + size);
        buf = buf.subarray(4 + size);
        const fields = frame.subarray(4).toString("utf8").split("\0");
        const trap = this.trap;
        if (trap && fields[0] === trap.msgId) {
          this.trap = null;
          if (trap.mode === "forward_then_mute") {
            pair.holdServer = true;
            server.write(frame);
          }
          if (trap.mode === "hold") trap.onHeld?.({ fields, release: () => void server.write(frame) });
          trap.onTrapped(fields);
          continue;
        }
        server.write(frame);
      }
    });
  }
}

// ---- the stack -----------------------------------------------------------------------------------

export interface AuditRow { seq: number; at: string; actor: string; action: string; details_json: string }
export interface LedgerOrder { order_id: number | null; status: string; filled: number; remaining: number }
export interface LedgerFill { exec_id: string; symbol: string; side: string; shares: number; price: number }
export interface LedgerTrade { trade_id: string; symbol: string; state: string; reserved_risk: number; computed_max_risk: number | null; orders: LedgerOrder[]; fills: LedgerFill[] }
export interface AdminState {
  bridge: { connected: boolean };
  tws: { state: string; last_error: string | null } | null;
  limits: { name: string; limit: number; used: number; unit: string; remaining: number }[];
  trades: LedgerTrade[];
}

export interface FaultStack {
  stack: Stack;
  secrets: LocalSecrets;
  mcp: McpClient;
  /** Present when started with `twsProxy`: the bridge reaches TWS only through it. */
  twsProxy: TcpProxy | null;
  /** Present when started with `edgeProxy`: the bridge reaches the edge only through it. */
  edgeProxy: TcpProxy | null;
  newMcp(name?: string): Promise<McpClient>;
  simState(): Promise<SimStateView>;
  adminState(): Promise<AdminState>;
  audit(): Promise<AuditRow[]>;
  verifyAudit(): Promise<{ ok: boolean; rows: number; bad_seq?: number }>;
  /** SIGSTOP / SIGCONT the bridge's whole process group: it stays connected but does nothing. */
  freezeBridge(): void;
  thawBridge(): void;
  stop(): Promise<void>;
}

/** Fast TWS fault timings: a silent TWS is noticed within about 2 s, a silent handshake gives up after 2 s. */
export const FAST_TWS_FAULT_ENV: Readonly<Record<string, string>> = {
  BRIDGE_TWS_HEARTBEAT_MS: "1000",
  BRIDGE_TWS_HEARTBEAT_TIMEOUT_MS: "1000",
  BRIDGE_TWS_CONNECT_TIMEOUT_MS: "2000",
};

/** TWS's state as the edge reports it (`/api/health`), or null before the bridge said. */
export async function edgeTwsState(t: FaultStack): Promise<string | null> {
  const res = await t.stack.admin("/api/health");
  return ((await res.json()) as { tws: { state: string } | null }).tws?.state ?? null;
}

/** Waits until the edge reports TWS in one of `states`. */
export function waitEdgeTws(t: FaultStack, states: string[], what: string, timeoutMs = 30_000): Promise<void> {
  return waitUntil(`TWS ${what} (${states.join("/")}) at the edge`, async () => states.includes((await edgeTwsState(t)) ?? ""), timeoutMs, 200);
}

/**
 * The simulator's clock and the edge's test clock start at `startAt` (default: the tests' pinned
 * instant, test/support/clock-pin.ts) and move together with `stack.moveClock`.
 */
export async function startFaultStack(name: string, options: { twsProxy?: boolean; edgeProxy?: boolean; bridgeEnv?: Record<string, string>; startAt?: string } = {}): Promise<FaultStack> {
  mkdirSync(join(OUTPUT, "stacks"), { recursive: true });
  const base = mkdtempSync(join(OUTPUT, "stacks", `${name}-`));
  const secrets = newSecrets();
  const twsProxy = options.twsProxy ? new TcpProxy(true) : null;
  const edgeProxy = options.edgeProxy ? new TcpProxy(false) : null;
  const proxyEnv: Record<string, string> = {};
  if (twsProxy) proxyEnv.IBKR_PORT = String(await twsProxy.listen());
  if (edgeProxy) proxyEnv.EDGE_URL = `http://127.0.0.1:${await edgeProxy.listen()}`;
  const edgePort = await freePort();
  if (edgeProxy) edgeProxy.target = edgePort;
  const stack = await startStack({
    root: ROOT,
    mode: "sim",
    secrets,
    stateDir: join(base, "state"),
    workDir: join(base, "trading_workspace"),
    edgePort,
    shadowMode: false,
    // Edits to edge/ by others while this runs must not restart the Worker mid-test.
    frozenEdge: true,
    echo: process.env.E2E_ECHO === "1",
    bridgeEnv: { ...FAST_BRIDGE_ENV, ...options.bridgeEnv, ...proxyEnv },
    startAt: options.startAt ?? testStart(),
  });
  if (twsProxy) twsProxy.target = stack.sim!.port;
  const saveLogs = () => saveStackLogs(name, stack);
  try {
    await stack.waitBridgeLinked(90_000);
  } catch (error) {
    saveLogs();
    await stack.stop();
    await twsProxy?.close();
    await edgeProxy?.close();
    throw error;
  }
  const mcp = await connectMcp(stack.mcpUrl, secrets.MCP_TOKEN, `${name}-agent`);
  const bridgeGroup = (signal: NodeJS.Signals) => {
    const pid = stack.processes().find((p) => p.name === "bridge")?.child.pid;
    if (!pid) throw new Error("no bridge process is running");
    process.kill(-pid, signal);
  };
  const getJson = async <T>(path: string): Promise<T> => {
    const res = await stack.admin(path);
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  return {
    stack,
    secrets,
    mcp,
    twsProxy,
    edgeProxy,
    newMcp: (client = `${name}-agent`) => connectMcp(stack.mcpUrl, secrets.MCP_TOKEN, client),
    simState: async () => (await stack.simControl("/state")) as SimStateView,
    adminState: () => getJson<AdminState>("/api/state"),
    async audit() {
      const rows: AuditRow[] = [];
      for (;;) {
        const page = await getJson<{ rows: AuditRow[] }>(`/api/audit?limit=1000&after=${rows.at(-1)?.seq ?? 0}`);
        rows.push(...page.rows);
        if (page.rows.length < 1000) return rows;
      }
    },
    verifyAudit: () => getJson("/api/audit/verify"),
    freezeBridge: () => bridgeGroup("SIGSTOP"),
    thawBridge: () => bridgeGroup("SIGCONT"),
    async stop() {
      saveLogs();
      await mcp.close().catch(() => undefined);
      await stack.stop();
      saveLogs();
      await twsProxy?.close();
      await edgeProxy?.close();
    },
  };
}

/** The dashboard's cookie session, for tests that need the page's own path. */
export { dashboardLogin };

// ---- nothing lost, nothing doubled ---------------------------------------------------------------

const FILL_ACTIONS = new Set(["fill", "fill_recovered", "option_settlement", "settlement_delivery"]);

export const details = (row: AuditRow): Record<string, unknown> => JSON.parse(row.details_json) as Record<string, unknown>;

/**
 * Every difference between TWS (the simulator) and the edge: an order tagged with a trade id that
 * the ledger lacks or shows in another status or under another id, an orderRef TWS holds twice, an
 * execution missing from the ledger or recorded twice (ledger rows or audit rows), and a ledger
 * fill or a ledger order id TWS never had.
 */
export function differences(sim: SimStateView, trades: LedgerTrade[], audit: AuditRow[]): string[] {
  const out: string[] = [];
  const byRef = new Map<string, LedgerTrade>();
  for (const trade of trades) {
    byRef.set(trade.trade_id, trade);
    byRef.set(`${trade.trade_id}_CLOSE`, trade);
  }
  const simRefs = new Map<string, number>();
  for (const order of sim.orders.filter((o) => o.orderRef)) {
    simRefs.set(order.orderRef, (simRefs.get(order.orderRef) ?? 0) + 1);
    const trade = byRef.get(order.orderRef);
    const mine = trade?.orders.find((o) => o.order_id === order.orderId);
    if (!mine) out.push(`TWS order ${order.orderId} (${order.orderRef}, ${order.status}) missing from the ledger (ledger: ${JSON.stringify(trade?.orders ?? null)})`);
    else if (mine.status !== order.status) out.push(`order ${order.orderId} (${order.orderRef}): ledger ${mine.status}, TWS ${order.status}`);
    else if (mine.filled !== order.filled) out.push(`order ${order.orderId} (${order.orderRef}): ledger filled ${mine.filled}, TWS ${order.filled}`);
  }
  for (const [ref, n] of simRefs) if (n > 1) out.push(`orderRef ${ref} reached TWS ${n} times`);
  const simOrderIds = new Set(sim.orders.map((o) => o.orderId));
  for (const trade of trades)
    for (const o of trade.orders)
      if (o.order_id !== null && !simOrderIds.has(o.order_id)) out.push(`ledger order ${o.order_id} of ${trade.trade_id} is unknown to TWS`);

  const ledgerFills = trades.flatMap((t) => t.fills.map((f) => f.exec_id));
  const ledgerSet = new Set(ledgerFills);
  if (ledgerSet.size !== ledgerFills.length) out.push(`the ledger holds a fill twice: ${ledgerFills.filter((e, i) => ledgerFills.indexOf(e) !== i).join(", ")}`);
  const simExecs = new Set(sim.executions.map((e) => e.execId));
  for (const e of sim.executions) if (!ledgerSet.has(e.execId)) out.push(`execution ${e.execId} (${e.orderRef}) missing from the ledger`);
  for (const id of ledgerSet) if (!simExecs.has(id)) out.push(`ledger fill ${id} was never executed at TWS`);

  const auditFills = new Map<string, number>();
  for (const row of audit.filter((r) => FILL_ACTIONS.has(r.action))) {
    const id = String(details(row).exec_id);
    auditFills.set(id, (auditFills.get(id) ?? 0) + 1);
  }
  for (const e of sim.executions) {
    const n = auditFills.get(e.execId) ?? 0;
    if (n !== 1) out.push(`execution ${e.execId} (${e.orderRef}) has ${n} fill rows in the audit log`);
  }
  return out;
}

/** Waits until the ledger and the audit log agree with TWS; fails with the remaining differences. */
export async function expectLevel(t: FaultStack, timeoutMs = 30_000): Promise<void> {
  let last: string[] = [];
  await waitUntil("the ledger and audit log to agree with TWS", async () => {
    last = differences(await t.simState(), (await t.adminState()).trades, await t.audit());
    return last.length === 0;
  }, timeoutMs, 400).catch((error: Error) => {
    throw new Error(`${error.message}\n${last.join("\n")}`);
  });
  const verify = await t.verifyAudit();
  if (!verify.ok) throw new Error(`audit chain broken at seq ${verify.bad_seq}`);
}

/** Order-status audit rows of one order ref must never move backwards (e.g. Filled → Submitted). */
export function statusRegressions(audit: AuditRow[]): string[] {
  const rank: Record<string, number> = { PendingSubmit: 0, Unknown: 0, ApiPending: 0, PendingCancel: 1, PreSubmitted: 1, Submitted: 2, Filled: 3, Cancelled: 3, Rejected: 3, Inactive: 3 };
  const seen = new Map<string, string>();
  const out: string[] = [];
  for (const row of audit) {
    if (!["order_status", "order_adopted", "order_filled_offline"].includes(row.action)) continue;
    const d = details(row);
    const ref = String(d.order_ref);
    const status = String(d.status);
    const before = seen.get(ref);
    if (before && (rank[status] ?? 0) < (rank[before] ?? 0)) out.push(`${ref}: ${before} → ${status} at audit seq ${row.seq}`);
    if (before && ["Filled", "Cancelled", "Rejected"].includes(before) && before === status) out.push(`${ref}: ${status} recorded twice (seq ${row.seq})`);
    seen.set(ref, status);
  }
  return out;
}

export interface PlaceAnswer {
  success: boolean;
  trade_id: string | null;
  order_id: number | null;
  status: string;
  message: string;
  violations: { check: string; message: string; value?: number; limit?: number }[];
}

// ---- single-leg orders from real strikes and quotes -----------------------------------------------

export interface SimChain { price: number; expiries: string[]; strikes: number[] }
export interface OptionQuote { symbol: string; expiry: string; strike: number; right: "C" | "P"; bid: number; ask: number; mid: number }


/** The simulator's strikes and expiries (control port GET /chain), by symbol. */
export async function simChain(t: FaultStack): Promise<Record<string, SimChain>> {
  return (await t.stack.simControl("/chain")) as Record<string, SimChain>;
}

/**
 * `count` out-of-the-money options of one right on the second expiry, walking out from the money,
 * each quoted through get_quote, whose mid lies in [minMid, maxMid] (so a 1-lot stays under $500).
 */
export async function quotedOptions(mcp: McpClient, chain: SimChain, symbol: string, right: "C" | "P", count: number, minMid = 0.5, maxMid = 4): Promise<OptionQuote[]> {
  const expiry = isoDate(chain.expiries[1] ?? chain.expiries[0]!);
  const sign = right === "C" ? 1 : -1;
  const strikes = chain.strikes.filter((k) => sign * (k - chain.price) > 0).sort((a, b) => sign * (a - b));
  const out: OptionQuote[] = [];
  for (const strike of strikes.slice(0, 40)) {
    const q = await mcp.tool<{ bid: number | null; ask: number | null; mid: number | null }>("get_quote", { legs: [{ action: "BUY", contract: { symbol, expiry, strike, right }, quantity: 1 }] });
    if (q.isError) throw new Error(`get_quote ${symbol} ${expiry} ${strike}${right}: ${q.text}`);
    const { bid, ask, mid } = q.structured;
    if (bid === null || ask === null || mid === null) continue;
    if (mid < minMid) break; // further out only gets cheaper
    if (mid <= maxMid && bid >= 0.1) out.push({ symbol, expiry, strike, right, bid, ask, mid });
    if (out.length === count) return out;
  }
  throw new Error(`only ${out.length} of ${count} ${symbol} ${right} options with a mid in [${minMid}, ${maxMid}]`);
}

/** A 1-lot long option at `price` (default: its mid, which rests until the market moves). */
export function longOption(q: OptionQuote, price = q.mid, strategy = "LONG_CALL") {
  const p = Math.round(price * 100) / 100;
  const risk = Math.round(p * 100 * 100) / 100;
  return {
    symbol: q.symbol,
    strategy,
    legs: [{ action: "BUY" as const, contract: { symbol: q.symbol, expiry: q.expiry, strike: q.strike, right: q.right }, quantity: 1, price: p }],
    max_risk: risk,
    capital_required: risk,
  };
}
