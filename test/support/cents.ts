// Money in assertions is compared in whole cents (integers): a float difference such as
// 1.3 - 1.2 = 0.10000000000000009 must not fail "at most 0.10", nor pass by a hair's tolerance.

/** US dollars as whole cents; anything but a finite number fails the assertion that asked. */
export function cents(usd: number | null | undefined): number {
  if (typeof usd !== "number" || !Number.isFinite(usd)) throw new Error(`expected an amount of money, got ${String(usd)}`);
  return Math.round(usd * 100);
}
