// One schedule's world, with what the invariants need beside it: the broker's record, when the
// emergency stop was on, and the steps taken. `heal` ends every fault and lets the world settle,
// `closeEverything` is the last act of a schedule (every real position must be closable).
import { expiryClose, orderSession } from "../../shared/market-calendar";
import type { BrokerLog } from "./broker-log";
import { needsReconcile } from "../../edge/ledger/reconcile";
import { SimSqlStorage } from "./sql-storage";
import { agreementViolations, InvariantViolation, safetyViolations, type StopWindow } from "./invariants";
import type { World } from "./world";

const isoDate = (ymd: string) => `${ymd.slice(0, 4)}-${ymd.slice(4, 6)}-${ymd.slice(6, 8)}`;

export class Run {
  readonly stops: StopWindow[] = [];
  readonly steps: string[] = [];
  /** The steps run so far, as data: with the start and the noise seed, a failure's exact replay. */
  readonly executed: unknown[] = [];
  start = "";
  noise = 1;
  /** TWS is silent / its connectivity to IB is lost / it refuses connections. */
  twsSilent = false;
  twsConnectivityLost = false;

  constructor(
    readonly world: World,
    readonly log: BrokerLog,
  ) {}

  get now(): number {
    return this.world.clock.now;
  }

  stopOn(on: boolean): void {
    const open = this.stops.find((s) => s.to === null);
    if (on && !open) this.stops.push({ from: this.now, to: null });
    if (!on && open) open.to = this.now;
  }

  step(what: string): void {
    this.steps.push(`${new Date(this.now).toISOString()} ${what}`);
    this.world.note(what);
  }

  /** Safety invariants after a step. */
  checkSafety(): void {
    const violations = safetyViolations(this.world, this.log, this.stops);
    if (violations.length > 0) throw new InvariantViolation(this.report("safety", violations));
  }

  /** Ends every fault, restarts what is down, and lets the world settle; then the ledger must agree with TWS. */
  async heal(): Promise<void> {
    const w = this.world;
    w.net.disarmAll();
    w.twsListening = true;
    if (this.twsSilent) {
      w.sim.setSilent(false);
      this.twsSilent = false;
    }
    if (this.twsConnectivityLost) {
      w.sim.connectivityRestored(false);
      this.twsConnectivityLost = false;
    }
    w.sim.engine.sliceLimit = undefined;
    w.sim.engine.opts.fillDelayMs = 0;
    if (!w.edgeRunning) w.startEdge();
    if (!w.bridge) w.startBridge();
    const linked = await w.pump(() => this.linked(), 180_000);
    if (!linked) throw new InvariantViolation(this.report("liveness", ["the bridge did not link to the edge with TWS connected within 180 s of healing every fault"]));
    // Reconciliation, the events it triggers and the answers to them: a few seconds, and as long
    // as the edge itself says one is still due (its alarm retries a failed one every 10 s or so).
    await w.elapse(6_000);
    const settled = await w.pump(() => !this.reconcileDue(), 180_000);
    if (!settled) throw new InvariantViolation(this.report("liveness", ["a reconciliation was still due 180 s after healing every fault"]));
    await w.elapse(3_000);
    this.checkSafety();
    const violations = agreementViolations(w, this.log);
    if (violations.length > 0) throw new InvariantViolation(this.report("agreement", violations));
  }

  /** The edge's own word that its ledger still needs a reconciliation (edge/ledger/reconcile.ts needsReconcile). */
  private reconcileDue(): boolean {
    const sql = new SimSqlStorage(this.world.db) as unknown as SqlStorage;
    return needsReconcile(sql);
  }

  /** Bridge linked and TWS connected, as the edge sees them (its stored health and its live socket). */
  private linked(): boolean {
    const w = this.world;
    if (!w.edgeRunning || !w.bridge) return false;
    const health = w.db.prepare("SELECT value_json FROM kv WHERE key = 'tws_health'").get() as { value_json: string } | undefined;
    const state = health ? (JSON.parse(health.value_json) as { state: string }).state : null;
    return w.bridge.link.status.connected && state === "connected" && w.bridge.tws.health.state === "connected";
  }

  /**
   * The last act: every order cancelled, every position closed — through the kill switch's "close
   * all positions", as a person would. A long option no one bids for cannot be sold; it is left to
   * expire (the clock moves past its expiry and TWS settles it). TWS must end flat and the ledger agree.
   */
  async closeEverything(): Promise<void> {
    const w = this.world;
    for (let round = 0; round < 8; round++) {
      const held = this.log.positions();
      const working = [...w.sim.engine.orders.values()].filter((o) => o.status === "Submitted" || o.status === "PreSubmitted");
      if (held.size === 0 && working.length === 0) break;
      if (round >= 2) {
        // Outside a session nothing fills: wait for the next open.
        const session = orderSession(this.now);
        if (this.now < session.open) {
          w.jumpClock(session.open + 60_000 - this.now);
          this.step(`wait for the open of ${session.date}`);
        }
        const worthless = [...held].filter(([conId, qty]) => {
          const c = w.sim.market.contract(conId);
          return qty > 0 && c?.secType === "OPT" && (w.sim.market.quote(conId)?.bid ?? 0) === 0;
        });
        if (worthless.length > 0 && worthless.length === held.size) {
          const last = Math.max(...worthless.map(([conId]) => expiryClose(isoDate(w.sim.market.contract(conId)!.expiry))));
          if (last > this.now) {
            w.jumpClock(last + 60_000 - this.now);
            this.step(`let ${worthless.length} worthless long option position(s) expire`);
            await w.elapse(10_000);
            continue;
          }
        }
      }
      const stop = await w.admin("/api/emergency-stop", { on: true, reason: "simulation: close everything", cancel_orders: true, close_positions: true });
      this.stopOn(true);
      this.step(`close everything (round ${round + 1}): ${stop.status} ${JSON.stringify(stop.body?.closes ?? []).slice(0, 300)}`);
      await w.elapse(12_000);
    }
    await w.admin("/api/emergency-stop", { on: false, reason: "simulation: done" });
    this.stopOn(false);
    await w.elapse(6_000);
    this.checkSafety();
    const left = [...this.log.positions()].map(([conId, qty]) => `con ${conId}: ${qty}`);
    if (left.length > 0) throw new InvariantViolation(this.report("closable", [`positions left after closing everything: ${left.join(", ")}`]));
    const violations = agreementViolations(w, this.log);
    if (violations.length > 0) throw new InvariantViolation(this.report("agreement after closing", violations));
  }

  report(kind: string, violations: string[]): string {
    const replay = JSON.stringify({ start: this.start, noise: this.noise, steps: this.executed });
    const lines = [`${kind} invariant violated:`, ...violations.map((v) => `  - ${v}`), "steps:", ...this.steps.map((s) => `  ${s}`), `replay: DST_REPLAY='${replay}'`];
    if (process.env.DST_TRACE) {
      lines.push("world:", ...this.world.trace.map((t) => `  ${t}`), "audit:");
      try {
        const rows = this.world.db.prepare("SELECT seq, at, actor, action, details_json FROM audit ORDER BY seq").all() as { seq: number; at: string; actor: string; action: string; details_json: string }[];
        for (const row of rows) lines.push(`  ${row.seq} ${row.at} ${row.actor} ${row.action} ${row.details_json.slice(0, 400)}`);
      } catch (error) {
        lines.push(`  (audit unreadable: ${(error as Error).message})`);
      }
    }
    return lines.join("\n");
  }
}
