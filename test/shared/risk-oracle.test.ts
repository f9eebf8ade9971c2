// The risk engine held against the independent brute-force oracle (risk-oracle.ts) on random
// structures: stock legs, ratios, up to three expiries, share-settled (early assignment of any
// subset of short contracts), cash-settled European and American index options (one or two
// trading classes), skewed leg prices at a fixed combo price, extreme and non-finite numbers. The
// engine's worst case is never below the oracle's, equals it within a cent (the engine claims
// exactness under the model), its dividend and pin share counts equal the oracle's, and no order
// the engine allows can lose over $500.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type AccountState, evaluateOrder } from "../../shared/checks";
import { MAX_TRADE_RISK } from "../../shared/limits";
import { Leg as LegSchema, type Leg } from "../../shared/order";
import { analyzeOrder } from "../../shared/risk";
import { netLimitPrice } from "../../shared/combo-price";
import { TODAY } from "./fixtures";
import { oracleShares, oracleWorstLoss } from "./risk-oracle";
import type { LegSettlement } from "../../shared/settlement";

const EXPIRIES = ["2026-12-18", "2027-01-15", "2027-02-19"] as const;

const optionLeg = fc
  .record({
    action: fc.constantFrom<"BUY" | "SELL">("BUY", "SELL"),
    strike: fc.integer({ min: 180, max: 220 }).map((n) => n / 2), // 90.0–110.0 in halves
    right: fc.constantFrom<"C" | "P">("C", "P"),
    expiry: fc.constantFrom(...EXPIRIES),
    quantity: fc.integer({ min: 1, max: 3 }),
    cents: fc.integer({ min: 5, max: 2_000 }),
  })
  .map((r): Leg => ({ action: r.action, contract: { symbol: "AAPL", expiry: r.expiry, strike: r.strike, right: r.right }, quantity: r.quantity, price: r.cents / 100 }));

const stockLeg = fc
  .record({ action: fc.constantFrom<"BUY" | "SELL">("BUY", "SELL"), shares: fc.integer({ min: 1, max: 300 }), cents: fc.integer({ min: 5_000, max: 15_000 }) })
  .map((r): Leg => ({ action: r.action, contract: { symbol: "AAPL", sec_type: "STK" }, quantity: r.shares, price: r.cents / 100 }));

