// Reconciliation on every bridge (re)connect: ask TWS (through the bridge) for its open orders and
// the executions since the last fill we hold, match them by orderRef, adopt orders whose ack was
// lost (never sending them again), record missed fills, and release orders TWS never saw.
import { comboSize } from "../shared/risk";
import { PLACE_TIMEOUT_MS } from "./bridge-link";
import { adoptOpenOrder, applyExecution, applyOrderStatus, replacePositions, updateTrade } from "./bridge-events";
import type { DeskContext } from "./desk-context";
import { getOrderByRef, getTrade, lastFillTime, legSharesFilled, legsOf, upsertOrder, type OrderRow } from "./ledger";

export interface ReconcileReport { adopted: string[]; updated: number; fills_recovered: number; filled_offline: number; not_found: string[]; foreign_orders: number }

export async function reconcile(ctx: DeskContext): Promise<ReconcileReport | null> {
  const since = lastFillTime(ctx.sql);
  let openOrders, executions, positions;
  try {
    openOrders = await ctx.link.request("open_orders", {});
    executions = await ctx.link.request("executions", since ? { since } : {});
    positions = await ctx.link.request("positions", {});
  } catch (error) {
    ctx.audit("edge", "reconcile_failed", { message: (error as Error).message });
    return null;
  }
  // From here on, synchronous: the ledger is fixed in one turn.
  // Positions that went flat while the link was down are never streamed again: replace them all.
  replacePositions(ctx, positions);
  const report: ReconcileReport = { adopted: [], updated: 0, fills_recovered: 0, filled_offline: 0, not_found: [], foreign_orders: 0 };
  const seenRefs = new Set<string>();
  for (const o of openOrders) {
    if (o.order_ref) seenRefs.add(o.order_ref);
    const outcome = adoptOpenOrder(ctx, o);
    if (outcome === "adopted") report.adopted.push(o.order_ref!);
    else if (outcome === "updated") report.updated++;
    else report.foreign_orders++;
  }
  const unfilledBefore = new Set(
    ctx.sql.exec<{ order_ref: string }>("SELECT order_ref FROM orders WHERE status != 'Filled'").toArray().map((r) => r.order_ref),
  );
  for (const e of executions) {
    if (e.order_ref) seenRefs.add(e.order_ref);
    if (applyExecution(ctx, e, "fill_recovered")) report.fills_recovered++;
  }
  // Recovered executions that cover an order fill it whatever its last status said (bridge-events.ts).
  for (const ref of unfilledBefore) if (getOrderByRef(ctx.sql, ref)?.status === "Filled") report.filled_offline++;
  // An order TWS no longer holds, whose fills cover every leg, filled while we were away. Its ack
  // may have been lost too (no order id yet): then the executions carry its id.
  const working = ctx.sql
    .exec<OrderRow>("SELECT * FROM orders WHERE status NOT IN ('Filled', 'Cancelled', 'Rejected', 'Inactive')")
    .toArray() as OrderRow[];
  for (const order of working) {
    if (openOrders.some((o) => o.order_ref === order.order_ref)) continue;
    const orderId = order.order_id ?? executions.find((e) => e.order_ref === order.order_ref)?.order_id ?? null;
    if (orderId === null) continue; // never acknowledged and never filled: see below
    const trade = getTrade(ctx.sql, order.trade_id);
    if (!trade) continue;
    const legs = legsOf(trade);
    const needed = legs.reduce((sum, leg) => sum + leg.quantity, 0);
    if (legSharesFilled(ctx.sql, order.order_ref) >= needed - 1e-9) {
      applyOrderStatus(ctx, { order_id: orderId, perm_id: order.perm_id, order_ref: order.order_ref, status: "Filled", filled: comboSize(legs), remaining: 0, avg_fill_price: order.avg_fill_price, reason: "filled while the link was down (from executions)" }, "order_filled_offline");
      report.filled_offline++;
    } else ctx.audit("edge", "order_unmatched", { trade_id: order.trade_id, order_ref: order.order_ref, order_id: orderId, note: "not among TWS open orders and not fully filled; its risk stays reserved" });
  }
  // An order that was never confirmed and that TWS neither holds nor filled never reached it.
  const cutoff = new Date(ctx.now().getTime() - PLACE_TIMEOUT_MS).toISOString();
  const unconfirmed = ctx.sql
    .exec<OrderRow>("SELECT * FROM orders WHERE order_id IS NULL AND status IN ('Unknown', 'PendingSubmit') AND (status = 'Unknown' OR updated_at < ?)", cutoff)
    .toArray() as OrderRow[];
  for (const order of unconfirmed) {
    if (seenRefs.has(order.order_ref)) continue;
    const trade = getTrade(ctx.sql, order.trade_id);
    if (!trade || !["submitting", "unknown", "closing"].includes(trade.state)) continue;
    upsertOrder(ctx.sql, { ...order, status: "Cancelled", reason: "not found at TWS after reconnect (never reached it)" });
    ctx.audit("edge", "order_not_found", { trade_id: order.trade_id, order_ref: order.order_ref });
    updateTrade(ctx, order.trade_id);
    report.not_found.push(order.order_ref);
  }
  ctx.audit("edge", "reconciled", report);
  return report;
}

/**
 * Orders the ledger cannot settle from the event stream alone, so reconciliation runs again while
 * any exists: one still Unknown (its send timed out), or a working one with a fill recorded after
 * its last status (it may have finished while TWS was away, and TWS sends no status for that).
 */
export function needsReconcile(sql: SqlStorage): boolean {
  return (
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
