// A trade follows its orders and fills. An order status or an execution from TWS (streamed, or read
// back at reconciliation) is matched to the ledger's order by orderRef, permId or the session's order
// id, recorded once, and moves its trade along; a fill TWS reported outweighs a status that raced it.
// A trade whose close is done is closed with its realized P&L (loss streak, today's P&L, breakers).
import type { EventData, OpenOrder } from "../../shared/protocol";
import { comboSize } from "../../shared/combo-price";
import { roundCents } from "../../shared/money";
import { tradingDay } from "../../shared/trade-id";
import { checkAssignedStock } from "../safety/assigned-stock";
import { isAccountExecution, recordSettlement } from "./settlements";
import { settledShares } from "./held-legs";
import { bookDeliveredStock } from "./delivered-stock";
import { checkBreakers } from "../safety/breakers";
import type { DeskContext } from "../store/desk-context";
import { setKv } from "../store/kv";
import {
  addDailyPnl,
  closeRef,
  FLATTEN_STRATEGY,
  fillsOfTrade,
  currentTwsSession,
  getOrderByPermId,
  getOrderByRef,
  getTrade,
  insertFill,
  isRetiredOrderId,
  legSharesFilled,
  legsOf,
  realizedPnl,
  resolveOrderId,
  setTradeState,
  upsertOrder,
  type OrderRow,
  type TradeRow,
  type TradeState,
} from "../store/ledger";
import { lossStreak } from "../safety/safety-state";
import { endPendingModifiesOfTrade, settlePendingModify } from "./pending-modify";

const DONE = new Set(["Cancelled", "Rejected", "Inactive"]);

/**
 * The ledger's order an event speaks of: by orderRef, else by permId (both stable across TWS
 * sessions), else by order id — which means something only within the session that issued it, so
 * an id held by another session's order, or by an order with another permId, is not a match, and
 * an id held by several orders is refused (audited), never guessed.
 */
function findOrder(ctx: DeskContext, orderRef: string | null, orderId: number | null, permId: number | null = null, session: string | null = null): OrderRow | null {
  const byRef = orderRef ? getOrderByRef(ctx.sql, orderRef) : null;
  if (byRef) return byRef;
  const byPerm = permId !== null && permId > 0 ? getOrderByPermId(ctx.sql, permId) : null;
  if (byPerm) return byPerm;
  if (orderId === null) return null;
  const lookup = resolveOrderId(ctx.sql, orderId, session ?? currentTwsSession(ctx.sql));
  const order = lookup.order;
  if (!order) {
    if (lookup.ambiguous.length > 0)
      ctx.audit("edge", "ambiguous_order_id", { order_id: orderId, perm_id: permId, tws_session: session, held_by: lookup.ambiguous.map((o) => ({ order_ref: o.order_ref, tws_session: o.tws_session })), note: "an event naming this id was not applied: several orders hold it" });
    return null;
  }
  if (session !== null && order.tws_session !== null && order.tws_session !== session) return null;
  if (permId !== null && permId > 0 && order.perm_id !== null && order.perm_id !== permId) return null;
  return order;
}

/** Records a status for one of our orders; returns false when the order is not ours. */
export function applyOrderStatus(ctx: DeskContext, data: Omit<EventData<"order_status">, "why_held" | "reason"> & { why_held?: string | null; reason?: string | null }, action = "order_status"): boolean {
  const order = findOrder(ctx, data.order_ref, data.order_id, data.perm_id, data.tws_session ?? null);
  if (!order) return false;
  if (isRetiredOrderId(ctx.sql, order.order_ref, data.order_id)) {
    ctx.audit("bridge", "stale_order_status", { trade_id: order.trade_id, order_ref: order.order_ref, order_id: data.order_id, status: data.status, note: "an earlier order under this ref; the current one is unaffected" });
    return true;
  }
  const changed = order.status !== data.status || order.filled !== data.filled || order.order_id !== data.order_id;
  upsertOrder(ctx.sql, {
    ...order, order_id: data.order_id, perm_id: data.perm_id, tws_session: data.tws_session ?? null, status: data.status, filled: data.filled, remaining: data.remaining,
    avg_fill_price: data.avg_fill_price, why_held: data.why_held ?? null, reason: data.reason ?? null,
  }, ctx.now());
  if (changed)
    ctx.audit("bridge", action, {
      trade_id: order.trade_id, order_ref: order.order_ref, order_id: data.order_id, status: data.status, previous_status: order.status,
      filled: data.filled, remaining: data.remaining, avg_fill_price: data.avg_fill_price, reason: data.reason ?? null,
    });
  updateTrade(ctx, order.trade_id);
  // A bridge that reports the order's limit price settles a modify whose answer was lost.
  if (typeof data.limit_price === "number") settlePendingModify(ctx, order.order_ref, { lmtPrice: data.limit_price }, "order_status");
  return true;
}

