// Closes only reduce (shared/reduce-only.ts): whatever closes an agent asks for, in whatever
// order, with fills and cancels interleaved, no position is ever carried across zero — not even in
// the worst case where every working order fills.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ContractFlow, reduceOnlyViolations } from "../../shared/reduce-only";

type Step =
  | { kind: "close"; legs: { conId: number; action: "BUY" | "SELL"; quantity: number }[] }
  | { kind: "fill"; pick: number; quantity: number }
  | { kind: "cancel"; pick: number };

const conId = fc.integer({ min: 1, max: 3 });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.record({ conId, action: fc.constantFrom<"BUY" | "SELL">("BUY", "SELL"), quantity: fc.integer({ min: 1, max: 4 }) }), { minLength: 1, maxLength: 3 }).map((legs) => ({ kind: "close" as const, legs })) },
  { weight: 3, arbitrary: fc.record({ pick: fc.nat(), quantity: fc.integer({ min: 1, max: 4 }) }).map((r) => ({ kind: "fill" as const, ...r })) },
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ kind: "cancel" as const, pick })) },
);

describe("reduce-only closes", () => {
  it("no sequence of allowed closes, fills and cancels takes any position across zero", () => {
    let allowedCount = 0;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -6, max: 6 }), { minLength: 3, maxLength: 3 }), fc.array(step, { maxLength: 40 }), (start, steps) => {
        const position = new Map<number, number>(start.map((q, i) => [i + 1, q]));
        const initialSign = new Map<number, number>(start.map((q, i) => [i + 1, Math.sign(q)]));
        let working: ContractFlow[] = [];
        const check = () => {
          for (const [id, p] of position) {
            const sells = working.filter((w) => w.conId === id && w.action === "SELL").reduce((a, w) => a + w.quantity, 0);
            const buys = working.filter((w) => w.conId === id && w.action === "BUY").reduce((a, w) => a + w.quantity, 0);
            // Every fill order is possible: the extremes reachable must stay on p's side of zero.
            if (p > 0) expect(p - sells).toBeGreaterThanOrEqual(0);
            if (p < 0) expect(p + buys).toBeLessThanOrEqual(0);
            if (p === 0) expect(sells + buys).toBe(0);
            expect(Math.sign(p) === 0 || Math.sign(p) === initialSign.get(id)).toBe(true);
          }
        };
        for (const s of steps) {
          if (s.kind === "close") {
            const violations = reduceOnlyViolations(s.legs.map((l) => ({ ...l, label: `${l.action} ${l.quantity} #${l.conId}` })), (id) => position.get(id) ?? 0, working);
            if (violations.length === 0) {
              allowedCount++;
              working = [...working, ...s.legs.map((l) => ({ ...l }))];
            }
          } else if (working.length > 0) {
            const i = s.pick % working.length;
            const order = working[i]!;
            if (s.kind === "cancel") working = working.filter((_, k) => k !== i);
            else {
              const q = Math.min(order.quantity, s.quantity);
              position.set(order.conId, (position.get(order.conId) ?? 0) + (order.action === "BUY" ? q : -q));
              working = working.map((w, k) => (k === i ? { ...w, quantity: w.quantity - q } : w)).filter((w) => w.quantity > 0);
            }
          }
          check();
        }
      }),
      { numRuns: 500, seed: 11 },
    );
    expect(allowedCount).toBeGreaterThan(100);
  });

  it("two closes that each fit the position alone cannot both be allowed", () => {
    // Long 1 of the contract: one SELL 1 close fits; a second while the first works would go short.
    const first = reduceOnlyViolations([{ conId: 7, action: "SELL", quantity: 1, label: "SELL 1 call" }], () => 1, []);
    expect(first).toEqual([]);
    const second = reduceOnlyViolations([{ conId: 7, action: "SELL", quantity: 1, label: "SELL 1 call" }], () => 1, [{ conId: 7, action: "SELL", quantity: 1 }]);
    expect(second.map((v) => v.check)).toEqual(["reduce_only"]);
    expect(second[0]!.message).toMatch(/working orders already sell 1 more/);
  });

  it("a working order on the other side does not make room: it may never fill", () => {
    const v = reduceOnlyViolations([{ conId: 7, action: "SELL", quantity: 2, label: "SELL 2 call" }], () => 1, [{ conId: 7, action: "BUY", quantity: 5 }]);
    expect(v.map((x) => x.check)).toEqual(["reduce_only"]);
  });
});
