// How an order the ledger still thinks working reaches its real end when nobody watched it end:
// TWS's completed orders (matched by permId, or orderRef while unacknowledged) say how it ended;
// a DAY order whose session has closed (the exchange calendar's: the session under way when it was
// placed, or the next one) is dead; what still cannot be accounted for stays
// reserved and "unaccounted" until TWS tells, or an admin settles it with a reason (audited).
import type { CompletedOrder } from "../../shared/protocol";
import { comboSize } from "../../shared/combo-price";
import { orderSession, type Product } from "../../shared/market-calendar";
import { formatUsd } from "../../shared/money";
import type { Leg } from "../../shared/order";
import type { Position } from "../../shared/tools";
import { updateTrade } from "./trade-state";
import type { DeskContext } from "../store/desk-context";
import { getOrderByRef, getTrade, insertFill, legSharesFilled, legsOf, setTradeState, storedPositions, upsertOrder, type OrderRow, type TradeRow } from "../store/ledger";

export type OrderEnd = "Filled" | "Cancelled" | "Expired" | "Rejected" | "Inactive";
const FINAL = new Set(["Filled", "Cancelled", "Rejected", "Inactive"]);

/**
 * The finished order TWS listed for one of ours: same permId; or, while we hold no permId, the one
 * order under its orderRef that finished after ours was made (a close re-sent under the same ref
 * must not take the end of the earlier close).
 */
export function completedFor(order: OrderRow, completed: readonly CompletedOrder[]): CompletedOrder | null {
  if (order.perm_id !== null) return completed.find((c) => c.perm_id === order.perm_id) ?? null;
  const made = Date.parse(order.created_at);
  const byRef = completed.filter((c) => c.order_ref !== null && c.order_ref === order.order_ref && c.completed_time !== null && Date.parse(c.completed_time) >= made);
  return byRef.length === 1 ? byRef[0]! : null;
}

/**
 * How a completed order ended, in the ledger's words. TWS reports an expired DAY order as
 * Cancelled; its completedStatus words are not pinned down by IBKR's documentation, so a cancel
 * completed at or after the close of the order's session (or saying "expired") is an expiry. The
 * session is the one a DAY order placed then works in: placed after Friday's close, Monday's.
 */
export function endOfCompleted(c: CompletedOrder, order: Pick<OrderRow, "created_at">, product: Product): OrderEnd {
  if (c.status === "Filled") return "Filled";
  if (c.status === "Rejected" || c.status === "Inactive") return c.status;
  if (c.completed_status && /expir/i.test(c.completed_status)) return "Expired";
  const ended = c.completed_time ? Date.parse(c.completed_time) : Number.NaN;
  const placed = Date.parse(order.created_at);
  if (Number.isFinite(ended) && Number.isFinite(placed) && ended >= orderSession(placed, product).close) return "Expired";
  return "Cancelled";
}

/**
 * A DAY order (the bridge sends every order DAY) lives no longer than its session: the one under
 * way when it was placed, or the next to open (after a close, on a weekend or a holiday). Once that
 * session has closed it is dead, whether or not TWS still lists it: the session's date, else null.
 */
export function dayOrderEnded(order: Pick<OrderRow, "created_at">, now: Date, product: Product): string | null {
  const placed = Date.parse(order.created_at);
  if (!Number.isFinite(placed)) return null;
  const session = orderSession(placed, product);
  return now.getTime() >= session.close ? session.date : null;
}

const sameContract = (leg: Leg, p: Position): boolean =>
  p.symbol === leg.contract.symbol &&
  (leg.contract.sec_type === "STK" ? p.sec_type === "STK" : p.sec_type === "OPT" && p.expiry === leg.contract.expiry && p.strike === leg.contract.strike && p.right === leg.contract.right);

