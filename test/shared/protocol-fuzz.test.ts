// Adversarial input to the shared contract, as pure properties: no schema of the bridge protocol
// or the MCP tools throws on any value (it refuses), and no order that passes the second key's
// per-order checks — however extreme its strikes, prices or sizes — carries a risk above the
// limit, a non-finite limit price, or a payoff at expiry below its computed worst case.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { perOrderChecks } from "../../shared/checks";
import { MAX_TRADE_RISK } from "../../shared/limits";
import type { Leg } from "../../shared/order";
import * as protocol from "../../shared/protocol";
import { analyzeOrder } from "../../shared/risk";
import { netLimitPrice } from "../../shared/combo-price";
import * as tools from "../../shared/tools";
import { FUZZ_SEED, mutate, mutation } from "./fuzz-mutations";
import { bruteForcePayoff, EXPIRY, LATER, shareSettled, TODAY } from "./fixtures";

type Parseable = { safeParse: (value: unknown) => unknown };
const schemas: Array<[string, Parseable]> = [
  ...Object.entries(protocol.Ops).flatMap(([op, s]): Array<[string, Parseable]> => [[`Ops.${op}.params`, s.params], [`Ops.${op}.result`, s.result]]),
  ...Object.entries(protocol.Events).map(([name, s]): [string, Parseable] => [`Events.${name}`, s]),
  ["Hello", protocol.Hello], ["Welcome", protocol.Welcome], ["Request", protocol.Request], ["Response", protocol.Response],
  ["Event", protocol.Event], ["Ack", protocol.Ack], ["BridgeMessage", protocol.BridgeMessage], ["EdgeMessage", protocol.EdgeMessage],
  ["PlaceOrderInput", tools.PlaceOrderInput], ["ClosePositionInput", tools.ClosePositionInput], ["GetOrderStatusInput", tools.GetOrderStatusInput],
  ["GetPositionsInput", tools.GetPositionsInput], ["GetAccountInput", tools.GetAccountInput],
];

describe("every shared schema refuses hostile values without throwing", () => {
  it("safeParse never throws on arbitrary values, deep nesting, prototype keys or huge strings", () => {
    const hostile = fc.oneof(
      fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true, maxDepth: 4 }),
      fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.parse(JSON.stringify(v))),
      fc.constantFrom<unknown>(JSON.parse('{"__proto__":{"v":1,"type":"hello"},"constructor":{"prototype":{}}}'), "x".repeat(200_000), Array.from({ length: 10_000 }, () => ({})), NaN, -Infinity, Symbol("s")),
    );
    let runs = 0;
    for (const [name, schema] of schemas) {
      fc.assert(
        fc.property(hostile, (value) => {
          runs++;
          expect(() => schema.safeParse(value), name).not.toThrow();
        }),
        { numRuns: 60, seed: FUZZ_SEED + 200, endOnFailure: true },
      );
    }
    expect(runs).toBe(schemas.length * 60);
  });

  it("a Request's params that are mutated from valid ones are either parsed by their op's schema or refused, never thrown on", () => {
    const place = { trade_id: "IRON_CONDOR_AAPL_20261125_103045", symbol: "AAPL", strategy: "iron condor", legs: [{ action: "BUY", quantity: 1, price: 1, contract: { symbol: "AAPL", expiry: EXPIRY, strike: 100, right: "C" } }], max_risk: 100, order_type: "LMT", limit_price: 1, intent: "open" };
    fc.assert(
      fc.property(fc.constantFrom(...protocol.OpName.options), fc.array(mutation, { maxLength: 3 }), (op, mutations) => {
        const params = mutate(place, mutations);
        expect(() => protocol.Ops[op].params.safeParse(params)).not.toThrow();
        const parsed = protocol.Ops[op].params.safeParse(params);
        // Whatever parses as a place is still a limit order on one underlying with finite numbers.
        if (parsed.success && op === "place") {
          const p = parsed.data as protocol.PlaceParams;
          expect(Number.isFinite(p.max_risk)).toBe(true);
          for (const leg of p.legs) expect(Number.isFinite(leg.quantity) && Number.isFinite(leg.price)).toBe(true);
        }
      }),
      { numRuns: 2_000, seed: FUZZ_SEED + 201, endOnFailure: true },
    );
  });
});

// ---- extreme orders through the per-order checks ------------------------------------------------

