// A modify of a working order whose answer was lost (link dropped, timeout): TWS may work the order
// at the old price or the new one. The pending modify is kept in SQLite (it outlives a restart of
// the object) with what a confirmed modify would write, and settled when TWS next shows the
// order's limit price — in reconciliation's open orders or a live order status (the old price
// only once the modify could no longer take) — or when the order ends. Until then the larger reservation holds and no other modify of the order is sent.
import { roundCents } from "../../shared/money";
import type { DeskContext } from "../store/desk-context";
import { deleteKv, getKv, setKv } from "../store/kv";
import type { Leg } from "../../shared/order";
import { closeRef, getOrderByRef, getTrade, type TradeRow } from "../store/ledger";

const PREFIX = "modify_pending:";
/**
 * How long after the answer was lost the old price still proves nothing: a modify TWS has not
 * echoed yet (the bridge gave up waiting at 8 s; TWS may be slow) can still take effect. Before
 * then only the new price settles it; reconciliation runs again while it is pending.
 */
export const MODIFY_SETTLE_MS = 30_000;
/** Order statuses after which TWS works the order no more. */
const ENDED = new Set(["Filled", "Cancelled", "Rejected", "Inactive"]);

/** The trade columns a modify of its opening order changes. */
export type TradePrice = Pick<TradeRow, "reserved_risk" | "exposure" | "computed_max_risk" | "claimed_max_risk" | "net_premium" | "max_gain" | "breakevens_json" | "legs_json" | "limit_price">;

export interface PendingModify {
  trade_id: string;
  order_ref: string;
  order_id: number;
  intent: "open" | "close";
  /** Net per unit, debit positive and credit negative (as list_trades shows limit_price). */
  from: number | null;
  to: number;
  since: string;
  /** The action of the order at IBKR (its lmtPrice is read in the ledger's sign through it). */
  tws_action: "BUY" | "SELL";
  /** Opening order: the reservation before the modify, and the trade's columns had TWS confirmed it. */
  before: { reserved_risk: number; exposure: number } | null;
  confirmed: TradePrice | null;
  /** A price TWS showed that is neither `from` nor `to`, once audited (so it is audited once). */
  unexpected_seen: number | null;
}

export function writeTradePrice(ctx: DeskContext, tradeId: string, t: TradePrice): void {
  ctx.sql.exec(
    `UPDATE trades SET reserved_risk = ?, exposure = ?, computed_max_risk = ?, claimed_max_risk = ?, net_premium = ?, max_gain = ?,
       breakevens_json = ?, legs_json = ?, limit_price = ?, updated_at = ? WHERE trade_id = ?`,
    t.reserved_risk, t.exposure, t.computed_max_risk, t.claimed_max_risk, t.net_premium, t.max_gain, t.breakevens_json, t.legs_json, t.limit_price,
    ctx.now().toISOString(), tradeId,
  );
}

/** The limit a working close carries at IBKR (the ledger keeps an opening order's in its trade row). */
export function setCloseLimit(sql: SqlStorage, closeOrderRef: string, limitPrice: number | null): void {
  if (limitPrice !== null && Number.isFinite(limitPrice)) setKv(sql, `close_limit:${closeOrderRef}`, limitPrice);
}
export function closeLimit(sql: SqlStorage, closeOrderRef: string): number | null {
  return getKv<number | null>(sql, `close_limit:${closeOrderRef}`, null);
}

export function recordPendingModify(sql: SqlStorage, pending: PendingModify): void {
  setKv(sql, PREFIX + pending.order_ref, pending);
}
export function pendingModify(sql: SqlStorage, orderRef: string): PendingModify | null {
  return getKv<PendingModify | null>(sql, PREFIX + orderRef, null);
}
function clearPendingModify(sql: SqlStorage, orderRef: string): void {
  deleteKv(sql, PREFIX + orderRef);
}
export function hasPendingModifies(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM kv WHERE key >= ? AND key < ? LIMIT 1", PREFIX, `${PREFIX}\uffff`).toArray().length > 0;
}

/** What list_trades shows of a trade's pending modify (its working order's, open or close). */
export function pendingModifyOfTrade(sql: SqlStorage, tradeId: string): { from: number | null; to: number; since: string; intent: "open" | "close"; order_id: number } | null {
  const p = pendingModify(sql, tradeId) ?? pendingModify(sql, closeRef(tradeId));
  return p ? { from: p.from, to: p.to, since: p.since, intent: p.intent, order_id: p.order_id } : null;
}

/**
 * TWS's limit price in the ledger's convention: IBKR's lmtPrice is the signed net per unit for a
 * combo (always a BUY of the BAG), and the instrument's own positive price for a single leg, whose
 * SELL is a credit (negative) here — see shared/combo-price.ts.
 */
export function signedTwsLimit(lmtPrice: number, action: "BUY" | "SELL"): number {
  return roundCents(action === "SELL" ? -lmtPrice : lmtPrice);
}

