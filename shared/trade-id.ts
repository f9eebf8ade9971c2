// Trade ids as the seed writes them: STRATEGY_SYMBOL_YYYYMMDD_HHMMSS in New York time, e.g.
// IRON_CONDOR_AAPL_20251119_103045. Every IBKR order carries it as `orderRef`, which is how
// the ledger is reconciled with TWS after a disconnect. The day helpers say which day is meant:
// the trading day (the limits') or the calendar date (an expiry's).
import { newYorkDate, tradingDayOf } from "./market-calendar";

const nyParts = new Intl.DateTimeFormat("en-US", {
  timeZone: "America/New_York",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

/** Calendar fields of an instant in America/New_York. */
export function newYorkParts(at: Date): { date: string; time: string } {
  const parts = Object.fromEntries(nyParts.formatToParts(at).map((p) => [p.type, p.value]));
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    time: `${parts.hour}${parts.minute}${parts.second}`,
  };
}

/**
 * The trading day an instant belongs to, YYYY-MM-DD (shared/market-calendar.ts tradingDayOf): from
 * one session's close to the next, so Friday after the close, the weekend and a holiday belong to
 * the next session's date. What "today" means for the limits: the daily loss and its breaker, the
 * day's P&L, and which expiries can still trade.
 */
export function tradingDay(at: Date): string {
  const ms = at.getTime();
  let day = recentTradingDays.get(ms);
  if (day === undefined) {
    day = tradingDayOf(at);
    if (recentTradingDays.size >= RECENT_TRADING_DAYS) recentTradingDays.delete(recentTradingDays.keys().next().value!);
    recentTradingDays.set(ms, day);
  }
  return day;
}

/**
 * The calendar's answer is a pure function of the instant, and one request asks it for the same
 * few instants many times (its "now", a snapshot's as_of: workerd's clock does not move while a
 * request computes), at ~60 µs each. The last answers are kept, oldest dropped first.
 */
const RECENT_TRADING_DAYS = 64;
const recentTradingDays = new Map<number, string>();

/**
 * The New York calendar date of an instant, YYYY-MM-DD: what "the expiry day" is measured in (pin
 * risk on it, a settlement before it being early, days to expiry, the assignment alert window).
 */
export function calendarDay(at: Date): string {
  return newYorkDate(at);
}

/** `IRON_CONDOR_AAPL_20251119_103045`; `suffix` tells apart two trades opened in one second. */
export function makeTradeId(strategy: string, symbol: string, at: Date, suffix?: number): string {
  const name = strategy
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .replace(/^(\d)/, "S$1")
    .slice(0, 40) || "TRADE";
  const { date, time } = newYorkParts(at);
  const base = `${name}_${symbol.toUpperCase()}_${date.replaceAll("-", "")}_${time}`;
  return suffix ? `${base}_${suffix}` : base;
}
