// The one decision point: place, preview, close, cancel and approve orders. The person's
// confirmation (MCP elicitation, when their client can answer) is asked first; then the checks and
// the write that reserves the trade's risk run in ONE synchronous turn (no await between them), so
// concurrent calls cannot overshoot a limit. Only then is the bridge asked — once: the order goes
// out with its collar band and exposure group, and the bridge, quoting the legs itself just before
// sending, may only refuse (the reservation is then released). A quote is fetched before the turn
// only while the legs' underlying is not yet known to this object (edge/desk/underlyings.ts).
import { createHash } from "node:crypto";
import { closeRateViolations, collarBand, effectiveRisk, evaluateOrder, orderFingerprint, orderGroup, priceCollar, type CheckContext } from "../../shared/checks";
import { MIN_LEG_PRICE } from "../../shared/limits";
import { formatUsd } from "../../shared/money";
import type { Leg } from "../../shared/order";
import type { OpResult } from "../../shared/protocol";
import { analyzeOrder, type RiskAnalysis } from "../../shared/risk";
import { closingLegs, comboSize, netLimitPrice, repriceLegs } from "../../shared/combo-price";
import { closeCapViolations } from "../../shared/close-cap";
import { makeTradeId, tradingDay } from "../../shared/trade-id";
import type { PlaceOrderInput, PlaceOrderOutput, Violation } from "../../shared/tools";
import { suspectViolations } from "../safety/account-jumps";
import { updateTrade } from "../ledger/trade-state";
import { BridgeError } from "../link/bridge-link";
import type { DeskContext } from "../store/desk-context";
import { approvalUrl, confirmEveryOrder, createApprovalLink, LINK_TTL_MS } from "./approval-links";
import { confirmationRule, IN_CLIENT } from "./confirmation-rule";
import { adminCredential, STATIC_CREDENTIAL, type Credential } from "../ledger/credential";
import { recordAct } from "../ledger/trade-acts";
import { readBack, type AskPerson, type QuestionForClient } from "./read-back";
import {
  closeOrdersLastMinute,
  closeRef,
  forgetOrderTime,
  getOrderById,
  resolveOrderId,
  getOrderByRef,
  getTrade,
  insertTrade,
  legSharesFilled,
  legsOf,
  recordOrderTime,
  retireOrderId,
  setTradeState,
  tradeExists,
  upsertOrder,
  type OrderRow,
  type TradeRow,
} from "../store/ledger";
import { heldLegs } from "../ledger/held-legs";
import { riskBounds } from "./risk-bounds";
import { ledgerLimit, setCloseLimit } from "../ledger/pending-modify";
import { buildAccountState, shadowMode, twsHealth } from "../safety/safety-state";
import { knownUnderlying, learnFromQuote } from "./underlyings";
import { settlementFor, settlementKnown } from "./settlement-styles";

/** How long a shadow-mode order waits for an admin before its reserved risk is released. */
export const APPROVAL_TTL_MS = 15 * 60_000;

export interface ToolAnswer<T> { output: T; isError: boolean }
export type CloseOutput = { success: boolean; trade_id: string; close_order_id: number | null; status: PlaceOrderOutput["status"]; message: string; violations: Violation[] };

const hashArgs = (value: unknown): string => createHash("sha256").update(JSON.stringify(value)).digest("hex");

/**
 * Edge-side fail-closed checks: an order needs a live bridge and a connected TWS; an opening
 * order also needs account values that are not held as suspect (account-jumps.ts).
 */
export function linkViolations(ctx: DeskContext, intent: "open" | "close" = "open"): Violation[] {
  const out: Violation[] = intent === "open" ? suspectViolations(ctx.sql) : [];
  if (!ctx.link.socket()) out.push({ check: "bridge_disconnected", message: "No bridge is connected, so the order cannot reach TWS: refusing (fail closed)" });
  else {
    const tws = twsHealth(ctx.sql);
    if (tws?.state !== "connected")
      out.push({ check: "tws_not_connected", message: `TWS is ${tws?.state ?? "not reported"}${tws?.last_error ? ` (${tws.last_error})` : ""}: refusing (fail closed)` });
  }
  return out;
}

/**
 * A request that timed out, lost its link while pending, or got an answer outside the protocol may
 * have reached TWS: its order stays Unknown, risk reserved, until reconciliation settles it.
 */
export function mayHaveReachedTws(error: BridgeError): boolean {
  return error.code === "timeout" || error.code === "bridge_disconnected" || error.code === "invalid_result";
}

// ---- idempotency ---------------------------------------------------------------------------

type Replay<T> = ToolAnswer<T> | null;

function replay<T>(ctx: DeskContext, scopedKey: string | null, argsHash: string, inFlight: (tradeId: string) => T, conflict: () => T): Replay<T> {
  if (!scopedKey) return null;
  const row = ctx.sql.exec<{ args_hash: string; trade_id: string | null; answer_json: string | null }>("SELECT args_hash, trade_id, answer_json FROM idempotency WHERE key = ?", scopedKey).toArray()[0];
  if (!row) return null;
  if (row.args_hash !== argsHash) return { output: conflict(), isError: true };
  // The first answer, brought up to date: a replay says what the order is now, not what it was.
  if (row.answer_json) return refreshed(ctx, scopedKey, JSON.parse(row.answer_json) as ToolAnswer<PlaceOrderOutput | CloseOutput>) as ToolAnswer<T>;
  return { output: inFlight(row.trade_id ?? ""), isError: false };
}

/** Statuses after which an order can no longer fill. */
const ORDER_DONE = new Set(["Cancelled", "Rejected", "Inactive"]);

/**
 * A stored place_order or close_position answer (told apart by the key's scope) with the trade's
 * current status and order id from the ledger — an approval rejected or expired since, an Unknown
 * order reconciled, a fill — keeping the first decision's risk figures. A refusal reserved nothing
 * and stands as first given.
 */
