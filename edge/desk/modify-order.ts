// modify_order: a new limit price for a trade's working order, sent as IBKR's modify (the same
// order id and orderRef placed again). It passes the same decision point as a new order: the risk
// is recomputed from the new net price, every check of place_order runs (the price collar, the
// order rate — a modify counts as an order), and the reservation is raised in the same
// synchronous turn as the check. Until TWS confirms, the larger of the old and new reservation
// holds; a refusal restores the old one, and an answer lost on the way leaves the modify pending
// until TWS shows the order's price (pending-modify.ts). Closes are walked too (the collar, and the closes' own order-rate allowance: closes reduce risk, but a walk in a loop is stopped).
// In shadow mode an opening order's new price would skip the person's approval, so it is refused.
import { closeRateViolations, evaluateOrder, orderGroup, perOrderChecks, priceCollar } from "../../shared/checks";
import { closingLegs, repriceLegs } from "../../shared/combo-price";
import { closeCapViolations } from "../../shared/close-cap";
import { MIN_LEG_PRICE } from "../../shared/limits";
import { formatUsd, roundCents } from "../../shared/money";
import type { Leg } from "../../shared/order";
import { analyzeOrder, type RiskAnalysis } from "../../shared/risk";
import { tradingDay } from "../../shared/trade-id";
import type { OrderStatusName, Violation } from "../../shared/tools";
import { BridgeError, PLACE_TIMEOUT_MS } from "../link/bridge-link";
import { STATIC_CREDENTIAL, type Credential } from "../ledger/credential";
import type { DeskContext } from "../store/desk-context";
import { closeOrdersLastMinute, closeRef, currentTwsSession, getOrderByRef, getTrade, legsOf, ordersLastMinute, recordOrderTime } from "../store/ledger";
import { heldLegs } from "../ledger/held-legs";
import { fetchQuote, linkViolations, mayHaveReachedTws, type ToolAnswer, withQuoteNote } from "./order-desk";
import { closeLimit, endPendingModifiesOfTrade, ledgerLimit, pendingModify, recordPendingModify, setCloseLimit, twsActionOf, writeTradePrice } from "../ledger/pending-modify";
import { buildAccountState, shadowMode } from "../safety/safety-state";
import { settlementFor } from "./settlement-styles";
import { recordAct } from "../ledger/trade-acts";

export interface ModifyOrderInput {
  trade_id: string;
  limit_price: number;
  max_risk?: number | undefined;
}

export interface ModifyOrderOutput {
  success: boolean;
  trade_id: string;
  order_id: number | null;
  intent: "open" | "close" | null;
  status: OrderStatusName | "Refused";
  previous_limit_price: number | null;
  limit_price: number | null;
  message: string;
  violations: Violation[];
  computed_max_risk: number | null;
  max_gain: number | null;
  breakevens: number[];
  net_premium: number | null;
}

/**
 * Orders with a modify on its way to TWS, per account object (its storage) and orderRef: one at a
 * time, so each modify's reservation bookkeeping (raise, then settle on the answer) is not crossed
 * by another's. In memory on purpose: a restarted object has no pending bridge request either.
 */
const inFlightByAccount = new WeakMap<SqlStorage, Set<string>>();
function inFlightOf(sql: SqlStorage): Set<string> {
  let set = inFlightByAccount.get(sql);
  if (!set) inFlightByAccount.set(sql, (set = new Set()));
  return set;
}

/** Statuses in which TWS accepts a modify of the order. */
const MODIFIABLE = new Set<OrderStatusName>(["PreSubmitted", "Submitted", "PartiallyFilled"]);

type Figures = Pick<ModifyOrderOutput, "computed_max_risk" | "max_gain" | "breakevens" | "net_premium">;
const NO_FIGURES: Figures = { computed_max_risk: null, max_gain: null, breakevens: [], net_premium: null };
const figures = (a: RiskAnalysis): Figures => ({ computed_max_risk: a.worstCaseLoss, max_gain: a.worstCaseGain, breakevens: a.breakevens, net_premium: a.netPremium });

function unconfirmedMessage(orderId: number, p: { from: number | null; to: number; since: string }): string {
  return `The modify of order ${orderId} from ${p.from === null ? "its previous price" : formatUsd(p.from)} to ${formatUsd(p.to)} is unconfirmed since ${p.since}: TWS may work the order at either price. It settles when the bridge next shows TWS's order (reconnect or its next status), or when the order ends; walking the price again on top of an unknown price is refused until then (see pending_modify in list_trades)`;
}

