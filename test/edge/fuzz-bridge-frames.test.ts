// Adversarial bridge frames: a real WebSocket to /bridge through the Worker with the bridge token,
// then garbage, wrong versions, unknown types and events, and malformed events after a valid hello.
// A malformed frame is refused (not acked, audited) and changes nothing; non-JSON closes the link
// with 1003; a bad first frame closes it with 1008; no frame makes the edge send an order; and the
// object keeps serving (pong, get_safety_status, a verifying audit chain) after every barrage.
import { env, runInDurableObject, SELF } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AccountDO } from "../../edge/account-do";
import { ROWS_PER_CAUSE_AND_ADDRESS } from "../../edge/audit/audit-flood";
import { MAX_TRADE_RISK } from "../../shared/limits";
import { Event, Ping, Pong, Response as BridgeResponse } from "../../shared/protocol";
import { FUZZ_SEED, mutate, mutation } from "../shared/fuzz-mutations";
import { signHello } from "../support/bridge-test-key";
import { futureExpiry, testNow } from "./harness";

const ADMIN = { authorization: "Bearer test-admin-token" };
const MCP = { authorization: "Bearer test-mcp-token", "content-type": "application/json", accept: "application/json, text/event-stream" };
const ORDER_OPS = new Set(["place", "close", "cancel", "cancel_all", "preview"]);
let syncCounter = 0;

const unsignedHello = (bridgeId: string) => ({
  bridge_version: "fuzz", bridge_id: bridgeId, account_id: "sim", mode: "sim" as const,
  tws: { state: "connected" as const, since: new Date().toISOString(), last_error: null, server_version: 193 }, last_seq: 0,
});
/** A hello in the right shape whose signature is not the pinned key's: the base the fuzz mutates. */
const hello = (bridgeId: string) => ({ v: 1, type: "hello", ...unsignedHello(bridgeId), signature: "A".repeat(86) });

