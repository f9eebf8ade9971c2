// Adversarial edge→bridge traffic against the real bridge connected to the TWS simulator, sent
// from the ws test double of the edge: fuzzed params for every operation, near-valid mutations of
// place/close/preview, and raw garbage frames. Every request gets a response (a result or a coded
// error with a message), the simulator receives no order for an input that is not a sane one,
// the bridge stays linked and serving, and its pino output (at trace level) never holds the token.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import fc from "fast-check";
import type { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIMITS, MAX_TRADE_RISK } from "../../shared/limits";
import { tradingDay } from "../../shared/trade-id";
import { OpName } from "../../shared/protocol";
import { FUZZ_SEED, mutate, mutation } from "../shared/fuzz-mutations";
import { gcd, placeParams, type Rig, spyIronCondor, startRig, TOKEN, until } from "./helpers";

const CODES = new Set(["invalid_params", "second_key_refused", "emergency_stop_file", "tws_not_connected", "tws_error", "timeout", "unknown_order", "internal_error"]);
const ORDER_OPS = new Set(["place", "close"]);

let rig: Rig;
beforeAll(async () => {
  // Trace level: every line the bridge can write is captured and searched for the token.
  rig = await startRig({ LOG_LEVEL: "trace", BRIDGE_ORDER_ACK_TIMEOUT_MS: "3000" });
}, 30_000);
afterAll(async () => {
  await rig?.stop();
});

const stats = { requests: 0, errors: 0, ok: 0, rawFrames: 0 };

/** One request; the answer must be a result or a coded error with a message. */
async function ask(op: string, params: unknown): Promise<{ ok: boolean; code?: string; message?: string }> {
  const frame = await rig.edge.request(op, params, 15_000);
  stats.requests++;
  if (frame.ok) {
    stats.ok++;
    return { ok: true };
  }
  stats.errors++;
  expect(CODES.has(frame.error?.code ?? ""), `unknown error code ${JSON.stringify(frame.error)}`).toBe(true);
  expect(frame.error?.message.length, `error without a message for ${op}`).toBeGreaterThan(0);
  return { ok: false, code: frame.error?.code, message: frame.error?.message };
}

const isObj = (v: unknown): v is Record<string, any> => !!v && typeof v === "object" && !Array.isArray(v);
const num = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Necessary conditions for a `place` that may reach TWS, written apart from the bridge's code. */
function sendable(p: unknown): boolean {
  if (!isObj(p)) return false;
  const keys = new Set(["trade_id", "symbol", "strategy", "legs", "max_risk", "order_type", "limit_price", "intent", "settlement"]);
  if (Object.keys(p).some((k) => !keys.has(k))) return false;
  if (typeof p.trade_id !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(p.trade_id) || p.trade_id.includes("..")) return false;
  if (p.symbol !== "SPY" || typeof p.strategy !== "string") return false;
  if ((p.order_type ?? "LMT") !== "LMT" || (p.intent ?? "open") !== "open") return false;
  if (!num(p.max_risk) || p.max_risk < 0 || p.max_risk > MAX_TRADE_RISK) return false;
  if (!Array.isArray(p.legs) || p.legs.length < 1 || p.legs.length > LIMITS.MAX_LEGS_PER_ORDER) return false;
  const seen = new Set<string>();
  for (const leg of p.legs) {
    if (!isObj(leg) || (leg.action !== "BUY" && leg.action !== "SELL")) return false;
    if (!Number.isInteger(leg.quantity) || leg.quantity < 1 || leg.quantity > LIMITS.MAX_CONTRACTS_PER_ORDER) return false;
    if (!num(leg.price) || leg.price < LIMITS.MIN_LEG_PRICE) return false;
    const c = leg.contract;
    if (!isObj(c) || c.symbol !== "SPY" || !num(c.strike) || c.strike <= 0 || (c.right !== "C" && c.right !== "P")) return false;
    // The broker's trading day (the simulator's pinned clock), as the second key judges it.
    if (typeof c.expiry !== "string" || c.expiry < tradingDay(new Date(rig.sim.advanceClock(0).now))) return false;
    if (seen.has(`${c.expiry}${c.strike}${c.right}`)) return false;
    seen.add(`${c.expiry}${c.strike}${c.right}`);
  }
  const size = p.legs.reduce((g: number, l: any) => gcd(g, l.quantity), 0);
  const net = p.legs.reduce((s: number, l: any) => s + (l.action === "BUY" ? 1 : -1) * (l.quantity / size) * l.price, 0);
  return p.limit_price === undefined || (num(p.limit_price) && Math.abs(p.limit_price - net) <= 0.006);
}

