// Pure risk math of an order: hold-to-expiry worst-case loss and gain over every settlement path
// (early assignment, cash settlement), breakevens, the dollars the order binds and the capital it
// ties up, plus the leg validation every caller runs.
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
import type { LegSettlement } from "./settlement";
import type { Violation } from "./tools";


/**
 * `single_expiry`: every option settles on one date, the payoff is one piecewise-linear function.
 * `hold_to_expiry`: several expiries, each settled on its own value (see the settlement model
 * below). Both are exact worst cases under that model; dividends and moves after the last expiry
 * are left out and reported in shares (dividendShares, pinShares).
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
  /**
   * Most shares the position can be short before its last expiry (short calls assigned early,
   * earlier-dated long puts exercised, short stock). Each dividend per share going ex before then
   * can add this many dollars to the loss; the worst case leaves dividends out.
   */
  dividendShares: number;
  /**
   * Most shares (long or short) share-settled legs can leave after the last expiry (a long leg in
   * the money, a short one a holder exercises after the close, a pinned strike). The worst case
   * values them at the last expiry's price; each dollar the underlying moves before they are
   * closed can add this many dollars. Zero for cash-settled legs, which deliver nothing.
   */
  pinShares: number;
  /** How each leg was taken to settle, in leg order (null: a stock leg, or not known). */
  settlement: (LegSettlement | null)[];
}

