// The payoff at expiry of a single-expiry structure as a picture needs it: the exact polyline of
// P&L against the underlying's price (piecewise linear, so its vertices are the strikes and the
// ends of the range), from the same money convention as the risk math (priceOrder's bound
// dollars). Mixed expiries have no single payoff line: null with the reason.
import { priceOrder } from "./combo-price";
import { roundCents } from "./money";
import { isOptionLeg, type Leg } from "./order";
import { expiryValue } from "./risk";

export interface PayoffCurve {
  /** [underlying price at expiry, P&L in USD] pairs, ascending in price. */
  points: [number, number][];
  xMin: number;
  xMax: number;
}

/** P&L in USD at expiry with the underlying at `s`: settlement value minus the dollars the limit binds. */
export function payoffAt(legs: readonly Leg[], s: number): number {
  const priced = priceOrder(legs);
  return priced.ok ? expiryValue(legs, s) - priced.price.boundDollars : Number.NaN;
}

/**
 * The payoff polyline over a range that shows every strike, breakeven and the underlying's price
 * with a margin either side; null (with why) when the structure has no single expiry.
 */
export function payoffCurve(legs: readonly Leg[], breakevens: readonly number[], underlying: number | null): PayoffCurve | { reason: string } {
  const options = legs.filter(isOptionLeg) as (Leg & { contract: { strike: number; expiry: string } })[];
  if (new Set(options.map((l) => l.contract.expiry)).size > 1) return { reason: "legs expire on different dates: no single payoff line at expiry" };
  const priced = priceOrder(legs);
  if (!priced.ok) return { reason: "the legs have no price IBKR would bind" };
  const strikes = options.map((l) => l.contract.strike);
  const marks = [...strikes, ...breakevens, ...(underlying !== null && underlying > 0 ? [underlying] : [])];
  if (marks.length === 0) return { reason: "no strike to centre the picture on" };
  const lo = Math.min(...marks);
  const hi = Math.max(...marks);
  const pad = Math.max((hi - lo) * 0.35, hi * 0.03, 1);
  const xMin = Math.max(0, lo - pad);
  const xMax = hi + pad;
  const xs = [...new Set([xMin, ...strikes.filter((k) => k > xMin && k < xMax), xMax])].sort((a, b) => a - b);
  return { points: xs.map((x) => [Math.round(x * 100) / 100, roundCents(expiryValue(legs, x) - priced.price.boundDollars)]), xMin, xMax };
}
