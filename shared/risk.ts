// Pure risk math of a multi-leg order, from its legs alone: payoff at expiry, worst-case loss
// and gain, breakevens, net premium, boundedness, plus the leg validation every caller runs.
// No I/O, no clock reads (today is passed in), fast enough to run on every order twice.
import {
  MAX_CONTRACTS_PER_ORDER,
  MAX_EXPIRY_DAYS_AHEAD,
  MAX_LEGS_PER_ORDER,
  MAX_SHARES_PER_ORDER,
  MAX_SPREAD_WIDTH,
  MIN_LEG_PRICE,
  OPTION_MULTIPLIER,
} from "./limits";
import { formatUsd, roundCents } from "./money";
import { contractKey, describeLeg, isOptionLeg, type Leg, type OptionContract } from "./order";
import type { Violation } from "./tools";

/**
 * Index options settle European-style: a long option expiring later is not worth at least its
 * intrinsic value before its expiry, so the multi-expiry floor below does not hold for them.
 */
export const EUROPEAN_STYLE_SYMBOLS: ReadonlySet<string> = new Set(["SPX", "SPXW", "XSP", "NDX", "RUT", "VIX", "DJX"]);

export type RiskMethod = "single_expiry" | "multi_expiry_floor" | "not_computable";

export interface RiskAnalysis {
  /** How the figures were obtained; `not_computable` orders are refused by every caller. */
  method: RiskMethod;
  /** Worst-case loss is finite. */
  bounded: boolean;
  /** Largest loss over every underlying price at expiry, in USD (≥ 0); null when unbounded or not computable. */
  worstCaseLoss: number | null;
  /** Largest gain, in USD; null when unbounded or unknown (multi-expiry). */
  worstCaseGain: number | null;
  gainUnbounded: boolean;
  /** Underlying prices at expiry where the payoff crosses zero, ascending. */
  breakevens: number[];
  /** Net cash at the open, in USD: positive is a credit received, negative a debit paid. */
  netPremium: number;
  /** Why the risk is unbounded or not computable, in a trader's words. */
  reason: string | null;
  /** Leg validation failures; any one of them refuses the order. */
  errors: Violation[];
}

export interface AnalyzeOptions {
  /** The order's underlying; every leg must be on it. */
  symbol?: string;
  /** Today's trading day, YYYY-MM-DD (America/New_York); expiries before it are refused. */
  today: string;
}

const sign = (leg: Leg): number => (leg.action === "BUY" ? 1 : -1);

/** Payoff in USD of one leg at an underlying price, valuing options at intrinsic value. */
function legPayoff(leg: Leg, price: number): number {
  if (isOptionLeg(leg)) {
    const { strike, right } = leg.contract;
    const intrinsic = right === "C" ? Math.max(price - strike, 0) : Math.max(strike - price, 0);
    return sign(leg) * leg.quantity * OPTION_MULTIPLIER * (intrinsic - leg.price);
  }
  return sign(leg) * leg.quantity * (price - leg.price);
}

/** Payoff in USD of the whole order at an underlying price, at the nearest expiry. */
export function payoffAt(legs: readonly Leg[], price: number): number {
  let total = 0;
  for (const leg of legs) total += legPayoff(leg, price);
  return total;
}

/** Net cash at the open in USD (credit positive). */
export function netPremium(legs: readonly Leg[]): number {
  let total = 0;
  for (const leg of legs) {
    const size = isOptionLeg(leg) ? leg.quantity * OPTION_MULTIPLIER : leg.quantity;
    total -= sign(leg) * size * leg.price;
  }
  return roundCents(total);
}

function daysBetween(fromIso: string, toIso: string): number {
  return Math.round((Date.parse(`${toIso}T00:00:00Z`) - Date.parse(`${fromIso}T00:00:00Z`)) / 86_400_000);
}

const isWholeCents = (price: number): boolean => Math.abs(price * 100 - Math.round(price * 100)) < 1e-6;

