// The stateless part of the safety decision, as pure functions. The edge calls evaluateOrder
// with the state it persisted (first key); the bridge calls perOrderChecks with no state at all
// (second key). Every violated check is reported, each with its amounts, never only the first.
import {
  CONSECUTIVE_LOSS_LIMIT,
  DAILY_LOSS_LIMIT,
  DRAWDOWN_CIRCUIT_BREAKER,
  MAX_ACCOUNT_DATA_AGE_MS,
  MAX_CONCENTRATION,
  MAX_CLOSE_ORDERS_PER_MINUTE,
  MAX_ORDERS_PER_MINUTE,
  MAX_PRICE_DEVIATION,
  MAX_QUOTE_AGE_MS,
  MAX_TRADE_RISK,
  MIN_PRICE_COLLAR,
} from "./limits";
import { formatPct, formatUsd, roundCents } from "./money";
import { contractKey, describeLeg, type Leg } from "./order";
import { type ContractSides, opposingLegViolations } from "./one-direction";
import { netLimitPrice, signedMid } from "./combo-price";
import type { RiskAnalysis } from "./risk";
import { exposureGroup, exposureMultiple } from "./underlying";
import type { Violation } from "./tools";
import type { Quote } from "./protocol";

/** What the decision needs to know about the account, as persisted by the Durable Object. */
export interface AccountState {
  /** Net liquidation in USD; null when the bridge has never reported it. */
  netLiquidation: number | null;
  highWaterMark: number | null;
  /** Today's P&L (realized and unrealized) in USD; negative is a loss. */
  dailyPnl: number;
  /**
   * The worst case reserved by orders still working (opening orders not yet filled, pending
   * approvals): each may fill and lose it today, so it counts against the daily loss room.
   */
  workingOrdersRisk?: number;
  /** Losing trades in a row. */
  lossStreak: number;
  /**
   * Exposure in USD per underlying group (see underlying.ts): open trades and pending orders, and
   * the positions the broker holds that no active trade accounts for.
   */
  exposureBySymbol: Readonly<Record<string, number>>;
  /** The part of exposureBySymbol that is in positions no active trade accounts for (named in the refusal). */
  untrackedExposureBySymbol?: Readonly<Record<string, number>>;
  emergencyStop: boolean;
  breaker: { tripped: boolean; kind?: string | null; reason?: string | null };
  /** Orders sent (or queued for approval) in the last 60 seconds. */
  ordersLastMinute: number;
  /** Age of the account snapshot in ms; null when there is none. */
  accountDataAgeMs: number | null;
  /** Fingerprints of orders placed recently (see orderFingerprint); a repeat is refused. */
  recentOrderFingerprints?: readonly string[];
  /** When set, only these underlyings may be traded. It can only narrow, never loosen a limit. */
  allowedSymbols?: readonly string[] | null;
  /** Which side each contract is held or worked on (contractKey), by active trades and TWS's positions (one-direction.ts). */
  contractSides?: ContractSides;
}

/** The order as the checks see it (the fields of place_order they read). */
export interface CheckedOrder {
  symbol: string;
  /** The underlying the broker reports for the legs (from contract details), when known. */
  underlying?: string | null;
  legs: readonly Leg[];
  max_risk: number;
  capital_required: number;
}

export interface CheckContext {
  /** `close` orders reduce risk: they stay allowed under an emergency stop or a tripped breaker. */
  intent: "open" | "close";
  /**
   * Current mid of the order's legs as the bridge quotes it (a combo's signed net per unit, or a
   * single instrument's own mid), and its age; null when unknown.
   */
  quote?: { mid: number | null; ageMs: number } | null;
  /**
   * Where the fat-finger collar is checked: `edge` (default) against `quote`; `bridge` when the
   * order goes out with its band (collarBand) and the bridge checks it against its own fresh quote
   * just before sending, refusing outside it (collarAtBridge). The band is fixed by the limit price
   * alone, so the edge's decision and reservation do not wait for a quote.
   */
  collar?: "edge" | "bridge";
}

