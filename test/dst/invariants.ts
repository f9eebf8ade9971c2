// The simulation's invariants, judged against what reached the broker (broker-log.ts) and what the
// edge stored (its SQLite, read directly). Two kinds:
// - safety, after every step, whatever faults are active: nothing sent twice, no order beyond the
//   per-trade risk limit or the order rate, nothing opened under the emergency stop, no close that
//   grows or flips a position, the audit chain intact, no impossible number in the ledger;
// - agreement, once faults are healed and the world has settled: the ledger equals the broker
//   (orders, fills, positions), and every active trade's reserved risk covers what its working
//   order can still bind while no finished trade holds any.
import { MAX_ORDERS_PER_MINUTE, MAX_TRADE_RISK } from "../../shared/limits";
import { comboSize, repriceLegs } from "../../shared/combo-price";
import type { Leg } from "../../shared/order";
import type { LegSettlement } from "../../shared/settlement";
import { verifyAudit } from "../../edge/audit/audit";
import { ACTIVE_STATES, type FillRow, type OrderRow, type TradeRow } from "../../edge/store/ledger";
import { oracleWorstLoss } from "../shared/risk-oracle";
import type { BrokerLog, Placement } from "./broker-log";
import { SimSqlStorage } from "./sql-storage";
import type { World } from "./world";

export class InvariantViolation extends Error {}

const CLOSE_SUFFIX = "_CLOSE";
const isCloseRef = (ref: string) => ref.endsWith(CLOSE_SUFFIX);
const WORKING = new Set(["PreSubmitted", "Submitted", "PendingSubmit", "ApiPending", "NotTransmitted"]);
const FINAL = new Set(["Filled", "Cancelled", "Rejected", "Inactive"]);

/** When the emergency stop was on, as the agent's admin calls set and cleared it. */
export interface StopWindow {
  from: number;
  to: number | null;
}

export function ledger(world: World) {
  const sql = new SimSqlStorage(world.db) as unknown as SqlStorage;
  return {
    sql,
    trades: () => sql.exec<TradeRow>("SELECT * FROM trades").toArray() as TradeRow[],
    orders: () => sql.exec<OrderRow>("SELECT * FROM orders").toArray() as OrderRow[],
    fills: () => sql.exec<FillRow>("SELECT * FROM fills").toArray() as FillRow[],
    positions: () =>
      new Map(
        sql.exec<{ con_id: number; position_json: string }>("SELECT con_id, position_json FROM positions").toArray()
          .map((r) => [r.con_id, (JSON.parse(r.position_json) as { quantity: number }).quantity] as const)
          .filter(([, q]) => q !== 0),
      ),
  };
}

/**
 * How each leg settles, as the simulator lists it (test/tws-sim/README.md): SPX (class SPXW) and
 * XSP options in cash, European; every other option delivers shares.
 */
export function settlementOf(legs: readonly Leg[]): (LegSettlement | null)[] {
  return legs.map((leg) => {
    if (leg.contract.sec_type === "STK") return null;
    const symbol = leg.contract.symbol;
    if (symbol === "SPX" || symbol === "XSP") return { delivery: "cash", exercise: "european", trading_class: symbol === "SPX" ? "SPXW" : "XSP" };
    return { delivery: "shares" };
  });
}

/** The ledger's net for what TWS holds: a combo's lmtPrice is the signed net per unit; a single leg's is its own positive price. */
function signedNetOf(legs: readonly Leg[], p: Placement): number | null {
  if (p.lmtPrice === undefined) return null;
  if (legs.length === 1) return legs[0]!.action === "BUY" ? p.lmtPrice : -p.lmtPrice;
  return p.lmtPrice;
}

