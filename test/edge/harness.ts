// Test harness for the edge inside workerd: an Edge talks to one account Durable Object (a fresh
// one per test, by name) over real MCP JSON-RPC and admin requests, and a FakeBridge opens a real
// WebSocket to it and speaks the bridge side of shared/protocol.ts (hello, events, responses).
// The edge project pins every Durable Object's clock to one start instant (TEST_CLOCK, see
// vitest.config.ts): dates and stamps here come from that clock, never from the machine's.
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { netLimitPrice } from "../../shared/combo-price";
import { newYorkDate } from "../../shared/market-calendar";
import type { Leg } from "../../shared/order";
import type { AccountDO } from "../../edge/account-do";
import type { DeskContext } from "../../edge/store/desk-context";
import { marketCheckViolations } from "../../shared/checks";
import type { Quote } from "../../shared/protocol";
import { type LegSettlement, settlementFromContract } from "../../shared/settlement";
import { type Ed25519Jwk, signHello } from "../support/bridge-test-key";

export const ACCOUNT_ID = "sim";
let counter = 0;

/**
 * The instant the project's Durable Objects start their clocks at (TEST_CLOCK=movable:<ISO>), or
 * null in a project without the test clock (the machine's clock, as in production).
 */
export const PINNED_START_MS: number | null = (() => {
  const value = (env as { TEST_CLOCK?: string }).TEST_CLOCK ?? "";
  if (!value.startsWith("movable:")) return null;
  const ms = Date.parse(value.slice("movable:".length));
  if (!Number.isFinite(ms)) throw new Error(`TEST_CLOCK=${value} names no instant`);
  return ms;
})();
let firstCallMs: number | null = null;

/**
 * The test clock as this file runs it: the pinned start plus the time since it was first read.
 * An Edge's own clock (edge.now()) is closer to its Durable Object's; this one is for stamps that
 * only need the right day (execution times, settlement times, expiries).
 */
export function testNow(): Date {
  if (PINNED_START_MS === null) return new Date();
  firstCallMs ??= Date.now();
  return new Date(PINNED_START_MS + Date.now() - firstCallMs);
}

const DAY_MS = 86_400_000;

/** The New York calendar date `days` after the pinned start (a weekday expiry 30 days out by default). */
export function futureExpiry(days = 30): string {
  return newYorkDate(testNow().getTime() + days * DAY_MS);
}

/** Short iron condor, 5 points wide, 1.00 credit: worst-case loss $400, limit price -1.00. */
export function ironCondor(symbol = "AAPL", center = 100, quantity = 1, expiry = futureExpiry()): Leg[] {
  const opt = (action: "BUY" | "SELL", strike: number, right: "C" | "P", price: number): Leg => ({
    action, quantity, price, contract: { symbol, expiry, strike, right },
  });
  return [opt("SELL", center - 5, "P", 1.0), opt("BUY", center - 10, "P", 0.5), opt("SELL", center + 5, "C", 1.0), opt("BUY", center + 10, "C", 0.5)];
}

export function condorOrder(extra: Record<string, unknown> = {}, center = 100, symbol = "AAPL") {
  return { symbol, strategy: "iron condor", legs: ironCondor(symbol, center), max_risk: 400, capital_required: 400, ...extra };
}

/** An option leg of any symbol and expiry. */
export const opt = (action: Leg["action"], symbol: string, expiry: string, strike: number, right: "C" | "P", price: number, quantity = 1): Leg => ({
  action, quantity, price, contract: { symbol, expiry, strike, right },
});

/** An iron condor of `symbol` with short strikes `width` either side of `center` and wings `width` beyond, for `credit` in all. */
export const condor = (symbol: string, center: number, width: number, credit: number, expiry: string): Leg[] => {
  const leg = (action: Leg["action"], strike: number, right: "C" | "P", price: number): Leg => ({ action, quantity: 1, price, contract: { symbol, expiry, strike, right } });
  return [leg("BUY", center - 2 * width, "P", 0.5), leg("SELL", center - width, "P", 0.5 + credit / 2), leg("SELL", center + width, "C", 0.5 + credit / 2), leg("BUY", center + 2 * width, "C", 0.5)];
};

export interface ToolResult { isError?: boolean; structuredContent?: any; content?: Array<{ type: string; text: string }> }