const distinct = (legs: Leg[]) => {
  const seen = new Set<string>();
  return legs.filter((leg) => {
    const c = leg.contract;
    const k = c.sec_type === "STK" ? "STK" : `${c.expiry}${c.strike}${c.right}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
};

/** A short option with a long one of the same right nearby (any expiries): mostly defined risk. */
const spreadPair = fc
  .record({
    right: fc.constantFrom<"C" | "P">("C", "P"),
    quantity: fc.integer({ min: 1, max: 2 }),
    shortStrike: fc.integer({ min: 190, max: 210 }).map((n) => n / 2),
    gap: fc.integer({ min: -10, max: 10 }).map((n) => n / 2),
    shortExpiry: fc.constantFrom(...EXPIRIES),
    longExpiry: fc.constantFrom(...EXPIRIES),
    shortCents: fc.integer({ min: 5, max: 600 }),
    longCents: fc.integer({ min: 5, max: 600 }),
  })
  .map((r): Leg[] => [
    { action: "SELL", contract: { symbol: "AAPL", expiry: r.shortExpiry, strike: r.shortStrike, right: r.right }, quantity: r.quantity, price: r.shortCents / 100 },
    { action: "BUY", contract: { symbol: "AAPL", expiry: r.longExpiry, strike: r.shortStrike + r.gap, right: r.right }, quantity: r.quantity, price: r.longCents / 100 },
  ]);

/**
 * 1–4 legs over up to three expiries: free-form mixes (often unbounded), stock with options
 * (refused), and one or two spread pairs with an extra leg or not (mostly bounded, often cheap).
 */
const structure = fc
  .oneof(
    fc.tuple(fc.array(optionLeg, { minLength: 1, maxLength: 4 }), fc.option(stockLeg, { freq: 4 })).map(([options, stock]) => (stock ? [stock, ...options] : options)),
    fc.tuple(spreadPair, fc.option(spreadPair, { freq: 2 })).map(([a, b]) => (b ? [...a, ...b] : a)),
    fc.tuple(spreadPair, optionLeg).map(([a, extra]) => [...a, { ...extra, action: "BUY" as const }]),
    optionLeg.map((leg) => [{ ...leg, action: "BUY" as const }]),
  )
  .map((legs) => distinct(legs).slice(0, 4))
  .filter((legs) => legs.length > 0);

/** How the legs settle: all share-settled (equity), cash European in one or two classes, or cash American (OEX). */
type Family = "shares" | "cash" | "cash-two-classes" | "cash-american";
const family = fc.constantFrom<Family>("shares", "shares", "shares", "cash", "cash", "cash-two-classes", "cash-american");

function settlementFor(legs: readonly Leg[], f: Family, seed = 0): (LegSettlement | null)[] {
  return legs.map((leg, i): LegSettlement | null => {
    if (leg.contract.sec_type === "STK") return null;
    if (f === "shares") return { delivery: "shares" };
    if (f === "cash-american") return { delivery: "cash", exercise: "american", trading_class: "OEX" };
    if (f === "cash-two-classes") return { delivery: "cash", exercise: "european", trading_class: ((seed >> i) & 1) === 1 ? "SPXW" : "SPX" };
    return { delivery: "cash", exercise: "european", trading_class: "XSP" };
  });
}

const equity = (legs: readonly Leg[]) => settlementFor(legs, "shares");
const analyze = (legs: readonly Leg[], settlement: readonly (LegSettlement | null)[] = equity(legs)) =>
  analyzeOrder(legs, { symbol: "AAPL", today: TODAY, settlement });

const openState: AccountState = {
  netLiquidation: 10_000_000, highWaterMark: 10_000_000, dailyPnl: 0, lossStreak: 0, exposureBySymbol: {},
  emergencyStop: false, breaker: { tripped: false }, ordersLastMinute: 0, accountDataAgeMs: 1_000,
};

/** The bridge's quote mid for these legs: a combo's signed net, a single leg's own price. */
const quoteMid = (legs: readonly Leg[]) => (legs.length === 1 ? legs[0]!.price : netLimitPrice(legs));

describe("risk engine against the brute-force oracle", () => {
  it("agrees on every structure and settlement style: refused, unbounded, or the same worst case to the cent", () => {
    let bounded = 0;
    let multiExpiry = 0;
    let cashBounded = 0;
    fc.assert(
      fc.property(structure, family, fc.nat(15), (legs, f, seed) => {
        const settlement = settlementFor(legs, f, seed);
        const engine = analyze(legs, settlement);
        const oracle = oracleWorstLoss(legs, settlement);
        if (oracle.kind === "refused") {
          expect(engine.method).toBe("not_computable");
          return;
        }
        if (oracle.kind === "unbounded") {
          expect(engine.bounded).toBe(false);
          expect(engine.worstCaseLoss).toBeNull();
          return;
        }
        bounded++;
        if (engine.method === "hold_to_expiry") multiExpiry++;
        if (f !== "shares") cashBounded++;
        expect(engine.bounded).toBe(true);
        // Never below the oracle, and exact: within a cent of it.
        expect(engine.worstCaseLoss!).toBeGreaterThanOrEqual(oracle.worstLoss - 0.01);
        expect(Math.abs(engine.worstCaseLoss! - oracle.worstLoss)).toBeLessThanOrEqual(0.01);
      }),
      { numRuns: 600, seed: 20261201 },
    );
    // The property ran on the cases that matter, not only on refusals.
    expect(bounded).toBeGreaterThan(120);
    expect(multiExpiry).toBeGreaterThan(30);
    expect(cashBounded).toBeGreaterThan(40);
  });

  it("reports the shares dividends and post-expiry moves act on, as the oracle counts them", () => {
    fc.assert(
      fc.property(structure, family, fc.nat(15), (legs, f, seed) => {
        const settlement = settlementFor(legs, f, seed);
        const engine = analyze(legs, settlement);
        fc.pre(engine.method !== "not_computable");
        const oracle = oracleShares(legs, settlement);
        expect(engine.dividendShares).toBe(oracle.shortBefore);
        expect(engine.pinShares).toBe(oracle.leftAfter);
        if (f !== "shares") expect([engine.dividendShares, engine.pinShares]).toEqual([0, 0]);
      }),
      { numRuns: 400, seed: 9 },
    );
  });

  it("refuses, rather than guesses, an order whose figure depends on a settlement style nobody reported", () => {
    let refused = 0;
    fc.assert(
      fc.property(structure, fc.nat(3), (legs, which) => {
        const options = legs.filter((l) => l.contract.sec_type !== "STK");
        fc.pre(options.length > 0);
        const unknownAt = legs.indexOf(options[which % options.length]!);
        const settlement = equity(legs).map((s, i) => (i === unknownAt ? null : s));
        const engine = analyze(legs, settlement);
        const dependsOnIt = new Set(options.map((l) => (l.contract.sec_type === "STK" ? "" : l.contract.expiry))).size > 1 || options.some((l) => l.action === "SELL");
        if (dependsOnIt && !legs.some((l) => l.contract.sec_type === "STK")) {
          refused++;
          expect(engine.method).toBe("not_computable");
          expect(engine.reason).toMatch(/not known/);
        }
        if (!dependsOnIt) expect(engine.worstCaseLoss).toBe(analyze(legs).worstCaseLoss);
      }),
      { numRuns: 300, seed: 5 },
    );
    expect(refused).toBeGreaterThan(50);
  });

  it("skewing leg prices at a fixed combo price changes no risk figure", () => {
    const combo = fc
      .array(optionLeg, { minLength: 2, maxLength: 4 })
      .map(distinct)
      .filter((legs) => legs.length >= 2);
    fc.assert(
      fc.property(combo, fc.integer({ min: 1, max: 5_000 }), fc.nat(), (legs, cents, pick) => {
        // Move `cents` between two legs of equal quantity so the net per unit stays the same.
        const i = pick % legs.length;
        const j = legs.findIndex((leg, k) => k !== i && leg.quantity === legs[i]!.quantity);
        fc.pre(j >= 0);
        const a = legs[i]!;
        const b = legs[j]!;
        const skewed = [...legs];
        const delta = cents / 100;
        skewed[i] = { ...a, price: Math.round((a.price + delta) * 100) / 100 };
        // Same side: the other leg gives the amount back; opposite sides: it takes the same amount.
        skewed[j] = { ...b, price: Math.round((b.price + (a.action === b.action ? -delta : delta)) * 100) / 100 };
        fc.pre(skewed[j]!.price >= 0);
        expect(netLimitPrice(skewed)).toBe(netLimitPrice(legs));
        const before = analyze(legs);
        const after = analyze(skewed);
        expect(after.worstCaseLoss).toBe(before.worstCaseLoss);
        expect(after.netPremium).toBe(before.netPremium);
        expect(after.capital).toBe(before.capital);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it("no order the engine allows can lose more than the per-trade limit, whatever the agent claims", () => {
    let allowed = 0;
    fc.assert(
      fc.property(structure, family, fc.nat(15), fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 100_000 }), (legs, f, seed, claim, capital) => {
        const settlement = settlementFor(legs, f, seed);
        const decision = evaluateOrder(
          { symbol: "AAPL", legs, max_risk: claim, capital_required: capital },
          analyze(legs, settlement),
          openState,
          { intent: "open", quote: { mid: quoteMid(legs), ageMs: 0 } },
        );
        if (!decision.allowed) return;
        allowed++;
        const oracle = oracleWorstLoss(legs, settlement);
        expect(oracle.kind).toBe("bounded");
        if (oracle.kind === "bounded") expect(oracle.worstLoss).toBeLessThanOrEqual(MAX_TRADE_RISK + 0.01);
        expect(decision.riskUsed).toBeGreaterThanOrEqual(claim);
      }),
      { numRuns: 1_500, seed: 42 },
    );
    expect(allowed).toBeGreaterThan(20);
  });

  it("extreme and non-finite numbers never yield an allowed order or a non-finite figure", () => {
    const wild = fc.oneof(
      fc.constantFrom(0, -0, 1e-300, 1.7e308, Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity, Number.NaN, 2147483647, 1e15),
      fc.double(),
    );
    fc.assert(
      fc.property(structure, fc.nat(3), fc.constantFrom("strike", "price", "quantity"), wild, (legs, which, field, value) => {
        const i = which % legs.length;
        const leg = legs[i]!;
        const broken: Leg =
          field === "strike" && leg.contract.sec_type !== "STK"
            ? { ...leg, contract: { ...leg.contract, strike: value } }
            : field === "price"
              ? { ...leg, price: value }
              : { ...leg, quantity: value };
        const mutated = legs.map((l, k) => (k === i ? broken : l));
        const analysis = analyze(mutated);
        for (const figure of [analysis.worstCaseLoss, analysis.worstCaseGain, analysis.capital, analysis.netPremium, ...analysis.breakevens])
          if (figure !== null) expect(Number.isFinite(figure)).toBe(true);
        const decision = evaluateOrder({ symbol: "AAPL", legs: mutated, max_risk: 0, capital_required: 0 }, analysis, openState, {
          intent: "open", quote: { mid: quoteMid(mutated), ageMs: 0 },
        });
        if (decision.allowed) {
          // Only a value the schema itself accepts can be allowed, and then the oracle bounds it.
          expect(mutated.every((l) => LegSchema.safeParse(l).success)).toBe(true);
          const oracle = oracleWorstLoss(mutated, equity(mutated));
          expect(oracle.kind === "bounded" && oracle.worstLoss <= MAX_TRADE_RISK + 0.01).toBe(true);
        }
      }),
      { numRuns: 1_000, seed: 99 },
    );
  });

  it("a strike of 1.7e308 is refused as not computable, never allowed with risk NaN", () => {
    const legs: Leg[] = [
      { action: "SELL", contract: { symbol: "AAPL", expiry: EXPIRIES[0], strike: 1.7e308, right: "C" }, quantity: 1, price: 1 },
      { action: "BUY", contract: { symbol: "AAPL", expiry: EXPIRIES[0], strike: 1.7e308, right: "P" }, quantity: 1, price: 1.05 },
    ];
    const analysis = analyze(legs);
    expect(analysis.worstCaseLoss === null || Number.isFinite(analysis.worstCaseLoss)).toBe(true);
    const decision = evaluateOrder({ symbol: "AAPL", legs, max_risk: 0, capital_required: 0 }, analysis, openState, { intent: "open", quote: { mid: 0.05, ageMs: 0 } });
    expect(decision.allowed).toBe(false);
    expect(LegSchema.safeParse(legs[0]).success).toBe(false);
  });
});