/** The mids, in the signed convention, at which an order's limit price passes the collar. */
export interface CollarBand {
  low: number;
  high: number;
}

export type Decision =
  | { allowed: true; violations: []; riskUsed: number; exposure: number }
  | { allowed: false; violations: Violation[]; riskUsed: number | null; exposure: number | null };

const v = (check: string, message: string, value?: number, limit?: number): Violation => ({
  check,
  message,
  ...(value === undefined ? {} : { value: roundCents(value) }),
  ...(limit === undefined ? {} : { limit }),
});

/** A stable description of an order's structure, to catch an agent sending the same order twice. */
export function orderFingerprint(order: Pick<CheckedOrder, "symbol" | "legs">): string {
  const legs = order.legs
    .map((leg) => {
      const c = leg.contract;
      const what = c.sec_type === "STK" ? "STK" : `${c.expiry}:${c.strike}:${c.right}`;
      return `${leg.action}:${leg.quantity}:${what}`;
    })
    .sort();
  return `${order.symbol}|${legs.join("|")}`;
}

/** The group an order's exposure counts in: the broker's underlying when known, by economic underlying (shared/underlying.ts). */
export function orderGroup(order: Pick<CheckedOrder, "symbol" | "underlying">): string {
  return exposureGroup(order.underlying ?? order.symbol);
}

/**
 * How many times its own exposure an order counts in its group: a leveraged fund's multiple
 * (underlying.ts), read from the broker's underlying and the symbol alike, the larger winning.
 */
export function orderMultiple(order: Pick<CheckedOrder, "symbol" | "underlying">): number {
  return Math.max(exposureMultiple(order.underlying ?? order.symbol), exposureMultiple(order.symbol));
}

/** The larger of the caller's claim and the computed worst-case loss: the agent's arithmetic is not trusted. */
export function effectiveRisk(order: CheckedOrder, analysis: RiskAnalysis): number | null {
  return analysis.worstCaseLoss === null ? null : roundCents(Math.max(order.max_risk, analysis.worstCaseLoss));
}

/**
 * The checks that need no account state: leg validation, computable and bounded risk, the
 * caller's risk claim and the per-trade risk limit. The bridge runs these as the second key.
 */
export function perOrderChecks(order: CheckedOrder, analysis: RiskAnalysis, intent: "open" | "close" = "open"): Violation[] {
  const out: Violation[] = [...analysis.errors];
  if (intent === "close") return out;
  if (analysis.method === "not_computable") {
    out.push(v("risk_not_computable", `Risk not computable: ${analysis.reason ?? "unknown structure"}`));
    return out;
  }
  if (!analysis.bounded || analysis.worstCaseLoss === null) {
    out.push(v("unbounded_risk", analysis.reason ?? "Unbounded risk: the structure's loss has no limit"));
    return out;
  }
  const computed = analysis.worstCaseLoss;
  if (order.max_risk + 0.005 < computed)
    out.push(
      v("max_risk_claim", `Claimed max_risk (${formatUsd(order.max_risk)}) is below the computed worst-case loss (${formatUsd(computed)})`, order.max_risk, computed),
    );
  const risk = Math.max(order.max_risk, computed);
  if (risk > MAX_TRADE_RISK + 0.005)
    out.push(v("max_trade_risk", `Max risk (${formatUsd(risk)}) exceeds limit (${formatUsd(MAX_TRADE_RISK)})`, risk, MAX_TRADE_RISK));
  return out;
}

