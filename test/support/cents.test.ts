// The assertion helper for money: whole cents, so float noise neither fails nor passes a comparison.
import { expect, it } from "vitest";
import { cents } from "./cents";

it("compares money in whole cents: 1.30 - 1.20 is 10 cents (the float is 0.10000000000000009), and no amount is not 0", () => {
  expect(1.3 - 1.2).toBeGreaterThan(0.1); // what failed test/e2e/options-agent.e2e.test.ts at "at most 0.10"
  expect(cents(1.3 - 1.2)).toBe(10);
  expect(cents(1.1 + 2.2)).toBe(330);
  expect(cents(-1.005 + 0.001)).toBe(-100);
  for (const bad of [null, undefined, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => cents(bad)).toThrow(/expected an amount of money/);
});