function refreshed(ctx: DeskContext, scopedKey: string, answer: ToolAnswer<PlaceOrderOutput | CloseOutput>): ToolAnswer<PlaceOrderOutput | CloseOutput> {
  const first = answer.output;
  if (first.status === "Refused" || !first.trade_id) return answer;
  const trade = getTrade(ctx.sql, first.trade_id);
  if (!trade) return answer;
  const isClose = scopedKey.startsWith("close:");
  const order = getOrderByRef(ctx.sql, isClose ? closeRef(trade.trade_id) : trade.trade_id);
  let status: PlaceOrderOutput["status"] = order?.status ?? first.status;
  if (!isClose && trade.state === "pending_approval") status = first.status === "awaiting_confirmation" ? "awaiting_confirmation" : "PendingApproval";
  else if (!isClose && !order) status = trade.state === "rejected" ? "Rejected" : trade.state === "cancelled" || trade.state === "expired" ? "Cancelled" : first.status;
  const firstOrderId = "close_order_id" in first ? first.close_order_id : first.order_id;
  const orderId = order?.order_id ?? firstOrderId;
  if (status === first.status && orderId === firstOrderId) return answer;
  // Done without a position (or, for a close, without closing it): the request did not succeed.
  const success = !ORDER_DONE.has(status) || (isClose ? trade.state === "closed" : ["open", "closing", "closed"].includes(trade.state));
  const why = order?.reason ? ` (${order.reason})` : trade.state === "expired" ? " (the approval expired)" : "";
  const message = `Replay of this idempotency_key: the ${isClose ? "close " : ""}order is now ${status}${why} and trade ${trade.trade_id} is ${trade.state}. First answer: ${first.message}`;
  const output = "close_order_id" in first ? { ...first, status, close_order_id: orderId, success, message } : { ...first, status, order_id: orderId, success, message };
  return { output, isError: !success };
}

function claimKey(ctx: DeskContext, scopedKey: string | null, argsHash: string, tradeId: string | null): void {
  if (scopedKey) ctx.sql.exec("INSERT OR IGNORE INTO idempotency (key, args_hash, trade_id, at) VALUES (?, ?, ?, ?)", scopedKey, argsHash, tradeId, ctx.now().toISOString());
}

function storeAnswer<T>(ctx: DeskContext, scopedKey: string | null, argsHash: string, tradeId: string | null, answer: ToolAnswer<T>): ToolAnswer<T> {
  if (scopedKey)
    ctx.sql.exec(
      "INSERT INTO idempotency (key, args_hash, trade_id, answer_json, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET answer_json = excluded.answer_json",
      scopedKey, argsHash, tradeId, JSON.stringify(answer), ctx.now().toISOString(),
    );
  return answer;
}

// ---- quotes ----------------------------------------------------------------------------------

export interface FetchedQuote { context: CheckContext["quote"]; note: string | null; quote: OpResult<"quote"> | null }

/** A quote fetched BEFORE the synchronous check (never inside it). Failure leaves it null (refused). */
export async function fetchQuote(ctx: DeskContext, legs: readonly Leg[]): Promise<FetchedQuote> {
  if (!ctx.link.socket()) return { context: null, note: "no bridge connected", quote: null };
  try {
    const quote = await ctx.link.request("quote", { legs: legs.map((l) => ({ ...l })) });
    return quoteContext(ctx, legs, quote);
  } catch (error) {
    return { context: null, note: (error as Error).message, quote: null };
  }
}

/** A quote as the checks read it (mid and age), remembering the underlying and its price it reports. */
function quoteContext(ctx: DeskContext, legs: readonly Leg[], quote: OpResult<"quote">): FetchedQuote {
  learnFromQuote(ctx, legs, quote);
  const asOf = Date.parse(quote.as_of);
  const ageMs = Number.isFinite(asOf) ? Math.max(0, ctx.now().getTime() - asOf) : Number.POSITIVE_INFINITY;
  return { context: { mid: quote.mid, ageMs }, note: quote.mid === null ? `quote ${quote.data_type}${quote.reason ? `: ${quote.reason}` : ""}` : null, quote };
}

export function withQuoteNote(violations: Violation[], note: string | null): Violation[] {
  if (!note) return violations;
  return violations.map((v) => (v.check === "market_data" ? { ...v, message: `${v.message} (${note})` } : v));
}

// ---- place_order -----------------------------------------------------------------------------

function summary(analysis: RiskAnalysis) {
  return { computed_max_risk: analysis.worstCaseLoss, max_gain: analysis.worstCaseGain, breakevens: analysis.breakevens, net_premium: analysis.netPremium };
}

function refusal(analysis: RiskAnalysis, violations: Violation[], tradeId: string | null = null, status: PlaceOrderOutput["status"] = "Refused"): ToolAnswer<PlaceOrderOutput> {
  const message = `Order refused: ${violations.map((v) => v.message).join("; ")}`;
  return { output: { success: false, trade_id: tradeId, order_id: null, status, message, violations, ...summary(analysis) }, isError: true };
}

function uniqueTradeId(ctx: DeskContext, strategy: string, symbol: string, at: Date): string {
  let id = makeTradeId(strategy, symbol, at);
  for (let n = 2; tradeExists(ctx.sql, id); n++) id = makeTradeId(strategy, symbol, at, n);
  return id;
}

/** A replayed refusal (or a key reused for other arguments) is a refusal too: audit it with its reason. */
function replayDetails(idempotencyKey: string | undefined, answer: ToolAnswer<PlaceOrderOutput>) {
  return {
    tool: "place_order", idempotency_key: idempotencyKey, trade_id: answer.output.trade_id,
    ...(answer.isError ? { refused: true, status: answer.output.status, message: answer.output.message, violations: answer.output.violations } : {}),
  };
}

/**
 * Places an order. `askPerson` is set when the caller's MCP client can elicit (a 2025-11-25
 * session, or a 2026-07-28 call declaring it). Who confirms is edge/desk/confirmation-rule.ts's to say:
 * with "confirm every order" on, the order passes the checks, reserves its risk and waits for a
 * person behind a one-time link on `edgeOrigin` (or in the dashboard), whatever the client;
 * otherwise a client that can elicit is asked first (before the quote fetch and the synchronous
 * check, never inside it) and its answer is audited as the client's. A 2026-07-28 call that does
 * not yet carry the answer gets the question back instead of a result, and nothing is reserved.
 */