const strike = fc.oneof(fc.integer({ min: 1, max: 1_000 }), fc.double({ min: 0.001, max: 1e7, noNaN: true }), fc.constantFrom(0.5, 99.99, 1e-3, 1e9, 1e15, 5e-324));
const price = fc.oneof(fc.integer({ min: 0, max: 200_000 }).map((c) => c / 100), fc.double({ min: 0, max: 1e12, noNaN: true }), fc.constantFrom(0.05, 0.04, 0.06, 1e6, 1e300));
const quantity = fc.oneof(fc.integer({ min: 1, max: 10 }), fc.constantFrom(0.5, 1.5, 11, 1000, 1e9, -1, 0));
const optionLeg = (expiries: string[]): fc.Arbitrary<Leg> =>
  fc.record({ action: fc.constantFrom<"BUY" | "SELL">("BUY", "SELL"), strike, right: fc.constantFrom<"C" | "P">("C", "P"), quantity, price, expiry: fc.constantFrom(...expiries) })
    .map((r) => ({ action: r.action, contract: { symbol: "AAPL", expiry: r.expiry, strike: r.strike, right: r.right }, quantity: r.quantity, price: r.price }));
const stockLeg: fc.Arbitrary<Leg> = fc.record({ action: fc.constantFrom<"BUY" | "SELL">("BUY", "SELL"), quantity: fc.oneof(fc.integer({ min: 1, max: 1_000 }), fc.constantFrom(1001, 0.5)), price })
  .map((r) => ({ action: r.action, contract: { symbol: "AAPL", sec_type: "STK" as const }, quantity: r.quantity, price: r.price }));
const legsOf = (expiries: string[]) => fc.array(fc.oneof({ weight: 5, arbitrary: optionLeg(expiries) }, { weight: 1, arbitrary: stockLeg }), { minLength: 1, maxLength: 5 });

/** Underlying prices where a single-expiry payoff can bottom out: 0, every strike and its cent neighbours, far above. */
function scanPrices(legs: readonly Leg[]): number[] {
  const strikes = legs.flatMap((l) => (l.contract.sec_type === "STK" ? [l.price] : [l.contract.strike]));
  const top = Math.max(1, ...strikes);
  return [0, ...strikes.flatMap((s) => [s - 0.01, s, s + 0.01]), top * 2, top * 10 + 1_000].filter((p) => p >= 0 && Number.isFinite(p));
}

describe("no extreme order passes the second key with more risk than it says", () => {
  for (const [label, expiries] of [["one expiry", [EXPIRY]], ["two expiries", [EXPIRY, LATER]]] as const) {
    it(`${label}: whatever passes perOrderChecks has a finite risk within the limit, a finite limit price, and no payoff below its worst case`, () => {
      let passed = 0;
      fc.assert(
        fc.property(legsOf([...expiries]), fc.constantFrom("claim-computed", "claim-zero", "claim-limit"), (legs, claimKind) => {
          const input = tools.PlaceOrderInput.safeParse({ symbol: "AAPL", strategy: "fuzz", legs, max_risk: 0, capital_required: 0 });
          if (!input.success) return; // the schema already refuses it
          const analysis = analyzeOrder(input.data.legs, { symbol: "AAPL", today: TODAY, settlement: shareSettled(input.data.legs) });
          const computed = analysis.worstCaseLoss;
          const claim = claimKind === "claim-zero" ? 0 : claimKind === "claim-limit" ? MAX_TRADE_RISK : Number.isFinite(computed) ? (computed as number) : 0;
          const violations = perOrderChecks({ symbol: "AAPL", legs: input.data.legs, max_risk: claim, capital_required: 0 }, analysis, "open");
          if (violations.length > 0) {
            for (const v of violations) expect(v.message.length, JSON.stringify(v)).toBeGreaterThan(0);
            return;
          }
          passed++;
          expect(Number.isFinite(computed)).toBe(true);
          expect(computed as number).toBeGreaterThanOrEqual(0);
          expect(Math.max(claim, computed as number)).toBeLessThanOrEqual(MAX_TRADE_RISK + 0.005);
          expect(claim + 0.005).toBeGreaterThanOrEqual(computed as number);
          expect(Number.isFinite(netLimitPrice(input.data.legs))).toBe(true);
          if (expiries.length === 1) {
            const worst = Math.min(...scanPrices(input.data.legs).map((p) => bruteForcePayoff(input.data.legs, p)));
            expect(worst, `payoff ${worst} below -${computed} for ${JSON.stringify(input.data.legs)}`).toBeGreaterThanOrEqual(-(computed as number) - 0.011);
          }
        }),
        { numRuns: 4_000, seed: FUZZ_SEED + 210 + expiries.length, endOnFailure: true },
      );
      // The generator must reach the interesting region, or the law above says nothing.
      console.info(`protocol-fuzz ${label}: ${passed} of 4000 extreme orders passed the per-order checks`);
      expect(passed).toBeGreaterThan(20);
    });
  }
});