/** Every leg-level problem of an order, each with a message a trader understands. */
export function validateLegs(legs: readonly Leg[], options: AnalyzeOptions): Violation[] {
  const errors: Violation[] = [];
  const add = (check: string, message: string, value?: number, limit?: number) =>
    errors.push({ check, message, ...(value === undefined ? {} : { value }), ...(limit === undefined ? {} : { limit }) });

  if (legs.length === 0) add("legs_count", "An order needs at least one leg");
  if (legs.length > MAX_LEGS_PER_ORDER)
    add("legs_count", `Order has ${legs.length} legs; at most ${MAX_LEGS_PER_ORDER} are allowed`, legs.length, MAX_LEGS_PER_ORDER);

  const symbols = new Set(legs.map((leg) => leg.contract.symbol));
  if (symbols.size > 1) add("underlying", `Legs are on more than one underlying (${[...symbols].join(", ")}); an order trades one`);
  if (options.symbol !== undefined) {
    const other = [...symbols].filter((s) => s !== options.symbol);
    if (other.length > 0) add("underlying", `Leg symbol ${other.join(", ")} does not match the order's symbol ${options.symbol}`);
  }

  const seen = new Set<string>();
  for (const leg of legs) {
    const label = describeLeg(leg);
    const key = contractKey(leg.contract);
    if (seen.has(key)) add("duplicate_leg", `The same contract appears in more than one leg (${label})`);
    seen.add(key);

    if (!Number.isInteger(leg.quantity) || leg.quantity <= 0)
      add("quantity", `Quantity must be a positive whole number (${label})`, leg.quantity);
    if (isOptionLeg(leg)) {
      const { strike, expiry } = leg.contract;
      if (!(strike > 0)) add("strike", `Strike must be above zero (${label})`, strike);
      if (leg.quantity > MAX_CONTRACTS_PER_ORDER)
        add("order_size", `${leg.quantity} contracts on one leg exceeds the limit of ${MAX_CONTRACTS_PER_ORDER} (${label})`, leg.quantity, MAX_CONTRACTS_PER_ORDER);
      if (!(leg.price >= MIN_LEG_PRICE))
        add("leg_price", `Leg price ${formatUsd(leg.price)} is below the minimum of ${formatUsd(MIN_LEG_PRICE)} (${label})`, leg.price, MIN_LEG_PRICE);
      const ahead = daysBetween(options.today, expiry);
      if (!Number.isFinite(ahead)) add("expiry", `Expiry ${expiry} is not a valid date (${label})`);
      else if (ahead < 0) add("expiry", `Expiry ${expiry} is in the past (today is ${options.today}) (${label})`);
      else if (ahead > MAX_EXPIRY_DAYS_AHEAD)
        add("expiry", `Expiry ${expiry} is more than ${MAX_EXPIRY_DAYS_AHEAD} days ahead (${label})`, ahead, MAX_EXPIRY_DAYS_AHEAD);
    } else {
      if (leg.quantity > MAX_SHARES_PER_ORDER)
        add("order_size", `${leg.quantity} shares exceeds the limit of ${MAX_SHARES_PER_ORDER} per order (${label})`, leg.quantity, MAX_SHARES_PER_ORDER);
      if (!(leg.price > 0)) add("leg_price", `Stock leg price must be above zero (${label})`, leg.price);
    }
    if (Number.isFinite(leg.price) && !isWholeCents(leg.price))
      add("leg_price", `Leg price must be in whole cents (${label})`, leg.price);
  }

  // Spread width: the strike range of the options sharing one expiry and one right.
  const groups = new Map<string, number[]>();
  for (const leg of legs) {
    if (!isOptionLeg(leg)) continue;
    const key = `${leg.contract.expiry} ${leg.contract.right}`;
    groups.set(key, [...(groups.get(key) ?? []), leg.contract.strike]);
  }
  for (const [key, strikes] of groups) {
    const width = Math.max(...strikes) - Math.min(...strikes);
    if (width > MAX_SPREAD_WIDTH)
      add("spread_width", `Spread width ${width} points (${key}) exceeds the limit of ${MAX_SPREAD_WIDTH} points`, width, MAX_SPREAD_WIDTH);
  }
  return errors;
}

/** Exact payoff extremes of a piecewise-linear payoff: kinks at strikes, the floor at price 0. */
function scanPayoff(legs: readonly Leg[]) {
  const strikes = [...new Set(legs.filter(isOptionLeg).map((leg) => leg.contract.strike))].sort((a, b) => a - b);
  const points = [0, ...strikes.filter((k) => k > 0)];
  const values = points.map((p) => payoffAt(legs, p));
  // Slope past the last strike: calls and stock move with the underlying, puts are worthless.
  let slope = 0;
  for (const leg of legs) {
    if (isOptionLeg(leg)) {
      if (leg.contract.right === "C") slope += sign(leg) * leg.quantity * OPTION_MULTIPLIER;
    } else slope += sign(leg) * leg.quantity;
  }
  return { points, values, slope };
}