export async function placeOrder(ctx: DeskContext, input: PlaceOrderInput, askPerson?: AskPerson, edgeOrigin = "", by: Credential = STATIC_CREDENTIAL): Promise<ToolAnswer<PlaceOrderOutput> | QuestionForClient> {
  const { idempotency_key, ...order } = input;
  const key = idempotency_key ? `place:${idempotency_key}` : null;
  const argsHash = hashArgs(order);
  const today = tradingDay(ctx.now());
  let analysis = analyzeOrder(input.legs, { symbol: input.symbol, today, settlement: settlementFor(ctx.link, input.legs) });
  const inFlight = (tradeId: string): PlaceOrderOutput => ({
    success: true, trade_id: tradeId, order_id: null, status: "PendingSubmit", violations: [], ...summary(analysis),
    message: "The first request with this idempotency_key is still being sent; check list_trades or ask again shortly",
  });
  const conflict = (): PlaceOrderOutput => ({
    success: false, trade_id: null, order_id: null, status: "Refused", ...summary(analysis),
    message: "This idempotency_key was already used for a different order; use a new key for a new order",
    violations: [{ check: "idempotency_key", message: "idempotency_key reused with different arguments" }],
  });

  ctx.audit("agent", "tool_call", { tool: "place_order", arguments: input, credential: by });
  const early = replay(ctx, key, argsHash, inFlight, conflict);
  if (early) {
    ctx.audit("edge", "idempotent_replay", replayDetails(idempotency_key, early));
    return early;
  }

  // How the legs settle decides the figure (shared/settlement.ts). Not yet known to this object, a
  // quote asks TWS (its contract details) first, so the figure read back and checked is the real one.
  let styleQuote: FetchedQuote | null = null;
  if (!settlementKnown(ctx.link, input.legs) && ctx.link.socket()) {
    styleQuote = await fetchQuote(ctx, input.legs);
    analysis = analyzeOrder(input.legs, { symbol: input.symbol, today, settlement: settlementFor(ctx.link, input.legs, styleQuote.quote) });
  }

  // Only an order whose risk is computable is read back: any other is refused by the checks below.
  const ask = confirmationRule({ confirmEveryOrder: confirmEveryOrder(ctx.sql), clientCanElicit: askPerson !== undefined });
  if (askPerson && ask.askInClient && analysis.errors.length === 0 && analysis.worstCaseLoss !== null) {
    const message = readBack(input, analysis);
    const person = await askPerson(message, () => ctx.audit("edge", "confirmation_requested", { symbol: input.symbol, strategy: input.strategy, idempotency_key, computed_max_risk: analysis.worstCaseLoss }));
    // A 2026-07-28 client: the question is this call's answer; nothing was reserved or stored.
    if (person.confirmed === "ask") return { question: message };
    if (!person.confirmed) {
      // A twin call with the same key may have been answered meanwhile: its answer stands.
      const settled = replay(ctx, key, argsHash, inFlight, conflict);
      if (settled) {
        ctx.audit("edge", "idempotent_replay", replayDetails(idempotency_key, settled));
        return settled;
      }
      const answer = refusal(analysis, [person.violation]);
      ctx.audit(IN_CLIENT.actor, person.outcome === "unreachable" ? IN_CLIENT.unanswered : IN_CLIENT.declined, {
        symbol: input.symbol, strategy: input.strategy, idempotency_key, outcome: person.outcome, violations: [person.violation],
      });
      return storeAnswer(ctx, key, argsHash, null, answer);
    }
    ctx.audit(IN_CLIENT.actor, IN_CLIENT.confirmed, { symbol: input.symbol, strategy: input.strategy, idempotency_key, note: IN_CLIENT.note });
  }

  // The underlying known and a bridge linked: no quote now, the bridge collars with its own (one
  // trip in all). Otherwise as before: quote first (with no bridge that is a market_data refusal).
  // A quote taken for the settlement styles serves, unless a person's answer was waited for since.
  const underlying = knownUnderlying(ctx.link, input.legs);
  const quote = styleQuote && !askPerson ? styleQuote : underlying === undefined || !ctx.link.socket() ? await fetchQuote(ctx, input.legs) : null;

  // ---- one synchronous turn: re-read state, decide, reserve, audit. No await until it is done.
  const again = replay(ctx, key, argsHash, inFlight, conflict);
  if (again) {
    ctx.audit("edge", "idempotent_replay", replayDetails(idempotency_key, again));
    return again;
  }
  const now = ctx.now();
  const state = buildAccountState(ctx.sql, ctx.settings, now);
  const checked = { ...order, underlying: quote ? quote.quote?.underlying ?? null : underlying };
  const decision = evaluateOrder(checked, analysis, state, quote ? { intent: "open", quote: quote.context } : { intent: "open", collar: "bridge" });
  const violations = [...linkViolations(ctx), ...withQuoteNote(decision.violations, quote?.note ?? null)];
  if (violations.length > 0 || !decision.allowed) {
    const answer = refusal(analysis, violations);
    ctx.audit("edge", "order_refused", { symbol: input.symbol, strategy: input.strategy, violations, risk: decision.riskUsed, quote_mid: quote?.context?.mid ?? null });
    ctx.writeLog("safety_violation", answer.output.message, { symbol: input.symbol, strategy: input.strategy, violations });
    return storeAnswer(ctx, key, argsHash, null, answer);
  }
  const shadow = shadowMode(ctx.sql, ctx.settings);
  // Read again in this turn: an order placed after the setting went on (even while its client was
  // answering) never goes out without a person.
  const awaitPerson = confirmationRule({ confirmEveryOrder: confirmEveryOrder(ctx.sql), clientCanElicit: askPerson !== undefined }).awaitPerson;
  const tradeId = uniqueTradeId(ctx, input.strategy, input.symbol, now);
  const limitPrice = netLimitPrice(input.legs);
  const waitMs = awaitPerson ? LINK_TTL_MS : APPROVAL_TTL_MS;
  insertTrade(ctx.sql, {
    trade_id: tradeId, symbol: input.symbol, strategy: input.strategy, state: shadow || awaitPerson ? "pending_approval" : "submitting",
    reserved_risk: decision.riskUsed, exposure: decision.exposure, exposure_group: orderGroup(checked), computed_max_risk: analysis.worstCaseLoss, claimed_max_risk: input.max_risk,
    capital_required: input.capital_required, net_premium: analysis.netPremium, max_gain: analysis.worstCaseGain,
    breakevens_json: JSON.stringify(analysis.breakevens), legs_json: JSON.stringify(input.legs), limit_price: limitPrice,
    fingerprint: orderFingerprint(order), metadata_json: input.metadata ? JSON.stringify(input.metadata) : null,
    idempotency_key: idempotency_key ?? null, created_at: now.toISOString(), created_ms: now.getTime(), updated_at: now.toISOString(),
    expires_at: shadow || awaitPerson ? new Date(now.getTime() + waitMs).toISOString() : null,
  });
  recordOrderTime(ctx.sql, tradeId, now.getTime());
  recordAct(ctx.sql, tradeId, "placed", by, now);
  claimKey(ctx, key, argsHash, tradeId);
  ctx.audit("edge", "order_checks_passed", {
    trade_id: tradeId, symbol: input.symbol, strategy: input.strategy, legs: input.legs, reserved_risk: decision.riskUsed,
    exposure: decision.exposure, limit_price: limitPrice, quote_mid: quote?.context?.mid ?? null, collar: quote ? "edge" : "bridge", shadow_mode: shadow, awaiting_confirmation: awaitPerson,
  });
  if (awaitPerson) {
    const link = createApprovalLink(ctx, tradeId, now.getTime());
    const waiting = `Order passed every check and waits for your person to confirm it: "confirm every order" is on, so a person approves each order by its one-time link or in the dashboard, whatever the client.`;
    const output: PlaceOrderOutput = {
      success: true, trade_id: tradeId, order_id: null, status: "awaiting_confirmation", violations: [], ...summary(analysis),
      message: `${waiting} Give them the confirmation_url (it needs the dashboard login, works once, expires ${link.expiresAt}); approving re-runs every check with a fresh quote and sends the order. Follow it with list_trades or get_order_status.`,
    };
    // The stored answer (for an idempotent replay) keeps no link: it is a one-time secret.
    storeAnswer(ctx, key, argsHash, tradeId, { output: { ...output, message: `${waiting} The one-time link was given in the first answer; the order also waits in the dashboard's approval list.` }, isError: false });
    return { output: { ...output, confirmation_url: approvalUrl(edgeOrigin, link.token), confirmation_expires_at: link.expiresAt }, isError: false };
  }
  if (shadow) {
    const answer: ToolAnswer<PlaceOrderOutput> = {
      output: {
        success: true, trade_id: tradeId, order_id: null, status: "PendingApproval", violations: [], ...summary(analysis),
        message: `Order passed every check and waits for a person's approval (shadow mode) until ${new Date(now.getTime() + APPROVAL_TTL_MS).toISOString()}; follow it with list_trades`,
      },
      isError: false,
    };
    return storeAnswer(ctx, key, argsHash, tradeId, answer);
  }
  upsertOrder(ctx.sql, { order_ref: tradeId, trade_id: tradeId, intent: "open", status: "PendingSubmit" }, now);
  // ---- end of the synchronous turn.

  const answer = await sendOpen(ctx, getTrade(ctx.sql, tradeId)!, analysis);
  return storeAnswer(ctx, key, argsHash, tradeId, answer);
}

