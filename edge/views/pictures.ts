// What the dashboard draws, computed here from stored facts (the client script only draws):
// each active trade's payoff at expiry (shared/payoff.ts, with the risk figures the decision
// stored: worst case, max gain, breakevens) and the underlying's last price any quote through
// this edge carried; the day's P&L as a series of points against the daily loss limit.
import { DAILY_LOSS_LIMIT } from "../../shared/limits";
import { payoffCurve } from "../../shared/payoff";
import type { OpResult } from "../../shared/protocol";
import { tradingDay } from "../../shared/trade-id";
import { legsOf, type TradeRow } from "../store/ledger";
import { dailyPnl } from "../safety/safety-state";
import { recordUnderlyingPrice, underlyingPrice } from "../safety/underlying-prices";

export { recordUnderlyingPrice, underlyingPrice } from "../safety/underlying-prices";

/** Points kept per day: one every 30 s at most (a whole session is 780). */
const PNL_POINT_SPACING_MS = 30_000;
const MAX_PNL_POINTS = 2_000;

/** From a quote answer: the underlying price of its greeks (single option or any combo leg). */
export function recordQuoteUnderlying(sql: SqlStorage, symbol: string | null | undefined, quote: OpResult<"quote">): void {
  const g = quote.greeks ?? quote.leg_greeks?.find((l) => l.greeks?.underlying_price)?.greeks ?? null;
  recordUnderlyingPrice(sql, quote.underlying ?? symbol, g?.underlying_price, g?.as_of ?? quote.as_of);
}

/** Append today's P&L (the figure the daily-loss check uses), at most one point per 30 s. */
export function recordPnlPoint(sql: SqlStorage, now: Date): void {
  const day = tradingDay(now);
  const pnl = dailyPnl(sql, now);
  const last = sql.exec<{ at_ms: number; trading_day: string }>("SELECT at_ms, trading_day FROM pnl_points ORDER BY at_ms DESC LIMIT 1").toArray()[0];
  if (last && last.trading_day === day && now.getTime() - last.at_ms < PNL_POINT_SPACING_MS)
    sql.exec("UPDATE pnl_points SET pnl = ? WHERE at_ms = ?", pnl, last.at_ms);
  else sql.exec("INSERT OR REPLACE INTO pnl_points (at_ms, trading_day, pnl) VALUES (?, ?, ?)", now.getTime(), day, pnl);
  sql.exec("DELETE FROM pnl_points WHERE trading_day != ? OR at_ms < (SELECT MIN(at_ms) FROM (SELECT at_ms FROM pnl_points ORDER BY at_ms DESC LIMIT ?))", day, MAX_PNL_POINTS);
}

export function pnlSeries(sql: SqlStorage, now: Date) {
  const day = tradingDay(now);
  const points = sql
    .exec<{ at_ms: number; pnl: number }>("SELECT at_ms, pnl FROM pnl_points WHERE trading_day = ? ORDER BY at_ms", day)
    .toArray()
    .map((p) => ({ at: new Date(p.at_ms).toISOString(), pnl: p.pnl }));
  return { trading_day: day, daily_loss_limit: DAILY_LOSS_LIMIT, current: dailyPnl(sql, now), points };
}

const ACTIVE = new Set(["pending_approval", "submitting", "unknown", "working", "open", "closing"]);

/** The payoff picture of a trade still active, or null for a finished one. */
export function payoffView(sql: SqlStorage, t: TradeRow) {
  if (!ACTIVE.has(t.state)) return null;
  const breakevens = JSON.parse(t.breakevens_json) as number[];
  const under = underlyingPrice(sql, t.exposure_group ?? t.symbol) ?? underlyingPrice(sql, t.symbol);
  const curve = payoffCurve(legsOf(t), breakevens, under?.price ?? null);
  const base = { worst_case_loss: t.computed_max_risk, max_gain: t.max_gain, breakevens, underlying_price: under?.price ?? null, underlying_price_at: under?.at ?? null };
  return "reason" in curve ? { ...base, points: [], x_min: null, x_max: null, reason: curve.reason } : { ...base, points: curve.points, x_min: curve.xMin, x_max: curve.xMax, reason: null };
}