/** Records a fill once (by execId); returns whether it was new. */
export function applyExecution(ctx: DeskContext, e: EventData<"execution">, action = "fill"): boolean {
  const order = findOrder(ctx, e.order_ref, e.order_id, e.perm_id);
  if (!order && isAccountExecution(e)) {
    // An exercise, an assignment or a lapse (settlements.ts), not a fill of any order.
    const settled = recordSettlement(ctx, e);
    if (settled) {
      if (settled.inserted) {
        checkAssignedStock(ctx);
        // A delivery (or the option settlement it pairs with) may close or attribute a stock lot.
        bookDeliveredStock(ctx, e.symbol);
      }
      return settled.inserted;
    }
  }
  const inserted = insertFill(ctx.sql, e, order?.trade_id ?? null, ctx.now());
  if (inserted)
    ctx.audit("bridge", order ? action : "foreign_fill", {
      exec_id: e.exec_id, trade_id: order?.trade_id ?? null, order_ref: e.order_ref, order_id: e.order_id, symbol: e.symbol, sec_type: e.sec_type,
      side: e.side, shares: e.shares, price: e.price, commission: e.commission, time: e.time,
    });
  if (order) updateTrade(ctx, order.trade_id);
  // Stock bought or sold by hand, or by a flatten, may close stock an assignment delivered.
  if (inserted && e.sec_type === "STK") bookDeliveredStock(ctx, e.symbol);
  return inserted;
}

/** States a trade leaves only by later evidence: a fill or a live status of its opening order. */
const ENDED_WITHOUT_POSITION: readonly TradeState[] = ["cancelled", "rejected", "expired"];

/**
 * Brings the opening order's fill count up to its executions: events are evidence, and a fill
 * that TWS reported outweighs a status that raced it (Cancelled, then an execution) or lagged it.
 * An order whose executions cover its quantity is Filled whatever its last status said.
 */
function applyFillEvidence(ctx: DeskContext, trade: TradeRow, open: OrderRow): OrderRow {
  const legs = legsOf(trade);
  const units = comboSize(legs);
  const perUnit = legs.reduce((sum, leg) => sum + leg.quantity, 0) / units;
  const shares = legSharesFilled(ctx.sql, open.order_ref);
  // Combos fill whole units (every leg of a unit together), so leg shares over shares per unit is the units filled.
  const unitsFilled = Math.min(units, shares / perUnit);
  const covered = unitsFilled >= units - 1e-9;
  if (unitsFilled <= open.filled + 1e-9 && (!covered || open.status === "Filled")) return open;
  // An order whose acknowledgement was lost learns its IBKR id from its executions.
  const idFromFills = open.order_id ?? ctx.sql.exec<{ order_id: number }>("SELECT order_id FROM fills WHERE order_ref = ? AND order_id IS NOT NULL LIMIT 1", open.order_ref).toArray()[0]?.order_id ?? null;
  const updated: OrderRow = {
    ...open, order_id: idFromFills, filled: covered ? units : Math.max(open.filled, unitsFilled), remaining: covered ? 0 : Math.max(0, units - Math.max(open.filled, unitsFilled)),
    status: covered ? "Filled" : open.status,
  };
  upsertOrder(ctx.sql, updated, ctx.now());
  ctx.audit("edge", "order_fills_from_executions", {
    trade_id: trade.trade_id, order_ref: open.order_ref, order_id: updated.order_id, last_status: open.status, status: updated.status, filled: updated.filled, leg_shares: shares,
  });
  return updated;
}

