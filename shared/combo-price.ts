// The one money convention: what price an order carries to IBKR and how many dollars that price
// binds. The risk math, the price collar, the read-back, the ledger and the bridge's order builder
// all read it from here, so per-leg prices (display hints an agent can skew) never decide a figure.
//
// IBKR's convention, as its API documentation and its Java client give it:
// - A single-leg order carries the instrument's own per-share price, positive, with the leg's
//   action; it binds price × multiplier × quantity dollars.
// - A combo (BAG) carries ONE net limit price per combo unit for a BUY of the combo: the sum over
//   the legs of ratio × per-share premium, BUY legs positive, SELL legs negative (a debit is
//   positive, a credit negative), with the order quantity the number of combo units. For option
//   legs that share one multiplier the net binds net × multiplier × units dollars.
// - For a combo that mixes stock and option legs IBKR's documentation ("Combination orders that
//   include options, stock and futures legs", TWS API Orders) says such combos exist but does not
//   pin how the stock leg's per-share price and the options' per-contract premium are weighed in
//   the one net price. We do not guess: such combos are refused (see `priceOrder`).
import { OPTION_MULTIPLIER } from "./limits";
import { roundCents } from "./money";
import { isOptionLeg, isStockLeg, type Leg } from "./order";

type PricedLeg = Pick<Leg, "action" | "quantity" | "price" | "contract">;

export interface OrderPrice {
  /** How the broker sees the order: one instrument, or a BAG of option legs. */
  kind: "single" | "option_combo";
  /** The order's action at IBKR: the leg's own for a single leg, always BUY for a BAG. */
  action: "BUY" | "SELL";
  /** Units the order trades: the leg's quantity, or the combo size (gcd of the legs' quantities). */
  units: number;
  /** Per-leg ratio within one combo unit (1 for a single leg). */
  ratios: number[];
  /** The price IBKR gets: positive per-share price for a single leg, signed net for a BAG. */
  limitPrice: number;
  /** Net per unit, debit positive and credit negative, in every kind (single SELL is negative). */
  signedNet: number;
  /** Dollars per point of signedNet per unit: 100 for options, 1 for stock. */
  multiplier: number;
  /** Dollars the limit price binds at the open: debit positive, credit negative. */
  boundDollars: number;
}

export type PriceResult = { ok: true; price: OrderPrice } | { ok: false; reason: string };

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Greatest common divisor of the legs' quantities: the combo's order size. */
export function comboSize(legs: readonly Pick<Leg, "quantity">[]): number {
  return legs.reduce((g, leg) => gcd(g, Math.abs(Math.round(leg.quantity))), 0) || 1;
}

export const MIXED_COMBO_REASON =
  "A combo that mixes stock and option legs is refused: IBKR's documentation does not pin how its one net price weighs a stock leg against option premiums, and risk must rest on the price the broker binds. Trade the option legs as one order";

/** The price an order carries to IBKR and the dollars it binds, or why there is no such price. */
export function priceOrder(legs: readonly PricedLeg[]): PriceResult {
  if (legs.length === 0) return { ok: false, reason: "An order needs at least one leg" };
  for (const leg of legs)
    if (!Number.isFinite(leg.price) || !Number.isFinite(leg.quantity) || !(leg.quantity > 0))
      return { ok: false, reason: "A leg's price or quantity is not a finite positive number" };
  if (legs.length === 1) {
    const leg = legs[0] as PricedLeg;
    const multiplier = isStockLeg(leg as Leg) ? 1 : OPTION_MULTIPLIER;
    const sign = leg.action === "BUY" ? 1 : -1;
    const signedNet = roundCents(sign * leg.price);
    return {
      ok: true,
      price: {
        kind: "single", action: leg.action, units: leg.quantity, ratios: [1], limitPrice: roundCents(leg.price),
        signedNet, multiplier, boundDollars: roundCents(signedNet * multiplier * leg.quantity),
      },
    };
  }
  if (legs.some((leg) => !isOptionLeg(leg as Leg))) return { ok: false, reason: MIXED_COMBO_REASON };
  const units = comboSize(legs);
  const ratios = legs.map((leg) => leg.quantity / units);
  let net = 0;
  legs.forEach((leg, i) => (net += (leg.action === "BUY" ? 1 : -1) * (ratios[i] as number) * leg.price));
  const signedNet = roundCents(net);
  return {
    ok: true,
    price: {
      kind: "option_combo", action: "BUY", units, ratios, limitPrice: signedNet, signedNet,
      multiplier: OPTION_MULTIPLIER, boundDollars: roundCents(signedNet * OPTION_MULTIPLIER * units),
    },
  };
}

