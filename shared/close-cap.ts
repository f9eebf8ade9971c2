// The most a close may pay: what the legs it closes can cost at expiry, at worst, plus
// CLOSE_PRICE_TOLERANCE a share. A close that pays more locks in a loss larger than holding the
// position to expiry ever could; an agent's close is refused there (the edge for a limit it sends
// or walks to, the bridge for the natural price it reads, each on its own), and only a person may
// close beyond it. Pure, so both keys run the same figure.
//
// "What the legs can cost at expiry at worst" is the held legs' worst-case loss had they cost
// nothing: the risk engine's hold-to-expiry figure of the same legs at a net price of zero, so it
// rests on their payoffs alone, never on per-leg price hints an agent chose at the open. A position
// whose worst case is unbounded or not computable has no cap: nothing a close pays exceeds it.
import { closingLegs, priceOrder } from "./combo-price";
import { CLOSE_PRICE_TOLERANCE } from "./limits";
import { formatUsd, roundCents } from "./money";
import type { Leg } from "./order";
import { analyzeOrder } from "./risk";
import type { LegSettlement } from "./settlement";
import type { Violation } from "./tools";

export interface CloseCap {
  /** The highest signed net per unit (debit positive) the close may carry; null: no cap. */
  maxNet: number | null;
  /** The most the held legs can cost at expiry, in USD (null: unbounded or not computable). */
  worstCase: number | null;
  /** Combo units of the closing order and dollars per point of its net. */
  units: number;
  multiplier: number;
}

type Styles = readonly (LegSettlement | null | undefined)[];

/**
 * The held legs' worst case bought for nothing, at the settlement styles given; where a style is
 * not known (the figure is then not computable), the smaller of the figures with every unknown
 * option leg delivering shares or settling in cash at its expiry — the stricter cap: a close
 * refused by it can still be made by a person, one allowed by a guess could not be taken back.
 */
function heldWorstCase(held: readonly Leg[], today: string, settlement: Styles): number | null {
  const free = held.map((leg) => ({ ...leg, price: 0 }));
  const worst = (styles: Styles): number | null => {
    const a = analyzeOrder(free, { today, settlement: styles });
    return a.bounded && a.worstCaseLoss !== null && Number.isFinite(a.worstCaseLoss) ? a.worstCaseLoss : null;
  };
  const known = worst(settlement);
  if (known !== null || held.every((leg, i) => leg.contract.sec_type === "STK" || settlement[i])) return known;
  const fill = (style: (leg: Leg) => LegSettlement): Styles => held.map((leg, i) => settlement[i] ?? (leg.contract.sec_type === "STK" ? null : style(leg)));
  const candidates = [
    worst(fill(() => ({ delivery: "shares" }))),
    worst(fill((leg) => ({ delivery: "cash", exercise: "european", trading_class: leg.contract.symbol.toUpperCase().slice(0, 16) }))),
  ].filter((x): x is number => x !== null);
  return candidates.length > 0 ? Math.min(...candidates) : null;
}

/** The cap of a close of `held` (the legs as held, in their opening direction), at their settlement styles where known. */
export function closeCap(held: readonly Leg[], today: string, settlement: Styles = []): CloseCap {
  const priced = priceOrder(closingLegs(held));
  if (held.length === 0 || !priced.ok) return { maxNet: null, worstCase: null, units: 1, multiplier: 1 };
  const { units, multiplier } = priced.price;
  const worstCase = heldWorstCase(held, today, settlement);
  if (worstCase === null) return { maxNet: null, worstCase: null, units, multiplier };
  return { maxNet: roundCents(worstCase / (units * multiplier) + CLOSE_PRICE_TOLERANCE), worstCase, units, multiplier };
}

/** The refusal of a close of `held` at `signedNet` per unit (debit positive) above its cap; none within it. */
export function closeCapViolations(held: readonly Leg[], signedNet: number, today: string, settlement: Styles = []): Violation[] {
  const cap = closeCap(held, today, settlement);
  if (cap.maxNet === null || cap.worstCase === null || !Number.isFinite(signedNet) || signedNet <= cap.maxNet + 0.005) return [];
  const pays = roundCents(signedNet * cap.units * cap.multiplier);
  const tolerance = roundCents(CLOSE_PRICE_TOLERANCE * cap.units * cap.multiplier);
  return [
    {
      check: "close_over_worst_case",
      message:
        `The close at ${signedNet.toFixed(2)} a share would pay ${formatUsd(pays)} to close, more than the ${formatUsd(cap.worstCase)} the legs it closes can cost at expiry at worst plus ${formatUsd(tolerance)} ($${CLOSE_PRICE_TOLERANCE.toFixed(2)} a share): ` +
        `send a limit of at most ${cap.maxNet.toFixed(2)}, or a person can close it beyond that (dashboard API POST /api/trades/close with a reason)`,
      value: pays,
      limit: roundCents(cap.worstCase + tolerance),
    },
  ];
}
