// The realized P&L of stock that an exercise or an assignment delivered, booked on the trade whose
// option delivered it. TWS books the delivery as a new stock position at the strike; when that
// stock later leaves — bought back or sold by hand in TWS, or by the kill switch's flatten — the
// gain or loss is the trade's: a short call assigned early and its short stock bought back after a
// rally is one losing trade, not a winning spread and an unrelated loss. So the trade's realized
// P&L, the loss streak and today's P&L (the daily loss limit and its breaker) all see it.
//
// Matched first in, first out over the account's stock executions in the symbol, in TWS's time
// order: the deliveries (a lot on the trade they are booked on, or on no trade when the ledger
// could not attribute them), and every stock execution no ledger trade of its own made (a fill by
// hand, a flatten's). A ledger trade's own stock order keeps its own P&L and is not matched here.
// The figure is recomputed from the fills each time, so executions arriving out of order (at
// reconciliation) give the same answer; each change is booked once as a delta: on today's P&L at
// once, and on the trade's realized P&L when it is already closed (a closing trade takes it in).
// Not covered: stock held before the edge saw it (a lot it never saw cannot be matched), and
// delivered stock still held, whose loss so far is unrealized and counts through TWS's daily P&L.
import { roundCents } from "../../shared/money";
import { tradingDay } from "../../shared/trade-id";
import { checkBreakers } from "../safety/breakers";
import type { DeskContext } from "../store/desk-context";
import { setKv } from "../store/kv";
import { addDailyPnl, FLATTEN_STRATEGY } from "../store/ledger";
import { lossStreak } from "../safety/safety-state";

interface Lot { tradeId: string | null; sign: 1 | -1; shares: number; price: number }

/** The realized P&L, per trade, of the stock its options' deliveries put in `symbol` (FIFO, commissions of the closing side included). */
export function deliveredStockPnl(sql: SqlStorage, symbol: string): Map<string, number> {
  const rows = sql
    .exec<{ trade_id: string | null; side: string; shares: number; price: number; commission: number | null; settlement: string | null; strategy: string | null }>(
      `SELECT f.trade_id, f.side, f.shares, f.price, f.commission, f.settlement, t.strategy FROM fills f LEFT JOIN trades t ON t.trade_id = f.trade_id
       WHERE f.symbol = ? AND f.sec_type = 'STK' ORDER BY f.time, f.exec_id`,
      symbol,
    )
    .toArray();
  const queue: Lot[] = [];
  const out = new Map<string, number>();
  for (const r of rows) {
    const delivery = r.settlement === "delivery";
    if (!delivery && r.trade_id !== null && r.strategy !== FLATTEN_STRATEGY) continue;
    const sign = r.side === "BOT" ? 1 : -1;
    // A negative or non-finite size (the execution schema lets one through) moves nothing.
    const shares = Number.isFinite(r.shares) && r.shares > 0 ? r.shares : 0;
    const commissionPerShare = shares > 0 && Number.isFinite(r.commission ?? 0) ? (r.commission ?? 0) / shares : 0;
    let left = shares;
    while (left > 1e-9 && queue.length > 0 && queue[0]!.sign !== sign) {
      const lot = queue[0]!;
      const q = Math.min(left, lot.shares);
      if (lot.tradeId) out.set(lot.tradeId, (out.get(lot.tradeId) ?? 0) + lot.sign * (r.price - lot.price) * q - commissionPerShare * q);
      lot.shares -= q;
      left -= q;
      if (lot.shares <= 1e-9) queue.shift();
    }
    if (left > 1e-9) queue.push({ tradeId: delivery ? r.trade_id : null, sign, shares: left, price: r.price });
  }
  for (const [id, pnl] of out) out.set(id, roundCents(pnl));
  return out;
}

/**
 * Books what changed in the delivered stock's realized P&L of `symbol`'s trades: today's P&L takes
 * the change at once; a closed trade's realized P&L takes it too, and when that turns the trade
 * into a loss the loss streak counts it. Synchronous; audited per trade.
 */
export function bookDeliveredStock(ctx: DeskContext, symbol: string): void {
  const computed = deliveredStockPnl(ctx.sql, symbol);
  const rows = ctx.sql
    .exec<{ trade_id: string; state: string; realized_pnl: number | null; delivered_stock_pnl: number | null }>(
      "SELECT trade_id, state, realized_pnl, delivered_stock_pnl FROM trades WHERE symbol = ? AND (delivered_stock_pnl IS NOT NULL OR trade_id IN (SELECT DISTINCT trade_id FROM fills WHERE symbol = ? AND settlement = 'delivery' AND trade_id IS NOT NULL))",
      symbol, symbol,
    )
    .toArray();
  let changed = false;
  for (const row of rows) {
    const from = row.delivered_stock_pnl ?? 0;
    const to = computed.get(row.trade_id) ?? 0;
    const delta = roundCents(to - from);
    if (Math.abs(delta) < 0.005) continue;
    changed = true;
    const now = ctx.now();
    ctx.sql.exec("UPDATE trades SET delivered_stock_pnl = ?, updated_at = ? WHERE trade_id = ?", to, now.toISOString(), row.trade_id);
    addDailyPnl(ctx.sql, tradingDay(now), delta);
    let realized = row.realized_pnl;
    let streakCounted = false;
    if (row.state === "closed" && row.realized_pnl !== null) {
      realized = roundCents(row.realized_pnl + delta);
      ctx.sql.exec("UPDATE trades SET realized_pnl = ? WHERE trade_id = ?", realized, row.trade_id);
      streakCounted = row.realized_pnl >= 0 && realized < 0;
      if (streakCounted) setKv(ctx.sql, "loss_streak", lossStreak(ctx.sql) + 1);
    }
    ctx.audit("edge", "delivered_stock_pnl", {
      trade_id: row.trade_id, symbol, from, delivered_stock_pnl: to, delta, trading_day: tradingDay(now), trade_state: row.state, realized_pnl: realized, loss_streak_counted: streakCounted,
      why: "stock an exercise or assignment of this trade's option delivered was closed: its realized P&L is the trade's",
    });
  }
  if (changed) checkBreakers(ctx);
}
