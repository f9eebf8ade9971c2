// Today's P&L as points through the day, the figure the daily-loss check uses (safety-state.ts
// dailyPnl), kept after every account and P&L event from the bridge: at most one point per 30 s and
// MAX_PNL_POINTS a day, only today's. The dashboard draws them (views/pictures.ts pnlSeries).
import { tradingDay } from "../../shared/trade-id";
import { dailyPnl } from "./safety-state";

/** Points kept per day: one every 30 s at most (a whole session is 780). */
const PNL_POINT_SPACING_MS = 30_000;
const MAX_PNL_POINTS = 2_000;

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
