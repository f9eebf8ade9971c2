// Pure risk math of an order: hold-to-expiry worst-case loss and gain, breakevens, the dollars
// the order binds and the capital it ties up, plus the leg validation every caller runs.
// Risk rests on the one price the broker binds (shared/combo-price.ts), never on per-leg prices.
// No I/O, no clock reads (today is passed in); exact, not sampled, and fast enough for every order.
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
import { contractKey, describeLeg, isOptionLeg, type Leg, MAX_LEG_PRICE, MAX_LEG_QUANTITY, MAX_STRIKE, MIN_STRIKE, type OptionContract } from "./order";
import { priceOrder } from "./combo-price";
import type { Violation } from "./tools";


/**
 * `single_expiry`: every option settles on one date, the payoff is one piecewise-linear function.
 * `hold_to_expiry`: several expiries; near legs settle into stock at their expiry, which is held
 * with the later legs to the last expiry. Both are exact worst cases, not bounds.
 */
export type RiskMethod = "single_expiry" | "hold_to_expiry" | "not_computable";

export interface RiskAnalysis {
  /** How the figures were obtained; `not_computable` orders are refused by every caller. */
  method: RiskMethod;
  /** Worst-case loss is finite. */
  bounded: boolean;
  /** Largest loss held to expiry over every scenario, in USD (≥ 0); null when unbounded or not computable. */
  worstCaseLoss: number | null;
  /** Largest gain, in USD; null when unbounded or not computable. */
  worstCaseGain: number | null;
  gainUnbounded: boolean;
  /** Underlying prices at expiry where the payoff crosses zero, ascending (single expiry only). */
  breakevens: number[];
  /** Net cash at the open at the limit price, in USD: positive is a credit received, negative a debit paid. */
  netPremium: number;
  /**
   * Capital the order ties up, in USD: the largest of its worst-case loss, the debit it pays and
   * the notional of its stock legs. Concentration counts the larger of this and the agent's claim.
   */
  capital: number | null;
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

const sign = (leg: Pick<Leg, "action">): number => (leg.action === "BUY" ? 1 : -1);

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
    // The schema's ranges again (shared/order.ts): the engine must not lean on its caller's parsing.
    if (!(leg.quantity <= MAX_LEG_QUANTITY)) add("quantity", `Quantity must be at most ${MAX_LEG_QUANTITY} (${label})`, leg.quantity, MAX_LEG_QUANTITY);
    if (!(leg.price >= 0 && leg.price <= MAX_LEG_PRICE)) add("leg_price", `Leg price must be between 0 and ${MAX_LEG_PRICE} (${label})`, leg.price, MAX_LEG_PRICE);
    if (isOptionLeg(leg)) {
      const { strike, expiry } = leg.contract;
      // The schema snaps strikes to cents (order.ts): below a cent is no strike, however it arrived.
      if (!(strike >= MIN_STRIKE)) add("strike", `Strike must be at least ${MIN_STRIKE} (${label})`, strike);
      else if (!(strike <= MAX_STRIKE)) add("strike", `Strike must be at most ${MAX_STRIKE} (${label})`, strike, MAX_STRIKE);
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

// ---- settlement model ------------------------------------------------------------------------
//
// Everything is held to the last expiry with no action taken. A leg expiring before the last
// expiry settles on its own date at that date's price S_j: in the money it becomes stock (a call
// buys 100 shares a contract at the strike, a put sells them), out of the money it lapses; exactly
// at the strike it may go either way (pin risk, contrary exercise instructions), so both are
// scenarios. That stock, the stock legs and the last-dated options are valued at the last
// expiry's price S. Each scenario is then linear in S between the last-dated strikes, so the
// extremes sit at S = 0, at those strikes, or in the tails (slope).

/** Value at the last expiry of the settled and last-dated legs: slope·S + intercept, plus option kinks. */
interface Scenario { slope: number; intercept: number }

/** Linear value at S of an option leg exercised/assigned at an earlier expiry (shares at the strike). */
function settledLinear(leg: Leg & { contract: OptionContract }): Scenario {
  const shares = sign(leg) * leg.quantity * OPTION_MULTIPLIER * (leg.contract.right === "C" ? 1 : -1);
  return { slope: shares, intercept: -shares * leg.contract.strike };
}

/** Every exercise outcome of one expiry's legs that some price S_j on that date produces. */
function settlementOutcomes(legs: readonly (Leg & { contract: OptionContract })[]): Scenario[] {
  const strikes = [...new Set(legs.map((l) => l.contract.strike))].sort((a, b) => a - b);
  const outcomes = new Map<string, Scenario>();
  const add = (exercised: boolean[]) => {
    const k = exercised.map((e) => (e ? 1 : 0)).join("");
    if (outcomes.has(k)) return;
    let slope = 0;
    let intercept = 0;
    legs.forEach((leg, i) => {
      if (!exercised[i]) return;
      const s = settledLinear(leg);
      slope += s.slope;
      intercept += s.intercept;
    });
    outcomes.set(k, { slope, intercept });
  };
  const itm = (leg: Leg & { contract: OptionContract }, price: number) =>
    leg.contract.right === "C" ? price > leg.contract.strike : price < leg.contract.strike;
  // Between strikes (and beyond them) the outcome is fixed by moneyness.
  const probes = [strikes[0]! / 2, ...strikes.slice(1).map((k, i) => (k + strikes[i]!) / 2), strikes[strikes.length - 1]! + 1];
  for (const price of probes) add(legs.map((leg) => itm(leg, price)));
  // At a strike, each option struck there may or may not be exercised.
  for (const k of strikes) {
    const atm = legs.map((leg, i) => (leg.contract.strike === k ? i : -1)).filter((i) => i >= 0);
    for (let mask = 0; mask < 1 << atm.length; mask++) {
      const exercised = legs.map((leg) => itm(leg, k));
      atm.forEach((legIndex, bit) => (exercised[legIndex] = ((mask >> bit) & 1) === 1));
      add(exercised);
    }
  }
  return [...outcomes.values()];
}

/** Every combination of outcomes over the near expiries, summed into one linear value at S. */
function nearScenarios(nearGroups: readonly (readonly (Leg & { contract: OptionContract })[])[]): Scenario[] {
  let scenarios: Scenario[] = [{ slope: 0, intercept: 0 }];
  for (const group of nearGroups) {
    const outcomes = settlementOutcomes(group);
    const next: Scenario[] = [];
    for (const s of scenarios) for (const o of outcomes) next.push({ slope: s.slope + o.slope, intercept: s.intercept + o.intercept });
    scenarios = next;
  }
  return scenarios;
}

/**
 * Value at S of the legs held to the last expiry: last-dated options at intrinsic, stock at S.
 * For a single-expiry order it is the whole position's settlement value (the payoff picture's too).
 */
export function expiryValue(held: readonly Leg[], price: number): number {
  let total = 0;
  for (const leg of held) {
    if (isOptionLeg(leg)) {
      const { strike, right } = leg.contract;
      const intrinsic = right === "C" ? Math.max(price - strike, 0) : Math.max(strike - price, 0);
      total += sign(leg) * leg.quantity * OPTION_MULTIPLIER * intrinsic;
    } else total += sign(leg) * leg.quantity * price;
  }
  return total;
}

/** Slope in S, past the last strike, of the legs held to the last expiry. */
function heldTailSlope(held: readonly Leg[]): number {
  let slope = 0;
  for (const leg of held) {
    if (!isOptionLeg(leg)) slope += sign(leg) * leg.quantity;
    else if (leg.contract.right === "C") slope += sign(leg) * leg.quantity * OPTION_MULTIPLIER;
  }
  return slope;
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

function notComputable(errors: Violation[], reason: string, netPremium = 0): RiskAnalysis {
  return {
    method: "not_computable", bounded: false, worstCaseLoss: null, worstCaseGain: null, gainUnbounded: false,
    breakevens: [], netPremium, capital: null, reason, errors,
  };
}

const UNBOUNDED_REASON =
  "Unbounded risk: held to expiry, the structure loses without limit as the underlying rises (more short calls, or stock delivered short, than long calls and shares)";

/**
 * Analyse an order from its legs and the price it binds. Worst-case loss = the dollars the limit
 * price binds minus the settlement value, over every scenario of the settlement model above, with
 * the tails handled by their slopes. Any non-finite intermediate makes the order `not_computable`.
 */
export function analyzeOrder(legs: readonly Leg[], options: AnalyzeOptions): RiskAnalysis {
  const errors = validateLegs(legs, options);
  // Out of the schema's ranges, no figure is computed at all: huge strikes breed ∞ − ∞.
  const shapeBroken = legs.some(
    (leg) =>
      !(leg.quantity > 0 && leg.quantity <= MAX_LEG_QUANTITY) ||
      !(leg.price >= 0 && leg.price <= MAX_LEG_PRICE) ||
      (isOptionLeg(leg) && !(leg.contract.strike > 0 && leg.contract.strike <= MAX_STRIKE)),
  );
  if (legs.length === 0 || shapeBroken) return notComputable(errors, "The legs are not valid, so risk cannot be computed");
  const priced = priceOrder(legs);
  if (!priced.ok) return notComputable(errors, priced.reason);
  const bound = priced.price.boundDollars;
  const netPremium = roundCents(-bound);

  const optionLegs = legs.filter(isOptionLeg) as (Leg & { contract: OptionContract })[];
  const expiries = [...new Set(optionLegs.map((leg) => leg.contract.expiry))].sort();
  const last = expiries[expiries.length - 1];
  const held = legs.filter((leg) => !isOptionLeg(leg) || leg.contract.expiry === last);
  const nearGroups = expiries.slice(0, -1).map((e) => optionLegs.filter((leg) => leg.contract.expiry === e));
  const scenarios = nearScenarios(nearGroups);

  const heldStrikes = [...new Set(held.filter(isOptionLeg).map((leg) => leg.contract.strike))].sort((a, b) => a - b);
  const points = [0, ...heldStrikes];
  const heldAt = points.map((p) => expiryValue(held, p));
  const heldSlope = heldTailSlope(held);

  let worstLoss = Number.NEGATIVE_INFINITY;
  let bestGain = Number.NEGATIVE_INFINITY;
  let lossUnbounded = false;
  let gainUnbounded = false;
  for (const s of scenarios) {
    points.forEach((p, i) => {
      const value = heldAt[i]! + s.slope * p + s.intercept;
      worstLoss = Math.max(worstLoss, bound - value);
      bestGain = Math.max(bestGain, value - bound);
    });
    const tail = heldSlope + s.slope;
    if (tail < 0) lossUnbounded = true;
    if (tail > 0) gainUnbounded = true;
  }
  if (!Number.isFinite(worstLoss) || !Number.isFinite(bestGain) || !Number.isFinite(bound) || heldAt.some((v) => !Number.isFinite(v)))
    return notComputable(errors, "A figure of this order is not a finite number, so its risk cannot be computed", Number.isFinite(netPremium) ? netPremium : 0);

  const method: RiskMethod = expiries.length > 1 ? "hold_to_expiry" : "single_expiry";
  const worstCaseLoss = lossUnbounded ? null : roundCents(Math.max(0, worstLoss));
  const stockNotional = legs.reduce((sum, leg) => (isOptionLeg(leg) ? sum : sum + leg.quantity * leg.price), 0);
  const capital = worstCaseLoss === null ? null : roundCents(Math.max(worstCaseLoss, Math.max(0, bound), stockNotional));
  const breakevens =
    method === "single_expiry" ? findBreakevens(points, heldAt.map((v) => v - bound), heldSlope) : [];
  if (breakevens.some((b) => !Number.isFinite(b))) return notComputable(errors, "A breakeven of this order is not a finite number, so its risk cannot be computed", netPremium);
  return {
    method,
    bounded: !lossUnbounded,
    worstCaseLoss,
    worstCaseGain: gainUnbounded ? null : roundCents(Math.max(0, bestGain)),
    gainUnbounded,
    breakevens,
    netPremium,
    capital,
    reason: lossUnbounded ? UNBOUNDED_REASON : null,
    errors,
  };
}