/** The whole stateless decision for one order. */
export function evaluateOrder(order: CheckedOrder, analysis: RiskAnalysis, state: AccountState, context: CheckContext): Decision {
  const out = perOrderChecks(order, analysis, context.intent);
  const risk = effectiveRisk(order, analysis);
  // Exposure: the larger of the agent's claim and the computed capital (worst-case loss, debit,
  // stock notional), so a tiny `capital_required` cannot hide a large position; times a leveraged
  // fund's multiple, as it counts in its economic underlying's group.
  const group = orderGroup(order);
  const multiple = orderMultiple(order);
  const exposure = risk === null || analysis.capital === null ? null : roundCents(Math.max(order.capital_required, analysis.capital, risk) * multiple);

  if (state.allowedSymbols && !state.allowedSymbols.includes(order.symbol))
    out.push(v("symbol_not_allowed", `${order.symbol} is not on this account's list of tradable symbols (${state.allowedSymbols.join(", ")})`));

  if (context.intent === "open") {
    if (state.emergencyStop) out.push(v("emergency_stop", "Emergency stop is on: no new positions may be opened"));
    if (state.breaker.tripped)
      out.push(v("circuit_breaker", `Circuit breaker is tripped${state.breaker.kind ? ` (${state.breaker.kind})` : ""}: ${state.breaker.reason ?? "no new positions until it is reset"}`));

    if (state.accountDataAgeMs === null || state.netLiquidation === null)
      out.push(v("stale_data", "No account data from the bridge yet: refusing until net liquidation is known"));
    else if (state.accountDataAgeMs > MAX_ACCOUNT_DATA_AGE_MS)
      out.push(
        v("stale_data", `Account data is ${Math.round(state.accountDataAgeMs / 1000)} s old (limit ${MAX_ACCOUNT_DATA_AGE_MS / 1000} s): refusing until the bridge reports fresh values`, state.accountDataAgeMs, MAX_ACCOUNT_DATA_AGE_MS),
      );

    const lossToday = Math.max(0, -state.dailyPnl);
    const working = Math.max(0, state.workingOrdersRisk ?? 0);
    if (lossToday >= DAILY_LOSS_LIMIT - 0.005)
      out.push(v("daily_loss", `Daily loss (${formatUsd(lossToday)}) has reached the limit (${formatUsd(DAILY_LOSS_LIMIT)})`, lossToday, DAILY_LOSS_LIMIT));
    else if (risk !== null && lossToday + working + risk > DAILY_LOSS_LIMIT + 0.005)
      out.push(
        v("daily_loss", `Daily loss so far (${formatUsd(lossToday)})${working > 0 ? ` plus the worst case of orders still working (${formatUsd(working)})` : ""} plus this order's worst-case loss (${formatUsd(risk)}) would exceed the daily loss limit (${formatUsd(DAILY_LOSS_LIMIT)})`, lossToday + working + risk, DAILY_LOSS_LIMIT),
      );

    if (state.netLiquidation !== null && state.highWaterMark !== null && state.highWaterMark > 0) {
      const drawdown = (state.highWaterMark - state.netLiquidation) / state.highWaterMark;
      if (drawdown >= DRAWDOWN_CIRCUIT_BREAKER - 1e-9)
        out.push(
          v("drawdown", `Drawdown of ${formatPct(drawdown)} from the high-water mark (${formatUsd(state.highWaterMark)}) reaches the ${formatPct(DRAWDOWN_CIRCUIT_BREAKER)} breaker`, drawdown, DRAWDOWN_CIRCUIT_BREAKER),
        );
    }

    if (state.lossStreak >= CONSECUTIVE_LOSS_LIMIT)
      out.push(v("consecutive_losses", `${state.lossStreak} losing trades in a row reaches the limit of ${CONSECUTIVE_LOSS_LIMIT}`, state.lossStreak, CONSECUTIVE_LOSS_LIMIT));

    if (exposure !== null && state.netLiquidation !== null) {
      const existing = state.exposureBySymbol[group] ?? 0;
      const untracked = state.untrackedExposureBySymbol?.[group] ?? 0;
      const total = existing + exposure;
      const share = state.netLiquidation > 0 ? total / state.netLiquidation : Number.POSITIVE_INFINITY;
      if (share > MAX_CONCENTRATION + 1e-9)
        out.push(
          v("concentration", `${group === order.symbol && multiple === 1 ? group : `${order.symbol} (counted with ${group}${multiple === 1 ? "" : ` at ${multiple}×`})`} exposure (${formatUsd(total)} incl. this order${untracked > 0 ? ` and ${formatUsd(untracked)} in positions held that no trade accounts for` : ""}) would be ${Number.isFinite(share) ? formatPct(share) : "all"} of net liquidation (${formatUsd(state.netLiquidation)}), above the ${formatPct(MAX_CONCENTRATION)} limit`, share, MAX_CONCENTRATION),
        );
    }

    if (state.ordersLastMinute >= MAX_ORDERS_PER_MINUTE)
      out.push(v("order_rate", `${state.ordersLastMinute} orders in the last minute; the limit is ${MAX_ORDERS_PER_MINUTE} per minute`, state.ordersLastMinute, MAX_ORDERS_PER_MINUTE));

    if (state.contractSides) out.push(...opposingLegViolations(order.legs, (leg) => contractKey(leg.contract), state.contractSides, describeLeg));

    if (state.recentOrderFingerprints?.includes(orderFingerprint(order)))
      out.push(v("duplicate_order", "An identical order was placed moments ago; send it with the same idempotency_key to retry, or change it"));

    if (context.collar !== "bridge") out.push(...priceCollar(order, { quote: context.quote ?? null }));
    // The band exists whenever the order has a net limit price (collarBand); no need to bisect it here.
    else if (!Number.isFinite(netLimitPrice(order.legs))) out.push(v("price_collar", "The order has no net limit price, so it cannot be collared against the market"));
  }

  return out.length === 0 && risk !== null && exposure !== null
    ? { allowed: true, violations: [], riskUsed: risk, exposure }
    : { allowed: false, violations: out, riskUsed: risk, exposure };
}