/** A bridge socket through the real Worker that records every frame the edge sends it. */
class Link {
  frames: any[] = [];
  requests: Array<{ op: string; params: unknown }> = [];
  closed: Promise<{ code: number; reason: string }>;
  isClosed = false;
  private waiters: Array<() => void> = [];
  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.addEventListener("close", (e) => {
      this.isClosed = true;
      resolve({ code: e.code, reason: e.reason });
      for (const w of this.waiters.splice(0)) w();
    }));
    ws.addEventListener("message", (e) => {
      let frame: any;
      try {
        frame = JSON.parse(e.data as string);
      } catch {
        frame = { unparsable: String(e.data) };
      }
      this.frames.push(frame);
      if (frame?.type === "request") {
        this.requests.push({ op: frame.op, params: frame.params });
        const result = frame.op === "open_orders" || frame.op === "executions" ? [] : null;
        this.send(result ? { v: 1, type: "response", id: frame.id, ok: true, result } : { v: 1, type: "response", id: frame.id, ok: false, error: { code: "invalid_params", message: "fuzz link" } });
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(): Promise<Link> {
    const res = await SELF.fetch("https://edge.test/bridge", { headers: { upgrade: "websocket", authorization: "Bearer test-bridge-token" } });
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    return new Link(res.webSocket!);
  }

  static async welcomed(bridgeId = `fuzz-${crypto.randomUUID()}`): Promise<Link> {
    const link = await Link.open();
    const challenge = await link.until((f) => f.type === "challenge", "challenge");
    link.send(await signHello(challenge, unsignedHello(bridgeId)));
    await link.until((f) => f.type === "welcome", "welcome");
    return link;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  async until(match: (frame: any) => boolean, what: string, from = 0, timeoutMs = 5_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames.slice(from).find(match);
      if (hit) return hit;
      if (this.isClosed) throw new Error(`link closed while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  /** Frames are handled in order: once our ping's pong is back, every earlier frame was handled. */
  async sync(): Promise<void> {
    const t = ++syncCounter + 0.123456789;
    const from = this.frames.length;
    this.send({ v: 1, type: "ping", t });
    await this.until((f) => f.type === "pong" && f.t === t, "pong", from);
  }

  close(): void {
    try {
      this.ws.close(1000, "fuzz done");
    } catch {
      // already closed
    }
  }
}

async function api(path: string): Promise<any> {
  const res = await SELF.fetch(`https://edge.test${path}`, { headers: ADMIN });
  expect(res.status).toBe(200);
  return res.json();
}

/** The parts of /api/state a frame could change (timestamps of freshness left out). */
async function stateFingerprint(): Promise<string> {
  const s = await api("/api/state");
  return JSON.stringify({ account: s.account, positions: s.positions, trades: s.trades, stop: s.emergency_stop, breakers: s.breakers, limits: s.limits.map((l: any) => [l.name, l.limit, l.used]), tws: s.tws?.state, approvals: s.pending_approvals });
}

async function stillServing(): Promise<void> {
  const res = await SELF.fetch("https://edge.test/mcp", { method: "POST", headers: MCP, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "get_safety_status", arguments: {} } }) });
  const body = (await res.json()) as any;
  expect(body.result.isError).toBeFalsy();
  expect(body.result.structuredContent.hard_limits.MAX_TRADE_RISK).toBe(MAX_TRADE_RISK);
  expect(await api("/api/audit/verify")).toMatchObject({ ok: true });
  const trades = (await api("/api/state")).trades;
  expect(trades).toEqual([]);
}

// ---- valid frames to mutate ---------------------------------------------------------------------

const now = () => testNow().toISOString();
const EVENT_DATA: Record<string, () => unknown> = {
  account: () => ({ account_id: "sim", net_liquidation: 100_000, total_cash: 100_000, buying_power: 400_000, available_funds: 100_000, excess_liquidity: 100_000, maintenance_margin: 0, unrealized_pnl: 0, realized_pnl: 0, daily_pnl: 0, currency: "USD", as_of: now() }),
  position: () => ({ account: "sim", symbol: "AAPL", sec_type: "OPT", expiry: futureExpiry(), strike: 100, right: "C", con_id: 4242, quantity: -1, avg_cost: 120, current_price: 1.1, market_value: -110, unrealized_pnl: 10, unrealized_pnl_pct: 8.3 }),
  order_status: () => ({ order_id: 77, perm_id: null, order_ref: "IRON_CONDOR_AAPL_20251119_103045", status: "Filled", filled: 1, remaining: 0, avg_fill_price: -1, why_held: null, reason: null }),
  execution: () => ({ exec_id: `ex-${crypto.randomUUID()}`, order_id: 77, perm_id: null, order_ref: "IRON_CONDOR_AAPL_20251119_103045", con_id: 4242, symbol: "AAPL", sec_type: "OPT", expiry: futureExpiry(), strike: 100, right: "C", side: "SLD", shares: 1, price: 1.1, time: now(), commission: 1, realized_pnl: null }),
  pnl: () => ({ daily: -10, unrealized: -5, realized: -5 }),
  tws_health: () => ({ state: "connected", since: now(), last_error: null, server_version: 193 }),
  refusal: () => ({ trade_id: "IRON_CONDOR_AAPL_20251119_103045", violations: [{ check: "max_trade_risk", message: "x", value: 600, limit: 500 }] }),
};
const EVENT_NAMES = Object.keys(EVENT_DATA);

function validFrame(kind: number, seq: number): Record<string, unknown> {
  const names = [...EVENT_NAMES, "response_ok", "response_error", "ping", "pong"];
  const name = names[kind % names.length]!;
  if (name === "response_ok") return { v: 1, type: "response", id: crypto.randomUUID(), ok: true, result: { order_id: 1 } };
  if (name === "response_error") return { v: 1, type: "response", id: crypto.randomUUID(), ok: false, error: { code: "tws_error", message: "201 rejected" } };
  if (name === "ping" || name === "pong") return { v: 1, type: name, t: Date.now() };
  return { v: 1, type: "event", seq, at: now(), event: name, data: EVENT_DATA[name]!() };
}

/** Judged as the edge sees it: after the JSON round trip (Infinity becomes null, -0 becomes 0). */
const isValidFrame = (frame: unknown): boolean => {
  const wire = JSON.parse(JSON.stringify(frame) ?? "null");
  return [Event, BridgeResponse, Ping, Pong].some((schema) => schema.safeParse(wire).success);
};
const invalidCount = async (): Promise<number> => (await api("/api/audit?action=bridge_frame_invalid&limit=1000")).rows.length;

/** Wrong versions, unknown types and events, hello again, odd top-level JSON. */
const hostileEnvelope = fc.oneof(
  fc.record({ v: fc.constantFrom(0, 2, "1", null, 1.5, -1), type: fc.constantFrom("event", "response", "ping"), seq: fc.nat(), event: fc.constantFrom(...EVENT_NAMES), data: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ v: fc.constant(1), type: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("hello", "welcome", "request", "ack", "EVENT", "", "__proto__", "constructor")), seq: fc.nat() }),
  fc.record({ v: fc.constant(1), type: fc.constant("event"), seq: fc.oneof(fc.integer(), fc.double(), fc.string()), at: fc.string(), event: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("place", "order", "__proto__", "toString")), data: fc.jsonValue({ maxDepth: 3 }) }),
  fc.constantFrom<unknown>(null, [], [1, 2], 0, -1, "event", true, { type: null }, { type: { event: 1 } }),
  fc.jsonValue({ maxDepth: 4 }),
);