/** Safety invariants: hold after every step, under any fault. Returns every violation found. */
export function safetyViolations(world: World, log: BrokerLog, stops: readonly StopWindow[]): string[] {
  log.capture();
  const out: string[] = [];
  const l = ledger(world);
  const trades = new Map(l.trades().map((t) => [t.trade_id, t]));

  // Nothing sent twice: one opening order per trade ever reaches TWS, and a close ref has at most one working order at a time.
  const opensByRef = new Map<string, Set<number>>();
  for (const p of log.placements) {
    if (p.modify || isCloseRef(p.orderRef)) continue;
    const perms = opensByRef.get(p.orderRef) ?? new Set<number>();
    perms.add(p.permId);
    opensByRef.set(p.orderRef, perms);
  }
  for (const [ref, perms] of opensByRef) if (perms.size > 1) out.push(`trade ${ref} reached TWS as ${perms.size} opening orders (permIds ${[...perms].join(", ")})`);
  const workingCloses = new Map<string, number>();
  for (const o of log.orders.values()) if (isCloseRef(o.orderRef) && WORKING.has(o.status) && o.session === log.session) workingCloses.set(o.orderRef, (workingCloses.get(o.orderRef) ?? 0) + 1);
  for (const [ref, n] of workingCloses) if (n > 1) out.push(`close ${ref} has ${n} orders working at TWS at once`);

  // Every opening order (and every modify of one) TWS got is within the per-trade limit, judged by the oracle at TWS's price.
  for (const p of log.placements) {
    if (isCloseRef(p.orderRef)) continue;
    const trade = trades.get(p.orderRef);
    if (!trade) {
      out.push(`TWS got order ${p.orderId} with orderRef ${p.orderRef || "(none)"}, which is no trade of the ledger`);
      continue;
    }
    if (trade.strategy === "flatten position") continue;
    const legs = JSON.parse(trade.legs_json) as Leg[];
    const units = comboSize(legs);
    const shapeOk =
      p.legs.length === legs.length && (legs.length === 1 ? p.totalQuantity === legs[0]!.quantity && p.action === legs[0]!.action : p.totalQuantity === units && p.action === "BUY");
    if (!shapeOk) out.push(`TWS got ${trade.trade_id} as ${p.action} ${p.totalQuantity} × ${p.legs.length} leg(s), not the trade's ${legs.length} leg(s) of ${units} unit(s)`);
    const net = signedNetOf(legs, p);
    const repriced = net === null ? null : repriceLegs(legs, net);
    if (!repriced?.ok) {
      out.push(`TWS got ${trade.trade_id} at a price the ledger's legs cannot carry (${p.lmtPrice})`);
      continue;
    }
    const worst = oracleWorstLoss(repriced.legs, settlementOf(repriced.legs));
    if (worst.kind !== "bounded") out.push(`TWS got ${trade.trade_id} (${p.modify ? "modify" : "order"} at ${p.lmtPrice}) whose worst case is ${worst.kind}`);
    else if (worst.worstLoss > MAX_TRADE_RISK + 0.005) out.push(`TWS got ${trade.trade_id} (${p.modify ? "modify" : "order"} at ${p.lmtPrice}) with a worst-case loss of $${worst.worstLoss.toFixed(2)} > $${MAX_TRADE_RISK}`);
  }

  // The order rate: no more than the limit of new opening orders within any 60 s.
  const opens = log.placements.filter((p) => !p.modify && !isCloseRef(p.orderRef) && trades.get(p.orderRef)?.strategy !== "flatten position").map((p) => p.at);
  for (let i = 0; i < opens.length; i++) {
    let n = 0;
    for (let j = i; j < opens.length && opens[j]! < opens[i]! + 60_000; j++) n++;
    if (n > MAX_ORDERS_PER_MINUTE) {
      out.push(`${n} opening orders reached TWS within 60 s from ${new Date(opens[i]!).toISOString()} (limit ${MAX_ORDERS_PER_MINUTE})`);
      break;
    }
  }

  // Nothing decided after the emergency stop was set reaches TWS as an opening order while it is on.
  for (const p of log.placements) {
    if (p.modify || isCloseRef(p.orderRef)) continue;
    const trade = trades.get(p.orderRef);
    if (!trade || trade.strategy === "flatten position") continue;
    const stop = stops.find((s) => trade.created_ms >= s.from && (s.to === null || trade.created_ms < s.to));
    if (stop) out.push(`${trade.trade_id}, decided at ${trade.created_at} while the emergency stop was on (since ${new Date(stop.from).toISOString()}), reached TWS`);
  }

  // A close only reduces: replaying TWS's executions in order, no close execution grows a position or carries it across zero.
  const held = new Map<number, number>();
  for (const e of log.executionsInOrder()) {
    const before = held.get(e.conId) ?? 0;
    const after = before + (e.side === "BOT" ? e.shares : -e.shares);
    held.set(e.conId, after);
    const ref = e.orderRef ?? "";
    const closing = isCloseRef(ref) || trades.get(ref)?.strategy === "flatten position";
    if (closing && (Math.abs(after) > Math.abs(before) + 1e-9 || Math.sign(after) * Math.sign(before) < 0))
      out.push(`close ${ref} execution ${e.execId} took ${e.symbol} con ${e.conId} from ${before} to ${after}`);
  }

  // No impossible numbers in the ledger.
  for (const t of trades.values()) {
    if (!Number.isFinite(t.reserved_risk) || t.reserved_risk < 0) out.push(`trade ${t.trade_id} reserves ${t.reserved_risk}`);
    if (t.strategy !== "flatten position" && t.reserved_risk > MAX_TRADE_RISK + 0.005) out.push(`trade ${t.trade_id} reserves $${t.reserved_risk} > $${MAX_TRADE_RISK}`);
    if (t.realized_pnl !== null && !Number.isFinite(t.realized_pnl)) out.push(`trade ${t.trade_id} realized ${t.realized_pnl}`);
  }

  const audit = verifyAudit(l.sql);
  if (!audit.ok) out.push(`the audit chain breaks at seq ${audit.bad_seq}`);
  return out;
}

/**
 * Agreement, once healed and settled: the ledger's orders, fills and positions are TWS's, and
 * risk is reserved exactly while something can still bind it.
 */