/** The checks a tool result names as refusing it, in order (none: []). */
export const checksOf = (r: { structuredContent?: any }) => (r.structuredContent?.violations ?? []).map((v: any) => v.check);

export class Edge {
  readonly name: string;
  /** The machine's clock at this edge's first request: its Durable Object's clock starts then. */
  private firstRequestMs: number | null = null;
  /** The Durable Object's shift from the machine's clock, once a clock move told it. */
  private knownShiftMs: number | null = null;
  constructor(name?: string) {
    this.name = name ?? `acct-${Date.now()}-${++counter}`;
  }
  stub() {
    this.firstRequestMs ??= Date.now();
    return env.ACCOUNT.get(env.ACCOUNT.idFromName(this.name));
  }
  /** Reads the Durable Object's own shift from the machine's clock: from then on now() is exact. */
  async syncClock(): Promise<void> {
    this.knownShiftMs = await runInDurableObject(this.stub(), async (o: AccountDO) => (o as unknown as { desk: DeskContext }).desk.clockShiftMs());
  }
  /**
   * This edge's clock: exact once synced (a bridge connected) or moved; before that, the pinned
   * start plus the time since this edge's first request (its Durable Object started a few ms after
   * it, so stamps from here are at most that much ahead of it); without the test clock, the machine's.
   */
  now(): Date {
    if (this.knownShiftMs !== null) return new Date(Date.now() + this.knownShiftMs);
    if (PINNED_START_MS === null) return new Date();
    return new Date(PINNED_START_MS + Date.now() - (this.firstRequestMs ?? Date.now()));
  }
  /** Moves this edge's test clock forward (POST /api/test/clock); answers its new now. */
  async moveClock(advanceMs: number): Promise<{ now: string; shift_ms: number }> {
    const res = await this.admin("/api/test/clock", { advance_ms: advanceMs });
    if (res.status !== 200) throw new Error(`moving the test clock: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
  async rpc(method: string, params: unknown): Promise<any> {
    const res = await this.stub().fetch("https://edge.test/mcp", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++counter, method, params }),
    });
    const body = (await res.json()) as any;
    if (body.error) throw new Error(`JSON-RPC error ${body.error.code}: ${body.error.message}`);
    return body.result;
  }
  call(name: string, args: unknown = {}): Promise<ToolResult> {
    return this.rpc("tools/call", { name, arguments: args });
  }
  async admin(path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await this.stub().fetch(`https://edge.test${path}`, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const text = await bodyText(res);
    const parsed = text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text;
    // A clock move answers the Durable Object's exact shift: from then on now() is exact.
    if (path === "/api/test/clock" && res.status === 200 && typeof parsed?.shift_ms === "number") this.knownShiftMs = parsed.shift_ms;
    return { status: res.status, body: parsed };
  }
  async audit(action?: string): Promise<Array<{ seq: number; actor: string; action: string; details_json: string }>> {
    return (await this.admin(`/api/audit?limit=1000${action ? `&action=${action}` : ""}`)).body.rows;
  }
  /** Runs code inside the object (to age timestamps, i.e. let time pass, or to forge a row). */
  inside<T>(fn: (sql: SqlStorage) => T): Promise<T> {
    return runInDurableObject(this.stub(), async (_o: AccountDO, state) => fn(state.storage.sql));
  }
}

/**
 * An edge whose Durable Object's clock starts at `startMs` instead of the project's pin: the start
 * is written where the clock keeps it, then the object restarts and reads it back (as after a
 * restart). For instants before the pin, which the forward-only clock cannot reach.
 */
export async function edgeAt(startMs: number): Promise<Edge> {
  if (PINNED_START_MS === null) throw new Error("edgeAt needs the test clock (TEST_CLOCK=movable:<ISO>)");
  const edge = new Edge();
  await edge.inside((sql) => {
    const shift = startMs - Date.now();
    sql.exec("INSERT OR REPLACE INTO kv (key, value_json) VALUES ('test_clock_start', ?)", JSON.stringify({ start: new Date(startMs).toISOString(), start_shift_ms: shift }));
    sql.exec("INSERT OR REPLACE INTO kv (key, value_json) VALUES ('test_clock_shift_ms', ?)", JSON.stringify(shift));
  });
  await evictDurableObject(edge.stub());
  await edge.syncClock();
  return edge;
}

/**
 * A body read as UTF-8 text whatever its content type: workerd warns on `.text()` of a body it
 * does not take for text (the audit export's application/x-ndjson), so JSONL is decoded here.
 */
/** Every trade list_trades shows, by id. */
export const trades = async (edge: Edge) => Object.fromEntries((await edge.call("list_trades", {})).structuredContent.trades.map((t: any) => [t.trade_id, t]));
/** One trade as list_trades shows it (undefined when it does not). */
export const trade = async (edge: Edge, tradeId: string) =>
  (await edge.call("list_trades", {})).structuredContent.trades.find((t: { trade_id: string }) => t.trade_id === tradeId);

export async function bodyText(res: Response): Promise<string> {
  return new TextDecoder().decode(await res.arrayBuffer());
}

export async function waitFor<T>(probe: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The `count`-th reconciliation's audit details, once it has happened. */
export async function reconciled(edge: Edge, count: number) {
  const rows = await waitFor(async () => {
    const r = await edge.audit("reconciled");
    return r.length >= count ? r : null;
  }, "reconciliation");
  return JSON.parse(rows[count - 1]!.details_json);
}

/**
 * The price the real bridge answers with: IBKR's lmtPrice, a combo's signed net per unit or a
 * single leg's own positive per-share price (shared/combo-price.ts), not the ledger's signed net.
 */
export function ibkrLimit(legs: readonly unknown[], signedNet: number | undefined): number | null {
  if (signedNet === undefined) return null;
  return legs.length === 1 ? Math.abs(signedNet) : signedNet;
}

type Answer = unknown | { error: { code: string; message: string; violations?: unknown[] } };
type Handler = (params: any) => Answer | Promise<Answer>;

/** Index option symbols whose contract details say underSecType IND (the rest: STK). */
const INDEX_SYMBOLS = new Set(["SPX", "SPXW", "XSP", "NDX", "NDXP", "XND", "RUT", "RUTW", "MRUT", "VIX", "VIXW", "DJX", "OEX", "XEO"]);
/** How the real bridge reads each leg's settlement from TWS's contract details (class = symbol here). */
export const twsSettlement = (legs: readonly Leg[]): (LegSettlement | null)[] =>
  legs.map((leg) => (leg.contract.sec_type === "STK" ? null : settlementFromContract({ underSecType: INDEX_SYMBOLS.has(leg.contract.symbol) ? "IND" : "STK", tradingClass: leg.contract.symbol })));

export class FakeBridge {
  ws!: WebSocket;
  seq = 0;
  requests: Array<{ id: string; op: string; params: any }> = [];
  /** Every frame the edge sent, in order. */
  frames: any[] = [];
  welcome: Promise<{ last_event_seq: number }>;
  private resolveWelcome!: (v: { last_event_seq: number }) => void;
  /** The edge's per-socket challenge, which the hello signs. */
  challenge: Promise<{ account_id: string; connection_id: string; nonce: string }>;
  private resolveChallenge!: (v: { account_id: string; connection_id: string; nonce: string }) => void;
  private acked = 0;
  private ackWaiters: Array<() => void> = [];
  closed: Promise<number>;
  private resolveClosed!: (code: number) => void;
  nextOrderId = 100;
  quoteMid: ((legs: Leg[]) => number | null) | null = null;
  /** The underlying TWS would report for the legs (ContractDetails.underSymbol); default: the symbol. */
  underlyingOf: ((legs: Leg[]) => string | null) | null = null;
  /**
   * How TWS's contract details say each leg settles (null: stock, or not reported); default as the
   * real bridge reads them: index symbols (underSecType IND) cash-settled by trading class, the rest
   * shares. Return undefined to answer like an older bridge, without the field.
   */
  settlementOf: ((legs: Leg[]) => (LegSettlement | null)[] | undefined) | null = null;
  quoteAgeMs = 0;
  /** What this bridge has reported as positions (a real bridge answers `positions` from its mirror). */
  positionMirror = new Map<number, unknown>();
  /** A dead bridge stays silent. */
  answersPings = true;
  handlers: Record<string, Handler> = {
    open_orders: () => [],
    executions: () => [],
    completed_orders: () => [],
    positions: () => [...this.positionMirror.values()],
    write_log: () => ({ written: true }),
    cancel_all: () => ({ requested: true }),
    cancel: (p) => ({ order_id: p.order_id, status: "Submitted" }),
    quote: (p) => {
      // Like the real bridge: one leg is quoted as the instrument itself (its own positive mid),
      // several as the combo's signed net per unit.
      const mid = this.quoteMid ? this.quoteMid(p.legs) : p.legs.length === 1 ? (p.legs[0].price ?? null) : netLimitPrice(p.legs);
      return {
        bid: mid === null ? null : mid - 0.05, ask: mid === null ? null : mid + 0.05, last: null, mid, data_type: mid === null ? "unavailable" : "live",
        reason: mid === null ? "no market data subscription (354)" : null, as_of: new Date(this.edge.now().getTime() - this.quoteAgeMs).toISOString(),
        underlying: this.underlyingOf ? this.underlyingOf(p.legs) : p.legs[0]?.contract?.symbol ?? null,
        settlement: this.settlementOf ? this.settlementOf(p.legs) : twsSettlement(p.legs),
      };
    },
    // Like the real bridge (bridge/second-key.ts marketCheckViolations): an opening order sent
    // with a collar band is checked against this bridge's own quote first, and refused outside it.
    place: async (p) => {
      if (p.intent === "open" && (p.collar || p.exposure_group)) {
        const quote = (await this.handlers.quote!({ legs: p.legs })) as Quote;
        // The bridge judges the quote's age by the clock it stamped it with (TWS's: here the edge's).
        const violations = marketCheckViolations(p, quote, this.edge.now().getTime());
        if (violations.length) return { error: { code: "second_key_refused", message: `The bridge's second key refused the order: ${violations.map((v) => v.message).join("; ")}`, violations } };
      }
      return { order_id: this.nextOrderId++, perm_id: 9000 + this.nextOrderId, status: "Submitted", limit_price: ibkrLimit(p.legs, p.limit_price) };
    },
    close: (p) => ({ order_id: this.nextOrderId++, perm_id: 9000 + this.nextOrderId, status: "Submitted", limit_price: ibkrLimit(p.legs, p.limit_price) }),
    price_history: (p) => ({
      symbol: p.symbol, bar_size: p.bar_size ?? "1 day", duration: "10 D", as_of: this.edge.now().toISOString(),
      bars: [{ time: "2026-11-30", open: 99, high: 101, low: 98, close: 100, volume: 1000 }],
    }),
    modify: (p) => ({ order_id: p.order_id, perm_id: 9000 + p.order_id, status: "Submitted", limit_price: ibkrLimit(p.legs, p.limit_price) }),
    preview: () => ({ init_margin_change: 400, maint_margin_change: 400, equity_with_loan_change: -1.3, commission: 2.6, warning: null }),
    // The real bridge's preview_with_quote: the two answers above, side by side, each failing alone.
    preview_with_quote: async (p) => {
      const part = async (op: string) => {
        const answer = await this.handlers[op]!(p);
        const error = (answer as { error?: { message: string } } | undefined)?.error;
        return error ? { value: null, error: error.message } : { value: answer, error: null };
      };
      const [quote, margin] = await Promise.all([part("quote"), part("preview")]);
      return { quote: quote.value, quote_error: quote.error, margin: margin.value, margin_error: margin.error };
    },
    option_chain: (p) => ({ symbol: p.symbol, underlying_price: 100, expiries: [futureExpiry()], strikes: [95, 100, 105], expiry: p.expiry ?? futureExpiry(), quotes: [{ strike: 100, right: "C", bid: 2.1, ask: 2.2, mid: 2.15 }] }),
  };

  constructor(readonly edge: Edge, readonly bridgeId = `bridge-${crypto.randomUUID()}`) {
    this.welcome = new Promise((r) => (this.resolveWelcome = r));
    this.challenge = new Promise((r) => (this.resolveChallenge = r));
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  static async connect(edge: Edge, opts: { bridgeId?: string; tws?: "connected" | "down"; account?: number | null; hold?: string[] } = {}): Promise<FakeBridge> {
    const bridge = new FakeBridge(edge, opts.bridgeId);
    for (const op of opts.hold ?? []) bridge.handlers[op] = () => new Promise(() => undefined);
    await bridge.open(opts.tws ?? "connected");
    if (opts.account !== null) await bridge.account(opts.account ?? 100_000);
    return bridge;
  }

  /**
   * Opens the socket and answers the edge's challenge with a hello signed by `key` (the pinned
   * test key unless an impostor's is given); waits for the welcome unless told not to.
   */
  async open(tws: "connected" | "down" = "connected", opts: { key?: Ed25519Jwk; waitWelcome?: boolean } = {}): Promise<void> {
    const res = await this.edge.stub().fetch("https://edge.test/bridge", { headers: { upgrade: "websocket" } });
    if (!res.webSocket) throw new Error(`bridge upgrade failed: ${res.status}`);
    this.ws = res.webSocket;
    this.ws.accept();
    this.ws.addEventListener("message", (e) => void this.onMessage(JSON.parse(e.data as string)));
    this.ws.addEventListener("close", (e) => this.resolveClosed(e.code));
    const hello = {
      bridge_version: "test", bridge_id: this.bridgeId, account_id: ACCOUNT_ID, mode: "sim" as const,
      tws: { state: tws, since: this.edge.now().toISOString(), last_error: null, server_version: 193 }, last_seq: this.seq,
    };
    this.ws.send(JSON.stringify(await signHello(await this.challenge, hello, opts.key)));
    if (opts.waitWelcome !== false) await this.welcome;
    // From here on this bridge's stamps are on the edge's own clock.
    await this.edge.syncClock();
  }

  private async onMessage(frame: any): Promise<void> {
    this.frames.push(frame);
    if (frame.type === "challenge") this.resolveChallenge(frame);
    else if (frame.type === "welcome") this.resolveWelcome(frame);
    else if (frame.type === "ack") {
      this.acked = Math.max(this.acked, frame.seq);
      for (const w of this.ackWaiters.splice(0)) w();
    } else if (frame.type === "ping") {
      if (this.answersPings) this.send({ v: 1, type: "pong", t: frame.t });
    } else if (frame.type === "request") {
      this.requests.push({ id: frame.id, op: frame.op, params: frame.params });
      const handler = this.handlers[frame.op];
      const answer = handler ? await handler(frame.params) : { error: { code: "invalid_params", message: `fake bridge has no ${frame.op}` } };
      const error = (answer as { error?: unknown } | undefined)?.error;
      this.send(error ? { v: 1, type: "response", id: frame.id, ok: false, error } : { v: 1, type: "response", id: frame.id, ok: true, result: answer });
    }
  }

  send(frame: unknown): void {
    // An answer that arrives after the edge dropped the link goes nowhere, like on a real socket.
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  /** Sends an event and waits until the edge acknowledges it (stored). */
  async event(event: string, data: unknown, seq = ++this.seq): Promise<void> {
    if (event === "position") {
      const { account: _account, ...position } = data as { account: string; con_id: number; quantity: number };
      if (position.quantity === 0) this.positionMirror.delete(position.con_id);
      else this.positionMirror.set(position.con_id, position);
    }
    this.send({ v: 1, type: "event", seq, at: this.edge.now().toISOString(), event, data });
    while (this.acked < seq) await new Promise<void>((r) => this.ackWaiters.push(r));
  }

  account(netLiquidation: number, asOfAgeMs = 0): Promise<void> {
    return this.event("account", {
      account_id: ACCOUNT_ID, net_liquidation: netLiquidation, total_cash: netLiquidation, buying_power: netLiquidation * 4,
      available_funds: netLiquidation, excess_liquidity: netLiquidation, maintenance_margin: 0, unrealized_pnl: 0, realized_pnl: 0,
      daily_pnl: 0, currency: "USD", as_of: new Date(this.edge.now().getTime() - asOfAgeMs).toISOString(),
    });
  }

  orderStatus(orderRef: string, orderId: number, status: string, filled = 0, remaining = 1, avg: number | null = null): Promise<void> {
    return this.event("order_status", { order_id: orderId, perm_id: null, order_ref: orderRef, status, filled, remaining, avg_fill_price: avg, why_held: null, reason: null });
  }

  execution(orderRef: string, orderId: number, leg: Leg, side: "BOT" | "SLD", price: number, execId = crypto.randomUUID(), commission = 1): Promise<void> {
    return this.event("execution", execution(orderRef, orderId, leg, side, price, execId, commission, this.edge.now().toISOString()));
  }

  sent(op: string) {
    return this.requests.filter((r) => r.op === op);
  }

  close(): void {
    try {
      this.ws.close(1000, "test done");
    } catch {
      // already closed
    }
  }
}

export function execution(orderRef: string, orderId: number, leg: Leg, side: "BOT" | "SLD", price: number, execId: string, commission = 1, time = testNow().toISOString()) {
  const c = leg.contract as { symbol: string; expiry?: string; strike?: number; right?: "C" | "P"; sec_type?: string };
  return {
    exec_id: execId, order_id: orderId, perm_id: null, order_ref: orderRef, con_id: 1000 + (c.strike ?? 0), symbol: c.symbol,
    sec_type: c.sec_type === "STK" ? "STK" : "OPT", expiry: c.expiry ?? null, strike: c.strike ?? null, right: c.right ?? null,
    side, shares: leg.quantity, price, time, commission, realized_pnl: null,
  };
}

/** A leg's option contract. */
export const optionOf = (leg: Leg) => leg.contract as { symbol: string; expiry: string; strike: number; right: "C" | "P" };

/** An execution no order made, as TWS reports an exercise, an assignment or a lapse (permId 0, no orderRef): an option's, or (no expiry) its stock's. */
export function settlement(contract: { symbol: string; expiry?: string; strike?: number; right?: "C" | "P" }, side: "BOT" | "SLD", shares: number, price: number, time = testNow().toISOString(), execId: string = crypto.randomUUID()) {
  const option = contract.expiry !== undefined;
  return {
    exec_id: execId, order_id: 0, perm_id: 0, order_ref: null, con_id: option ? 2000 + contract.strike! * 10 : 265598, symbol: contract.symbol, sec_type: option ? "OPT" : "STK",
    expiry: contract.expiry ?? null, strike: contract.strike ?? null, right: contract.right ?? null, side, shares, price, time, commission: 0, realized_pnl: null,
  };
}

/** Two lots of the AAPL condor at a $3.00 credit each (worst case 2 × $200), placed; throws if refused. */
export async function placeTwoLots(edge: Edge): Promise<{ legs: Leg[]; placed: any }> {
  const legs = ironCondor("AAPL", 100, 2).map((leg) => ({ ...leg, price: leg.action === "SELL" ? 2.0 : 0.5 }));
  const placed = (await edge.call("place_order", { ...condorOrder(), legs, max_risk: 400, capital_required: 400 })).structuredContent;
  if (!placed.success) throw new Error(`two lots refused: ${placed.message}`);
  return { legs, placed };
}

/** Fills every leg of an order (opening: as the legs say; closing: reversed) at the given per-leg prices. */
export async function fillOrder(bridge: FakeBridge, orderRef: string, orderId: number, legs: Leg[], closing: boolean, prices: number[]): Promise<void> {
  for (const [i, leg] of legs.entries()) {
    const buys = (leg.action === "BUY") !== closing;
    await bridge.execution(orderRef, orderId, leg, buys ? "BOT" : "SLD", prices[i]!);
  }
  await bridge.orderStatus(orderRef, orderId, "Filled", 1, 0, 1);
}

/** A losing iron condor, opened and closed today through the fake bridge: a $128 realized loss. */
export async function bookLosingCondor(edge: Edge, bridge: FakeBridge, expiry = futureExpiry()): Promise<string> {
  const legs = ironCondor("AAPL", 100, 1, expiry);
  const opened = (await edge.call("place_order", condorOrder({ legs }, 100))).structuredContent;
  if (!opened?.trade_id) throw new Error(`the losing condor was not placed: ${JSON.stringify(opened)}`);
  await fillOrder(bridge, opened.trade_id, opened.order_id, legs, false, [1.0, 0.5, 1.0, 0.5]);
  const closed = await edge.call("close_position", { trade_id: opened.trade_id });
  await fillOrder(bridge, `${opened.trade_id}_CLOSE`, closed.structuredContent.close_order_id, legs, true, [1.5, 0.4, 1.5, 0.4]);
  return opened.trade_id;
}

/** What get_safety_status says is used of each limit. */
export async function limitsUsed(edge: Edge): Promise<Record<string, number>> {
  const status = (await edge.call("get_safety_status", {})).structuredContent;
  return Object.fromEntries(status.limits.map((l: { name: string; used: number }) => [l.name, l.used]));
}
