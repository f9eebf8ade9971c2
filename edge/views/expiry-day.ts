// Expiry day: a trade holding short option legs that expire today (New York) carries pin risk —
// whether they are assigned turns on the last minutes' price. Such trades are flagged with the time
// left to the close and, when TWS quotes the underlying, how near the money their short strikes are.
// close_position stays allowed for them under every stop and breaker (closes are never refused).
import { z } from "zod";
import { expiryClose, lastTradingDate, newYorkClock, productOf } from "../../shared/market-calendar";
import type { OptionContract } from "../../shared/order";
import { calendarDay } from "../../shared/trade-id";
import type { DeskContext } from "../store/desk-context";
import { brokerNow } from "../store/broker-clock";
import { activeTrades, legsOf, type TradeRow } from "../store/ledger";

/** A short strike within this fraction of the underlying's price is "near the money". */
export const PIN_BAND = 0.01;
/** The longest an expiry-day read waits for the bridge's quote of an underlying. */
const QUOTE_WAIT_MS = 3_000;

/** A trade whose short option legs expire today: pin risk and the time left (get_safety_status, list_trades, the dashboard). */
export const ExpiryDayFlag = z.object({
  trade_id: z.string(),
  symbol: z.string(),
  expiry: z.string(),
  short_strikes: z.array(z.object({ strike: z.number(), right: z.enum(["C", "P"]) })),
  /** Minutes to 16:00 New York today (0 once the session has closed). */
  minutes_left: z.number(),
  underlying_price: z.number().nullable(),
  /** A short strike within PIN_BAND of the price; null when the price could not be read (treat as at risk). */
  near_money: z.boolean().nullable(),
  nearest_short_distance_pct: z.number().nullable(),
  note: z.string(),
});
export type ExpiryDayFlag = z.infer<typeof ExpiryDayFlag>;

/**
 * Trades with short option legs whose last trading date is today's New York calendar date (the
 * expiry, or the trading date before an expiry the exchange does not trade). A calendar date, not
 * the trading day: after the close the legs are still today's to be assigned.
 */
export function expiringShortLegs(trades: readonly TradeRow[], now: Date): { trade: TradeRow; shorts: OptionContract[] }[] {
  const today = calendarDay(now);
  const out: { trade: TradeRow; shorts: OptionContract[] }[] = [];
  for (const trade of trades) {
    if (!["working", "open", "closing", "unknown"].includes(trade.state)) continue;
    const shorts = legsOf(trade)
      .filter((leg) => leg.action === "SELL" && leg.contract.sec_type !== "STK" && lastTradingDate((leg.contract as OptionContract).expiry) === today)
      .map((leg) => leg.contract as OptionContract);
    if (shorts.length > 0) out.push({ trade, shorts });
  }
  return out;
}

/** Whole minutes from `now` to the close at which an option expiring on `expiry` stops trading (0 once it has). */
export function minutesToClose(now: Date, expiry: string, symbol: string): number {
  return Math.max(0, Math.round((expiryClose(expiry, productOf(symbol)) - now.getTime()) / 60_000));
}

/** "16:00" or "13:00": the New York wall time of an expiry's close. */
function closeTime(expiry: string, symbol: string): string {
  const c = newYorkClock(expiryClose(expiry, productOf(symbol)));
  return `${String(c.hour).padStart(2, "0")}:${String(c.minute).padStart(2, "0")}`;
}

async function underlyingPrice(ctx: DeskContext, symbol: string): Promise<number | null> {
  if (!ctx.link.socket()) return null;
  try {
    const quote = await Promise.race([
      ctx.link.request("quote", { legs: [{ action: "BUY", contract: { symbol, sec_type: "STK" }, quantity: 1 }] }),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), QUOTE_WAIT_MS)),
    ]);
    const price = quote ? (quote.mid ?? quote.last) : null;
    return price !== null && Number.isFinite(price) && price > 0 ? price : null;
  } catch {
    return null;
  }
}

/** The expiry-day flags of the active trades (or of `trades`), with one quote per underlying. */
export async function expiryDayFlags(ctx: DeskContext, trades: readonly TradeRow[] = activeTrades(ctx.sql)): Promise<ExpiryDayFlag[]> {
  // The broker's day: TWS's clock when it runs apart from ours (flags only warn, they never release risk).
  const now = brokerNow(ctx);
  const expiring = expiringShortLegs(trades, now);
  if (expiring.length === 0) return [];
  const prices = new Map<string, number | null>();
  for (const symbol of new Set(expiring.map((e) => e.trade.symbol))) prices.set(symbol, await underlyingPrice(ctx, symbol));
  return expiring.map(({ trade, shorts }) => {
    const minutesLeft = minutesToClose(now, shorts[0]!.expiry, trade.symbol);
    const price = prices.get(trade.symbol) ?? null;
    const distance = price === null ? null : Math.min(...shorts.map((c) => Math.abs(price - c.strike) / price));
    const near = distance === null ? null : distance <= PIN_BAND;
    const left = minutesLeft > 0 ? `${Math.floor(minutesLeft / 60)} h ${minutesLeft % 60} min to the ${closeTime(shorts[0]!.expiry, trade.symbol)} New York close` : "the session has closed";
    const note =
      near === null
        ? `Short legs expire today (${left}); the underlying's price could not be read, so treat them as at risk of assignment. close_position stays available.`
        : near
          ? `PIN RISK: a short strike is within ${(distance! * 100).toFixed(2)}% of ${trade.symbol} at ${price} with ${left}. close_position stays available under every stop and breaker.`
          : `Short legs expire today (${left}); the nearest short strike is ${(distance! * 100).toFixed(2)}% from ${trade.symbol} at ${price}.`;
    return {
      trade_id: trade.trade_id, symbol: trade.symbol, expiry: shorts[0]!.expiry, short_strikes: shorts.map((c) => ({ strike: c.strike, right: c.right })),
      minutes_left: minutesLeft, underlying_price: price, near_money: near, nearest_short_distance_pct: distance === null ? null : Math.round(distance * 10_000) / 100, note,
    };
  });
}