/** The checks the bridge runs on its own fresh quote for the edge (shared/checks.ts collarAtBridge). */
const MARKET_CHECKS = new Set(["price_collar", "market_data", "exposure_group"]);

/** Sends an approved, reserved trade to the bridge and records what came back. */
export async function sendOpen(ctx: DeskContext, trade: TradeRow, analysis: RiskAnalysis): Promise<ToolAnswer<PlaceOrderOutput>> {
  const legs = legsOf(trade);
  // The bridge's market checks (its own fresh quote inside this band; the broker's underlying in
  // this group) can only refuse: the decision above already reserved under them.
  const band = collarBand(legs);
  try {
    const result = await ctx.link.request("place", {
      trade_id: trade.trade_id, symbol: trade.symbol, strategy: trade.strategy, legs, max_risk: trade.reserved_risk,
      order_type: "LMT", limit_price: trade.limit_price, intent: "open",
      ...(band ? { collar: band } : {}), ...(trade.exposure_group ? { exposure_group: trade.exposure_group } : {}),
      settlement: analysis.settlement,
    });
    const existing = getOrderByRef(ctx.sql, trade.trade_id);
    // Status events may have overtaken the answer; never move an order's status backwards.
    const status = existing && existing.status !== "PendingSubmit" && existing.status !== "Unknown" ? existing.status : result.status;
    upsertOrder(ctx.sql, { ...(existing ?? {}), order_ref: trade.trade_id, trade_id: trade.trade_id, intent: "open", order_id: result.order_id, perm_id: result.perm_id, tws_session: result.tws_session ?? null, status }, ctx.now());
    const current = getTrade(ctx.sql, trade.trade_id)!;
    if (current.state === "submitting" || current.state === "unknown") setTradeState(ctx.sql, trade.trade_id, "working", ctx.now());
    ctx.audit("bridge", "order_sent", { trade_id: trade.trade_id, order_id: result.order_id, perm_id: result.perm_id, status, limit_price: result.limit_price });
    return {
      output: {
        success: true, trade_id: trade.trade_id, order_id: result.order_id, status, violations: [], ...summary(analysis),
        message: `Order ${result.order_id} sent to TWS as one ${legs.length > 1 ? "combo " : ""}limit order at ${formatUsd(trade.limit_price)} (${trade.limit_price >= 0 ? "debit" : "credit"})`,
      },
      isError: false,
    };
  } catch (error) {
    // An error that is not the bridge's answer (a storage write failing after the ack, a bug) says
    // nothing about TWS: the order may be working there, so it is Unknown, never Rejected.
    const e = error instanceof BridgeError ? error : new BridgeError("internal", (error as Error).message);
    if (!(error instanceof BridgeError) || mayHaveReachedTws(e)) {
      // It may have reached TWS: keep the risk reserved and let reconciliation settle it.
      upsertOrder(ctx.sql, { order_ref: trade.trade_id, trade_id: trade.trade_id, intent: "open", status: "Unknown", reason: e.message }, ctx.now());
      if (getTrade(ctx.sql, trade.trade_id)?.state === "submitting") setTradeState(ctx.sql, trade.trade_id, "unknown", ctx.now());
      ctx.audit("edge", "order_unconfirmed", { trade_id: trade.trade_id, code: e.code, message: e.message });
      return {
        output: {
          success: false, trade_id: trade.trade_id, order_id: null, status: "Unknown", violations: [], ...summary(analysis),
          message: `${e.message}. The order may have reached TWS: its risk stays reserved and the ledger is reconciled with TWS when the bridge reconnects. Do not resend; check list_trades`,
        },
        isError: true,
      };
    }
    const violations = e.violations.length ? e.violations : [{ check: e.code, message: e.message }];
    upsertOrder(ctx.sql, { order_ref: trade.trade_id, trade_id: trade.trade_id, intent: "open", status: "Rejected", reason: e.message }, ctx.now());
    // Rejected: its reserved risk no longer counts. Refused on the market (the checks the edge
    // left to the bridge), nothing was sent, so its rate slot is given back too.
    setTradeState(ctx.sql, trade.trade_id, "rejected", ctx.now());
    const onMarket = e.code === "second_key_refused" && violations.some((v) => MARKET_CHECKS.has(v.check));
    if (onMarket) forgetOrderTime(ctx.sql, trade.trade_id);
    ctx.audit("bridge", "order_rejected", { trade_id: trade.trade_id, code: e.code, message: e.message, violations, released_risk: trade.reserved_risk, ...(onMarket ? { rate_slot_released: true } : {}) });
    if (e.code === "second_key_refused") ctx.writeLog("safety_violation", `Bridge refused ${trade.trade_id}: ${e.message}`, { trade_id: trade.trade_id, violations });
    return refusal(analysis, violations, trade.trade_id, e.code === "second_key_refused" ? "Refused" : "Rejected");
  }
}