export async function modifyOrder(ctx: DeskContext, input: ModifyOrderInput, actor = "agent", by: Credential = STATIC_CREDENTIAL): Promise<ToolAnswer<ModifyOrderOutput>> {
  ctx.audit(actor, "tool_call", { tool: "modify_order", arguments: input, credential: by });
  const refuse = (message: string, violations: Violation[], extra: Partial<ModifyOrderOutput> = {}): ToolAnswer<ModifyOrderOutput> => {
    ctx.audit("edge", "modify_refused", { trade_id: input.trade_id, limit_price: input.limit_price, violations });
    return {
      output: {
        success: false, trade_id: input.trade_id, order_id: null, intent: null, status: "Refused", previous_limit_price: null, limit_price: null,
        message, violations, ...NO_FIGURES, ...extra,
      },
      isError: true,
    };
  };
  const one = (check: string, message: string) => refuse(message, [{ check, message }]);

  // ---- what is being modified (read again inside the synchronous turn)
  const trade = getTrade(ctx.sql, input.trade_id);
  if (!trade) return one("unknown_trade", `No trade ${input.trade_id} in this account's ledger`);
  const intent = trade.state === "working" ? "open" : trade.state === "closing" ? "close" : null;
  if (intent === null) {
    const why: Record<string, string> = {
      open: "it has no working order (its opening order is filled); close_position closes it",
      pending_approval: "it waits for approval and has no order at IBKR yet; cancel it with cancel_order and place it again",
      submitting: "its opening order is still being sent",
      unknown: "its opening order is unconfirmed until the bridge reconciles",
    };
    return one("trade_state", `Trade ${trade.trade_id} has no order to modify: ${why[trade.state] ?? `it is ${trade.state}`}`);
  }
  const ref = intent === "open" ? trade.trade_id : closeRef(trade.trade_id);
  const order = getOrderByRef(ctx.sql, ref);
  if (!order || order.order_id === null) return one("order_state", `The ${intent === "open" ? "opening" : "close"} order of ${trade.trade_id} has no IBKR order id yet (not acknowledged by TWS)`);
  if (!MODIFIABLE.has(order.status)) return one("order_state", `Order ${order.order_id} is ${order.status}: only a working order (PreSubmitted, Submitted, PartiallyFilled) can be modified`);
  // An id names an order only within its TWS session: after a restart, a modify sent with it would reach TWS as a new order.
  if (order.unaccounted_at !== null)
    return one("order_state", `Order ${order.order_id} is unaccounted since ${order.unaccounted_at}: TWS does not hold it, so it cannot be modified (cancel it, or let reconciliation or a person settle it)`);
  const session = currentTwsSession(ctx.sql);
  if (order.tws_session !== null && session !== null && order.tws_session !== session)
    return one("order_state", `Order ${order.order_id} was placed in an earlier TWS session (TWS has restarted since): it cannot be modified until reconciliation accounts for it`);
  const orderId = order.order_id;
  const unsettled = pendingModify(ctx.sql, ref);
  if (unsettled) return one("modify_unconfirmed", unconfirmedMessage(orderId, unsettled));

  // ---- the order at its new price: the same legs, carrying the new net
  const baseLegs = intent === "open" ? legsOf(trade) : closingLegs(heldLegs(ctx, trade, orderId));
  const known = intent === "open" ? trade.limit_price : closeLimit(ctx.sql, ref);
  const previous = known === null ? null : roundCents(known);
  const repriced = repriceLegs(baseLegs, input.limit_price, MIN_LEG_PRICE);
  if (!repriced.ok) return one("limit_price", `The limit price ${input.limit_price} cannot be sent: ${repriced.reason}`);
  const newLegs: Leg[] = repriced.legs;
  if (previous !== null && Math.abs(input.limit_price - previous) < 0.005)
    return one("limit_price", `Order ${orderId} already carries the limit price ${formatUsd(previous)}; nothing to modify`);
  const today = tradingDay(ctx.now());
  const quote = await fetchQuote(ctx, newLegs);
  // Computed with how TWS says the legs settle (the quote's contract details; shared/settlement.ts).
  const analysis = intent === "open" ? analyzeOrder(newLegs, { symbol: trade.symbol, today, settlement: settlementFor(ctx.link, newLegs, quote.quote) }) : null;

  // ---- one synchronous turn: re-read, decide, reserve, audit. No await until it is done.
  const now = ctx.now();
  const current = getTrade(ctx.sql, trade.trade_id);
  const currentOrder = getOrderByRef(ctx.sql, ref);
  if (!current || current.state !== trade.state || current.limit_price !== trade.limit_price || currentOrder?.order_id !== orderId || !MODIFIABLE.has(currentOrder.status))
    return one("order_state", `The order of ${trade.trade_id} changed while its quote was fetched (now ${currentOrder?.status ?? current?.state ?? "gone"}); look again with list_trades`);
  const inFlight = inFlightOf(ctx.sql);
  const flightKey = ref;
  const violations: Violation[] = [...linkViolations(ctx)];
  if (inFlight.has(flightKey))
    violations.push({ check: "modify_in_flight", message: `A modify of order ${orderId} is already on its way to TWS; wait for its answer (get_order_status) before walking the price again` });
  const unsettledNow = pendingModify(ctx.sql, ref);
  if (unsettledNow) violations.push({ check: "modify_unconfirmed", message: unconfirmedMessage(orderId, unsettledNow) });
  let reserve: { risk: number; exposure: number } | null = null;
  const claim = input.max_risk ?? current.claimed_max_risk;
  if (intent === "open" && shadowMode(ctx.sql, ctx.settings))
    violations.push({ check: "shadow_mode", message: "Shadow mode is on: a new price for an opening order needs a person's approval; cancel_order it and place_order again to queue it" });
  if (intent === "open" && analysis) {
    // The trade's own reservation and fingerprint are left out (it is being re-decided); the
    // order rate counts everything, this trade's earlier orders included: a modify is an order.
    const state = { ...buildAccountState(ctx.sql, ctx.settings, now, current.trade_id), ordersLastMinute: ordersLastMinute(ctx.sql, now.getTime()) };
    const checked = { symbol: current.symbol, legs: newLegs, max_risk: claim, capital_required: current.capital_required, underlying: quote.quote?.underlying ?? current.exposure_group };
    const decision = evaluateOrder(checked, analysis, state, { intent: "open", quote: quote.context });
    violations.push(...withQuoteNote(decision.violations, quote.note));
    if (decision.allowed && violations.length === 0) reserve = { risk: decision.riskUsed, exposure: decision.exposure };
    if (decision.allowed && orderGroup(checked) !== (current.exposure_group ?? orderGroup({ symbol: current.symbol }))) violations.push({ check: "underlying", message: "The broker now reports another underlying for these legs; cancel and place the order again" });
  } else {
    violations.push(...perOrderChecks({ symbol: current.symbol, legs: newLegs, max_risk: 0, capital_required: 0 }, analyzeOrder(newLegs, { symbol: current.symbol, today }), "close"));
    violations.push(...withQuoteNote(priceCollar({ legs: newLegs }, { quote: quote.context }), quote.note));
    // A walk of a close's price is a close sent again: the closes' own rate allowance, and never
    // past what the legs it closes can cost at expiry plus the tolerance (shared/close-cap.ts).
    if (actor !== "admin") {
      violations.push(...closeRateViolations(closeOrdersLastMinute(ctx.sql, now.getTime())));
      violations.push(...closeCapViolations(heldLegs(ctx, current, orderId), input.limit_price, today, settlementFor(ctx.link, heldLegs(ctx, current, orderId))));
    }
  }
  if (violations.length > 0 || (intent === "open" && !reserve)) {
    const answer = refuse(`Modify refused: ${violations.map((v) => v.message).join("; ")}`, violations, { order_id: orderId, intent, previous_limit_price: previous, ...(analysis ? figures(analysis) : {}) });
    ctx.writeLog("safety_violation", answer.output.message, { trade_id: current.trade_id, order_id: orderId, violations });
    return answer;
  }
  const before = { reserved_risk: current.reserved_risk, exposure: current.exposure };
  if (intent === "open" && reserve && analysis) {
    // Until TWS confirms, the order may fill at either price: hold the larger reservation.
    writeTradePrice(ctx, current.trade_id, { ...current, reserved_risk: Math.max(before.reserved_risk, reserve.risk), exposure: Math.max(before.exposure, reserve.exposure) });
  }
  recordOrderTime(ctx.sql, ref, now.getTime(), intent === "open" ? "modify_open" : "modify_close");
  recordAct(ctx.sql, current.trade_id, "modified", by, now);
  ctx.audit("edge", "modify_checks_passed", {
    trade_id: current.trade_id, order_id: orderId, intent, from: previous, to: input.limit_price, reserved_risk: reserve?.risk ?? null,
    exposure: reserve?.exposure ?? null, quote_mid: quote.context?.mid ?? null, by: actor,
  });
  inFlight.add(flightKey);
  // ---- end of the synchronous turn.
  // An opening order's legs carry the new price; a close is sent as the legs held, reversed by the bridge.
  const sentLegs = intent === "open" ? newLegs : heldLegs(ctx, current, orderId);

  try {
    const result = await ctx.link.request(
      "modify",
      { order_ref: ref, order_id: orderId, symbol: current.symbol, strategy: current.strategy, intent, legs: sentLegs, limit_price: input.limit_price, max_risk: reserve?.risk ?? 0, ...(analysis ? { settlement: analysis.settlement } : {}), ...(actor === "admin" && intent === "close" ? { person_approved: true as const } : {}) },
      PLACE_TIMEOUT_MS,
    );
    // The bridge answers with IBKR's price (a single leg's own, positive): read in the ledger's sign.
    const modified = ledgerLimit(sentLegs, intent, result.limit_price);
    if (intent === "open" && reserve && analysis) {
      const latest = getOrderByRef(ctx.sql, ref);
      // Filled before the modify took effect: part may have filled at the old price; keep the larger reservation.
      const untouched = (latest?.filled ?? 0) === 0 && result.status !== "Filled";
      writeTradePrice(ctx, current.trade_id, {
        reserved_risk: untouched ? reserve.risk : Math.max(before.reserved_risk, reserve.risk),
        exposure: untouched ? reserve.exposure : Math.max(before.exposure, reserve.exposure),
        computed_max_risk: analysis.worstCaseLoss, claimed_max_risk: claim, net_premium: analysis.netPremium, max_gain: analysis.worstCaseGain,
        breakevens_json: JSON.stringify(analysis.breakevens), legs_json: JSON.stringify(newLegs), limit_price: input.limit_price,
      });
    }
    if (intent === "close") setCloseLimit(ctx.sql, ref, modified);
    ctx.audit("bridge", "order_modified", { trade_id: current.trade_id, order_id: orderId, intent, from: previous, to: modified, status: result.status });
    return {
      output: {
        success: true, trade_id: current.trade_id, order_id: orderId, intent, status: result.status, previous_limit_price: previous, limit_price: modified,
        message: `Order ${orderId} (${ref}) now works at ${formatUsd(input.limit_price)} (${input.limit_price >= 0 ? "debit" : "credit"}), was ${previous === null ? "not recorded" : formatUsd(previous)}; same order id and orderRef`,
        violations: [], ...(analysis ? figures(analysis) : NO_FIGURES),
      },
      isError: false,
    };
  } catch (error) {
    const e = error instanceof BridgeError ? error : new BridgeError("internal", (error as Error).message);
    if (!(error instanceof BridgeError) || mayHaveReachedTws(e)) {
      // It may have reached TWS: the larger reservation stays until the order's fate is known.
      ctx.audit("edge", "modify_unconfirmed", { trade_id: current.trade_id, order_id: orderId, code: e.code, message: e.message });
      // Kept until TWS shows the order's price (reconcile.ts, trade-state.ts) or the order ends.
      const confirmed = intent === "open" && reserve && analysis
        ? {
            reserved_risk: reserve.risk, exposure: reserve.exposure, computed_max_risk: analysis.worstCaseLoss, claimed_max_risk: claim, net_premium: analysis.netPremium,
            max_gain: analysis.worstCaseGain, breakevens_json: JSON.stringify(analysis.breakevens), legs_json: JSON.stringify(newLegs), limit_price: input.limit_price,
          }
        : null;
      recordPendingModify(ctx.sql, {
        trade_id: current.trade_id, order_ref: ref, order_id: orderId, intent, from: previous, to: input.limit_price, since: ctx.now().toISOString(), tws_action: twsActionOf(sentLegs, intent),
        before: confirmed ? before : null, confirmed, unexpected_seen: null,
      });
      endPendingModifiesOfTrade(ctx, current.trade_id);
      return {
        output: {
          success: false, trade_id: current.trade_id, order_id: orderId, intent, status: "Unknown", previous_limit_price: previous, limit_price: null,
          message: `${e.message}. The modify may have reached TWS: the order works at ${previous === null ? "its previous price" : formatUsd(previous)} or ${formatUsd(input.limit_price)}, and the larger risk stays reserved. The edge settles it when TWS next shows the order's price (list_trades and get_order_status show pending_modify until then); another modify of this order is refused until it settles`,
          violations: [], ...(analysis ? figures(analysis) : NO_FIGURES),
        },
        isError: true,
      };
    }
    if (intent === "open") {
      const now2 = getTrade(ctx.sql, current.trade_id);
      if (now2) writeTradePrice(ctx, current.trade_id, { ...now2, reserved_risk: before.reserved_risk, exposure: before.exposure });
    }
    const refused = e.violations.length ? e.violations : [{ check: e.code, message: e.message }];
    ctx.audit("bridge", "modify_rejected", { trade_id: current.trade_id, order_id: orderId, code: e.code, message: e.message, violations: refused });
    if (e.code === "second_key_refused") ctx.writeLog("safety_violation", `Bridge refused the modify of ${ref}: ${e.message}`, { trade_id: current.trade_id, violations: refused });
    return {
      output: {
        success: false, trade_id: current.trade_id, order_id: orderId, intent, status: "Refused", previous_limit_price: previous, limit_price: null,
        message: `Modify not done: ${e.message}. The order keeps working at ${previous === null ? "its previous price" : formatUsd(previous)}`, violations: refused, ...(analysis ? figures(analysis) : NO_FIGURES),
      },
      isError: true,
    };
  } finally {
    inFlight.delete(flightKey);
  }
}