/** The action IBKR's order carries: a combo is always a BUY of the BAG; a single leg keeps its own, reversed by a close. */
export function twsActionOf(legs: readonly Pick<Leg, "action">[], intent: "open" | "close"): "BUY" | "SELL" {
  if (legs.length !== 1) return "BUY";
  const own = legs[0]!.action;
  return intent === "close" ? (own === "BUY" ? "SELL" : "BUY") : own;
}

/** A price the bridge answered with (IBKR's lmtPrice) in the ledger's convention, for an order of these legs as sent. */
export function ledgerLimit(sentLegs: readonly Pick<Leg, "action">[], intent: "open" | "close", lmtPrice: number | null): number | null {
  return lmtPrice === null ? null : signedTwsLimit(lmtPrice, twsActionOf(sentLegs, intent));
}

const samePrice = (a: number, b: number | null): boolean => b !== null && Math.abs(a - b) < 0.005;

/**
 * TWS shows the order at its lmtPrice (with its action when TWS said it, else the one it was sent
 * with): the modify took (`to`), never took (`from`), or the price is neither — then the larger
 * reservation stays and it is audited once.
 */
export function settlePendingModify(ctx: DeskContext, orderRef: string, tws: { lmtPrice: number; action?: "BUY" | "SELL" }, source: "reconcile" | "order_status"): void {
  const p = pendingModify(ctx.sql, orderRef);
  if (!p) return;
  const seen = signedTwsLimit(tws.lmtPrice, tws.action ?? p.tws_action);
  const order = getOrderByRef(ctx.sql, orderRef);
  if (!order || ENDED.has(order.status)) return endPendingModify(ctx, orderRef);
  const trade = getTrade(ctx.sql, p.trade_id);
  const price = roundCents(seen);
  const facts = { trade_id: p.trade_id, order_ref: orderRef, order_id: order.order_id, intent: p.intent, from: p.from, to: p.to, tws_limit: price, source, since: p.since };
  if (samePrice(price, p.to)) {
    if (p.intent === "open" && p.confirmed && p.before && trade) {
      // Part may have filled at the old price before the modify took: then the larger reservation stays (as on a confirmed modify).
      const untouched = order.filled === 0;
      writeTradePrice(ctx, p.trade_id, {
        ...p.confirmed,
        reserved_risk: untouched ? p.confirmed.reserved_risk : Math.max(p.before.reserved_risk, p.confirmed.reserved_risk),
        exposure: untouched ? p.confirmed.exposure : Math.max(p.before.exposure, p.confirmed.exposure),
      });
    }
    if (p.intent === "close") setCloseLimit(ctx.sql, orderRef, p.to);
    clearPendingModify(ctx.sql, orderRef);
    ctx.audit("edge", "modify_confirmed_late", { ...facts, reserved_risk: getTrade(ctx.sql, p.trade_id)?.reserved_risk ?? null });
    return;
  }
  if (samePrice(price, p.from)) {
    if (ctx.now().getTime() - Date.parse(p.since) < MODIFY_SETTLE_MS) return;
    if (p.intent === "open" && p.before && trade) writeTradePrice(ctx, p.trade_id, { ...trade, reserved_risk: p.before.reserved_risk, exposure: p.before.exposure });
    clearPendingModify(ctx.sql, orderRef);
    ctx.audit("edge", "modify_not_applied", { ...facts, reserved_risk: getTrade(ctx.sql, p.trade_id)?.reserved_risk ?? null });
    return;
  }
  if (p.unexpected_seen !== null && samePrice(price, p.unexpected_seen)) return;
  recordPendingModify(ctx.sql, { ...p, unexpected_seen: price });
  ctx.audit("edge", "modify_price_unexpected", { ...facts, note: "TWS works the order at neither price: the larger reservation stays and the modify stays pending" });
}

/** The order ended (filled, cancelled, …): nothing is pending any more; the reservation stays as the ledger has it. */
export function endPendingModify(ctx: DeskContext, orderRef: string): void {
  const p = pendingModify(ctx.sql, orderRef);
  if (!p) return;
  const order = getOrderByRef(ctx.sql, orderRef);
  clearPendingModify(ctx.sql, orderRef);
  ctx.audit("edge", "modify_pending_ended", { trade_id: p.trade_id, order_ref: orderRef, from: p.from, to: p.to, since: p.since, status: order?.status ?? null });
}

/** Clears the pending modifies of a trade's orders that have ended (called whenever the trade moves). */
export function endPendingModifiesOfTrade(ctx: DeskContext, tradeId: string): void {
  for (const ref of [tradeId, closeRef(tradeId)]) {
    if (!pendingModify(ctx.sql, ref)) continue;
    const order = getOrderByRef(ctx.sql, ref);
    if (!order || ENDED.has(order.status)) endPendingModify(ctx, ref);
  }
}
