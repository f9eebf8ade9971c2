// Reconciliation on every bridge (re)connect: ask TWS (through the bridge) for its open orders and
// the executions since the last fill we hold, match them by orderRef, adopt orders whose ack was
// lost (never sending them again), record missed fills, and release orders TWS never saw.
import type { CompletedOrder } from "../../shared/protocol";
import { comboSize } from "../../shared/combo-price";
import { PLACE_TIMEOUT_MS } from "../link/bridge-link";
import { adoptOpenOrder, applyExecution, applyOrderStatus, updateTrade } from "./trade-state";
import { replacePositions } from "./positions";
import type { DeskContext } from "../store/desk-context";
import { getKv, setKv } from "../store/kv";
import { currentEvidence, getOrderByRef, getTrade, lastFillTime, legSharesFilled, legsOf, setOrderUnaccounted, upsertOrder, type OrderRow } from "../store/ledger";
import { settleExpirations } from "./expirations";
import { hasPendingModifies } from "./pending-modify";
import { completedFor, dayOrderEnded, endOfCompleted, holdsAnyLeg, markUnaccounted, settleOrder } from "./order-ends";
import { productOf } from "../../shared/market-calendar";

/** Set while the last reconciliation could not read TWS's state: the alarm tries again. */
const RECONCILE_DUE_KEY = "reconcile_due";

export interface ReconcileReport {
  adopted: string[]; updated: number; fills_recovered: number; filled_offline: number; not_found: string[]; foreign_orders: number;
  /** Orders settled from TWS's completed orders, or as DAY orders whose trading day is over. */
  settled: { order_ref: string; end: string; reason: string }[];
  /** Working orders TWS neither holds nor lists as finished: their risk stays reserved. */
  unaccounted: string[];
  /** Orders TWS listed that the event stream had already moved on (a later status or fill): left as they are. */
  newer_than_snapshot: string[];
}

