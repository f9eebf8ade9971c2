// An independent brute-force oracle for the risk engine: its own price convention, its own
// settlement rules, one scenario GRID per price (no analysis of kinks or slopes) and every choice
// counted per CONTRACT, written apart from shared/risk.ts and shared/combo-price.ts. The property
// tests hold the engine to it.
//
// The model it brute-forces (DESIGN.md "Risk model"): the order fills at its limit price and is
// held to its last expiry; we take no action, the other side may.
// - Share-settled options (stock/ETF): each earlier expiry has its own price. A long contract in
//   the money then is exercised into 100 shares at its strike, out of the money it lapses, exactly
//   at the strike it may do either. A short contract may be assigned (early, or by a holder's
//   choice after the close) or not, whatever any price. At the last expiry a long contract is
//   worth its intrinsic value; a short one is assigned early (shares at its strike), or settles
//   by moneyness, or is left unexercised — all three are tried. Shares and stock legs are valued
//   at the last expiry's price.
// - Cash-settled options (index): each (expiry, trading class) has its own settlement value; a
//   contract pays its intrinsic value there. An American-style short contract may instead be
//   assigned at any day's level (its own price) for its intrinsic value.
// Prices are independent across expiries and classes, so for a given last-expiry price each
// earlier expiry's legs (and each cash group) are minimised on their own, and given all prices
// each contract's choice is minimised on its own: the grids multiply only within a group.
import type { Leg } from "../../shared/order";
import type { LegSettlement } from "../../shared/settlement";

export type OracleAnswer =
  | { kind: "refused"; why: string }
  | { kind: "unbounded" }
  | { kind: "bounded"; worstLoss: number };

