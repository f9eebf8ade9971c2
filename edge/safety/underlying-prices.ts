// The last price of each underlying that a quote's greeks or an option chain carried through this
// edge: the payoff picture marks it, and the concentration limit values a short call held in TWS
// that no trade accounts for at it (untracked-exposure.ts). Kept apart from pictures.ts so the
// safety state can read it without importing the dashboard's pictures.
import type { OpResult } from "../../shared/protocol";
import { getKv, setKv } from "../store/kv";

type UnderlyingPrices = Record<string, { price: number; at: string }>;
const MAX_SYMBOLS = 200;

/** Remember the underlying price a quote's greeks referred to. */
export function recordUnderlyingPrice(sql: SqlStorage, symbol: string | null | undefined, price: number | null | undefined, at: string): void {
  if (!symbol || price === null || price === undefined || !Number.isFinite(price) || price <= 0) return;
  const prices = getKv<UnderlyingPrices>(sql, "underlying_prices", {});
  prices[symbol.toUpperCase()] = { price, at };
  const keys = Object.keys(prices);
  if (keys.length > MAX_SYMBOLS) delete prices[keys[0] as string];
  setKv(sql, "underlying_prices", prices);
}

export function underlyingPrice(sql: SqlStorage, symbol: string): { price: number; at: string } | null {
  return getKv<UnderlyingPrices>(sql, "underlying_prices", {})[symbol.toUpperCase()] ?? null;
}

/** From a quote answer: the underlying price of its greeks (single option or any combo leg). */
export function recordQuoteUnderlying(sql: SqlStorage, symbol: string | null | undefined, quote: OpResult<"quote">): void {
  const g = quote.greeks ?? quote.leg_greeks?.find((l) => l.greeks?.underlying_price)?.greeks ?? null;
  recordUnderlyingPrice(sql, quote.underlying ?? symbol, g?.underlying_price, g?.as_of ?? quote.as_of);
}