// ---- preview_order ---------------------------------------------------------------------------

export async function previewOrder(ctx: DeskContext, input: PlaceOrderInput) {
  const { idempotency_key: _ignored, ...order } = input;
  const today = tradingDay(ctx.now());
  let analysis = analyzeOrder(input.legs, { symbol: input.symbol, today, settlement: settlementFor(ctx.link, input.legs) });
  const net = netLimitPrice(input.legs);
  const limitPrice = Number.isFinite(net) ? net : null;
  // One trip: the quote for the checks and IBKR's what-if together (or the quote alone when no
  // what-if can be sent); the checks then run on the answer, as place_order's would.
  let quote: FetchedQuote;
  let margin: OpResult<"preview"> | null = null;
  let marginError: string | null = null;
  if (analysis.errors.length === 0 && limitPrice !== null && ctx.link.socket()) {
    try {
      const both = await ctx.link.request("preview_with_quote", {
        trade_id: `PREVIEW_${input.symbol}`, symbol: input.symbol, strategy: input.strategy, legs: input.legs,
        max_risk: effectiveRisk(order, analysis) ?? input.max_risk, order_type: "LMT", limit_price: limitPrice, intent: "open",
      });
      quote = both.quote ? quoteContext(ctx, input.legs, both.quote) : { context: null, note: both.quote_error ?? "no quote", quote: null };
      margin = both.margin;
      marginError = both.margin_error;
    } catch (error) {
      quote = { context: null, note: (error as Error).message, quote: null };
      marginError = (error as Error).message;
    }
  } else {
    quote = await fetchQuote(ctx, input.legs);
    marginError = analysis.errors.length || limitPrice === null ? "legs are invalid or have no price IBKR would bind, no what-if sent" : "no bridge connected";
  }
  // The quote reports how each leg settles (TWS's contract details): the figure is computed with that.
  analysis = analyzeOrder(input.legs, { symbol: input.symbol, today, settlement: settlementFor(ctx.link, input.legs, quote.quote) });
  const state = buildAccountState(ctx.sql, ctx.settings, ctx.now());
  const decision = evaluateOrder({ ...order, underlying: quote.quote?.underlying ?? null }, analysis, state, { intent: "open", quote: quote.context });
  const violations = [...linkViolations(ctx), ...withQuoteNote(decision.violations, quote.note)];
  const output = {
    would_pass: violations.length === 0, violations, effective_risk: decision.riskUsed, exposure: decision.exposure, limit_price: limitPrice,
    quote: quote.quote, ...summary(analysis), risk_method: analysis.method, risk_bounds: riskBounds(input.legs, analysis), margin, margin_error: marginError,
    shadow_mode: shadowMode(ctx.sql, ctx.settings),
  };
  return output;
}

// ---- close_position --------------------------------------------------------------------------

