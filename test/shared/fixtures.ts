// Builders for legs and orders used across the shared/ tests, so each test reads as the
// strategy it describes rather than as object literals.
import type { Leg } from "../../shared/order";
import type { LegSettlement } from "../../shared/settlement";

export const TODAY = "2026-11-24";
export const EXPIRY = "2026-12-18";
export const LATER = "2027-01-15";

export function call(action: Leg["action"], strike: number, price: number, quantity = 1, symbol = "AAPL", expiry = EXPIRY): Leg {
  return { action, contract: { symbol, expiry, strike, right: "C" }, quantity, price };
}
export function put(action: Leg["action"], strike: number, price: number, quantity = 1, symbol = "AAPL", expiry = EXPIRY): Leg {
  return { action, contract: { symbol, expiry, strike, right: "P" }, quantity, price };
}
export function stock(action: Leg["action"], shares: number, price: number, symbol = "AAPL"): Leg {
  return { action, contract: { symbol, sec_type: "STK" }, quantity: shares, price };
}

/** The iron condor used by the checks tests: credit $1.40, worst-case loss $360. */
export function ironCondor(symbol = "AAPL"): Leg[] {
  return [
    put("BUY", 90, 0.5, 1, symbol),
    put("SELL", 95, 1.2, 1, symbol),
    call("SELL", 105, 1.3, 1, symbol),
    call("BUY", 110, 0.6, 1, symbol),
  ];
}

/** Payoff at expiry written independently of shared/risk.ts, for brute-force comparison. */
export function bruteForcePayoff(legs: readonly Leg[], underlying: number): number {
  let total = 0;
  for (const leg of legs) {
    const dir = leg.action === "BUY" ? 1 : -1;
    const c = leg.contract;
    if (c.sec_type === "STK") {
      total += dir * leg.quantity * (underlying - leg.price);
    } else {
      const value = c.right === "C" ? Math.max(0, underlying - c.strike) : Math.max(0, c.strike - underlying);
      total += dir * leg.quantity * 100 * (value - leg.price);
    }
  }
  return total;
}

/** Minimum of the payoff over a grid of whole cents from 0 to `top`. */
export function bruteForceMin(legs: readonly Leg[], top: number): number {
  let min = Number.POSITIVE_INFINITY;
  for (let cents = 0; cents <= Math.round(top * 100); cents++) {
    const value = bruteForcePayoff(legs, cents / 100);
    if (value < min) min = value;
  }
  return min;
}

/** How TWS reports a stock or ETF option (underSecType STK): shares delivered, for every option leg. */
export function shareSettled(legs: readonly Leg[]): (LegSettlement | null)[] {
  return legs.map((leg) => (leg.contract.sec_type === "STK" ? null : { delivery: "shares" }));
}

/** How TWS reports an index option (underSecType IND) of one trading class, for every option leg. */
export function cashSettled(legs: readonly Leg[], tradingClass = "XSP", exercise: "european" | "american" = "european"): (LegSettlement | null)[] {
  return legs.map((leg) => (leg.contract.sec_type === "STK" ? null : { delivery: "cash", exercise, trading_class: tradingClass }));
}