/** Moves a trade along with its orders and fills; books the P&L when its close is done. */
export function updateTrade(ctx: DeskContext, tradeId: string): void {
  const trade = getTrade(ctx.sql, tradeId);
  if (!trade) return;
  let open = getOrderByRef(ctx.sql, tradeId);
  const close = getOrderByRef(ctx.sql, closeRef(tradeId));
  if (open) open = applyFillEvidence(ctx, trade, open);
  endPendingModifiesOfTrade(ctx, tradeId);
  let next: TradeState = trade.state;
  const ended = ENDED_WITHOUT_POSITION.includes(trade.state);
  // Later evidence wins: a trade marked cancelled (or rejected) whose opening order then fills or
  // is reported live is re-opened, and its reserved risk counts again in every limit.
  if ((["submitting", "unknown", "working"].includes(trade.state) || ended) && open) {
    if (open.status === "Filled" || (DONE.has(open.status) && open.filled > 0)) next = "open";
    else if (DONE.has(open.status)) next = ended ? trade.state : open.status === "Rejected" ? "rejected" : "cancelled";
    else if (open.filled > 0 || (open.order_id !== null && open.status !== "Unknown" && open.status !== "PendingSubmit")) next = "working";
  }
  if ((trade.state === "closing" || trade.state === "open") && close) {
    // The close is complete once its leg fills match what the opening fills bought and sold (or
    // the legs, when the opening fills were never seen), whatever the close's last status said.
    const planned = legsOf(trade).reduce((sum, leg) => sum + leg.quantity, 0);
    const opened = legSharesFilled(ctx.sql, tradeId);
    // Legs TWS settled without an order (exercised or assigned early) are not the close's to fill.
    const needed = (opened > 0 ? opened : planned) - settledShares(ctx, trade);
    const closedShares = legSharesFilled(ctx.sql, close.order_ref);
    if ((close.status === "Filled" || closedShares > 0) && closedShares >= needed - 1e-9) {
      bookClose(ctx, tradeId, opened > 0);
      return;
    }
    // A close that ended short of the position (not at all, or part-filled) leaves the rest open
    // and closable: close_position sizes the next close to what is still held.
    if (trade.state === "closing" && DONE.has(close.status)) next = "open";
  }
  if (next !== trade.state) {
    setTradeState(ctx.sql, tradeId, next, ctx.now());
    ctx.audit("edge", ended ? "trade_reopened" : "trade_state", { trade_id: tradeId, from: trade.state, to: next, ...(ended ? { why: "later evidence from TWS: its opening order filled or is live", reserved_risk: trade.reserved_risk } : {}) });
  }
}

/** Closes a trade and books its realized P&L from its fills (loss streak, daily P&L, breakers). */
export function bookClose(ctx: DeskContext, tradeId: string, openFillsComplete: boolean): void {
  const now = ctx.now();
  if (getTrade(ctx.sql, tradeId)?.strategy === FLATTEN_STRATEGY) {
    // Its cost basis was never the ledger's: no realized P&L here (TWS's daily P&L counts it).
    ctx.sql.exec("UPDATE trades SET state = 'closed', closed_at = ?, updated_at = ? WHERE trade_id = ?", now.toISOString(), now.toISOString(), tradeId);
    ctx.audit("edge", "trade_closed", { trade_id: tradeId, realized_pnl: null, flatten: true });
    return;
  }
  const legs = realizedPnl(fillsOfTrade(ctx.sql, tradeId));
  // Stock its options delivered and that was closed since: already in today's P&L when it was
  // (delivered-stock.ts), so only the legs' part is added to the day here.
  const stock = getTrade(ctx.sql, tradeId)?.delivered_stock_pnl ?? 0;
  const pnl = roundCents(legs + stock);
  const day = tradingDay(now);
  ctx.sql.exec("UPDATE trades SET state = 'closed', realized_pnl = ?, closed_at = ?, updated_at = ? WHERE trade_id = ?", pnl, now.toISOString(), now.toISOString(), tradeId);
  addDailyPnl(ctx.sql, day, legs);
  const before = lossStreak(ctx.sql);
  const streak = pnl < 0 ? before + 1 : pnl > 0 ? 0 : before;
  setKv(ctx.sql, "loss_streak", streak);
  ctx.audit("edge", "trade_closed", { trade_id: tradeId, realized_pnl: pnl, ...(stock !== 0 ? { delivered_stock_pnl: stock } : {}), trading_day: day, loss_streak: streak, open_fills_complete: openFillsComplete });
  checkBreakers(ctx);
}

/**
 * Adopts an open order reported by TWS whose acknowledgement the edge never got (never resent).
 * A snapshot read before `evidenceAt` does not speak for an order whose row changed since (a
 * later status or fill already told what happened to it): that order is left as it is.
 */
export function adoptOpenOrder(ctx: DeskContext, o: OpenOrder, evidenceAt = Number.POSITIVE_INFINITY): "adopted" | "updated" | "foreign" | "newer" {
  const ours = o.order_ref ? getOrderByRef(ctx.sql, o.order_ref) : null;
  if (!ours) return "foreign";
  if (ours.evidence_seq > evidenceAt) return "newer";
  const adopted = ours.order_id === null || ours.status === "Unknown" || ours.status === "PendingSubmit";
  applyOrderStatus(ctx, { order_id: o.order_id, perm_id: o.perm_id, order_ref: o.order_ref, status: o.status, filled: o.filled, remaining: o.remaining, avg_fill_price: null }, adopted ? "order_adopted" : "order_status");
  // TWS's own limit price settles a modify whose answer was lost (pending-modify.ts).
  if (o.limit_price !== null) settlePendingModify(ctx, ours.order_ref, { lmtPrice: o.limit_price, action: o.action }, "reconcile");
  return adopted ? "adopted" : "updated";
}