export async function closePosition(ctx: DeskContext, input: { trade_id: string; limit_price?: number | undefined; idempotency_key?: string | undefined }, actor = "agent", by: Credential = actor === "agent" ? STATIC_CREDENTIAL : adminCredential(actor)): Promise<ToolAnswer<CloseOutput>> {
  const key = input.idempotency_key ? `close:${input.idempotency_key}` : null;
  const argsHash = hashArgs(input.limit_price === undefined ? { trade_id: input.trade_id } : { trade_id: input.trade_id, limit_price: input.limit_price });
  const fail = (message: string, check: string): ToolAnswer<CloseOutput> => ({
    output: { success: false, trade_id: input.trade_id, close_order_id: null, status: "Refused", message, violations: [{ check, message }] },
    isError: true,
  });
  const inFlight = (): CloseOutput => ({ success: true, trade_id: input.trade_id, close_order_id: null, status: "PendingSubmit", message: "The first close request with this key is still being sent", violations: [] });
  ctx.audit(actor, "tool_call", { tool: "close_position", arguments: input, credential: by });
  // Every refused close is audited with its reason, like a refused order.
  const refuse = (answer: ToolAnswer<CloseOutput>): ToolAnswer<CloseOutput> => {
    ctx.audit("edge", "close_refused", { trade_id: input.trade_id, violations: answer.output.violations });
    return answer;
  };
  const prior = replay(ctx, key, argsHash, inFlight, () => fail("This idempotency_key was already used for a different trade", "idempotency_key").output);
  if (prior) {
    ctx.audit("edge", "idempotent_replay", { tool: "close_position", idempotency_key: input.idempotency_key, trade_id: input.trade_id, ...(prior.isError ? { refused: true, violations: prior.output.violations } : {}) });
    return prior;
  }

  // Fills outweigh a status that raced or lagged them: bring the trade up to its evidence first,
  // so a real position is closable.
  updateTrade(ctx, input.trade_id);
  // A partly filled opening order still working: its rest is cancelled first, then what filled
  // (or, if the rest filled in the race, all of it) is closed.
  const stopped = await cancelRestOfOpening(ctx, input.trade_id, actor);
  if (stopped) return refuse(fail(`Trade ${input.trade_id} cannot be closed yet: ${stopped}`, "opening_order_working"));
  // A close at the agent's limit: its legs carry that price, and the collar needs a quote fetched
  // before the synchronous turn (a close without a limit goes at the natural, marketable price).
  let limited: { legs: Leg[]; quote: FetchedQuote } | null = null;
  if (input.limit_price !== undefined) {
    const before = getTrade(ctx.sql, input.trade_id);
    if (before?.state === "open") {
      const repriced = repriceLegs(closingLegs(heldLegs(ctx, before)), input.limit_price, MIN_LEG_PRICE);
      if (!repriced.ok) return refuse(fail(`Close refused: the limit price ${input.limit_price} cannot be sent: ${repriced.reason}`, "limit_price"));
      limited = { legs: repriced.legs, quote: await fetchQuote(ctx, repriced.legs) };
    }
  }

  // Synchronous: decide and mark the trade closing before any await, on the latest evidence.
  updateTrade(ctx, input.trade_id);
  const trade = getTrade(ctx.sql, input.trade_id);
  if (!trade) return storeAnswer(ctx, key, argsHash, null, refuse(fail(`No trade ${input.trade_id} in this account's ledger`, "unknown_trade")));
  // A close TWS lost (restarted without it; reconciliation found it nowhere) is sent again: the
  // position is still held and nothing works to close it. The bridge's reduce-only check still
  // counts every order TWS does hold, so a close that did survive cannot be doubled.
  const lostClose = trade.state === "closing" ? closeLostAtTws(ctx, trade.trade_id) : null;
  if (trade.state !== "open" && !lostClose) {
    const why: Record<string, string> = {
      closing: "a close order for it is already working",
      working: (getOrderByRef(ctx.sql, input.trade_id)?.filled ?? 0) > 0
        ? "its opening order is partly filled and still working (the rest changed while this close was being prepared); try again"
        : "its opening order has not filled yet; cancel it with cancel_order instead",
      pending_approval: "it still waits for approval; cancel it with cancel_order instead",
      submitting: "its opening order is still being sent",
      unknown: "its opening order is unconfirmed until the bridge reconciles",
    };
    return refuse(fail(`Trade ${trade.trade_id} cannot be closed: ${why[trade.state] ?? `it is ${trade.state}`}`, "trade_state"));
  }
  if (heldLegs(ctx, trade).length === 0)
    return refuse(fail(`Trade ${trade.trade_id} holds nothing to close: its legs were closed or settled by TWS (exercised, assigned or lapsed); stock an assignment left is a position of its own (get_positions)`, "nothing_held"));
  const now = ctx.now();
  const linkProblems = linkViolations(ctx, "close");
  if (input.limit_price !== undefined) {
    if (!limited) return refuse(fail(`Trade ${trade.trade_id} changed while its quote was fetched; try again`, "trade_state"));
    linkProblems.push(...withQuoteNote(priceCollar({ legs: limited.legs }, { quote: limited.quote.context }), limited.quote.note));
  }
  // The closes' own rate allowance; a person's kill-switch close is counted below but never refused.
  if (actor !== "admin") linkProblems.push(...closeRateViolations(closeOrdersLastMinute(ctx.sql, now.getTime())));
  // A limit that would pay more than the held legs can cost at expiry (plus the tolerance) needs a
  // person; without a limit the bridge caps the natural price it reads (shared/close-cap.ts).
  if (actor !== "admin" && input.limit_price !== undefined) linkProblems.push(...closeCapViolations(heldLegs(ctx, trade), input.limit_price, tradingDay(now), settlementFor(ctx.link, heldLegs(ctx, trade))));
  if (linkProblems.length)
    return refuse({ output: { success: false, trade_id: trade.trade_id, close_order_id: null, status: "Refused", message: `Close refused: ${linkProblems.map((v) => v.message).join("; ")}`, violations: linkProblems }, isError: true });
  const ref = closeRef(trade.trade_id);
  // Sized before the new close's row replaces the earlier one, whose filled count it reads.
  const closeLegs = heldLegs(ctx, trade);
  const earlier = getOrderByRef(ctx.sql, ref);
  if (earlier) retireOrderId(ctx.sql, earlier); // an earlier close ended short of the position, or TWS lost it
  if (lostClose) ctx.audit("edge", "close_resent_after_loss", { trade_id: trade.trade_id, lost_order_id: lostClose.order_id, unaccounted_since: lostClose.unaccounted_at, by: actor });
  setTradeState(ctx.sql, trade.trade_id, "closing", now);
  upsertOrder(ctx.sql, { order_ref: ref, trade_id: trade.trade_id, intent: "close", status: "PendingSubmit" }, now);
  recordOrderTime(ctx.sql, ref, now.getTime(), "close");
  recordAct(ctx.sql, trade.trade_id, "closed", by, now);
  claimKey(ctx, key, argsHash, trade.trade_id);
  ctx.audit("edge", "close_approved", { trade_id: trade.trade_id, close_trade_id: ref, by: actor, ...(input.limit_price !== undefined ? { limit_price: input.limit_price, quote_mid: limited?.quote.context?.mid ?? null } : {}) });

  let answer: ToolAnswer<CloseOutput>;
  try {
    const result = await ctx.link.request("close", {
      trade_id: trade.trade_id, close_trade_id: ref, legs: closeLegs, symbol: trade.symbol, ...(input.limit_price !== undefined ? { limit_price: input.limit_price } : {}),
      ...(actor === "admin" ? { person_approved: true as const } : {}),
    });
    const existing = getOrderByRef(ctx.sql, ref);
    const status = existing && existing.status !== "PendingSubmit" && existing.status !== "Unknown" ? existing.status : result.status;
    upsertOrder(ctx.sql, { ...(existing ?? {}), order_ref: ref, trade_id: trade.trade_id, intent: "close", order_id: result.order_id, perm_id: result.perm_id, tws_session: result.tws_session ?? null, status }, ctx.now());
    ctx.audit("bridge", "close_sent", { trade_id: trade.trade_id, order_id: result.order_id, status, limit_price: result.limit_price });
    // IBKR's price (a single leg's own, positive) in the ledger's sign, as modify_order reads it.
    setCloseLimit(ctx.sql, ref, ledgerLimit(closeLegs, "close", result.limit_price));
    answer = { output: { success: true, trade_id: trade.trade_id, close_order_id: result.order_id, status, message: `Close order ${result.order_id} sent (${ref})`, violations: [] }, isError: false };
  } catch (error) {
    const e = error instanceof BridgeError ? error : new BridgeError("internal", (error as Error).message);
    if (!(error instanceof BridgeError) || mayHaveReachedTws(e)) {
      upsertOrder(ctx.sql, { order_ref: ref, trade_id: trade.trade_id, intent: "close", status: "Unknown", reason: e.message }, ctx.now());
      ctx.audit("edge", "close_unconfirmed", { trade_id: trade.trade_id, code: e.code, message: e.message });
      answer = { output: { success: false, trade_id: trade.trade_id, close_order_id: null, status: "Unknown", message: `${e.message}. The close may have reached TWS; reconciliation settles it. Do not resend`, violations: [] }, isError: true };
    } else {
      upsertOrder(ctx.sql, { order_ref: ref, trade_id: trade.trade_id, intent: "close", status: "Rejected", reason: e.message }, ctx.now());
      if (getTrade(ctx.sql, trade.trade_id)?.state === "closing") setTradeState(ctx.sql, trade.trade_id, "open", ctx.now());
      ctx.audit("bridge", "close_rejected", { trade_id: trade.trade_id, code: e.code, message: e.message });
      answer = { output: { success: false, trade_id: trade.trade_id, close_order_id: null, status: "Rejected", message: `Close rejected: ${e.message}`, violations: e.violations.length ? e.violations : [{ check: e.code, message: e.message }] }, isError: true };
    }
  }
  return storeAnswer(ctx, key, argsHash, trade.trade_id, answer);
}