/** Whether TWS holds a position in any leg of the trade (then an opening order may have filled unseen). */
export function holdsAnyLeg(ctx: DeskContext, tradeId: string): boolean {
  const trade = getTrade(ctx.sql, tradeId);
  if (!trade) return false;
  const positions = storedPositions(ctx.sql);
  return legsOf(trade).some((leg) => positions.some((p) => p.quantity !== 0 && sameContract(leg, p)));
}

/**
 * Settles an order at its end, with the reason, in one turn: the order takes its final status, the
 * trade follows (an opening order that expired unfilled leaves the trade `expired`, its risk
 * released), and the audit row says who settled it and why.
 */
export function settleOrder(ctx: DeskContext, order: OrderRow, end: OrderEnd, reason: string, actor: string, action: string, extra: Record<string, unknown> = {}): void {
  const trade = getTrade(ctx.sql, order.trade_id);
  const units = trade ? comboSize(legsOf(trade)) : order.filled + order.remaining;
  const status = end === "Expired" ? "Cancelled" : end;
  const filled = end === "Filled" ? units : order.filled;
  upsertOrder(ctx.sql, { ...order, status, filled, remaining: end === "Filled" ? 0 : order.remaining, reason, unaccounted_at: null }, ctx.now());
  ctx.audit(actor, action, { trade_id: order.trade_id, order_ref: order.order_ref, order_id: order.order_id, perm_id: order.perm_id, previous_status: order.status, end, reason, ...extra });
  updateTrade(ctx, order.trade_id);
  const after = getTrade(ctx.sql, order.trade_id);
  if (end === "Expired" && order.intent === "open" && after?.state === "cancelled" && filled === 0) {
    setTradeState(ctx.sql, order.trade_id, "expired", ctx.now());
    ctx.audit("edge", "trade_state", { trade_id: order.trade_id, from: "cancelled", to: "expired", reserved_risk_released: after.reserved_risk });
  }
}

/** Marks a working order as unaccounted (first time only keeps its instant) and audits it. */
export function markUnaccounted(ctx: DeskContext, order: OrderRow, note: string): void {
  if (!order.unaccounted_at) ctx.sql.exec("UPDATE orders SET unaccounted_at = ? WHERE order_ref = ?", ctx.now().toISOString(), order.order_ref);
  ctx.audit("edge", "order_unmatched", { trade_id: order.trade_id, order_ref: order.order_ref, order_id: order.order_id, perm_id: order.perm_id, unaccounted_since: order.unaccounted_at ?? ctx.now().toISOString(), note });
}

/**
 * What every read of an unaccounted order says (get_order_status, list_trades, the dashboard): that
 * TWS has lost it, since when, that its trade's risk stays reserved, and what settles it. Null for
 * an order TWS still accounts for.
 */
export function unaccountedNote(order: Pick<OrderRow, "order_ref" | "order_id" | "unaccounted_at">, trade: Pick<TradeRow, "trade_id" | "reserved_risk"> | null): string | null {
  if (!order.unaccounted_at) return null;
  const which = order.order_id === null ? order.order_ref : `${order.order_id} (${order.order_ref})`;
  const risk = trade ? `trade ${trade.trade_id}'s reserved risk of ${formatUsd(trade.reserved_risk)} stays reserved and counted in every limit` : "its trade's reserved risk stays reserved and counted in every limit";
  return `TWS neither holds order ${which} nor lists it as finished, since ${order.unaccounted_at}: the status shown is the last TWS reported, and ${risk}. ` +
    "It settles when TWS accounts for it at the next bridge reconnect (open, completed and executed orders are matched again), " +
    "or when a person settles it as cancelled or as filled at a price, with a reason: dashboard (Trades) or POST /api/orders/settle.";
}

export type AdminSettle = { order_ref: string; as: "cancelled" | "filled"; price?: number | undefined; reason: string; by: string };

/**
 * An admin settles an order the system cannot account for: as cancelled (its risk released), or as
 * filled at the net price per combo unit they enter (the trade opens, or a close books its P&L).
 * Only an order marked unaccounted can be settled: anything TWS can still speak for waits for TWS.
 */
