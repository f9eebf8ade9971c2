// Circuit breakers trip themselves from persisted state after every account, P&L and trade-close
// event: daily loss (clears at the next New York trading day), drawdown from the high-water mark
// and consecutive losses (these two clear only by an admin, with a reason).
import { CONSECUTIVE_LOSS_LIMIT, DAILY_LOSS_LIMIT, DRAWDOWN_CIRCUIT_BREAKER } from "../../shared/limits";
import { formatPct, formatUsd } from "../../shared/money";
import { tradingDay } from "../../shared/trade-id";
import type { DeskContext } from "../store/desk-context";
import { setKv } from "../store/kv";
import { storedPositions } from "../store/ledger";
import { accountSnapshot, breaker, dailyPnl, highWaterMark, lossStreak, setBreaker, type BreakerName } from "./safety-state";

function trip(ctx: DeskContext, name: BreakerName, reason: string, now: Date): void {
  setBreaker(ctx.sql, name, { tripped: true, reason, at: now.toISOString(), trading_day: name === "daily_loss" ? tradingDay(now) : null });
  ctx.audit("edge", "breaker_tripped", { breaker: name, reason });
  ctx.writeLog("circuit_breaker", `${name} breaker tripped: ${reason}`, { breaker: name });
}

/** Trips whatever breaker the current state calls for; records a daily-loss breaker clearing on a new day. */
export function checkBreakers(ctx: DeskContext): void {
  const { sql } = ctx;
  const now = ctx.now();
  const today = tradingDay(now);

  const daily = breaker(sql, "daily_loss");
  if (daily.tripped && daily.trading_day !== today) {
    setBreaker(sql, "daily_loss", { tripped: false, reason: null, at: now.toISOString(), trading_day: null });
    ctx.audit("system", "breaker_reset", { breaker: "daily_loss", reason: `new trading day ${today}` });
  }
  const loss = Math.max(0, -dailyPnl(sql, now));
  if (loss >= DAILY_LOSS_LIMIT - 0.005 && !breaker(sql, "daily_loss").tripped)
    trip(ctx, "daily_loss", `Daily loss ${formatUsd(loss)} reached the limit ${formatUsd(DAILY_LOSS_LIMIT)}`, now);

  const netLiq = accountSnapshot(sql)?.summary.net_liquidation ?? null;
  const hwm = highWaterMark(sql);
  if (netLiq !== null && hwm !== null && hwm > 0) {
    const drawdown = (hwm - netLiq) / hwm;
    if (drawdown >= DRAWDOWN_CIRCUIT_BREAKER - 1e-9 && !breaker(sql, "drawdown").tripped)
      trip(ctx, "drawdown", `Net liquidation ${formatUsd(netLiq)} is ${formatPct(drawdown)} below the high-water mark ${formatUsd(hwm)}`, now);
  }

  const streak = lossStreak(sql);
  if (streak >= CONSECUTIVE_LOSS_LIMIT && !breaker(sql, "consecutive_losses").tripped)
    trip(ctx, "consecutive_losses", `${streak} losing trades in a row`, now);
}

/**
 * Admin reset of drawdown or consecutive_losses. Resetting acknowledges the loss: the high-water
 * mark is rebased to today's net liquidation, or the loss streak to zero, or the breaker (and the
 * matching check) would refuse every order again at once.
 */
export function resetBreaker(ctx: DeskContext, name: BreakerName, by: string, reason: string): { status: number; body: unknown } {
  const { sql } = ctx;
  if (name === "daily_loss")
    return { status: 400, body: { error: "daily_loss resets by itself at the next New York trading day; it cannot be reset by hand" } };
  const record = breaker(sql, name);
  const now = ctx.now();
  const details: Record<string, unknown> = { breaker: name, reason, by, was_tripped: record.tripped, trip_reason: record.reason };
  if (name === "assignment") {
    // The person has looked at the stock an assignment left; it stays on get_positions with its risk.
    details.short_stock = storedPositions(ctx.sql)
      .filter((p) => p.sec_type === "STK" && p.quantity < 0).map((p) => ({ symbol: p.symbol, quantity: p.quantity }));
  } else if (name === "drawdown") {
    const netLiq = accountSnapshot(sql)?.summary.net_liquidation ?? null;
    details.old_high_water_mark = highWaterMark(sql);
    details.new_high_water_mark = netLiq;
    if (netLiq !== null) setKv(sql, "high_water_mark", netLiq);
  } else {
    details.old_loss_streak = lossStreak(sql);
    setKv(sql, "loss_streak", 0);
  }
  setBreaker(sql, name, { tripped: false, reason: null, at: now.toISOString() });
  ctx.audit("admin", "breaker_reset", details);
  return { status: 200, body: { breaker: name, tripped: false } };
}
