// The collar band the edge sends with a one-trip order is exactly the set of mids at which the
// shared collar passes the order's limit price: a mid inside it passes, one outside is refused.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { collarAtBridge, collarBand } from "../../shared/checks";
import type { Leg } from "../../shared/order";

const expiry = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
const single = (action: "BUY" | "SELL", price: number): Leg[] => [{ action, contract: { symbol: "AAPL", expiry, strike: 100, right: "C" }, quantity: 1, price }];
const spread = (buy: number, sell: number): Leg[] => [
  { action: "BUY", contract: { symbol: "AAPL", expiry, strike: 100, right: "C" }, quantity: 1, price: buy },
  { action: "SELL", contract: { symbol: "AAPL", expiry, strike: 105, right: "C" }, quantity: 1, price: sell },
];
const passes = (legs: Leg[], mid: number) => collarAtBridge(legs, undefined, { mid, ageMs: 0 }).length === 0;

describe("collarBand", () => {
  it("holds exactly the mids (in the quote's own convention) at which the shared collar passes", () => {
    const price = fc.integer({ min: 1, max: 5_000 }).map((c) => c / 100);
    fc.assert(
      fc.property(fc.oneof(fc.tuple(fc.constantFrom("BUY" as const, "SELL" as const), price).map(([a, p]) => single(a, p)), fc.tuple(price, price).map(([b, s]) => spread(b, s))), fc.integer({ min: -6_000, max: 6_000 }), (legs, cents) => {
        const band = collarBand(legs)!;
        const quoted = cents / 100;
        // A single SELL is quoted as the instrument's own (positive) mid; the band is signed.
        const signed = legs.length === 1 && legs[0]!.action === "SELL" ? -quoted : quoted;
        const inside = signed >= band.low - 1e-9 && signed <= band.high + 1e-9;
        expect(passes(legs, quoted)).toBe(inside);
        // The band never widens the collar: at the bridge, inside it is the collar's own verdict.
        expect(collarAtBridge(legs, band, { mid: quoted, ageMs: 0 }).length === 0).toBe(inside);
      }),
      { numRuns: 3_000 },
    );
  });

  it("has no band without a price IBKR would bind, and the bridge refuses a stale or missing quote", () => {
    expect(collarBand(spread(Number.NaN, 1))).toBeNull();
    const legs = spread(2, 1);
    expect(collarAtBridge(legs, collarBand(legs)!, { mid: null, ageMs: 0 }).map((v) => v.check)).toEqual(["market_data"]);
    expect(collarAtBridge(legs, collarBand(legs)!, { mid: 1, ageMs: 16_000 }).map((v) => v.check)).toEqual(["market_data"]);
  });
});
