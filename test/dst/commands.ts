// The steps of a schedule, as fast-check commands: what an agent does (place, modify, close,
// cancel), what a person does (the emergency stop and its close-all, a breaker reset), what the
// market does (moves, partial fills), and what goes wrong (link cuts, frames lost, duplicated or
// delayed, bridge and edge restarts, TWS silent, cut off from IB or restarted with ids from 1,
// early assignment, expiry, clock jumps over closes and weekends). Every parameter is drawn by
// fast-check from the seed, so a failing schedule replays exactly and shrinks to its core.
import fc from "fast-check";
import { expiryClose, newYorkInstant, nextTradingDate, orderSession, sessionOn } from "../../shared/market-calendar";
import type { Leg } from "../../shared/order";
import { buildOrder, type OrderSpec, PRICINGS, SHAPES, SYMBOLS, touchNet } from "./agent";
import { InvariantViolation } from "./invariants";
import type { Run } from "./run";
import type { Direction, FrameFault } from "./network";
import { SimulationStall } from "./world";

export type Model = Record<string, never>;
export type Command = fc.AsyncCommand<Model, Run, false>;

abstract class Step implements Command {
  check(): true {
    return true;
  }
  async run(_m: Model, r: Run): Promise<void> {
    r.executed.push(this.toJSON());
    r.step(this.toString());
    try {
      await this.act(r);
    } catch (error) {
      // A call the edge could not answer (it is down) is the agent's problem, not a violation; a
      // call that never ends is.
      if (error instanceof SimulationStall) throw new InvariantViolation(r.report("liveness", [error.message]));
      if (error instanceof InvariantViolation) throw error;
      r.step(`  → ${(error as Error).message.slice(0, 200)}`);
    }
    r.checkSafety();
  }
  abstract act(r: Run): Promise<void>;
  abstract toString(): string;
  /** The step as data: [kind, ...constructor arguments] (decodeStep turns it back into the step). */
  abstract toJSON(): unknown[];
}

const say = (r: Run, what: string) => r.step(`  → ${what.slice(0, 240)}`);

// ---------------------------------------------------------------- the agent

class Place extends Step {
  constructor(readonly spec: OrderSpec) {
    super();
  }
  async act(r: Run) {
    const built = buildOrder(r.world.sim, this.spec, new Date(r.now));
    if (!built) return say(r, "no such contracts listed");
    const a = await r.world.tool("place_order", built.order);
    say(r, `${a.isError ? "refused" : "ok"} ${a.structured.trade_id ?? ""} ${a.structured.status ?? ""} ${a.isError ? a.text : ""}`);
  }
  toJSON() {
    return ["place", this.spec];
  }
  toString() {
    return `place ${JSON.stringify(this.spec)}`;
  }
}

type TradeView = { trade_id: string; state: string; legs: Leg[]; orders: { order_id: number | null; intent: string; status: string }[]; limit_price: number };

async function trades(r: Run, state?: string): Promise<TradeView[]> {
  const a = await r.world.tool("list_trades", state ? { state, limit: 100 } : { limit: 100 });
  return (a.structured.trades ?? []) as TradeView[];
}

class Modify extends Step {
  constructor(readonly pick: number, readonly to: "touch" | "toward" | "away") {
    super();
  }
  async act(r: Run) {
    const working = [...(await trades(r, "working")), ...(await trades(r, "closing"))];
    const t = working[this.pick % Math.max(1, working.length)];
    if (!t) return say(r, "nothing working");
    const closing = t.state === "closing";
    const touch = touchNet(r.world.sim, t.legs, closing);
    if (touch === null) return say(r, "no quote");
    const current = closing ? touch : t.limit_price;
    const target = this.to === "touch" ? touch : this.to === "toward" ? (current + touch) / 2 : touch * 1.5;
    const a = await r.world.tool("modify_order", { trade_id: t.trade_id, limit_price: Math.round(target * 100) / 100 });
    say(r, `${a.isError ? "refused" : "ok"} ${a.structured.status ?? ""} ${a.isError ? a.text : ""}`);
  }
  toJSON() {
    return ["modify", this.pick, this.to];
  }
  toString() {
    return `modify #${this.pick} to ${this.to}`;
  }
}