export async function reconcile(ctx: DeskContext): Promise<ReconcileReport | null> {
  const since = lastFillTime(ctx.sql);
  let openOrders, executions, positions;
  // Where the evidence counter stood when each snapshot arrived: rows written after that (events
  // applied while the next request was out) are newer than the snapshot and keep their values.
  let openOrdersAt = 0;
  let positionsAt = 0;
  try {
    openOrders = await ctx.link.request("open_orders", {});
    openOrdersAt = currentEvidence(ctx.sql);
    executions = await ctx.link.request("executions", since ? { since } : {});
    positions = await ctx.link.request("positions", {});
    positionsAt = currentEvidence(ctx.sql);
  } catch (error) {
    // Retried by the alarm (needsReconcile) until one succeeds: the ledger may be behind TWS until then.
    setKv(ctx.sql, RECONCILE_DUE_KEY, true);
    ctx.audit("edge", "reconcile_failed", { message: (error as Error).message, retried: true });
    return null;
  }
  // What TWS lists as finished (an older bridge has no such request: then only the day's end and
  // an admin can settle what TWS no longer holds).
  let completed: CompletedOrder[] = [];
  try {
    completed = await ctx.link.request("completed_orders", {});
  } catch (error) {
    ctx.audit("edge", "completed_orders_unavailable", { message: (error as Error).message });
  }
  // From here on, synchronous: the ledger is fixed in one turn.
  // Positions that went flat while the link was down are never streamed again: replace them all.
  replacePositions(ctx, positions, positionsAt);
  const report: ReconcileReport = { adopted: [], updated: 0, fills_recovered: 0, filled_offline: 0, not_found: [], foreign_orders: 0, settled: [], unaccounted: [], newer_than_snapshot: [] };
  const seenRefs = new Set<string>();
  for (const o of openOrders) {
    if (o.order_ref) seenRefs.add(o.order_ref);
    const outcome = adoptOpenOrder(ctx, o, openOrdersAt);
    if (outcome === "adopted") report.adopted.push(o.order_ref!);
    else if (outcome === "updated") report.updated++;
    else if (outcome === "newer") report.newer_than_snapshot.push(o.order_ref!);
    else report.foreign_orders++;
  }
  const unfilledBefore = new Set(
    ctx.sql.exec<{ order_ref: string }>("SELECT order_ref FROM orders WHERE status != 'Filled'").toArray().map((r) => r.order_ref),
  );
  for (const e of executions) {
    if (e.order_ref) seenRefs.add(e.order_ref);
    if (applyExecution(ctx, e, "fill_recovered")) report.fills_recovered++;
  }
  // Recovered executions that cover an order fill it whatever its last status said (trade-state.ts).
  for (const ref of unfilledBefore) if (getOrderByRef(ctx.sql, ref)?.status === "Filled") report.filled_offline++;
  // An order TWS no longer holds, whose fills cover every leg, filled while we were away. Its ack
  // may have been lost too (no order id yet): then the executions carry its id.
  const working = ctx.sql
    .exec<OrderRow>("SELECT * FROM orders WHERE status NOT IN ('Filled', 'Cancelled', 'Rejected', 'Inactive')")
    .toArray() as OrderRow[];
  for (const order of working) {
    // Placed, or changed by the event stream, after TWS listed its open orders: not this snapshot's to judge.
    if (order.evidence_seq > openOrdersAt) continue;
    if (openOrders.some((o) => o.order_ref === order.order_ref)) {
      if (order.unaccounted_at) setOrderUnaccounted(ctx.sql, order.order_ref, null);
      continue;
    }
    const orderId = order.order_id ?? executions.find((e) => e.order_ref === order.order_ref)?.order_id ?? null;
    const trade = getTrade(ctx.sql, order.trade_id);
    if (!trade) continue;
    const legs = legsOf(trade);
    const needed = legs.reduce((sum, leg) => sum + leg.quantity, 0);
    if (orderId !== null && legSharesFilled(ctx.sql, order.order_ref) >= needed - 1e-9) {
      applyOrderStatus(ctx, { order_id: orderId, perm_id: order.perm_id, order_ref: order.order_ref, status: "Filled", filled: comboSize(legs), remaining: 0, avg_fill_price: order.avg_fill_price, reason: "filled while the link was down (from executions)" }, "order_filled_offline");
      report.filled_offline++;
      continue;
    }
    const done = completedFor(order, completed);
    if (done) {
      const end = endOfCompleted(done, order, productOf(trade.symbol));
      const reason = `TWS lists it finished: ${done.completed_status ?? done.status}${done.completed_time ? ` at ${done.completed_time}` : ""}`;
      settleOrder(ctx, { ...order, perm_id: order.perm_id ?? done.perm_id }, end, reason, "edge", "order_ended_offline", { completed_status: done.completed_status, filled: done.filled });
      report.settled.push({ order_ref: order.order_ref, end, reason });
      continue;
    }
    if (orderId === null && ["Unknown", "PendingSubmit"].includes(order.status)) continue; // never acknowledged: see below
    const dayOver = dayOrderEnded(order, ctx.now(), productOf(trade.symbol));
    // An opening order whose legs TWS holds may have filled unseen (yesterday's executions are gone): not settled blind.
    if (dayOver && legSharesFilled(ctx.sql, order.order_ref) === 0 && (order.intent === "close" || !holdsAnyLeg(ctx, order.trade_id))) {
      const reason = `DAY order: its trading day ${dayOver} (New York) is over, and TWS no longer holds it`;
      settleOrder(ctx, order, "Expired", reason, "edge", "order_ended_offline", { trading_day: dayOver });
      report.settled.push({ order_ref: order.order_ref, end: "Expired", reason });
      continue;
    }
    markUnaccounted(ctx, order, "not among TWS open orders, completed orders or fully filled; its risk stays reserved until TWS accounts for it or an admin settles it");
    report.unaccounted.push(order.order_ref);
  }
  // An order that was never confirmed and that TWS neither holds nor filled never reached it.
  const cutoff = new Date(ctx.now().getTime() - PLACE_TIMEOUT_MS).toISOString();
  const unconfirmed = ctx.sql
    .exec<OrderRow>("SELECT * FROM orders WHERE order_id IS NULL AND status IN ('Unknown', 'PendingSubmit') AND (status = 'Unknown' OR updated_at < ?)", cutoff)
    .toArray() as OrderRow[];
  for (const order of unconfirmed) {
    // Sent (or timed out) after TWS listed its orders: the snapshot cannot say it never arrived.
    if (seenRefs.has(order.order_ref) || order.evidence_seq > openOrdersAt) continue;
    const trade = getTrade(ctx.sql, order.trade_id);
    if (!trade || !["submitting", "unknown", "closing"].includes(trade.state)) continue;
    upsertOrder(ctx.sql, { ...order, status: "Cancelled", reason: "not found at TWS after reconnect (never reached it)" }, ctx.now());
    ctx.audit("edge", "order_not_found", { trade_id: order.trade_id, order_ref: order.order_ref });
    updateTrade(ctx, order.trade_id);
    report.not_found.push(order.order_ref);
  }
  setKv(ctx.sql, RECONCILE_DUE_KEY, false);
  ctx.audit("edge", "reconciled", report);
  // Positions and executions are fresh: options that expired while nobody watched close their trades.
  settleExpirations(ctx, true);
  return report;
}

/**
 * Orders the ledger cannot settle from the event stream alone, so reconciliation runs again while
 * any exists (or while the last reconciliation failed, its snapshot never read): one still Unknown (its send timed out), a working one with a fill recorded after
 * its last status (it may have finished while TWS was away, and TWS sends no status for that), or
 * one whose modify's answer was lost (TWS's open orders show which price took: pending-modify.ts).
 */
export function needsReconcile(sql: SqlStorage): boolean {
  return (
    getKv<boolean>(sql, RECONCILE_DUE_KEY, false) ||
    hasPendingModifies(sql) ||
    sql
      .exec(
        `SELECT 1 FROM orders o WHERE o.status = 'Unknown'
           OR (o.status NOT IN ('Filled', 'Cancelled', 'Rejected', 'Inactive')
               AND EXISTS (SELECT 1 FROM fills f WHERE f.order_ref = o.order_ref AND f.received_at > o.updated_at))
         LIMIT 1`,
      )
      .toArray().length > 0
  );
}