interface OLeg {
  dir: number; // +1 bought, −1 sold
  qty: number;
  kind: "stock" | "shares" | "cash";
  american: boolean;
  group: string; // cash: expiry + class
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

function gridFor(strikes: readonly number[], top: number, far: number): number[] {
  const points = new Set<number>([0, top, top * 2, far]);
  const sorted = [...new Set(strikes)].sort((a, b) => a - b);
  for (const k of sorted) for (const d of [-0.5, -0.01, 0, 0.01, 0.5]) if (k + d >= 0) points.add(k + d);
  for (let i = 0; i + 1 < sorted.length; i++) points.add((sorted[i]! + sorted[i + 1]!) / 2);
  return [...points].sort((a, b) => a - b);
}

const intrinsic = (l: OLeg, s: number) => Math.max(0, l.call ? s - l.strike : l.strike - s);
/** Value at s of one contract turned into 100 shares at its strike (+ call bought / put sold, for a long). */
const asShares = (l: OLeg, s: number) => l.dir * 100 * (l.call ? s - l.strike : l.strike - s);
const minOf = (xs: readonly number[]) => xs.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
/** Every way to split n contracts among `ways` outcomes. */
function splits(n: number, ways: number): number[][] {
  if (ways === 1) return [[n]];
  const out: number[][] = [];
  for (let first = 0; first <= n; first++) for (const rest of splits(n - first, ways - 1)) out.push([first, ...rest]);
  return out;
}

function toOracleLegs(legs: readonly Leg[], settlement: readonly (LegSettlement | null | undefined)[]): OLeg[] {
  return legs.map((leg, i) => {
    const c = leg.contract;
    if (c.sec_type === "STK") return { dir: leg.action === "BUY" ? 1 : -1, qty: leg.quantity, kind: "stock", american: false, group: "", call: false, strike: 0, expiry: "9999-12-31" };
    const style = settlement[i];
    if (!style) throw new Error(`the oracle needs every option leg's settlement (leg ${i})`);
    return {
      dir: leg.action === "BUY" ? 1 : -1, qty: leg.quantity, kind: style.delivery, american: style.delivery === "cash" && style.exercise === "american",
      group: style.delivery === "cash" ? `${c.expiry}|${style.trading_class}` : "", call: c.right === "C", strike: c.strike, expiry: c.expiry,
    };
  });
}

/** The lowest value the position can end with, with every price allowed up to `far`. */
function lowestValue(o: readonly OLeg[], top: number, far: number): number {
  const shareLegs = o.filter((l) => l.kind === "shares");
  const stock = o.filter((l) => l.kind === "stock");
  const dates = [...new Set(shareLegs.map((l) => l.expiry))].sort();
  const last = dates[dates.length - 1];
  const sGrid = gridFor(shareLegs.map((l) => l.strike), top, far);

  // One earlier expiry's contracts, valued at the last price s: the worst over its own price.
  const earlierLowest = (date: string, s: number): number => {
    const here = shareLegs.filter((l) => l.expiry === date);
    let lowest = Number.POSITIVE_INFINITY;
    for (const p of gridFor(here.map((l) => l.strike), top, far)) {
      let v = 0;
      for (const l of here) {
        if (l.dir < 0) {
          // Short: any count assigned, the rest lapse — whatever p is.
          v += minOf(splits(l.qty, 2).map(([assigned]) => assigned! * asShares(l, s)));
        } else {
          const itm = l.call ? p > l.strike : p < l.strike;
          const counts = p === l.strike ? splits(l.qty, 2).map(([n]) => n!) : [itm ? l.qty : 0];
          v += minOf(counts.map((n) => n * asShares(l, s)));
        }
      }
      lowest = Math.min(lowest, v);
    }
    return lowest;
  };

  // The last expiry's contracts at s: longs at intrinsic; shorts assigned early, settled, or left.
  const lastValue = (s: number): number => {
    let v = 0;
    for (const l of shareLegs) {
      if (l.expiry !== last) continue;
      if (l.dir > 0) v += l.qty * 100 * intrinsic(l, s);
      else v += minOf(splits(l.qty, 3).map(([early, settled, left]) => early! * asShares(l, s) - settled! * 100 * intrinsic(l, s) + left! * 0));
    }
    for (const l of stock) v += l.dir * l.qty * s;
    return v;
  };

  let physical = stock.length === 0 && shareLegs.length === 0 ? 0 : Number.POSITIVE_INFINITY;
  if (physical !== 0)
    for (const s of sGrid) physical = Math.min(physical, lastValue(s) + dates.slice(0, -1).reduce((sum, d) => sum + earlierLowest(d, s), 0));

  // Each cash group on its own settlement value; an American short may be assigned at its own level.
  let cash = 0;
  for (const group of new Set(o.filter((l) => l.kind === "cash").map((l) => l.group))) {
    const here = o.filter((l) => l.kind === "cash" && l.group === group);
    const xGrid = gridFor(here.map((l) => l.strike), top, far);
    let lowest = Number.POSITIVE_INFINITY;
    for (const x of xGrid) {
      let v = 0;
      for (const l of here) {
        if (l.dir > 0 || !l.american) v += l.dir * l.qty * 100 * intrinsic(l, x);
        else {
          const worstAssigned = Math.max(...xGrid.map((y) => intrinsic(l, y)));
          v += minOf(splits(l.qty, 2).map(([early, atExpiry]) => -early! * 100 * worstAssigned - atExpiry! * 100 * intrinsic(l, x)));
        }
      }
      lowest = Math.min(lowest, v);
    }
    cash += lowest;
  }
  return physical + cash;
}

/**
 * Brute force over a grid of prices (one per expiry and cash class) and every per-contract
 * choice. `settlement` says how each leg settles, in leg order (null for stock legs).
 */
export function oracleWorstLoss(legs: readonly Leg[], settlement: readonly (LegSettlement | null | undefined)[]): OracleAnswer {
  const paid = paidAtOpen(legs);
  if (paid === null) return { kind: "refused", why: "stock mixed with options" };
  const o = toOracleLegs(legs, settlement);
  const top = Math.max(10, ...o.map((l) => l.strike)) * 3;
  // A loss that still grows between two far-out grids has no bound.
  const near = paid - lowestValue(o, top, top * 1_000);
  const farther = paid - lowestValue(o, top, top * 10_000);
  if (farther > near + 1) return { kind: "unbounded" };
  return { kind: "bounded", worstLoss: Math.max(0, near) };
}

/**
 * Shares the position can hold, by brute force over each expiry's price grid and every
 * per-contract choice: the most it can be short before the last share-settled expiry (what a
 * dividend acts on) and the most, either way, it can be left with after it (what moves after the
 * settlement act on). Cash-settled legs deliver none.
 */
export function oracleShares(legs: readonly Leg[], settlement: readonly (LegSettlement | null | undefined)[]): { shortBefore: number; leftAfter: number } {
  const o = toOracleLegs(legs, settlement);
  const shareLegs = o.filter((l) => l.kind === "shares");
  const dates = [...new Set(shareLegs.map((l) => l.expiry))].sort();
  const last = dates[dates.length - 1];
  const top = Math.max(10, ...o.map((l) => l.strike)) * 3;
  const perContract = (l: OLeg) => l.dir * 100 * (l.call ? 1 : -1);
  // For one date's legs: the lowest and highest share count over its price grid and choices.
  const range = (date: string, after: boolean): [number, number] => {
    const here = shareLegs.filter((l) => l.expiry === date);
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const p of gridFor(here.map((l) => l.strike), top, top * 2)) {
      let a = 0;
      let b = 0;
      for (const l of here) {
        // Before the last expiry its long legs are not exercised (we take no action).
        const counts = l.dir < 0 ? splits(l.qty, 2).map(([n]) => n!)
          : date === last && !after ? [0]
          : p === l.strike ? splits(l.qty, 2).map(([n]) => n!)
          : [(l.call ? p > l.strike : p < l.strike) ? l.qty : 0];
        const shares = counts.map((n) => n * perContract(l));
        a += Math.min(...shares);
        b += Math.max(...shares);
      }
      lo = Math.min(lo, a);
      hi = Math.max(hi, b);
    }
    return [lo, hi];
  };
  const stockShares = o.filter((l) => l.kind === "stock").reduce((sum, l) => sum + l.dir * l.qty, 0);
  let lowBefore = Math.min(0, stockShares);
  let lowAfter = 0;
  let highAfter = 0;
  for (const d of dates) {
    lowBefore += range(d, false)[0];
    const [lo, hi] = range(d, true);
    lowAfter += lo;
    highAfter += hi;
  }
  return { shortBefore: Math.max(0, -lowBefore), leftAfter: Math.max(highAfter, -lowAfter) };
}