class Close extends Step {
  constructor(readonly pick: number, readonly withLimit: boolean) {
    super();
  }
  async act(r: Run) {
    const open = await trades(r, "open");
    const t = open[this.pick % Math.max(1, open.length)];
    if (!t) return say(r, "nothing open");
    const args: Record<string, unknown> = { trade_id: t.trade_id };
    if (this.withLimit) {
      const touch = touchNet(r.world.sim, t.legs, true);
      if (touch !== null) args.limit_price = touch;
    }
    const a = await r.world.tool("close_position", args);
    say(r, `${a.isError ? "refused" : "ok"} ${a.structured.status ?? ""} ${a.isError ? a.text : ""}`);
  }
  toJSON() {
    return ["close", this.pick, this.withLimit];
  }
  toString() {
    return `close #${this.pick}${this.withLimit ? " at the touch" : ""}`;
  }
}

class Cancel extends Step {
  constructor(readonly pick: number) {
    super();
  }
  async act(r: Run) {
    const working = [...(await trades(r, "working")), ...(await trades(r, "closing"))];
    const t = working[this.pick % Math.max(1, working.length)];
    const order = t?.orders.find((o) => o.order_id !== null && !["Filled", "Cancelled", "Rejected", "Inactive"].includes(o.status));
    if (!order) return say(r, "nothing to cancel");
    const a = await r.world.tool("cancel_order", { order_id: order.order_id });
    say(r, `${a.isError ? "refused" : "ok"} ${a.structured.status ?? ""} ${a.isError ? a.text : ""}`);
  }
  toJSON() {
    return ["cancel", this.pick];
  }
  toString() {
    return `cancel #${this.pick}`;
  }
}

// ---------------------------------------------------------------- the person

class EmergencyStop extends Step {
  constructor(readonly on: boolean, readonly cancelOrders: boolean, readonly closePositions: boolean) {
    super();
  }
  async act(r: Run) {
    const body = this.on ? { on: true, reason: "simulation", cancel_orders: this.cancelOrders, close_positions: this.closePositions } : { on: false, reason: "simulation" };
    // The stop is on from the moment the person sets it, answered or not.
    if (this.on) r.stopOn(true);
    const a = await r.world.admin("/api/emergency-stop", body);
    if (!this.on && a.status === 200) r.stopOn(false);
    say(r, `${a.status}`);
  }
  toJSON() {
    return ["stop", this.on, this.cancelOrders, this.closePositions];
  }
  toString() {
    return this.on ? `emergency stop${this.cancelOrders ? " + cancel orders" : ""}${this.closePositions ? " + close positions" : ""}` : "emergency stop off";
  }
}

class ResetBreakers extends Step {
  async act(r: Run) {
    for (const breaker of ["daily_loss", "drawdown", "consecutive_losses", "assignment"]) await r.world.admin("/api/breakers/reset", { breaker, reason: "simulation: reviewed" });
  }
  toJSON() {
    return ["reset_breakers"];
  }
  toString() {
    return "reset breakers";
  }
}

// ---------------------------------------------------------------- the market and time

class MoveMarket extends Step {
  constructor(readonly symbol: string, readonly pct: number) {
    super();
  }
  async act(r: Run) {
    const sim = r.world.sim;
    sim.market.setPrice(this.symbol, sim.market.getPrice(this.symbol) * (1 + this.pct / 100));
    sim.marketChanged([this.symbol]);
    await r.world.elapse(200);
  }
  toJSON() {
    return ["market", this.symbol, this.pct];
  }
  toString() {
    return `${this.symbol} ${this.pct > 0 ? "+" : ""}${this.pct}%`;
  }
}

class Elapse extends Step {
  constructor(readonly ms: number) {
    super();
  }
  async act(r: Run) {
    await r.world.elapse(this.ms);
  }
  toJSON() {
    return ["wait", this.ms];
  }
  toString() {
    return `wait ${this.ms} ms`;
  }
}

class SlowFills extends Step {
  constructor(readonly on: boolean) {
    super();
  }
  async act(r: Run) {
    r.world.sim.engine.sliceLimit = this.on ? 1 : undefined;
    r.world.sim.engine.opts.fillDelayMs = this.on ? 4_000 : 0;
  }
  toJSON() {
    return ["slow_fills", this.on];
  }
  toString() {
    return this.on ? "fills one unit every 4 s (partial fills)" : "fills at once";
  }
}