export function adminSettleOrder(ctx: DeskContext, input: AdminSettle): { status: number; body: Record<string, unknown> } {
  const order = getOrderByRef(ctx.sql, input.order_ref);
  if (!order) return { status: 404, body: { error: `No order ${input.order_ref} in the ledger` } };
  if (FINAL.has(order.status)) return { status: 409, body: { error: `Order ${input.order_ref} is already ${order.status}` } };
  if (!order.unaccounted_at)
    return { status: 409, body: { error: `Order ${input.order_ref} is not unaccounted: reconciliation has not yet found it missing at TWS (reconnect the bridge, or cancel it)` } };
  const trade = getTrade(ctx.sql, order.trade_id);
  if (!trade) return { status: 404, body: { error: `No trade ${order.trade_id} for order ${input.order_ref}` } };
  if (input.as === "filled") {
    if (input.price === undefined) return { status: 400, body: { error: "price: settling as filled needs the net fill price per combo unit (debit positive, credit negative)" } };
    if (legSharesFilled(ctx.sql, order.order_ref) > 0) return { status: 409, body: { error: `Order ${input.order_ref} has recorded fills: settle it from TWS's evidence, not by hand` } };
    recordAdminFills(ctx, order, legsOf(trade), input.price, input.by);
  }
  const reason = `settled by ${input.by}: ${input.reason}`;
  settleOrder(ctx, order, input.as === "filled" ? "Filled" : "Cancelled", reason, "admin", "order_settled_by_admin", {
    by: input.by, as: input.as, price: input.price ?? null, unaccounted_since: order.unaccounted_at,
  });
  const after = getTrade(ctx.sql, order.trade_id);
  return { status: 200, body: { order_ref: order.order_ref, trade_id: order.trade_id, settled_as: input.as, trade_state: after?.state ?? null, price: input.price ?? null } };
}

/**
 * Fills for an admin-entered net price: one per leg (so the trade's P&L has its legs), at the legs'
 * price hints with the difference to the entered net (paid per unit by this order: positive a
 * debit, negative a credit) put on the first leg. Marked as the admin's.
 */
function recordAdminFills(ctx: DeskContext, order: OrderRow, legs: Leg[], netPrice: number, by: string): void {
  const units = comboSize(legs);
  const closing = order.intent === "close";
  const sign = (leg: Leg) => ((leg.action === "BUY") !== closing ? 1 : -1);
  const hinted = legs.map((leg) => leg.price ?? 0);
  // Net paid per unit by this order = Σ side × ratio × price; the first leg takes the difference.
  const netHint = legs.reduce((sum, leg, i) => sum + sign(leg) * (leg.quantity / units) * hinted[i]!, 0);
  const first = legs[0]!;
  hinted[0] = hinted[0]! + (netPrice - netHint) / (sign(first) * (first.quantity / units));
  const at = ctx.now().toISOString();
  legs.forEach((leg, i) => {
    const c = leg.contract;
    insertFill(ctx.sql, {
      exec_id: `admin:${order.order_ref}:${i}`, order_id: order.order_id ?? 0, perm_id: order.perm_id, order_ref: order.order_ref, con_id: 0,
      symbol: c.symbol, sec_type: c.sec_type === "STK" ? "STK" : "OPT", expiry: c.sec_type === "STK" ? null : c.expiry, strike: c.sec_type === "STK" ? null : c.strike,
      right: c.sec_type === "STK" ? null : c.right, side: sign(leg) > 0 ? "BOT" : "SLD", shares: leg.quantity, price: Math.round(hinted[i]! * 10_000) / 10_000,
      time: at, commission: 0, realized_pnl: null,
    }, order.trade_id, ctx.now());
  });
  ctx.audit("admin", "fills_entered_by_admin", { trade_id: order.trade_id, order_ref: order.order_ref, net_price: netPrice, by, legs: legs.length });
}
