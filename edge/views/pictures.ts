// What the dashboard draws, computed here from stored facts (the client script only draws):
// each active trade's payoff at expiry (shared/payoff.ts, with the risk figures the decision
// stored: worst case, max gain, breakevens) and the underlying's last price any quote through
// this edge carried; the day's P&L as a series of points against the daily loss limit.
import { DAILY_LOSS_LIMIT } from "../../shared/limits";
import { payoffCurve } from "../../shared/payoff";
import { tradingDay } from "../../shared/trade-id";
import { legsOf, type TradeRow } from "../store/ledger";
import { dailyPnl } from "../safety/safety-state";
import { underlyingPrice } from "../safety/underlying-prices";

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