function findBreakevens(points: number[], values: number[], slope: number): number[] {
  const roots: number[] = [];
  const zero = (v: number) => Math.abs(v) < 0.005;
  const push = (x: number) => {
    const r = roundCents(x);
    if (r > 0 && !roots.some((existing) => Math.abs(existing - r) < 0.005)) roots.push(r);
  };
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    const v = values[i]!;
    if (zero(v)) push(p);
    const nextP = points[i + 1];
    const nextV = values[i + 1];
    if (nextP !== undefined && nextV !== undefined) {
      if (!zero(v) && !zero(nextV) && Math.sign(v) !== Math.sign(nextV)) push(p + ((0 - v) * (nextP - p)) / (nextV - v));
    } else if (slope !== 0 && !zero(v) && Math.sign(v) !== Math.sign(slope)) {
      push(p - v / slope);
    }
  }
  return roots.sort((a, b) => a - b);
}

function refused(legs: readonly Leg[], errors: Violation[], reason: string): RiskAnalysis {
  return {
    method: "not_computable",
    bounded: false,
    worstCaseLoss: null,
    worstCaseGain: null,
    gainUnbounded: false,
    breakevens: [],
    netPremium: legs.every((leg) => Number.isFinite(leg.price) && Number.isFinite(leg.quantity)) ? netPremium(legs) : 0,
    reason,
    errors,
  };
}

/**
 * Analyse an order from its legs. Single-expiry structures get exact figures. Multi-expiry
 * structures get a conservative bound only when every option expiring after the nearest expiry
 * is long (calendars, diagonals): such an option is worth at least its intrinsic value at the
 * nearest expiry (American exercise), so valuing it there at intrinsic can only overstate the
 * loss. A short later-dated option, or a European-style index, is `not_computable`.
 */
export function analyzeOrder(legs: readonly Leg[], options: AnalyzeOptions): RiskAnalysis {
  const errors = validateLegs(legs, options);
  const shapeBroken = legs.some(
    (leg) => !Number.isFinite(leg.quantity) || !Number.isFinite(leg.price) || (isOptionLeg(leg) && !(leg.contract.strike > 0)),
  );
  if (legs.length === 0 || shapeBroken) return refused(legs, errors, "The legs are not valid, so risk cannot be computed");

  const options_ = legs.filter(isOptionLeg);
  const expiries = [...new Set(options_.map((leg) => (leg.contract as OptionContract).expiry))].sort();
  let method: RiskMethod = "single_expiry";
  if (expiries.length > 1) {
    const nearest = expiries[0]!;
    const symbol = legs[0]!.contract.symbol;
    if (EUROPEAN_STYLE_SYMBOLS.has(symbol))
      return refused(legs, errors, `Risk of a multi-expiry ${symbol} structure cannot be bounded: index options are European-style`);
    const laterShort = options_.find((leg) => leg.contract.expiry > nearest && leg.action === "SELL");
    if (laterShort)
      return refused(legs, errors, `Risk cannot be bounded from the legs alone: ${describeLeg(laterShort)} is short and expires after ${nearest}`);
    method = "multi_expiry_floor";
  }

  const { points, values, slope } = scanPayoff(legs);
  const minValue = Math.min(...values);
  const maxValue = Math.max(...values);
  const lossUnbounded = slope < 0;
  const gainUnbounded = slope > 0;
  return {
    method,
    bounded: !lossUnbounded,
    worstCaseLoss: lossUnbounded ? null : roundCents(Math.max(0, -minValue)),
    worstCaseGain: gainUnbounded || method !== "single_expiry" ? null : roundCents(Math.max(0, maxValue)),
    gainUnbounded,
    breakevens: method === "single_expiry" ? findBreakevens(points, values, slope) : [],
    netPremium: netPremium(legs),
    reason: lossUnbounded
      ? "Unbounded risk: the structure loses without limit as the underlying rises (more short calls than long calls and shares)"
      : null,
    errors,
  };
}

/** Greatest common divisor of the legs' quantities: the combo's order size. */
export function comboSize(legs: readonly Leg[]): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return legs.reduce((g, leg) => gcd(g, Math.abs(Math.round(leg.quantity))), 0) || 1;
}

/** Net price per combo unit (BUY positive, SELL negative), IBKR's BAG limit convention: debit > 0, credit < 0. */
export function netLimitPrice(legs: readonly Pick<Leg, "action" | "quantity" | "price">[]): number {
  const size = comboSize(legs as Leg[]);
  let net = 0;
  for (const leg of legs) net += (leg.action === "BUY" ? 1 : -1) * (leg.quantity / size) * leg.price;
  return roundCents(net);
}