/**
 * The trade's legs sized to what is held: a partly filled and then cancelled opening order holds
 * fewer combo units than its legs say; close exactly what is held, never more (an over-sized
 * close would open the opposite side).
 */
/** How long close_position waits for TWS to confirm the cancel of a partly filled opening order's rest. */
export const CANCEL_REST_WAIT_MS = 8_000;

/**
 * For a trade whose opening order is partly filled and still working: asks TWS to cancel the
 * rest and waits until the order has ended (Cancelled, or Filled if the rest filled first).
 * Null when there is nothing to stop or it stopped; otherwise why the close cannot go yet.
 */
async function cancelRestOfOpening(ctx: DeskContext, tradeId: string, actor: string): Promise<string | null> {
  const trade = getTrade(ctx.sql, tradeId);
  const open = getOrderByRef(ctx.sql, tradeId);
  if (trade?.state !== "working" || !open || open.filled <= 0 || open.order_id === null) return null;
  const ended = () => ["Filled", "Cancelled", "Rejected", "Inactive"].includes(getOrderByRef(ctx.sql, tradeId)?.status ?? "");
  if (!ended()) {
    ctx.audit("edge", "close_cancels_rest", { trade_id: tradeId, order_id: open.order_id, filled: open.filled, remaining: open.remaining, by: actor });
    try {
      await ctx.link.request("cancel", { order_id: open.order_id });
    } catch (error) {
      return `its opening order is partly filled (${open.filled} of ${open.filled + open.remaining}) and still working, and cancelling the rest failed: ${(error as Error).message}`;
    }
    // The order's status arrives as a bridge event, applied in another turn while this one waits.
    const deadline = Date.now() + CANCEL_REST_WAIT_MS;
    while (!ended() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (!ended())
      return `its opening order is partly filled (${open.filled} of ${open.filled + open.remaining}); the cancel of the rest was sent but TWS has not confirmed it within ${CANCEL_REST_WAIT_MS / 1000} s — call close_position again once get_order_status shows it Cancelled`;
  }
  updateTrade(ctx, tradeId);
  return null;
}

// ---- cancel_order ----------------------------------------------------------------------------

export async function cancelOrder(ctx: DeskContext, input: { order_id?: number | undefined; trade_id?: string | undefined }, actor = "agent", by: Credential = actor === "agent" ? STATIC_CREDENTIAL : adminCredential(actor)) {
  ctx.audit(actor, "tool_call", { tool: "cancel_order", arguments: input, credential: by });
  const lookup = input.order_id !== undefined ? resolveOrderId(ctx.sql, input.order_id) : null;
  if (lookup && !lookup.order && lookup.ambiguous.length > 0)
    return { ok: false as const, message: `Order id ${input.order_id} is ambiguous (held by trades ${lookup.ambiguous.map((o) => o.trade_id).join(", ")} in different TWS sessions): cancel by trade_id` };
  const order = lookup?.order ?? null;
  const tradeId = input.trade_id ?? order?.trade_id ?? null;
  const trade = tradeId ? getTrade(ctx.sql, tradeId) : null;
  if (!trade && !order) return { ok: false as const, message: `No order ${input.order_id ?? input.trade_id} in this account's ledger` };
  if (trade?.state === "pending_approval") {
    setTradeState(ctx.sql, trade.trade_id, "cancelled", ctx.now());
    recordAct(ctx.sql, trade.trade_id, "cancelled", by, ctx.now());
    ctx.audit(actor, "approval_cancelled", { trade_id: trade.trade_id });
    return { ok: true as const, trade_id: trade.trade_id, order_id: null, status: "Cancelled" as const, message: "The order was waiting for approval and is withdrawn; its reserved risk is released" };
  }
  const target = order ?? (trade ? (trade.state === "closing" ? getOrderByRef(ctx.sql, closeRef(trade.trade_id)) : getOrderByRef(ctx.sql, trade.trade_id)) : null);
  if (!target || target.order_id === null) return { ok: false as const, message: "The order has no IBKR order id yet (not acknowledged by TWS), so it cannot be cancelled yet" };
  if (["Filled", "Cancelled", "Rejected", "Inactive"].includes(target.status)) return { ok: false as const, message: `Order ${target.order_id} is already ${target.status}` };
  try {
    const result = await ctx.link.request("cancel", { order_id: target.order_id });
    recordAct(ctx.sql, target.trade_id, "cancelled", by, ctx.now());
    ctx.audit("bridge", "cancel_requested", { trade_id: target.trade_id, order_id: target.order_id, status: result.status, by: actor });
    return { ok: true as const, trade_id: target.trade_id, order_id: target.order_id, status: result.status, message: `Cancel of order ${target.order_id} requested; its status follows in get_order_status` };
  } catch (error) {
    ctx.audit("edge", "cancel_failed", { order_id: target.order_id, message: (error as Error).message });
    return { ok: false as const, message: `Cancel failed: ${(error as Error).message}` };
  }
}

// ---- shadow-mode approvals -------------------------------------------------------------------

/** Releases the risk of approvals nobody answered in time. */
export function expireApprovals(ctx: DeskContext): void {
  const nowIso = ctx.now().toISOString();
  // Runs before every request: only the approvals already due are read (one indexed lookup when none is).
  const due = ctx.sql.exec<{ trade_id: string; expires_at: string; reserved_risk: number }>(
    "SELECT trade_id, expires_at, reserved_risk FROM trades WHERE state = 'pending_approval' AND expires_at <= ? ORDER BY created_ms DESC, trade_id DESC LIMIT 1000", nowIso,
  ).toArray();
  for (const t of due) {
    setTradeState(ctx.sql, t.trade_id, "expired", ctx.now());
    ctx.audit("system", "approval_expired", { trade_id: t.trade_id, expires_at: t.expires_at, released_risk: t.reserved_risk });
  }
}

export async function decideApproval(ctx: DeskContext, tradeId: string, decision: "approve" | "reject", by: string, reason: string): Promise<{ status: number; body: unknown }> {
  expireApprovals(ctx);
  const trade = getTrade(ctx.sql, tradeId);
  if (!trade) return { status: 404, body: { error: `No trade ${tradeId}` } };
  if (trade.state !== "pending_approval") return { status: 409, body: { error: `Trade ${tradeId} is ${trade.state}, not waiting for approval` } };
  if (decision === "reject") {
    setTradeState(ctx.sql, tradeId, "rejected", ctx.now());
    ctx.audit("admin", "approval_rejected", { trade_id: tradeId, by, reason });
    return { status: 200, body: { trade_id: tradeId, state: "rejected" } };
  }
  const legs = legsOf(trade);
  const quote = await fetchQuote(ctx, legs);
  // Synchronous re-check: the trade's own reservation, rate slot and fingerprint are left out.
  const current = getTrade(ctx.sql, tradeId);
  if (current?.state !== "pending_approval") return { status: 409, body: { error: `Trade ${tradeId} is ${current?.state ?? "gone"}, not waiting for approval` } };
  const now = ctx.now();
  const analysis = analyzeOrder(legs, { symbol: trade.symbol, today: tradingDay(now), settlement: settlementFor(ctx.link, legs, quote.quote) });
  const order = { symbol: trade.symbol, legs, max_risk: trade.claimed_max_risk, capital_required: trade.capital_required, underlying: quote.quote?.underlying ?? trade.exposure_group };
  const decided = evaluateOrder(order, analysis, buildAccountState(ctx.sql, ctx.settings, now, tradeId), { intent: "open", quote: quote.context });
  const violations = [...linkViolations(ctx), ...withQuoteNote(decided.violations, quote.note)];
  if (violations.length) {
    setTradeState(ctx.sql, tradeId, "rejected", now);
    ctx.audit("edge", "approval_refused", { trade_id: tradeId, by, reason, violations });
    ctx.writeLog("safety_violation", `Approved order ${tradeId} failed its re-check`, { trade_id: tradeId, violations });
    return { status: 409, body: { error: `Re-check refused the order: ${violations.map((v) => v.message).join("; ")}`, violations } };
  }
  setTradeState(ctx.sql, tradeId, "submitting", now);
  upsertOrder(ctx.sql, { order_ref: tradeId, trade_id: tradeId, intent: "open", status: "PendingSubmit" }, now);
  ctx.audit("admin", "approval_approved", { trade_id: tradeId, by, reason });
  const sent = await sendOpen(ctx, getTrade(ctx.sql, tradeId)!, analysis);
  return { status: sent.isError ? 409 : 200, body: { ...sent.output, ...(sent.isError ? { error: sent.output.message } : {}) } };
}

/** The trade's close order when TWS lost it: still working in the ledger, found by reconciliation nowhere at TWS. */
export function closeLostAtTws(ctx: DeskContext, tradeId: string): OrderRow | null {
  const close = getOrderByRef(ctx.sql, closeRef(tradeId));
  return close && close.unaccounted_at !== null && !["Filled", "Cancelled", "Rejected", "Inactive"].includes(close.status) ? close : null;
}
