// Applies the bridge's events to the ledger and the safety state, synchronously: order status
// changes and fills (matched by orderRef), account and P&L snapshots (which may trip a breaker),
// positions and TWS health. Trade state follows its orders; a closed trade books its realized P&L.
import { roundCents } from "../shared/money";
import type { Event, EventData, OpenOrder } from "../shared/protocol";
import { tradingDay } from "../shared/trade-id";
import type { Position } from "../shared/tools";
import { checkBreakers } from "./breakers";
import type { DeskContext } from "./desk-context";
import { getKv, setKv } from "./kv";
import { recordPnlPoint } from "./pictures";
import {
  addDailyPnl,
  closeRef,
  fillsOfTrade,
  getOrderById,
  getOrderByRef,
  getTrade,
  insertFill,
  legSharesFilled,
  legsOf,
  realizedPnl,
  setTradeState,
  upsertOrder,
  type OrderRow,
  type TradeState,
} from "./ledger";
import { highWaterMark, lossStreak, twsHealth } from "./safety-state";

const DONE = new Set(["Cancelled", "Rejected", "Inactive"]);

function findOrder(ctx: DeskContext, orderRef: string | null, orderId: number | null): OrderRow | null {
  return (orderRef ? getOrderByRef(ctx.sql, orderRef) : null) ?? (orderId !== null ? getOrderById(ctx.sql, orderId) : null);
}

/** Records a status for one of our orders; returns false when the order is not ours. */
export function applyOrderStatus(ctx: DeskContext, data: Omit<EventData<"order_status">, "why_held" | "reason"> & { why_held?: string | null; reason?: string | null }, action = "order_status"): boolean {
  const order = findOrder(ctx, data.order_ref, data.order_id);
  if (!order) return false;
  const changed = order.status !== data.status || order.filled !== data.filled || order.order_id !== data.order_id;
  upsertOrder(ctx.sql, {
    ...order, order_id: data.order_id, perm_id: data.perm_id, status: data.status, filled: data.filled, remaining: data.remaining,
    avg_fill_price: data.avg_fill_price, why_held: data.why_held ?? null, reason: data.reason ?? null,
  });
  if (changed)
    ctx.audit("bridge", action, {
      trade_id: order.trade_id, order_ref: order.order_ref, order_id: data.order_id, status: data.status, previous_status: order.status,
      filled: data.filled, remaining: data.remaining, avg_fill_price: data.avg_fill_price, reason: data.reason ?? null,
    });
  updateTrade(ctx, order.trade_id);
  return true;
}

/** Records a fill once (by execId); returns whether it was new. */
export function applyExecution(ctx: DeskContext, e: EventData<"execution">, action = "fill"): boolean {
  const order = findOrder(ctx, e.order_ref, e.order_id);
  const inserted = insertFill(ctx.sql, e, order?.trade_id ?? null, ctx.now());
  if (inserted)
    ctx.audit("bridge", order ? action : "foreign_fill", {
      exec_id: e.exec_id, trade_id: order?.trade_id ?? null, order_ref: e.order_ref, order_id: e.order_id, symbol: e.symbol, sec_type: e.sec_type,
      side: e.side, shares: e.shares, price: e.price, commission: e.commission, time: e.time,
    });
  if (order) updateTrade(ctx, order.trade_id);
  return inserted;
}

/** Moves a trade along with its orders; books the P&L when its close is done. */
export function updateTrade(ctx: DeskContext, tradeId: string): void {
  const trade = getTrade(ctx.sql, tradeId);
  if (!trade) return;
  const open = getOrderByRef(ctx.sql, tradeId);
  const close = getOrderByRef(ctx.sql, closeRef(tradeId));
  let next: TradeState = trade.state;
  if (["submitting", "unknown", "working"].includes(trade.state) && open) {
    if (open.status === "Filled") next = "open";
    else if (DONE.has(open.status)) next = open.filled > 0 ? "open" : open.status === "Rejected" ? "rejected" : "cancelled";
    else if (open.order_id !== null && open.status !== "Unknown" && open.status !== "PendingSubmit") next = "working";
  }
  if ((trade.state === "closing" || trade.state === "open") && close) {
    if (close.status === "Filled") {
      // The close is complete once its leg fills match what the opening fills bought and sold
      // (or the legs, when the opening fills were never seen).
      const planned = legsOf(trade).reduce((sum, leg) => sum + leg.quantity, 0);
      const opened = legSharesFilled(ctx.sql, tradeId);
      const needed = opened > 0 ? opened : planned;
      if (legSharesFilled(ctx.sql, close.order_ref) >= needed - 1e-9) {
        bookClose(ctx, tradeId, opened > 0);
        return;
      }
    } else if (trade.state === "closing" && DONE.has(close.status) && close.filled === 0) next = "open";
  }
  if (next !== trade.state) {
    setTradeState(ctx.sql, tradeId, next, ctx.now());
    ctx.audit("edge", "trade_state", { trade_id: tradeId, from: trade.state, to: next });
  }
}