/**
 * The closes' own rate allowance (limits.ts MAX_CLOSE_ORDERS_PER_MINUTE): `sent` is how many
 * closing orders and modifies of closes went to TWS in the last minute. An agent's close or a
 * walk of its price is refused at the allowance; a person's kill-switch close is not asked.
 */
export function closeRateViolations(sent: number): Violation[] {
  return sent >= MAX_CLOSE_ORDERS_PER_MINUTE
    ? [v("order_rate", `${sent} closing orders and modifies of them in the last minute; closes have their own limit of ${MAX_CLOSE_ORDERS_PER_MINUTE} per minute (try again in a minute)`, sent, MAX_CLOSE_ORDERS_PER_MINUTE)]
    : [];
}

/** Whether a limit price (signed net per unit) passes the collar around a signed mid. */
function collarPasses(limit: number, mid: number): boolean {
  return Math.abs(limit - mid) <= Math.max(Math.abs(mid) * MAX_PRICE_DEVIATION, MIN_PRICE_COLLAR) + 0.005;
}

/** Fat-finger collar: the order's net limit price against the current net mid (closes at a limit use it too). */
export function priceCollar(order: Pick<CheckedOrder, "legs">, context: Pick<CheckContext, "quote">): Violation[] {
  const legs = order.legs;
  const quote = context.quote;
  if (!quote || quote.mid === null)
    return [v("market_data", "No current quote for this order, so its limit price cannot be checked against the market")];
  if (quote.ageMs > MAX_QUOTE_AGE_MS)
    return [v("market_data", `The quote is ${Math.round(quote.ageMs / 1000)} s old (limit ${MAX_QUOTE_AGE_MS / 1000} s)`, quote.ageMs, MAX_QUOTE_AGE_MS)];
  // Both sides in the signed convention (debit > 0): a single SELL at 1.20 is -1.20 against -mid.
  const limit = netLimitPrice(legs);
  if (!Number.isFinite(limit) || !Number.isFinite(quote.mid)) return [];
  const mid = signedMid(legs, quote.mid);
  const allowed = Math.max(Math.abs(mid) * MAX_PRICE_DEVIATION, MIN_PRICE_COLLAR);
  const deviation = Math.abs(limit - mid);
  if (!collarPasses(limit, mid))
    return [
      v("price_collar", `Limit price ${formatUsd(limit)} is ${formatUsd(deviation)} from the mid ${formatUsd(mid)}; at most ${formatUsd(allowed)} is allowed`, deviation, roundCents(allowed)),
    ];
  return [];
}

