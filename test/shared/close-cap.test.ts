// The close cap (shared/close-cap.ts) against the brute-force oracle: the most a close may pay is
// what the held legs can cost at expiry at worst — the oracle's worst loss of the same legs bought
// for nothing — plus the tolerance, per unit; it does not move with the per-leg price hints.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { closeCap, closeCapViolations } from "../../shared/close-cap";
import { CLOSE_PRICE_TOLERANCE } from "../../shared/limits";
import type { Leg } from "../../shared/order";
import { call, EXPIRY, ironCondor, LATER, put, TODAY } from "./fixtures";
import { oracleWorstLoss } from "./risk-oracle";

const free = (legs: readonly Leg[]) => legs.map((l) => ({ ...l, price: 0 }));
/** AAPL options deliver shares. */
const shares = (legs: readonly Leg[]) => legs.map(() => ({ delivery: "shares" as const }));

describe("close cap", () => {
  it("a 5-wide credit spread: $500 at worst, so at most 5.10 a share; the hints do not move it", () => {
    const spread = [put("SELL", 100, 3), put("BUY", 95, 0.5)];
    expect(closeCap(spread, TODAY)).toMatchObject({ maxNet: 5 + CLOSE_PRICE_TOLERANCE, worstCase: 500, units: 1 });
    const skewed = [put("SELL", 100, 40), put("BUY", 95, 37.5)];
    expect(closeCap(skewed, TODAY).maxNet).toBe(5.1);
    expect(closeCapViolations(spread, 5.1, TODAY)).toEqual([]);
    expect(closeCapViolations(spread, 5.11, TODAY).map((v) => v.check)).toEqual(["close_over_worst_case"]);
    // Closes that receive money are never over the cap.
    expect(closeCapViolations([call("BUY", 100, 3)], -0.05, TODAY)).toEqual([]);
  });

  it("iron condor: the wider wing; a long butterfly: nothing to pay; a naked short call: no cap", () => {
    const oracle = oracleWorstLoss(free(ironCondor()), shares(ironCondor()));
    expect(closeCap(ironCondor(), TODAY, shares(ironCondor())).worstCase).toBe(oracle.kind === "bounded" ? oracle.worstLoss : -1);
    const fly = [call("BUY", 95, 6), call("SELL", 100, 3, 2), call("BUY", 105, 1)];
    expect(closeCap(fly, TODAY)).toMatchObject({ worstCase: 0, maxNet: CLOSE_PRICE_TOLERANCE });
    expect(closeCap([call("SELL", 110, 1)], TODAY).maxNet).toBeNull();
    expect(closeCapViolations([call("SELL", 110, 1)], 500, TODAY)).toEqual([]);
  });

  it("equals the oracle's worst loss of the held legs bought for nothing, over random bounded structures", () => {
    const leg = fc.record({
      action: fc.constantFrom<"BUY" | "SELL">("BUY", "SELL"),
      strike: fc.integer({ min: 18, max: 22 }).map((n) => n * 5),
      right: fc.constantFrom<"C" | "P">("C", "P"),
      expiry: fc.constantFrom(EXPIRY, LATER),
      quantity: fc.integer({ min: 1, max: 3 }),
      price: fc.integer({ min: 5, max: 900 }).map((c) => c / 100),
    }).map((r): Leg => ({ action: r.action, quantity: r.quantity, price: r.price, contract: { symbol: "AAPL", expiry: r.expiry, strike: r.strike, right: r.right } }));
    fc.assert(
      fc.property(fc.uniqueArray(leg, { minLength: 1, maxLength: 4, selector: (l) => JSON.stringify(l.contract) }), (held) => {
        const oracle = oracleWorstLoss(free(held), shares(held));
        const cap = closeCap(held, TODAY, shares(held));
        // Styles unknown: never a looser cap than the styles TWS would report.
        const unknown = closeCap(held, TODAY);
        if (unknown.worstCase !== null && cap.worstCase !== null) expect(unknown.worstCase).toBeLessThanOrEqual(cap.worstCase + 0.005);
        if (oracle.kind !== "bounded") return;
        expect(cap.worstCase).not.toBeNull();
        expect(Math.abs(cap.worstCase! - Math.max(0, oracle.worstLoss))).toBeLessThan(0.011);
      }),
      { numRuns: 500, seed: 23 },
    );
  });
});
