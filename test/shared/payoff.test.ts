// The payoff picture's line comes from the same money convention as the risk engine: its lowest
// point is the engine's worst case, its highest the max gain, and it crosses zero exactly at the
// engine's breakevens, for random single-expiry structures.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { payoffAt, payoffCurve } from "../../shared/payoff";
import { analyzeOrder } from "../../shared/risk";
import { shareSettled } from "./fixtures";

const today = "2026-01-01";
const opt = (action: "BUY" | "SELL", strike: number, right: "C" | "P", price: number, quantity = 1, expiry = "2099-01-16"): Leg => ({ action, contract: { symbol: "SPY", expiry, strike, right }, quantity, price });

function crossings(points: [number, number][]): number[] {
  const out: number[] = [];
  for (let i = 1; i < points.length; i++) {
    const [x0, y0] = points[i - 1]!;
    const [x1, y1] = points[i]!;
    if (y0 === 0 && (out.length === 0 || Math.abs(out[out.length - 1]! - x0) > 1e-9)) out.push(x0);
    if ((y0 < 0 && y1 > 0) || (y0 > 0 && y1 < 0)) out.push(x0 + ((0 - y0) * (x1 - x0)) / (y1 - y0));
  }
  return out;
}

describe("payoff curve", () => {
  it("an iron condor: floor at the worst case, top at the max gain, zero at the breakevens", () => {
    const legs = [opt("BUY", 565, "P", 1.2), opt("SELL", 570, "P", 2.1), opt("SELL", 590, "C", 1.9), opt("BUY", 595, "C", 1.0)];
    const a = analyzeOrder(legs, { today, settlement: shareSettled(legs) });
    const curve = payoffCurve(legs, a.breakevens, 580);
    if ("reason" in curve) throw new Error(curve.reason);
    expect(Math.min(...curve.points.map((p) => p[1]))).toBe(-(a.worstCaseLoss as number));
    expect(Math.max(...curve.points.map((p) => p[1]))).toBe(a.worstCaseGain);
    expect(crossings(curve.points).map((x) => Math.round(x * 100) / 100)).toEqual(a.breakevens);
    expect(curve.xMin).toBeLessThan(565);
    expect(curve.xMax).toBeGreaterThan(595);
  });

  it("mixed expiries have no single payoff line", () => {
    const legs = [opt("BUY", 580, "C", 5, 1, "2099-02-20"), opt("SELL", 580, "C", 3, 1, "2099-01-16")];
    expect(payoffCurve(legs, [], 580)).toMatchObject({ reason: expect.stringContaining("different dates") });
  });

  it("for random verticals and butterflies the line crosses zero at the engine's breakevens", () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 600 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 5, max: 400 }), fc.constantFrom("C", "P"), fc.boolean(), (k, width, cents, right, fly) => {
        const p = cents / 100;
        const legs: Leg[] = fly
          ? [opt("BUY", k, right, p + 0.5), opt("SELL", k + width, right, 0.25, 2), opt("BUY", k + 2 * width, right, 0.1)]
          : [opt("BUY", k, right, p + 0.05), opt("SELL", k + width, right, 0.05)];
        const a = analyzeOrder(legs, { today, settlement: shareSettled(legs) });
        if (a.method !== "single_expiry") return true;
        const curve = payoffCurve(legs, a.breakevens, null);
        if ("reason" in curve) return false;
        const got = crossings(curve.points);
        // Every engine breakeven is on the line, and the line is zero there.
        return a.breakevens.every((b) => Math.abs(payoffAt(legs, b)) < 0.5 && got.some((x) => Math.abs(x - b) < 0.01));
      }),
    );
  });
});