/**
 * The order's net per unit in the signed convention (debit > 0), or NaN when the order has no
 * price IBKR would bind. Callers compare it with a signed mid (see `signedMid`).
 */
export function netLimitPrice(legs: readonly PricedLeg[]): number {
  const result = priceOrder(legs);
  return result.ok ? result.price.signedNet : Number.NaN;
}

/**
 * A quote's mid in the same signed convention as `signedNet`: a combo's net mid is already
 * signed (BUY legs positive); a single leg's quote is the instrument's own mid, so a SELL of it
 * is the negative.
 */
export function signedMid(legs: readonly Pick<Leg, "action">[], mid: number): number {
  return legs.length === 1 && legs[0]?.action === "SELL" ? -mid : mid;
}

/**
 * The same legs carrying a new net price per unit (`signedNet`, debit > 0, credit < 0): how a
 * modified limit price is expressed, so the risk math, the collar and the bridge's order builder
 * all read the new price through `priceOrder` as they read the first. Per-leg prices stay display
 * hints: one leg absorbs the change in whole cents (raising a leg's price where it can, so no leg
 * goes below `minLegPrice`). Returns why not when no leg can express the price.
 */
export function repriceLegs<L extends PricedLeg>(legs: readonly L[], signedNet: number, minLegPrice = 0): { ok: true; legs: L[] } | { ok: false; reason: string } {
  if (!Number.isFinite(signedNet)) return { ok: false, reason: "The new limit price is not a finite number" };
  const target = roundCents(signedNet);
  if (Math.abs(target - signedNet) > 1e-9) return { ok: false, reason: `The limit price must be in whole cents (got ${signedNet})` };
  const priced = priceOrder(legs);
  if (!priced.ok) return { ok: false, reason: priced.reason };
  const { price } = priced;
  if (price.kind === "single") {
    const leg = legs[0] as L;
    const perShare = roundCents(leg.action === "BUY" ? target : -target);
    if (!(perShare > 0))
      return { ok: false, reason: `A single ${leg.action} carries a ${leg.action === "BUY" ? "positive" : "negative"} net price in this convention (debit positive, credit negative): got ${target}` };
    return { ok: true, legs: [{ ...leg, price: perShare }] };
  }
  const change = roundCents(target - price.signedNet);
  if (change === 0) return { ok: true, legs: [...legs] };
  // Raise a leg that moves the net the right way (BUY legs add to it, SELL legs subtract), then
  // fall back to lowering one of the others; the change per share must be whole cents.
  const order = legs.map((leg, i) => ({ leg, i, sign: leg.action === "BUY" ? 1 : -1 })).sort((a, b) => (a.sign * change > 0 ? 0 : 1) - (b.sign * change > 0 ? 0 : 1));
  for (const { leg, i, sign } of order) {
    const ratio = price.ratios[i] as number;
    const perShare = (sign * change) / ratio;
    const next = roundCents(leg.price + perShare);
    if (Math.abs(next - (leg.price + perShare)) > 1e-9 || next < minLegPrice - 1e-9) continue;
    const out = legs.map((l, j) => (j === i ? { ...l, price: next } : l));
    const check = priceOrder(out);
    if (check.ok && Math.abs(check.price.signedNet - target) < 0.005) return { ok: true, legs: out };
  }
  return { ok: false, reason: `No leg can carry the net price ${target} in whole cents at or above ${minLegPrice} per share` };
}

/** The legs of the order that closes these: every action reversed, sizes and contracts kept. */
export function closingLegs<L extends Pick<Leg, "action">>(legs: readonly L[]): L[] {
  return legs.map((leg) => ({ ...leg, action: leg.action === "BUY" ? "SELL" : "BUY" }));
}