describe("fuzzing the bridge link's frames", () => {
  it("refuses malformed frames after a valid hello without changing state or sending orders", async () => {
    const link = await Link.welcomed();
    let seq = 0;
    const send = async (frame: unknown) => {
      const from = link.frames.length;
      link.send(JSON.stringify(frame));
      await link.sync();
      return link.frames.slice(from);
    };
    // A real account snapshot first, so "changes nothing" has something to protect.
    const acked = await send({ v: 1, type: "event", seq: ++seq, at: now(), event: "account", data: EVENT_DATA.account!() });
    expect(acked.some((f) => f.type === "ack" && f.seq === seq)).toBe(true);
    let baseline = await stateFingerprint();
    const stats = { malformed: 0, hostile: 0, valid: 0 };
    const started = Date.now();

    const malformed = fc
      .tuple(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 3 }))
      .map(([kind, mutations]) => mutate(validFrame(kind, seq + 1), mutations))
      .filter((frame) => !isValidFrame(frame));
    await fc.assert(
      fc.asyncProperty(fc.oneof(malformed, hostileEnvelope.filter((f) => !isValidFrame(f))), async (frame) => {
        const invalidBefore = await invalidCount();
        const answers = await send(frame);
        stats.malformed++;
        // Refused with a record of why (pings and pongs with an odd t are merely answered).
        const type = (frame as { type?: unknown } | null)?.type;
        if (type !== "ping" && type !== "pong") expect(await invalidCount(), `not recorded as an invalid frame: ${JSON.stringify(frame).slice(0, 300)}`).toBe(invalidBefore + 1);
        expect(answers.filter((f) => f.type === "ack"), JSON.stringify(frame).slice(0, 300)).toEqual([]);
        expect(link.isClosed).toBe(false);
        expect(await stateFingerprint(), JSON.stringify(frame).slice(0, 300)).toBe(baseline);
      }),
      { numRuns: 480, seed: FUZZ_SEED + 11, endOnFailure: true },
    );

    // Near-valid frames that may still parse: they are handled (acked when they are events) or
    // refused, and none of them can make the edge send an order.
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.array(mutation, { maxLength: 2 }), async (kind, mutations) => {
        const frame = mutate(validFrame(kind, seq + 1), mutations) as any;
        const valid = isValidFrame(frame);
        const answers = await send(frame);
        expect(link.isClosed).toBe(false);
        if (valid && frame.type === "event") {
          stats.valid++;
          expect(answers.some((f) => f.type === "ack"), JSON.stringify(frame).slice(0, 300)).toBe(true);
          if (Number.isSafeInteger(frame.seq) && frame.seq > seq) seq = frame.seq;
        } else if (!valid) expect(answers.filter((f) => f.type === "ack")).toEqual([]);
      }),
      { numRuns: 350, seed: FUZZ_SEED + 12, endOnFailure: true },
    );
    expect(link.requests.filter((r) => ORDER_OPS.has(r.op))).toEqual([]);
    console.info(`fuzz-bridge-frames: ${stats.malformed} malformed frames, ${stats.valid} valid events among 350 near-valid, ${Math.round((Date.now() - started) / 1000)} s, seed ${FUZZ_SEED}`);

    // Still the same link, still serving; malformed frames were audited as such.
    await link.sync();
    expect((await api("/api/audit?action=bridge_frame_invalid&limit=1")).rows.length).toBe(1);
    await stillServing();
    link.close();
  }, 120_000);

  it("closes the link on a non-JSON frame with 1003 and keeps serving the next bridge", async () => {
    const garbage = fc.oneof(
      fc.string({ minLength: 1, maxLength: 300 }).filter((s) => { try { JSON.parse(s); return false; } catch { return true; } }),
      fc.constantFrom("{", "}", "NaN", "undefined", "{'v':1}", "\u0000", "[1,]", '{"v":1,"type":"event",', "x".repeat(60_000)),
      fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => bytes.buffer as ArrayBuffer),
    );
    let closes = 0;
    await fc.assert(
      fc.asyncProperty(garbage, async (frame) => {
        const link = await Link.welcomed();
        // Binary frames are decoded as UTF-8 and parsed too; a byte string that happens to be JSON is skipped.
        if (frame instanceof ArrayBuffer) {
          let json = true;
          try { JSON.parse(new TextDecoder().decode(frame)); } catch { json = false; }
          fc.pre(!json);
        }
        link.ws.send(frame);
        const closed = await Promise.race([link.closed, new Promise<null>((r) => setTimeout(() => r(null), 3_000))]);
        expect(closed?.code, `no 1003 close for ${String(frame).slice(0, 80)}`).toBe(1003);
        closes++;
      }),
      { numRuns: 40, seed: FUZZ_SEED + 13, endOnFailure: true },
    );
    expect(closes).toBeGreaterThan(20);
    const link = await Link.welcomed();
    await link.sync();
    await stillServing();
    link.close();
  }, 90_000);

  it("closes the link with 1008 when the first frame is not a hello for this account signed for this socket", async () => {
    const firstFrame = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.array(mutation, { minLength: 1, maxLength: 2 }).map((m) => mutate(hello(`fuzz-${crypto.randomUUID()}`), m)),
      fc.constantFrom<unknown>({ ...hello("fuzz-abcdefgh"), account_id: "DU999999" }, { ...hello("fuzz-abcdefgh"), v: 2 }, { ...hello("short") }, { ...hello("fuzz-abcdefgh"), mode: "live" }),
    );
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(firstFrame, async (frame) => {
        // Even a well-formed hello for this account is refused: none of these is signed for the socket.
        fc.pre(JSON.stringify(frame) !== undefined);
        const link = await Link.open();
        link.send(JSON.stringify(frame));
        const closed = await Promise.race([link.closed, new Promise<null>((r) => setTimeout(() => r(null), 3_000))]);
        expect(closed?.code, JSON.stringify(frame).slice(0, 200)).toBe(1008);
        expect(link.frames.filter((f) => f.type === "welcome")).toEqual([]);
        refused++;
      }),
      { numRuns: 60, seed: FUZZ_SEED + 14, endOnFailure: true },
    );
    expect(refused).toBeGreaterThan(40);
    // Every refusal is counted; a caller without the key gets at most the per-address bound of rows
    // (edge/audit/audit-flood.ts), the rest summed up in one audit_suppressed row when the hour ends.
    const rows = (await api("/api/audit?action=bridge_refused&limit=1000")).rows;
    expect(rows.length).toBe(Math.min(refused, ROWS_PER_CAUSE_AND_ADDRESS));
    const counted = await runInDurableObject(env.ACCOUNT.get(env.ACCOUNT.idFromName("sim")), async (_o: AccountDO, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COALESCE(SUM(written + suppressed), 0) AS n FROM audit_flood WHERE action = 'bridge_refused'").one().n);
    expect(counted).toBe(refused);
    const link = await Link.welcomed();
    await link.sync();
    await stillServing();
    link.close();
  }, 90_000);
});