class JumpClock extends Step {
  constructor(readonly to: "hours" | "close" | "weekend" | "expiry_day" | "expiry") {
    super();
  }
  async act(r: Run) {
    const now = r.now;
    // The nearest expiry of an option the account holds, else the first listed.
    const held = [...r.world.sim.account.positions.values()].filter((p) => p.contract.secType === "OPT" && p.qty !== 0).map((p) => p.contract.expiry).sort();
    const firstExpiry = held[0] ?? r.world.sim.market.expiries[0];
    const expiry = firstExpiry ? `${firstExpiry.slice(0, 4)}-${firstExpiry.slice(4, 6)}-${firstExpiry.slice(6, 8)}` : null;
    let target = now + 3 * 3_600_000;
    if (this.to === "close") target = orderSession(now).close + 60_000;
    if (this.to === "weekend") {
      // The next session after which the exchange closes for more than a night, then into that break.
      let session = orderSession(now);
      for (let i = 0; i < 10; i++) {
        const next = nextTradingDate(session.date);
        if (Date.parse(`${next}T00:00:00Z`) - Date.parse(`${session.date}T00:00:00Z`) > 86_400_000) break;
        session = sessionOn(next)!;
      }
      target = session.close + 40 * 3_600_000;
    }
    if (this.to === "expiry_day" && expiry) target = newYorkInstant(expiry, 10, 0);
    if (this.to === "expiry" && expiry) target = expiryClose(expiry) + 60_000;
    if (target <= now) return say(r, "already past it");
    r.world.jumpClock(target - now);
    await r.world.elapse(1_000);
  }
  toJSON() {
    return ["jump", this.to];
  }
  toString() {
    return `clock jumps to ${this.to.replace("_", " ")}`;
  }
}

// ---------------------------------------------------------------- faults

class CutLinks extends Step {
  async act(r: Run) {
    say(r, `${r.world.net.cutAll()} link(s) cut`);
    await r.world.elapse(200);
  }
  toJSON() {
    return ["cut_links"];
  }
  toString() {
    return "cut the bridge ⇄ edge link";
  }
}

class FrameFaultStep extends Step {
  constructor(readonly direction: Direction, readonly frame: "response" | "event" | "request" | "any", readonly fault: FrameFault) {
    super();
  }
  async act(r: Run) {
    const match = this.frame === "any" ? () => true : (data: string) => data.includes(`"type":"${this.frame}"`);
    r.world.net.arm(this.direction, this.fault, match);
  }
  toJSON() {
    return ["frame", this.direction, this.frame, this.fault];
  }
  toString() {
    return `next ${this.frame} frame ${this.direction}: ${this.fault.kind}${this.fault.kind === "delay" ? ` ${this.fault.ms} ms` : ""}`;
  }
}

class BridgeProcess extends Step {
  constructor(readonly up: boolean) {
    super();
  }
  async act(r: Run) {
    if (this.up && !r.world.bridge) r.world.startBridge();
    if (!this.up) r.world.killBridge();
    await r.world.elapse(100);
  }
  toJSON() {
    return ["bridge", this.up];
  }
  toString() {
    return this.up ? "start the bridge" : "kill the bridge";
  }
}

class EdgeInstance extends Step {
  constructor(readonly up: boolean) {
    super();
  }
  async act(r: Run) {
    if (this.up && !r.world.edgeRunning) r.world.startEdge();
    if (!this.up) r.world.stopEdge();
    await r.world.elapse(100);
  }
  toJSON() {
    return ["edge", this.up];
  }
  toString() {
    return this.up ? "start the edge" : "stop the edge (its instance ends)";
  }
}