export interface AnalyzeOptions {
  /** The order's underlying; every leg must be on it. */
  symbol?: string;
  /** Today's trading day, YYYY-MM-DD (America/New_York); expiries before it are refused. */
  today: string;
  /**
   * How each leg settles, in leg order, from TWS's contract details (shared/settlement.ts); null
   * or absent where not known. An order whose figure depends on an unknown style is refused.
   */
  settlement?: readonly (LegSettlement | null | undefined)[];
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
// The order fills at its limit price and is held to its last expiry. We take no action; the other
// side may (DESIGN.md "Every settlement path"). Each expiry has its own settlement price, every
// price ≥ 0 is a scenario, and the worst case is taken over all of them and over every choice the
// holders of our short options can make:
//
// - Share-settled legs (stock and ETF options, American-style). A leg expiring before the last
//   share-settled expiry T settles on its date. A LONG leg is exercised when in the money at that
//   date's price and lapses when out of it (either way exactly at the strike: pin risk). A SHORT
//   leg may be assigned or not whatever that price — early, on any day before, or by a holder who
//   exercises after the close — so every subset of an expiry's short legs is a scenario of its
//   own. Exercise and assignment turn a leg into 100 shares a contract at the strike, held to T.
//   Those shares, the stock legs and the legs expiring at T are valued at T's price S: each
//   scenario is linear in S between T's strikes, so its extremes sit at S = 0, at those strikes or
//   in the tails (their slopes).
//   Two choices need no enumeration. A short call expiring at T, assigned at any time, leaves
//   shares short at K worth K − S at S, never less than the −max(S − K, 0) it is worth unassigned
//   (a short put likewise: S − K ≥ −max(K − S, 0)); without dividends, which are reported apart.
//   And assigning only some contracts of a leg mixes all and none: the value is linear in the
//   count, so its extremes are at all or none.
// - Cash-settled legs (index options) pay their intrinsic value at their own settlement value and
//   leave nothing. Legs of one trading class and expiry share that value; no two settlement values
//   are assumed related (VIX expiries settle on different futures, SPX and SPXW on one date on
//   different prints), so each such group is worst-cased on its own. A European-style leg pays at
//   expiry only. An American-style short leg (OEX) can also be assigned at any day's close, at that
//   day's level, while its cover waits for expiry: a short call's cost then has no bound and a
//   short put's is its strike.
//
// Dividends and moves after the last expiry are outside the figure; the analysis reports the
// shares they act on (dividendShares, pinShares), so a caller can say by how much it is a bound.

type OptionLeg = Leg & { contract: OptionContract };

/** Value at the last share-settled expiry of what earlier expiries left: slope·S + intercept. */
interface Scenario { slope: number; intercept: number }

/** Linear value at S of an option leg exercised/assigned before the last expiry (shares at the strike). */
function settledLinear(leg: OptionLeg): Scenario {
  const shares = sign(leg) * leg.quantity * OPTION_MULTIPLIER * (leg.contract.right === "C" ? 1 : -1);
  return { slope: shares, intercept: -shares * leg.contract.strike };
}

const inTheMoney = (leg: OptionLeg, price: number): boolean =>
  leg.contract.right === "C" ? price > leg.contract.strike : price < leg.contract.strike;

/** Which of an expiry's long legs some price on that date exercises (every choice at a strike). */
function longExercises(longs: readonly OptionLeg[]): boolean[][] {
  if (longs.length === 0) return [[]];
  const found = new Map<string, boolean[]>();
  const add = (exercised: boolean[]) => found.set(exercised.map((e) => (e ? 1 : 0)).join(""), exercised);
  const strikes = [...new Set(longs.map((l) => l.contract.strike))].sort((a, b) => a - b);
  // Between strikes (and beyond them) moneyness fixes the outcome.
  const probes = [strikes[0]! / 2, ...strikes.slice(1).map((k, i) => (k + strikes[i]!) / 2), strikes[strikes.length - 1]! + 1];
  for (const price of probes) add(longs.map((leg) => inTheMoney(leg, price)));
  for (const k of strikes) {
    const atm = longs.map((leg, i) => (leg.contract.strike === k ? i : -1)).filter((i) => i >= 0);
    for (let mask = 0; mask < 1 << atm.length; mask++) {
      const exercised = longs.map((leg) => inTheMoney(leg, k));
      atm.forEach((legIndex, bit) => (exercised[legIndex] = ((mask >> bit) & 1) === 1));
      add(exercised);
    }
  }
  return [...found.values()];
}

/** Every outcome of one earlier expiry's share-settled legs: longs by moneyness, shorts assigned in any subset. */
function nearOutcomes(legs: readonly OptionLeg[]): Scenario[] {
  const longs = legs.filter((leg) => leg.action === "BUY");
  const shorts = legs.filter((leg) => leg.action === "SELL").map(settledLinear);
  const longLinear = longs.map(settledLinear);
  const outcomes = new Map<string, Scenario>();
  for (const exercised of longExercises(longs)) {
    let slope = 0;
    let intercept = 0;
    exercised.forEach((e, i) => {
      if (!e) return;
      slope += longLinear[i]!.slope;
      intercept += longLinear[i]!.intercept;
    });
    for (let mask = 0; mask < 1 << shorts.length; mask++) {
      let s = slope;
      let c = intercept;
      shorts.forEach((short, j) => {
        if (((mask >> j) & 1) === 0) return;
        s += short.slope;
        c += short.intercept;
      });
      outcomes.set(`${s}|${c}`, { slope: s, intercept: c });
    }
  }
  return [...outcomes.values()];
}

/** Every combination of outcomes over the earlier expiries, summed into one linear value at S. */
function nearScenarios(nearGroups: readonly (readonly OptionLeg[])[]): Scenario[] {
  let scenarios: Scenario[] = [{ slope: 0, intercept: 0 }];
  for (const group of nearGroups) {
    const next = new Map<string, Scenario>();
    const outcomes = nearOutcomes(group);
    for (const s of scenarios)
      for (const o of outcomes) {
        const slope = s.slope + o.slope;
        const intercept = s.intercept + o.intercept;
        next.set(`${slope}|${intercept}`, { slope, intercept });
      }
    scenarios = [...next.values()];
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

/** Range of what one cash settlement group (one class, one expiry) pays, over every settlement value. */
interface CashRange { min: number; max: number; lossUnbounded: string | null; gainUnbounded: boolean }

function cashGroupRange(legs: readonly OptionLeg[], american: readonly boolean[]): CashRange {
  const assignable = legs.filter((leg, i) => american[i] && leg.action === "SELL");
  const atExpiry = legs.filter((leg, i) => !(american[i] && leg.action === "SELL"));
  const strikes = [...new Set(legs.map((leg) => leg.contract.strike))].sort((a, b) => a - b);
  const values = [0, ...strikes].map((p) => expiryValue(atExpiry, p));
  const tail = heldTailSlope(atExpiry);
  // The best case assumes no early assignment (every leg paid at the settlement value): a gain
  // from a holder exercising a worthless option is no gain to count on.
  const settledValues = [0, ...strikes].map((p) => expiryValue(legs, p));
  // Assigned at a day's close, a short put costs at most its strike (the index at 0); unassigned
  // it costs no more. A short call's cost has no bound.
  const assignedCost = assignable.reduce((sum, leg) => sum + leg.quantity * OPTION_MULTIPLIER * leg.contract.strike, 0);
  const call = assignable.find((leg) => leg.contract.right === "C");
  const lossUnbounded = call
    ? `Unbounded risk: ${describeLeg(call)} is an American-style cash-settled option, which can be assigned at any day's close for its full value while the legs covering it stay open until expiry`
    : tail < 0
      ? "Unbounded risk: held to expiry, a cash-settled short call pays without limit as the index rises, and no long call settling on the same value (same class, same expiry) covers it — each expiry of an index option settles on its own value"
      : null;
  return { min: Math.min(...values) - assignedCost, max: Math.max(...settledValues), lossUnbounded, gainUnbounded: heldTailSlope(legs) > 0 };
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

function notComputable(errors: Violation[], reason: string, netPremium = 0, settlement: (LegSettlement | null)[] = []): RiskAnalysis {
  return {
    method: "not_computable", bounded: false, worstCaseLoss: null, worstCaseGain: null, gainUnbounded: false,
    breakevens: [], netPremium, capital: null, reason, errors, dividendShares: 0, pinShares: 0, settlement,
  };
}

const UNBOUNDED_REASON =
  "Unbounded risk: held to expiry, some settlement path leaves the position short the underlying with nothing to cover it — more short calls than long calls and shares, or a short call assigned (early, or by a holder exercising after the close) while the long call that covered it lapses or expires first — and it loses without limit as the underlying rises";

/** Shares each exercise or assignment of an option leg moves: + bought, − sold. */
const deliveredShares = (leg: OptionLeg): number => sign(leg) * leg.quantity * OPTION_MULTIPLIER * (leg.contract.right === "C" ? 1 : -1);

/**
 * Analyse an order from its legs, the price it binds and how each leg settles. Worst-case loss =
 * the dollars the limit price binds minus the settlement value, over every scenario of the
 * settlement model above, with the tails handled by their slopes. Any non-finite intermediate, a
 * leg count past MAX_LEGS_PER_ORDER (the scenarios double with each short leg), or a settlement
 * style the figure depends on and TWS has not reported makes the order `not_computable`.
 */
export function analyzeOrder(legs: readonly Leg[], options: AnalyzeOptions): RiskAnalysis {
  const errors = validateLegs(legs, options);
  const settlement = legs.map((leg, i) => (isOptionLeg(leg) ? options.settlement?.[i] ?? null : null));
  // Out of the schema's ranges, no figure is computed at all: huge strikes breed ∞ − ∞.
  const shapeBroken = legs.some(
    (leg) =>
      !(leg.quantity > 0 && leg.quantity <= MAX_LEG_QUANTITY) ||
      !(leg.price >= 0 && leg.price <= MAX_LEG_PRICE) ||
      (isOptionLeg(leg) && !(leg.contract.strike > 0 && leg.contract.strike <= MAX_STRIKE)),
  );
  if (legs.length === 0 || legs.length > MAX_LEGS_PER_ORDER || shapeBroken)
    return notComputable(errors, "The legs are not valid, so risk cannot be computed", 0, settlement);
  const priced = priceOrder(legs);
  if (!priced.ok) return notComputable(errors, priced.reason, 0, settlement);
  const bound = priced.price.boundDollars;
  const netPremium = roundCents(-bound);

  const optionLegs = legs.filter(isOptionLeg) as OptionLeg[];
  const styleOf = (leg: OptionLeg) => settlement[legs.indexOf(leg)] ?? null;
  const expiries = [...new Set(optionLegs.map((leg) => leg.contract.expiry))].sort();
  // Long options of one expiry cost their premium whatever their style; anything else depends on it.
  if (expiries.length > 1 || optionLegs.some((leg) => leg.action === "SELL")) {
    const unknown = optionLegs.filter((leg) => !styleOf(leg));
    if (unknown.length > 0)
      return notComputable(
        errors,
        `How ${unknown.map(describeLeg).join(", ")} settle${unknown.length === 1 ? "s" : ""} (shares or cash, American or European) is not known — TWS has not reported the contract details — and this order's worst case depends on it: refusing rather than guessing (get_quote the legs, then send it again)`,
        netPremium,
        settlement,
      );
  }
  const cashLegs = optionLegs.filter((leg) => styleOf(leg)?.delivery === "cash");
  // A long-only single expiry of unknown style is valued as share-settled: its figure is the same.
  const shareLegs = optionLegs.filter((leg) => styleOf(leg)?.delivery !== "cash");
  const stockLegs = legs.filter((leg) => !isOptionLeg(leg));

  // Share-settled legs and stock, held to the last share-settled expiry.
  const shareExpiries = [...new Set(shareLegs.map((leg) => leg.contract.expiry))].sort();
  const lastShare = shareExpiries[shareExpiries.length - 1];
  const held = [...stockLegs, ...shareLegs.filter((leg) => leg.contract.expiry === lastShare)];
  const scenarios = nearScenarios(shareExpiries.slice(0, -1).map((e) => shareLegs.filter((leg) => leg.contract.expiry === e)));
  const heldStrikes = [...new Set(held.filter(isOptionLeg).map((leg) => leg.contract.strike))].sort((a, b) => a - b);
  const points = [0, ...heldStrikes];
  const heldAt = points.map((p) => expiryValue(held, p));
  const heldSlope = heldTailSlope(held);

  let lowest = Number.POSITIVE_INFINITY;
  let highest = Number.NEGATIVE_INFINITY;
  let unboundedWhy: string | null = null;
  let gainUnbounded = false;
  for (const s of scenarios) {
    points.forEach((p, i) => {
      const value = heldAt[i]! + s.slope * p + s.intercept;
      lowest = Math.min(lowest, value);
      highest = Math.max(highest, value);
    });
    const tail = heldSlope + s.slope;
    if (tail < 0) unboundedWhy = UNBOUNDED_REASON;
    if (tail > 0) gainUnbounded = true;
  }

  // Cash-settled legs, one settlement value per trading class and expiry, each worst-cased alone.
  const cashGroups = new Map<string, OptionLeg[]>();
  for (const leg of cashLegs) {
    const style = styleOf(leg) as Extract<LegSettlement, { delivery: "cash" }>;
    const key = `${leg.contract.expiry}|${style.trading_class}`;
    cashGroups.set(key, [...(cashGroups.get(key) ?? []), leg]);
  }
  for (const group of cashGroups.values()) {
    const range = cashGroupRange(group, group.map((leg) => (styleOf(leg) as Extract<LegSettlement, { delivery: "cash" }>).exercise === "american"));
    lowest += range.min;
    highest += range.max;
    unboundedWhy ??= range.lossUnbounded;
    if (range.gainUnbounded) gainUnbounded = true;
  }

  const worstLoss = bound - lowest;
  const bestGain = highest - bound;
  if (!Number.isFinite(worstLoss) || !Number.isFinite(bestGain) || !Number.isFinite(bound) || heldAt.some((v) => !Number.isFinite(v)))
    return notComputable(errors, "A figure of this order is not a finite number, so its risk cannot be computed", Number.isFinite(netPremium) ? netPremium : 0, settlement);

  // What the figure leaves out, in shares (share-settled legs only: cash settlement delivers none).
  // Before the last expiry: every short call assigned, every earlier-dated long put exercised,
  // short stock. After it: each leg's shares either way (a long by exercise, a short by a holder's
  // choice after the close). Each leg's extreme is reachable together with every other's (all
  // prices at 0, or all far above the strikes), so the sums are the maxima.
  let shortBefore = 0;
  let afterLow = 0;
  let afterHigh = 0;
  for (const leg of stockLegs) shortBefore += Math.min(0, sign(leg) * leg.quantity);
  for (const leg of shareLegs) {
    const shares = deliveredShares(leg);
    afterLow += Math.min(0, shares);
    afterHigh += Math.max(0, shares);
    if (leg.action === "SELL" || leg.contract.expiry !== lastShare) shortBefore += Math.min(0, shares);
  }

  const method: RiskMethod = expiries.length > 1 ? "hold_to_expiry" : "single_expiry";
  const lossUnbounded = unboundedWhy !== null;
  const worstCaseLoss = lossUnbounded ? null : roundCents(Math.max(0, worstLoss));
  const stockNotional = legs.reduce((sum, leg) => (isOptionLeg(leg) ? sum : sum + leg.quantity * leg.price), 0);
  const capital = worstCaseLoss === null ? null : roundCents(Math.max(worstCaseLoss, Math.max(0, bound), stockNotional));
  let breakevens: number[] = [];
  // One expiry: the payoff line at it (share-settled, the held legs' values are already that line).
  if (method === "single_expiry" && cashLegs.length === 0) breakevens = findBreakevens(points, heldAt.map((v) => v - bound), heldSlope);
  else if (method === "single_expiry") {
    const allPoints = [0, ...[...new Set(optionLegs.map((leg) => leg.contract.strike))].sort((a, b) => a - b)];
    breakevens = findBreakevens(allPoints, allPoints.map((p) => expiryValue(legs, p) - bound), heldTailSlope(legs));
  }
  if (breakevens.some((b) => !Number.isFinite(b))) return notComputable(errors, "A breakeven of this order is not a finite number, so its risk cannot be computed", netPremium, settlement);
  return {
    method,
    bounded: !lossUnbounded,
    worstCaseLoss,
    worstCaseGain: gainUnbounded ? null : roundCents(Math.max(0, bestGain)),
    gainUnbounded,
    breakevens,
    netPremium,
    capital,
    reason: unboundedWhy,
    errors,
    dividendShares: Math.max(0, -shortBefore),
    pinShares: Math.max(afterHigh, -afterLow),
    settlement,
  };
}
