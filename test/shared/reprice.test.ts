// repriceLegs: a new net limit expressed through the legs, so priceOrder (and so the risk math,
// the collar and the bridge's builder) reads exactly the new price; impossible prices say why.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { priceOrder, repriceLegs } from "../../shared/combo-price";
import { MIN_LEG_PRICE } from "../../shared/limits";
import type { Leg } from "../../shared/order";
import { analyzeOrder } from "../../shared/risk";
import { shareSettled } from "./fixtures";

const opt = (action: "BUY" | "SELL", strike: number, right: "C" | "P", price: number, quantity = 1): Leg => ({ action, contract: { symbol: "SPY", expiry: "2099-01-16", strike, right }, quantity, price });
const condor = [opt("BUY", 565, "P", 1.2), opt("SELL", 570, "P", 2.1), opt("SELL", 590, "C", 1.9), opt("BUY", 595, "C", 1.0)];

describe("repriceLegs", () => {
  it("moves a condor's net credit and its worst case moves with it", () => {
    expect(priceOrder(condor).ok && (priceOrder(condor) as { price: { signedNet: number } }).price.signedNet).toBe(-1.8);
    const r = repriceLegs(condor, -1.6, MIN_LEG_PRICE);
    expect(r.ok).toBe(true);
    const legs = (r as { legs: Leg[] }).legs;
    expect((priceOrder(legs) as { price: { signedNet: number } }).price.signedNet).toBe(-1.6);
    const today = "2026-01-01";
    expect(analyzeOrder(condor, { today, settlement: shareSettled(condor) }).worstCaseLoss).toBe(320);
    expect(analyzeOrder(legs, { today, settlement: shareSettled(legs) }).worstCaseLoss).toBe(340);
    expect(legs.every((l) => l.price >= MIN_LEG_PRICE)).toBe(true);
  });

  it("a single leg takes the price in the signed convention, and refuses the wrong sign", () => {
    const sell = [opt("SELL", 570, "P", 2.1)];
    expect(repriceLegs(sell, -2.25)).toEqual({ ok: true, legs: [{ ...sell[0], price: 2.25 }] });
    const wrong = repriceLegs(sell, 2.25);
    expect(wrong.ok).toBe(false);
    expect((wrong as { reason: string }).reason).toMatch(/negative net price/);
    expect(repriceLegs(sell, -2.255).ok).toBe(false);
  });

  it("for any reachable target in cents, the repriced legs bind exactly that net", () => {
    fc.assert(
      fc.property(fc.integer({ min: -480, max: -5 }), (cents) => {
        const target = cents / 100;
        const r = repriceLegs(condor, target, MIN_LEG_PRICE);
        if (!r.ok) return true;
        const p = priceOrder(r.legs);
        return p.ok && Math.abs(p.price.signedNet - target) < 1e-9 && r.legs.every((l) => l.price >= MIN_LEG_PRICE);
      }),
    );
  });
});