class Tws extends Step {
  constructor(readonly what: "silent" | "speaks" | "down" | "up" | "restart" | "ib_lost" | "ib_back") {
    super();
  }
  async act(r: Run) {
    const w = r.world;
    switch (this.what) {
      case "silent":
        w.sim.setSilent(true);
        r.twsSilent = true;
        break;
      case "speaks":
        w.sim.setSilent(false);
        r.twsSilent = false;
        break;
      case "down":
        w.twsListening = false;
        w.sim.dropAll();
        break;
      case "up":
        w.twsListening = true;
        break;
      case "restart":
        r.log.restartTws();
        break;
      case "ib_lost":
        w.sim.connectivityLost();
        r.twsConnectivityLost = true;
        break;
      case "ib_back":
        w.sim.connectivityRestored(false);
        r.twsConnectivityLost = false;
        break;
    }
    await w.elapse(200);
  }
  toJSON() {
    return ["tws", this.what];
  }
  toString() {
    return `TWS ${this.what}`;
  }
}

class AssignEarly extends Step {
  constructor(readonly pick: number) {
    super();
  }
  async act(r: Run) {
    const shorts = [...r.world.sim.account.positions.values()].filter((p) => p.contract.secType === "OPT" && p.qty < 0);
    const p = shorts[this.pick % Math.max(1, shorts.length)];
    if (!p) return say(r, "no short option held");
    // OCC assigns after the close: notices reach the account overnight, never mid-session.
    const session = orderSession(r.now);
    if (r.now >= session.open && r.now < session.close) {
      r.world.jumpClock(session.close + 30 * 60_000 - r.now);
      await r.world.elapse(1_000);
    }
    r.world.sim.engine.assignEarly(p.contract.conId);
    await r.world.elapse(500);
  }
  toJSON() {
    return ["assign", this.pick];
  }
  toString() {
    return `assign short option #${this.pick} early`;
  }
}

/** A fault for a while: begin it, let `ms` pass, end it. */
class ForAWhile extends Step {
  constructor(readonly begin: Step, readonly end: Step, readonly ms: number) {
    super();
  }
  async act(r: Run) {
    await this.begin.act(r);
    await r.world.elapse(this.ms);
    await this.end.act(r);
  }
  toJSON() {
    return ["for_a_while", this.begin.toJSON(), this.end.toJSON(), this.ms];
  }
  toString() {
    return `${this.begin} for ${this.ms} ms, then ${this.end}`;
  }
}

class Heal extends Step {
  async act(r: Run) {
    await r.heal();
  }
  toJSON() {
    return ["heal"];
  }
  toString() {
    return "heal every fault and check the ledger against TWS";
  }
}

// ---------------------------------------------------------------- the arbitraries

const spec: fc.Arbitrary<OrderSpec> = fc.record({
  symbol: fc.constantFrom(...SYMBOLS),
  shape: fc.constantFrom(...SHAPES),
  expiryIndex: fc.integer({ min: 0, max: 2 }),
  offset: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 8 }) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 0 }) }),
  width: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 2 }) }, { weight: 1, arbitrary: fc.integer({ min: 3, max: 6 }) }),
  quantity: fc.oneof({ weight: 10, arbitrary: fc.constant(1) }, { weight: 3, arbitrary: fc.integer({ min: 2, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 4, max: 12 }) }),
  pricing: fc.oneof({ weight: 4, arbitrary: fc.constant("mid" as const) }, { weight: 4, arbitrary: fc.constant("touch" as const) }, { weight: 2, arbitrary: fc.constant("rest" as const) }, { weight: 1, arbitrary: fc.constant("away" as const) }),
  claim: fc.oneof({ weight: 12, arbitrary: fc.constant("exact" as const) }, { weight: 1, arbitrary: fc.constant("under" as const) }),
  idempotent: fc.boolean(),
});

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const briefly = fc.integer({ min: 100, max: 40_000 });
const frameFault = fc.tuple(
  fc.constantFrom("to_edge" as const, "to_bridge" as const),
  fc.constantFrom("response" as const, "event" as const, "request" as const, "any" as const),
  fc.oneof(fc.constant<FrameFault>({ kind: "lose" }), fc.constant<FrameFault>({ kind: "duplicate" }), fc.integer({ min: 1, max: 20_000 }).map((ms): FrameFault => ({ kind: "delay", ms }))),
).map(([d, f, fault]) => new FrameFaultStep(d, f, fault));