let tradeCounter = 0;
const tradeId = () => `FUZZ_SPY_20261125_${String(100000 + ++tradeCounter).slice(-6)}`;

function validParams(op: string): Record<string, unknown> {
  const legs = spyIronCondor(rig.sim);
  switch (op) {
    case "place":
    case "preview": return placeParams(tradeId(), legs, 499);
    case "close": { const id = tradeId(); return { trade_id: id, close_trade_id: `${id}_CLOSE`, legs, symbol: "SPY" }; }
    case "cancel":
    case "order_status": return { order_id: 1 };
    case "executions": return { since: "20261125 00:00:00" };
    case "positions": return { symbol: "SPY" };
    case "quote": return { legs: legs.slice(0, 1) };
    case "option_chain": return { symbol: "SPY", strike_range: 0.01 };
    case "write_log": return { kind: "safety_violation", at: new Date().toISOString(), message: "fuzz", details: { n: 1 } };
    default: return {};
  }
}

/** The test edge's socket, to send frames the helper's request() would not build. */
const rawSocket = (): WebSocket => (rig.edge as unknown as { socket: WebSocket }).socket;

describe("fuzzing edge→bridge requests", () => {
  it("closing: no input reaches TWS while the account holds nothing (close, and place with intent close)", async () => {
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("close", "place"), fc.array(mutation, { maxLength: 3 }), async (op, mutations) => {
        const base = op === "close" ? validParams("close") : { ...validParams("place"), intent: "close" };
        const answer = await ask(op, mutate(base, mutations));
        expect(answer.ok, `a close went out: ${JSON.stringify(mutations).slice(0, 300)}`).toBe(false);
        expect(rig.sim.orders()).toEqual([]);
      }),
      { numRuns: 800, seed: FUZZ_SEED + 21, endOnFailure: true },
    );
    console.info(`fuzz-requests closing: 800 cases in ${Math.round((Date.now() - started) / 1000)} s`);
  }, 90_000);

  it("every operation answers arbitrary JSON params with a result or a coded error, and sends no order", async () => {
    const ops = OpName.options;
    expect(ops).toEqual(expect.arrayContaining(["place", "close", "preview", "cancel", "cancel_all", "quote", "write_log"]));
    const started = Date.now();
    for (const [i, op] of ops.entries()) {
      await fc.assert(
        fc.asyncProperty(fc.jsonValue({ maxDepth: 3 }), async (params) => {
          await ask(op, params);
          if (!ORDER_OPS.has(op) || !sendable(params)) expect(rig.sim.orders()).toEqual([]);
        }),
        { numRuns: 120, seed: FUZZ_SEED + 30 + i, endOnFailure: true },
      );
    }
    console.info(`fuzz-requests arbitrary: ${ops.length * 120} cases over ${ops.length} ops in ${Math.round((Date.now() - started) / 1000)} s`);
  }, 120_000);

  it("near-valid mutations of every operation's params: no order unless the place is a sane, bounded one", async () => {
    const started = Date.now();
    let placed = 0;
    const ops = OpName.options.filter((op) => op !== "cancel_all" && op !== "close");
    for (const [i, op] of ops.entries()) {
      const runs = op === "place" ? 1500 : op === "preview" ? 300 : 100;
      await fc.assert(
        fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
          const params = mutate(validParams(op), mutations);
          const before = rig.sim.orders().length;
          const answer = await ask(op, params);
          const after = rig.sim.orders();
          if (after.length > before) {
            expect(op, "an order from an operation that never places").toBe("place");
            expect(sendable(params), `an order reached TWS for ${JSON.stringify(params).slice(0, 500)}`).toBe(true);
            expect(after).toHaveLength(before + 1);
            expect(answer.ok).toBe(true);
            placed++;
          }
        }),
        { numRuns: runs, seed: FUZZ_SEED + 60 + i, endOnFailure: true },
      );
    }
    console.info(`fuzz-requests mutated: ${ops.length} ops, ${placed} sane orders placed, ${Math.round((Date.now() - started) / 1000)} s`);
  }, 150_000);

  it("garbage frames are ignored or answered, the link stays up, and a valid request is still served", async () => {
    const frames = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.record({ v: fc.constantFrom(0, 2, "1", null), type: fc.constantFrom("request", "welcome", "ack", "ping"), id: fc.string(), op: fc.constantFrom("place", "close"), params: fc.jsonValue({ maxDepth: 2 }) }).map((v) => JSON.stringify(v)),
      fc.record({ v: fc.constant(1), type: fc.constant("request"), id: fc.oneof(fc.constant(""), fc.integer(), fc.constant(null)), op: fc.constantFrom("place", "close", "cancel_all"), params: fc.constant(validParams("place")) }).map((v) => JSON.stringify(v)),
      fc.record({ v: fc.constant(1), type: fc.constant("ack"), seq: fc.oneof(fc.integer(), fc.double(), fc.string()) }).map((v) => JSON.stringify(v)),
    );
    const socket = rawSocket();
    await fc.assert(
      fc.asyncProperty(frames, async (frame) => {
        socket.send(frame);
        stats.rawFrames++;
      }),
      { numRuns: 400, seed: FUZZ_SEED + 90, endOnFailure: true },
    );
    // A request with an unknown op is no request the bridge can run: it must not place anything either.
    socket.send(JSON.stringify({ v: 1, type: "request", id: "weird-op", op: "place_order_now", params: validParams("place") }));
    const answer = await ask("account", {});
    expect(answer.ok).toBe(true);
    expect(rig.edge.connected).toBe(true);
    expect(rawSocket()).toBe(socket); // the same link: garbage did not make the bridge reconnect
    expect(rig.sim.orders().filter((o) => !o.orderRef?.startsWith("FUZZ_"))).toEqual([]);
  }, 60_000);

  it("a malformed request that carries an id (unknown op, wrong version, extra keys) is answered with an error, not left to time out", async () => {
    const socket = rawSocket();
    const responses = new Map<string, { ok: boolean; error?: { code: string; message: string } }>();
    const listen = (raw: Buffer) => {
      const frame = JSON.parse(raw.toString());
      if (frame.type === "response") responses.set(frame.id, frame);
    };
    socket.on("message", listen);
    let n = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.string({ minLength: 1, maxLength: 20 }).filter((op) => !(OpName.options as string[]).includes(op)), fc.constantFrom("place_order", "PLACE", "__proto__", "toString")),
          fc.constantFrom<unknown>(1, 2, "1", 0),
          fc.option(fc.constantFrom("limits", "max_trade_risk", "force"), { nil: undefined }),
          async (op, v, extra) => {
            const id = `malformed-${++n}`;
            socket.send(JSON.stringify({ v, type: "request", id, op, params: validParams("place"), ...(extra ? { [extra]: 1e9 } : {}) }));
            const answer = await until(() => responses.get(id), 2_000, `an answer to ${id} (${op})`);
            expect(answer.ok).toBe(false);
            expect(answer.error?.code).toBe("invalid_params");
            expect(answer.error?.message.length).toBeGreaterThan(0);
          },
        ),
        { numRuns: 100, seed: FUZZ_SEED + 95, endOnFailure: true },
      );
    } finally {
      socket.off("message", listen);
    }
    expect(rig.sim.orders().filter((o) => !o.orderRef?.startsWith("FUZZ_"))).toEqual([]);
  }, 60_000);

  it("after a dropped link and a reconnect, the bridge's log never held BRIDGE_TOKEN", async () => {
    rig.edge.dropBridge();
    await until(() => rig.edge.connected && rig.edge.hellos.length > 1, 10_000, "the bridge to reconnect");
    await ask("health", {});
    const logs = rig.logs.lines;
    console.info(`fuzz-requests: ${stats.requests} requests (${stats.errors} errors, ${stats.ok} ok), ${stats.rawFrames} raw frames, ${logs.length} log lines, seed ${FUZZ_SEED}`);
    expect(logs.length).toBeGreaterThan(100); // trace level really captured the run
    for (const line of logs) {
      expect(line).not.toContain(TOKEN);
      expect(line).not.toContain(Buffer.from(TOKEN).toString("base64"));
    }
    // The trade logs and safety_violations.log the run wrote on the "trading box" hold no token either.
    const files = readdirSync(rig.config.logsDir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(readFileSync(join(f.parentPath, f.name), "utf8"), f.name).not.toContain(TOKEN);
    // Fuzzed trade ids ("../..", NUL, slashes) wrote nothing outside the logs folder: the workspace
    // holds only logs/ (trade files in logs/trades, the two .log files beside it) and the bridge's identity key.
    const workspace = dirname(rig.config.logsDir);
    const written = readdirSync(workspace, { recursive: true, withFileTypes: true }).filter((f) => f.isFile()).map((f) => relative(workspace, join(f.parentPath, f.name)));
    for (const path of written) expect(path, path).toMatch(/^(logs\/(trades\/[A-Za-z0-9][A-Za-z0-9_.-]*\.json|safety_violations\.log|circuit_breaker\.log)|bridge_identity\.pem)$/);
    expect(existsSync("/tmp/pwned")).toBe(false);
    // The refusals were logged (so the search above looked at the lines that echo inputs).
    expect(logs.some((l) => l.includes("second key") || l.includes("second_key_refused"))).toBe(true);
  }, 30_000);
});
