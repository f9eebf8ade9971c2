// Reconciliation on every bridge (re)connect: ask TWS (through the bridge) for its open orders and
// the executions since the last fill we hold, match them by orderRef, adopt orders whose ack was
// lost (never sending them again), record missed fills, and release orders TWS never saw.
import { PLACE_TIMEOUT_MS } from "./bridge-link";
import { adoptOpenOrder, applyExecution, updateTrade } from "./bridge-events";
import type { DeskContext } from "./desk-context";
import { getTrade, lastFillTime, upsertOrder, type OrderRow } from "./ledger";

export interface ReconcileReport { adopted: string[]; updated: number; fills_recovered: number; not_found: string[]; foreign_orders: number }

export async function reconcile(ctx: DeskContext): Promise<ReconcileReport | null> {
  const since = lastFillTime(ctx.sql);
  let openOrders, executions;
  try {
    openOrders = await ctx.link.request("open_orders", {});
    executions = await ctx.link.request("executions", since ? { since } : {});
  } catch (error) {
    ctx.audit("edge", "reconcile_failed", { message: (error as Error).message });
    return null;
  }
  // From here on, synchronous: the ledger is fixed in one turn.
  const report: ReconcileReport = { adopted: [], updated: 0, fills_recovered: 0, not_found: [], foreign_orders: 0 };
  const seenRefs = new Set<string>();
  for (const o of openOrders) {
    if (o.order_ref) seenRefs.add(o.order_ref);
    const outcome = adoptOpenOrder(ctx, o);
    if (outcome === "adopted") report.adopted.push(o.order_ref!);
    else if (outcome === "updated") report.updated++;
    else report.foreign_orders++;
  }
  for (const e of executions) {
    if (e.order_ref) seenRefs.add(e.order_ref);
    if (applyExecution(ctx, e, "fill_recovered")) report.fills_recovered++;
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