export const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  // The agent.
  w(24, spec.map((s) => new Place(s))),
  w(5, fc.tuple(fc.nat(20), fc.constantFrom("touch" as const, "toward" as const, "away" as const)).map(([p, to]) => new Modify(p, to))),
  w(7, fc.tuple(fc.nat(20), fc.boolean()).map(([p, l]) => new Close(p, l))),
  w(3, fc.nat(20).map((p) => new Cancel(p))),
  // The person.
  w(2, fc.tuple(fc.boolean(), fc.boolean(), briefly).map(([c, p, ms]) => new ForAWhile(new EmergencyStop(true, c, p), new EmergencyStop(false, false, false), ms))),
  w(1, fc.tuple(fc.boolean(), fc.boolean()).map(([c, p]) => new EmergencyStop(true, c, p))),
  w(1, fc.constant(new EmergencyStop(false, false, false))),
  w(1, fc.constant(new ResetBreakers())),
  // The market and time.
  w(10, fc.tuple(fc.constantFrom(...SYMBOLS), fc.integer({ min: -40, max: 40 })).map(([s, p]) => new MoveMarket(s, p / 10))),
  w(6, fc.integer({ min: 100, max: 30_000 }).map((ms) => new Elapse(ms))),
  w(1, fc.boolean().map((on) => new SlowFills(on))),
  w(2, fc.constantFrom("hours" as const, "close" as const, "weekend" as const, "expiry_day" as const, "expiry" as const).map((to) => new JumpClock(to))),
  // Faults, mostly for a while; some left on until the next heal.
  w(2, fc.constant(new CutLinks())),
  w(4, frameFault),
  w(2, briefly.map((ms) => new ForAWhile(new BridgeProcess(false), new BridgeProcess(true), ms))),
  w(2, briefly.map((ms) => new ForAWhile(new EdgeInstance(false), new EdgeInstance(true), ms))),
  w(2, fc.tuple(fc.constantFrom(["silent", "speaks"] as const, ["down", "up"] as const, ["ib_lost", "ib_back"] as const), briefly).map(([[a, b], ms]) => new ForAWhile(new Tws(a), new Tws(b), ms))),
  w(1, fc.constant(new Tws("restart"))),
  w(1, fc.constantFrom(new BridgeProcess(false), new EdgeInstance(false), new Tws("silent"), new Tws("down"), new Tws("ib_lost"))),
  w(1, fc.nat(10).map((p) => new AssignEarly(p))),
  w(1, fc.constant(new Heal())),
);

type Encoded = [string, ...unknown[]];

/** A step from its data form (Step.toJSON): how a regression schedule is written down and replayed. */
export function decodeStep(data: unknown): Step {
  const [kind, ...a] = data as Encoded;
  switch (kind) {
    case "place": return new Place(a[0] as OrderSpec);
    case "modify": return new Modify(a[0] as number, a[1] as "touch");
    case "close": return new Close(a[0] as number, a[1] as boolean);
    case "cancel": return new Cancel(a[0] as number);
    case "stop": return new EmergencyStop(a[0] as boolean, a[1] as boolean, a[2] as boolean);
    case "reset_breakers": return new ResetBreakers();
    case "market": return new MoveMarket(a[0] as string, a[1] as number);
    case "wait": return new Elapse(a[0] as number);
    case "slow_fills": return new SlowFills(a[0] as boolean);
    case "jump": return new JumpClock(a[0] as "hours");
    case "cut_links": return new CutLinks();
    case "frame": return new FrameFaultStep(a[0] as Direction, a[1] as "any", a[2] as FrameFault);
    case "bridge": return new BridgeProcess(a[0] as boolean);
    case "edge": return new EdgeInstance(a[0] as boolean);
    case "tws": return new Tws(a[0] as "silent");
    case "assign": return new AssignEarly(a[0] as number);
    case "for_a_while": return new ForAWhile(decodeStep(a[0]), decodeStep(a[1]), a[2] as number);
    case "heal": return new Heal();
    default: throw new Error(`unknown step ${JSON.stringify(data)}`);
  }
}

export { Step };
export { Place, Modify, Close, Cancel, EmergencyStop, ResetBreakers, MoveMarket, Elapse, SlowFills, JumpClock, CutLinks, FrameFaultStep, BridgeProcess, EdgeInstance, Tws, AssignEarly, Heal };