/**
 * The band of signed mids [low, high] within which the order's limit price passes the collar,
 * or null when the order has no price IBKR would bind. The passing mids form one interval around
 * the limit (the allowance grows by MAX_PRICE_DEVIATION < 1 per unit of mid, the distance by 1),
 * so each end is found by bisection on the collar's own test.
 */
export function collarBand(legs: readonly Leg[]): CollarBand | null {
  const limit = netLimitPrice(legs);
  if (!Number.isFinite(limit)) return null;
  const reach = (Math.abs(limit) * MAX_PRICE_DEVIATION + MIN_PRICE_COLLAR + 0.005) / (1 - MAX_PRICE_DEVIATION) + 1;
  const end = (outside: number) => {
    let inside = limit;
    for (let i = 0; i < 64; i++) {
      const m = (inside + outside) / 2;
      if (collarPasses(limit, m)) inside = m;
      else outside = m;
    }
    return inside;
  };
  return { low: end(limit - reach), high: end(limit + reach) };
}

/**
 * The bridge's collar, just before an opening order goes out: the shared collar against its own
 * fresh quote of the legs, and that mid inside the band the edge decided under. It can only
 * refuse: a band wider than the shared collar's own changes nothing.
 */
export function collarAtBridge(legs: readonly Leg[], band: CollarBand | undefined, quote: CheckContext["quote"]): Violation[] {
  const own = priceCollar({ legs }, { quote });
  if (own.length > 0 || !band || !quote || quote.mid === null) return own;
  const mid = signedMid(legs, quote.mid);
  if (mid < band.low - 1e-9 || mid > band.high + 1e-9)
    return [v("price_collar", `The mid ${formatUsd(mid)} is outside the band the edge approved this order's limit price ${formatUsd(netLimitPrice(legs))} for (${formatUsd(band.low)} to ${formatUsd(band.high)})`, mid)];
  return [];
}

/**
 * An opening order against the bridge's own fresh quote of its legs: the shared collar and the
 * edge's band (collarAtBridge), and the exposure group the edge reserved it under
 * against the underlying TWS reports. Every finding is a refusal; nothing here can approve.
 */
export function marketCheckViolations(params: { legs: readonly Leg[]; collar?: CollarBand | undefined; exposure_group?: string | undefined }, quote: Quote, now = Date.now()): Violation[] {
  const out: Violation[] = [];
  if (params.collar) {
    const asOf = Date.parse(quote.as_of);
    const ageMs = Number.isFinite(asOf) ? Math.max(0, now - asOf) : Number.POSITIVE_INFINITY;
    const note = quote.mid === null ? ` (quote ${quote.data_type}${quote.reason ? `: ${quote.reason}` : ""})` : "";
    out.push(...collarAtBridge(params.legs, params.collar, { mid: quote.mid, ageMs }).map((v) => (v.check === "market_data" ? { ...v, message: `${v.message}${note}` } : v)));
  }
  const group = quote.underlying ? exposureGroup(quote.underlying) : null;
  if (params.exposure_group !== undefined && group !== null && group !== params.exposure_group)
    out.push({ check: "exposure_group", message: `TWS reports the legs' underlying as ${quote.underlying}, so the order's exposure counts with ${group}, not ${params.exposure_group} as the edge reserved it: refusing (quote the legs with get_quote and send it again)` });
  return out;
}
