// Laws of the payoff math, checked on random structures with fast-check: the analytic worst case
// matches a brute-force scan to the cent, longs never add risk beyond their cost, mirror images
// give mirror results, and naked short calls are always caught as unbounded.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { analyzeOrder } from "../../shared/risk";
import { EXPIRY, TODAY, bruteForceMin, bruteForcePayoff, shareSettled } from "./fixtures";

const optionLeg = (rights: ("C" | "P")[] = ["C", "P"]) =>
  fc.record({
    action: fc.constantFrom<"BUY" | "SELL">("BUY", "SELL"),
    strike: fc.integer({ min: 80, max: 120 }).map((n) => n), // whole-dollar strikes: the cent grid hits every kink
    right: fc.constantFrom(...rights),
    quantity: fc.integer({ min: 1, max: 3 }),
    cents: fc.integer({ min: 5, max: 1_500 }),
  }).map(
    (r): Leg => ({ action: r.action, contract: { symbol: "AAPL", expiry: EXPIRY, strike: r.strike, right: r.right }, quantity: r.quantity, price: r.cents / 100 }),
  );

const callBalance = (legs: readonly Leg[]) =>
  legs.reduce((n, leg) => (leg.contract.sec_type !== "STK" && leg.contract.right === "C" ? n + (leg.action === "BUY" ? leg.quantity : -leg.quantity) : n), 0);

/** Structures of 1–4 option legs whose loss is bounded (no more short calls than long calls). */
const definedRisk = fc.array(optionLeg(), { minLength: 1, maxLength: 4 }).filter((legs) => callBalance(legs) >= 0);

const analyze = (legs: readonly Leg[]) => analyzeOrder(legs, { symbol: "AAPL", today: TODAY, settlement: shareSettled(legs) });

describe("risk engine laws", () => {
  it("worst-case loss equals the minimum of a brute-force payoff scan (to the cent)", () => {
    fc.assert(
      fc.property(definedRisk, (legs) => {
        const analysis = analyze(legs);
        expect(analysis.bounded).toBe(true);
        // Past the top strike the payoff is flat or rising, so 0..240 covers the minimum.
        const expected = Math.max(0, -bruteForceMin(legs, 240));
        expect(Math.abs(analysis.worstCaseLoss! - expected)).toBeLessThanOrEqual(0.01);
      }),
      { numRuns: 150 },
    );
  });

  it("worst-case gain of a structure with no net calls equals the brute-force maximum", () => {
    const noNetCalls = fc.array(optionLeg(), { minLength: 1, maxLength: 4 }).filter((legs) => callBalance(legs) === 0);
    fc.assert(
      fc.property(noNetCalls, (legs) => {
        const analysis = analyze(legs);
        let max = Number.NEGATIVE_INFINITY;
        for (let cents = 0; cents <= 24_000; cents += 1) max = Math.max(max, bruteForcePayoff(legs, cents / 100));
        expect(Math.abs(analysis.worstCaseGain! - Math.max(0, max))).toBeLessThanOrEqual(0.01);
      }),
      { numRuns: 100 },
    );
  });

  it("adding a long option never increases worst-case loss by more than its cost, and never at all when free", () => {
    fc.assert(
      // With the extra leg at most four: past MAX_LEGS_PER_ORDER the engine computes nothing.
      fc.property(definedRisk.filter((legs) => legs.length < 4), optionLeg(), (legs, extra) => {
        const long: Leg = { ...extra, action: "BUY" };
        const before = analyze(legs).worstCaseLoss!;
        const withCost = analyze([...legs, long]);
        expect(withCost.bounded).toBe(true);
        expect(withCost.worstCaseLoss!).toBeLessThanOrEqual(before + long.quantity * 100 * long.price + 0.01);
        const free = analyze([...legs, { ...long, price: 0 }]);
        expect(free.worstCaseLoss!).toBeLessThanOrEqual(before + 0.01);
      }),
      { numRuns: 200 },
    );
  });

  it("mirrored structures (calls ↔ puts reflected about a centre) give mirrored results", () => {
    const balanced = fc.array(optionLeg(), { minLength: 2, maxLength: 4 }).filter((legs) => {
      const puts = legs.reduce((n, l) => (l.contract.sec_type !== "STK" && l.contract.right === "P" ? n + (l.action === "BUY" ? l.quantity : -l.quantity) : n), 0);
      return callBalance(legs) === 0 && puts === 0;
    });
    fc.assert(
      fc.property(balanced, (legs) => {
        const centre = 100;
        const mirrored = legs.map((leg): Leg => {
          const c = leg.contract as Extract<Leg["contract"], { right: "C" | "P" }>;
          return { ...leg, contract: { ...c, strike: 2 * centre - c.strike, right: c.right === "C" ? "P" : "C" } };
        });
        const a = analyze(legs);
        const b = analyze(mirrored);
        expect(b.worstCaseLoss).toBe(a.worstCaseLoss);
        expect(b.worstCaseGain).toBe(a.worstCaseGain);
        expect(b.netPremium).toBe(a.netPremium);
        // Breakevens are rounded to the cent, so a reflected half-cent may round the other way.
        const reflected = a.breakevens.map((x) => 2 * centre - x).sort((x, y) => x - y);
        expect(b.breakevens).toHaveLength(reflected.length);
        b.breakevens.forEach((x, i) => expect(Math.abs(x - reflected[i]!)).toBeLessThanOrEqual(0.01 + 1e-9));
      }),
      { numRuns: 200 },
    );
  });

  it("detects every structure with more short calls than long calls as unbounded", () => {
    const naked = fc.array(optionLeg(), { minLength: 1, maxLength: 4 }).filter((legs) => callBalance(legs) < 0);
    fc.assert(
      fc.property(naked, (legs) => {
        const analysis = analyze(legs);
        expect(analysis.bounded).toBe(false);
        expect(analysis.worstCaseLoss).toBeNull();
        // And the payoff really does keep falling: far out it is below anything seen near the strikes.
        expect(bruteForcePayoff(legs, 10_000)).toBeLessThan(bruteForceMin(legs, 240));
      }),
      { numRuns: 200 },
    );
  });

  it("breakevens are where the payoff crosses zero", () => {
    fc.assert(
      fc.property(definedRisk, (legs) => {
        // A breakeven is given to the cent; within a cent the payoff moves at most its steepest
        // slope, every contract of every leg: Σ quantity × 100 dollars a point.
        const slope = legs.reduce((n, leg) => n + leg.quantity, 0) * 100;
        for (const be of analyze(legs).breakevens) expect(Math.abs(bruteForcePayoff(legs, be))).toBeLessThanOrEqual(slope * 0.01 + 1e-6);
      }),
      { numRuns: 150 },
    );
  });
});