function bookClose(ctx: DeskContext, tradeId: string, openFillsComplete: boolean): void {
  const now = ctx.now();
  const pnl = realizedPnl(fillsOfTrade(ctx.sql, tradeId));
  const day = tradingDay(now);
  ctx.sql.exec("UPDATE trades SET state = 'closed', realized_pnl = ?, closed_at = ?, updated_at = ? WHERE trade_id = ?", pnl, now.toISOString(), now.toISOString(), tradeId);
  addDailyPnl(ctx.sql, day, pnl);
  const before = lossStreak(ctx.sql);
  const streak = pnl < 0 ? before + 1 : pnl > 0 ? 0 : before;
  setKv(ctx.sql, "loss_streak", streak);
  ctx.audit("edge", "trade_closed", { trade_id: tradeId, realized_pnl: pnl, trading_day: day, loss_streak: streak, open_fills_complete: openFillsComplete });
  checkBreakers(ctx);
}

/** One bridge event, applied in a single synchronous turn. */
export function applyEvent(ctx: DeskContext, event: Event): void {
  const now = ctx.now();
  switch (event.event) {
    case "order_status":
      if (!applyOrderStatus(ctx, event.data)) ctx.audit("bridge", "foreign_order_status", event.data);
      return;
    case "execution":
      applyExecution(ctx, event.data);
      return;
    case "account": {
      // The bridge may see several managed accounts; only this edge's account counts.
      if (event.data.account_id !== ctx.settings.accountId) {
        ctx.audit("bridge", "foreign_account_data", { account_id: event.data.account_id });
        return;
      }
      setKv(ctx.sql, "account", { summary: event.data, received_at_ms: now.getTime() });
      const hwm = highWaterMark(ctx.sql);
      if (hwm === null || event.data.net_liquidation > hwm) setKv(ctx.sql, "high_water_mark", roundCents(event.data.net_liquidation));
      checkBreakers(ctx);
      recordPnlPoint(ctx.sql, now);
      return;
    }
    case "pnl":
      setKv(ctx.sql, "pnl", { ...event.data, trading_day: tradingDay(now), received_at_ms: now.getTime() });
      checkBreakers(ctx);
      recordPnlPoint(ctx.sql, now);
      return;
    case "position": {
      const { account, ...position } = event.data;
      if (account !== ctx.settings.accountId) {
        ctx.audit("bridge", "foreign_account_data", { account_id: account, con_id: position.con_id });
        return;
      }
      if (position.quantity === 0) ctx.sql.exec("DELETE FROM positions WHERE con_id = ?", position.con_id);
      else
        ctx.sql.exec(
          "INSERT INTO positions (con_id, position_json, updated_at) VALUES (?, ?, ?) ON CONFLICT(con_id) DO UPDATE SET position_json = excluded.position_json, updated_at = excluded.updated_at",
          position.con_id, JSON.stringify(position), now.toISOString(),
        );
      setKv(ctx.sql, "positions_as_of", now.toISOString());
      return;
    }
    case "tws_health": {
      const before = twsHealth(ctx.sql);
      setKv(ctx.sql, "tws_health", event.data);
      if (before?.state !== event.data.state) ctx.audit("bridge", "tws_health", { from: before?.state ?? null, to: event.data.state, last_error: event.data.last_error });
      return;
    }
    case "refusal":
      ctx.audit("bridge", "second_key_refusal", event.data);
      ctx.writeLog("safety_violation", `Bridge refused ${event.data.trade_id} (second key)`, { trade_id: event.data.trade_id, violations: event.data.violations });
      return;
  }
}

/** The last event seq stored for a bridge process (0 if none). */
export function lastEventSeq(sql: SqlStorage, bridgeId: string): number {
  return getKv<number>(sql, `bridge_seq:${bridgeId}`, 0);
}
export function storeEventSeq(sql: SqlStorage, bridgeId: string, seq: number): void {
  setKv(sql, `bridge_seq:${bridgeId}`, seq);
}

/** Adopts an open order reported by TWS whose acknowledgement the edge never got (never resent). */
export function adoptOpenOrder(ctx: DeskContext, o: OpenOrder): "adopted" | "updated" | "foreign" {
  const ours = o.order_ref ? getOrderByRef(ctx.sql, o.order_ref) : null;
  if (!ours) return "foreign";
  const adopted = ours.order_id === null || ours.status === "Unknown" || ours.status === "PendingSubmit";
  applyOrderStatus(ctx, { order_id: o.order_id, perm_id: o.perm_id, order_ref: o.order_ref, status: o.status, filled: o.filled, remaining: o.remaining, avg_fill_price: null }, adopted ? "order_adopted" : "order_status");
  return adopted ? "adopted" : "updated";
}

/** Replaces the position snapshot with TWS's full list (on reconnect). */
export function replacePositions(ctx: DeskContext, positions: readonly Position[]): void {
  const now = ctx.now().toISOString();
  ctx.sql.exec("DELETE FROM positions");
  for (const p of positions)
    if (p.quantity !== 0) ctx.sql.exec("INSERT OR REPLACE INTO positions (con_id, position_json, updated_at) VALUES (?, ?, ?)", p.con_id, JSON.stringify(p), now);
  setKv(ctx.sql, "positions_as_of", now);
}
