// An independent brute-force oracle for the risk engine: its own price convention, its own
// settlement rules and a scenario GRID (no analysis of kinks or slopes), written apart from
// shared/risk.ts and shared/combo-price.ts. The property tests hold the engine to it.
//
// The model it brute-forces (DESIGN.md "Risk model"): the order fills at its limit price and is
// held to the last expiry, no action taken. Each earlier expiry has its own underlying price; an
// option expiring then is exercised/assigned when in the money (becoming 100 shares a contract at
// its strike), lapses when out of the money, and may go either way exactly at the strike. Stock
// (legs and delivered shares) and the last-dated options are valued at the last expiry's price.
import type { Leg } from "../../shared/order";

export type OracleAnswer =
  | { kind: "refused"; why: string }
  | { kind: "unbounded" }
  | { kind: "bounded"; worstLoss: number; at: number[] };

interface OLeg {
  dir: number; // +1 bought, −1 sold
  qty: number;
  stock: boolean;
  call: boolean;
  strike: number;
  expiry: string;
}

const toCents = (x: number) => Math.round(x * 100);

/** Dollars paid at the open (negative: received), from the one price the broker binds. */
function paidAtOpen(legs: readonly Leg[]): number | null {
  if (legs.length === 1) {
    const leg = legs[0]!;
    const per = leg.contract.sec_type === "STK" ? 1 : 100;
    return (leg.action === "BUY" ? 1 : -1) * toCents(leg.price) * per * leg.quantity / 100;
  }
  if (legs.some((l) => l.contract.sec_type === "STK")) return null;
  // Units = largest count that divides every leg; the broker binds the net per unit, in cents.
  let units = legs[0]!.quantity;
  for (const leg of legs) {
    let a = units;
    let b = leg.quantity;
    while (b) [a, b] = [b, a % b];
    units = a;
  }
  let netCents = 0;
  for (const leg of legs) netCents += (leg.action === "BUY" ? 1 : -1) * (leg.quantity / units) * toCents(leg.price);
  return (Math.round(netCents) * 100 * units) / 100;
}

function gridFor(strikes: readonly number[], top: number): number[] {
  const points = new Set<number>([0, top, top * 2]);
  const sorted = [...new Set(strikes)].sort((a, b) => a - b);
  for (const k of sorted) for (const d of [-0.5, -0.01, 0, 0.01, 0.5]) if (k + d >= 0) points.add(k + d);
  for (let i = 0; i + 1 < sorted.length; i++) points.add((sorted[i]! + sorted[i + 1]!) / 2);
  return [...points].sort((a, b) => a - b);
}

/** Brute force over a grid of prices, one per expiry, with every at-the-strike exercise choice. */
export function oracleWorstLoss(legs: readonly Leg[]): OracleAnswer {
  const paid = paidAtOpen(legs);
  if (paid === null) return { kind: "refused", why: "stock mixed with options" };
  const o: OLeg[] = legs.map((leg) => ({
    dir: leg.action === "BUY" ? 1 : -1,
    qty: leg.quantity,
    stock: leg.contract.sec_type === "STK",
    call: leg.contract.sec_type !== "STK" && leg.contract.right === "C",
    strike: leg.contract.sec_type === "STK" ? 0 : leg.contract.strike,
    expiry: leg.contract.sec_type === "STK" ? "9999-12-31" : leg.contract.expiry,
  }));
  const dates = [...new Set(o.filter((l) => !l.stock).map((l) => l.expiry))].sort();
  const last = dates[dates.length - 1];
  const near = dates.slice(0, -1);
  const strikes = o.filter((l) => !l.stock).map((l) => l.strike);
  const top = Math.max(10, ...strikes) * 3;
  const grid = gridFor(strikes, top);

  const valueAt = (prices: readonly number[], exercised: readonly boolean[], s: number): number => {
    let v = 0;
    o.forEach((l, i) => {
      if (l.stock) v += l.dir * l.qty * s;
      else if (l.expiry === last) v += l.dir * l.qty * 100 * Math.max(0, l.call ? s - l.strike : l.strike - s);
      else if (exercised[i]) v += l.dir * l.qty * 100 * (l.call ? s - l.strike : l.strike - s);
      void prices;
    });
    return v;
  };

  // Every combination of one grid price per near expiry.
  let combos: number[][] = [[]];
  for (let j = 0; j < near.length; j++) combos = combos.flatMap((c) => grid.map((p) => [...c, p]));

  let worst = Number.NEGATIVE_INFINITY;
  let at: number[] = [];
  let tailGrowth = false;
  for (const prices of combos) {
    const priceOf = (expiry: string) => prices[near.indexOf(expiry)]!;
    const fixed: boolean[] = [];
    const ambiguous: number[] = [];
    o.forEach((l, i) => {
      if (l.stock || l.expiry === last) return void fixed.push(false);
      const p = priceOf(l.expiry);
      if (p === l.strike) ambiguous.push(i);
      fixed.push(l.call ? p > l.strike : p < l.strike);
    });
    for (let mask = 0; mask < 1 << ambiguous.length; mask++) {
      const exercised = [...fixed];
      ambiguous.forEach((legIndex, bit) => (exercised[legIndex] = ((mask >> bit) & 1) === 1));
      for (const s of grid) {
        const loss = paid - valueAt(prices, exercised, s);
        if (loss > worst) {
          worst = loss;
          at = [...prices, s];
        }
      }
      // The tail: a loss that still grows far past every strike has no bound.
      const far = paid - valueAt(prices, exercised, top * 1_000);
      const farther = paid - valueAt(prices, exercised, top * 10_000);
      if (farther > far + 1) tailGrowth = true;
    }
  }
  if (tailGrowth) return { kind: "unbounded" };
  return { kind: "bounded", worstLoss: Math.max(0, worst), at };
}
