// The second key: before any order reaches TWS the bridge re-runs the stateless per-order checks
// of shared/checks.ts (leg validation, computable and bounded risk, the risk claim, max trade
// risk) — once with the settlement styles the edge assumed, then with the ones TWS reports for
// the resolved contracts (settlementViolations) — plus its own: the limit price must be the legs' net price, no market orders to open,
// a closing order must only reduce positions the account holds, and the local emergency-stop
// file refuses every opening order (a verified risk-reducing close stays allowed, as the FIA
// kill-switch practice says). The edge's approval does not bypass any of this.
import { existsSync } from "node:fs";
import { perOrderChecks } from "../shared/checks";
import { formatUsd } from "../shared/money";
import { describeLeg, type Leg } from "../shared/order";
import type { PlaceParams } from "../shared/protocol";
import { netLimitPrice } from "../shared/combo-price";
import { type ContractFlow, reduceOnlyViolations as sharedReduceOnly } from "../shared/reduce-only";
import { analyzeOrder } from "../shared/risk";
import { describeSettlement } from "../shared/settlement";
import type { Violation } from "../shared/tools";
import { tradingDay } from "../shared/trade-id";
import type { ResolvedContract } from "./contracts";
import type { Position } from "../shared/tools";
import { addSide, type ContractSides } from "../shared/one-direction";

/**
 * Per-order checks of a `place` (both intents), with the bridge's own additions. `now` is the
 * broker's clock (TwsConnection.brokerNow): an expiry is judged by the exchange's trading day.
 */
export function placeViolations(params: PlaceParams, now: Date): Violation[] {
  const analysis = analyzeOrder(params.legs, { symbol: params.symbol, today: tradingDay(now), settlement: params.settlement });
  const out = perOrderChecks({ symbol: params.symbol, legs: params.legs, max_risk: params.max_risk, capital_required: 0 }, analysis, params.intent);
  const net = netLimitPrice(params.legs);
  if (params.limit_price !== undefined && Math.abs(params.limit_price - net) > 0.005)
    out.push({
      check: "limit_price",
      message: `Limit price ${formatUsd(params.limit_price)} is not the legs' net price ${formatUsd(net)}: the risk was computed at the legs' prices, so the order must carry them`,
      value: params.limit_price,
      limit: net,
    });
  if (params.order_type === "MKT" && params.intent === "open")
    out.push({ check: "market_order", message: "A market order's fill price is not bounded, so its worst-case loss is not known: opening orders must be limit orders" });
  return out;
}

/**
 * An opening order's risk again, with the settlement style TWS reports for each resolved contract
 * (underSecType, trading class) instead of the one the edge assumed: a figure above the risk the
 * edge approved (`max_risk`), unbounded or not computable at TWS's styles refuses the order.
 */
export function settlementViolations(
  params: Pick<PlaceParams, "symbol" | "legs" | "max_risk" | "settlement">,
  resolved: readonly Pick<ResolvedContract, "settlement">[],
  now: Date,
): Violation[] {
  const reported = params.legs.map((_, i) => resolved[i]?.settlement ?? null);
  const analysis = analyzeOrder(params.legs, { symbol: params.symbol, today: tradingDay(now), settlement: reported });
  const problems = perOrderChecks({ symbol: params.symbol, legs: params.legs, max_risk: params.max_risk, capital_required: 0 }, analysis, "open");
  if (problems.length === 0) return [];
  const differing = params.legs
    .map((leg, i) => ({ leg, assumed: params.settlement?.[i] ?? null, reported: reported[i] }))
    .filter((x) => x.leg.contract.sec_type !== "STK" && JSON.stringify(x.assumed) !== JSON.stringify(x.reported));
  const why = differing.length
    ? `TWS reports ${differing.map((x) => `${describeLeg(x.leg)} as ${describeSettlement(x.reported)}`).join(", ")}, not ${differing.map((x) => describeSettlement(x.assumed)).join(", ")} as the edge assumed`
    : "at the settlement styles TWS reports";
  return [
    { check: "settlement_style", message: `${why}: the order's risk at TWS's settlement does not pass (${problems.map((v) => v.message).join("; ")}); quote the legs with get_quote and send it again` },
    ...problems,
  ];
}

/** Checks of a `close`: the legs as they were opened, validated as a risk-reducing order. */
export function closeViolations(legs: readonly Leg[], symbol: string, now: Date): Violation[] {
  const analysis = analyzeOrder(legs, { symbol, today: tradingDay(now) });
  return perOrderChecks({ symbol, legs, max_risk: 0, capital_required: 0 }, analysis, "close");
}

/**
 * A closing order may only shrink positions, counting every working order of the account on the
 * same contracts (shared/reduce-only.ts): two closes, or a close and a stale order, cannot
 * together carry a position across zero.
 */
export function reduceOnlyViolations(
  outgoing: readonly Pick<Leg, "action" | "quantity" | "contract" | "price">[],
  resolved: readonly ResolvedContract[],
  positionOf: (conId: number) => Position | undefined,
  positionsLoaded: boolean,
  working: readonly ContractFlow[] = [],
): Violation[] {
  if (!positionsLoaded) return [{ check: "reduce_only", message: "Positions have not been received from TWS yet, so this close cannot be verified as risk-reducing" }];
  return sharedReduceOnly(
    outgoing.map((leg, i) => ({ conId: resolved[i]?.conId ?? 0, action: leg.action, quantity: leg.quantity, label: describeLeg(leg as Leg) })),
    (conId) => positionOf(conId)?.quantity ?? 0,
    working,
  );
}

/** The operator's hard stop on the trading box: present = no opening order goes out. */
export function emergencyStopOn(file: string): boolean {
  return existsSync(file);
}

/**
 * Each contract's side at TWS, as the mirror knows it: the positions, and the working opening
 * orders (a close works against its own position by design, so closes are left out).
 */
export function accountSides(positions: readonly Position[], working: readonly { orderRef: string | null; flows: readonly { conId: number; action: "BUY" | "SELL" }[] }[]): ContractSides {
  const sides = new Map<string, { long: string[]; short: string[] }>();
  for (const p of positions) if (p.quantity !== 0) addSide(sides, String(p.con_id), p.quantity > 0 ? "long" : "short", `the position TWS holds (${p.quantity})`);
  for (const o of working) {
    if (o.orderRef?.endsWith("_CLOSE")) continue;
    for (const f of o.flows) addSide(sides, String(f.conId), f.action === "BUY" ? "long" : "short", `working order ${o.orderRef ?? "(no ref)"}`);
  }
  return sides;
}