export function agreementViolations(world: World, log: BrokerLog): string[] {
  log.capture();
  const out: string[] = [];
  const l = ledger(world);
  const trades = l.trades();
  const orders = l.orders();
  const fills = l.fills();

  // Orders: each ledger order TWS still holds has TWS's status and fill count; one TWS forgot is finished or shown unaccounted.
  const byPerm = new Map([...log.orders.values()].map((o) => [o.permId, o]));
  for (const o of orders) {
    // A close ref is reused by a later close: a row TWS never acknowledged (no permId) that ended
    // Rejected or Cancelled is an attempt the bridge refused or that never arrived, not TWS's order of that ref.
    if (o.perm_id === null && (o.status === "Rejected" || o.status === "Cancelled")) continue;
    const tws = o.perm_id !== null ? byPerm.get(o.perm_id) : [...log.orders.values()].filter((x) => x.orderRef === o.order_ref).at(-1);
    if (!tws) {
      if (!FINAL.has(o.status) && o.status !== "Unknown" && !o.unaccounted_at) out.push(`ledger order ${o.order_ref} is ${o.status} but never reached TWS and is not shown unaccounted`);
      if (o.status === "Unknown") out.push(`ledger order ${o.order_ref} is still Unknown after healing`);
      continue;
    }
    if (tws.session === log.session) {
      const twsStatus = tws.status === "Rejected" ? "Rejected" : tws.status;
      if (o.status !== twsStatus) out.push(`order ${o.order_ref}: ledger ${o.status}, TWS ${twsStatus}`);
      if (Math.abs(o.filled - tws.filled) > 1e-9) out.push(`order ${o.order_ref}: ledger filled ${o.filled}, TWS ${tws.filled}`);
    } else if (!FINAL.has(o.status) && !o.unaccounted_at) {
      out.push(`order ${o.order_ref} of an earlier TWS session is ${o.status} in the ledger and not shown unaccounted`);
    }
  }
  for (const tws of log.orders.values()) {
    if (!tws.orderRef || tws.session !== log.session) continue;
    if (!orders.some((o) => o.order_ref === tws.orderRef)) out.push(`TWS order ${tws.orderId} (${tws.orderRef}) is missing from the ledger`);
  }

  // Fills: every execution is one ledger fill, and every ledger fill was an execution.
  const fillIds = new Set(fills.map((f) => f.exec_id));
  for (const e of log.executions.values()) if (!fillIds.has(e.execId)) out.push(`execution ${e.execId} (${e.orderRef || "settlement"} ${e.side} ${e.shares} ${e.symbol}) is missing from the ledger`);
  for (const f of fills) if (!log.executions.has(f.exec_id) && !f.exec_id.startsWith("admin:")) out.push(`ledger fill ${f.exec_id} was never an execution at TWS`);

  // Positions.
  const broker = log.positions();
  const stored = l.positions();
  for (const [conId, qty] of broker) if (stored.get(conId) !== qty) out.push(`position ${conId}: TWS ${qty}, ledger ${stored.get(conId) ?? 0}`);
  for (const [conId, qty] of stored) if (!broker.has(conId)) out.push(`position ${conId}: ledger ${qty}, TWS none`);

  // Reserved risk: an active trade is one TWS still works an order for or holds a position of; a finished one holds nothing.
  const workingRefs = new Set([...log.orders.values()].filter((o) => o.session === log.session && WORKING.has(o.status)).map((o) => o.orderRef));
  for (const t of trades) {
    const active = (ACTIVE_STATES as readonly string[]).includes(t.state);
    const ordersWorking = workingRefs.has(t.trade_id) || workingRefs.has(`${t.trade_id}${CLOSE_SUFFIX}`);
    const unaccounted = orders.some((o) => o.trade_id === t.trade_id && o.unaccounted_at !== null && !FINAL.has(o.status));
    if (ordersWorking && !active) out.push(`trade ${t.trade_id} is ${t.state} while TWS works its order`);
    if (t.state === "working" && !workingRefs.has(t.trade_id) && !unaccounted) out.push(`trade ${t.trade_id} is working but TWS works no order of it`);
    if (["submitting", "unknown"].includes(t.state)) out.push(`trade ${t.trade_id} is still ${t.state} after healing`);
    if (active && t.strategy !== "flatten position" && t.state !== "open" && t.state !== "closing") {
      // A working opening order can still bind its worst case at its limit: the reservation must cover it.
      const legs = JSON.parse(t.legs_json) as Leg[];
      const worst = oracleWorstLoss(legs, settlementOf(legs));
      const needed = worst.kind === "bounded" ? worst.worstLoss : Number.POSITIVE_INFINITY;
      if (t.reserved_risk + 0.005 < needed) out.push(`active trade ${t.trade_id} (${t.state}) reserves $${t.reserved_risk}, less than its worst case $${needed}`);
    }
  }
  return out;
}
