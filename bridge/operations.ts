// One handler per operation of the bridge protocol (shared/protocol.ts `Ops`): reads answer
// from the mirror or a TWS query, orders pass the second key and go out as ONE order with
// orderRef = trade_id and transmit = true, and only while TWS is connected (never queued).
import { EventName, type Order as IbOrder, OrderType, TimeInForce } from "@stoqey/ib";
import { contractKey, describeLeg, type Leg } from "../shared/order";
import { closingLegs, netLimitPrice, repriceLegs } from "../shared/combo-price";
import { closeCapViolations } from "../shared/close-cap";
import { tradingDay } from "../shared/trade-id";
import { MIN_LEG_PRICE } from "../shared/limits";
import type { IbkrMode, ModifyParams, OpName, OpParams, OpResult, PlaceParams, RequestMeta } from "../shared/protocol";
import type { Violation } from "../shared/tools";
import { buildOrder, type BuiltOrder, type ContractResolver } from "./contracts";
import { BridgeError, notConnected, TwsError } from "./errors";
import type { Logger } from "./log";
import type { MarketData } from "./market-data";
import { PriceHistoryReader } from "./price-history";
import { type MirrorOrder, type Publish, num, type Mirror, orderFlows } from "./mirror";
import { marketCheckViolations } from "../shared/checks";
import { accountSides, closeViolations, emergencyStopOn, placeViolations, reduceOnlyViolations, settlementViolations } from "./second-key";
import { opposingLegViolations } from "../shared/one-direction";
import { SAFE_ID, type TradeLogs } from "./trade-logs";
import type { TwsConnection } from "./tws-connection";

export type Handlers = { [N in OpName]: (params: OpParams<N>, meta?: RequestMeta) => Promise<OpResult<N>> };

/** Sent this close to the edge's deadline, the answer could not arrive in time: refuse instead. */
export const EXPIRY_MARGIN_MS = 500;

export interface OperationDeps {
  tws: TwsConnection;
  mirror: Mirror;
  contracts: ContractResolver;
  market: MarketData;
  tradeLogs: TradeLogs;
  publish: Publish;
  logger: Logger;
  mode: IbkrMode;
  emergencyStopFile: string;
  orderAckTimeoutMs: number;
  /** The edge's emergency stop as last pushed over the link. */
  edgeStop: () => EdgeStop;
}

export interface EdgeStop {
  on: boolean;
  reason: string | null;
  at: string | null;
  by: string | null;
}

const TERMINAL = new Set(["Filled", "Cancelled", "Rejected", "Inactive"]);

function checkId(name: string, id: string): void {
  if (!SAFE_ID.test(id) || id.includes(".."))
    throw new BridgeError("invalid_params", `${name} "${id}" may hold only letters, digits, _ . - (it names the trade's log file)`);
}

/**
 * Waits for TWS's word on one order id: `watch` (a mirror subscription) and TWS errors for that id
 * may each settle it, the timer settles it otherwise, and every listener is removed whichever
 * comes first. A settled Error rejects; anything else resolves.
 */
function awaitOrderAnswer<T>(
  tws: TwsConnection,
  orderId: number,
  how: {
    timeoutMs: number;
    onTimeout: () => T | Error;
    watch: (settle: (outcome: T | Error) => void) => () => void;
    /** An Error to settle with, or null for a notice that does not end the wait. */
    onError: (code: number, message: string) => Error | null;
    send: () => Promise<void>;
  },
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: T | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unwatch();
      tws.off("tws_error", onError);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(() => settle(how.onTimeout()), how.timeoutMs);
    const onError = ({ code, message, reqId }: { code: number; message: string; reqId: number }) => {
      if (reqId !== orderId) return;
      const error = how.onError(code, message);
      if (error) settle(error);
    };
    tws.on("tws_error", onError);
    const unwatch = how.watch(settle);
    how.send().catch((error: Error) => settle(error));
  });
}

export function createOperations(deps: OperationDeps): Handlers {
  const { tws, mirror, contracts, market, tradeLogs, publish, logger } = deps;
  const history = new PriceHistoryReader(tws, contracts);

  /** Refuse an order the edge approved: tell the edge (refusal event), the box (log) and the caller. */
  const refuse = (tradeId: string, code: "second_key_refused" | "emergency_stop_file" | "emergency_stop", violations: Violation[]): never => {
    publish("refusal", { trade_id: tradeId, violations });
    const message =
      code === "emergency_stop_file"
        ? `Emergency stop file ${deps.emergencyStopFile} is present on the trading box: the bridge refuses every opening order until it is removed`
        : code === "emergency_stop"
          ? `${violations.map((v) => v.message).join("; ")}: the bridge refuses every opening order until it is cleared`
          : `The bridge's second key refused the order: ${violations.map((v) => v.message).join("; ")}`;
    tradeLogs.append("safety_violation", { at: new Date().toISOString(), message, details: { trade_id: tradeId, refused_by: "bridge", code, violations } });
    logger.warn({ trade_id: tradeId, code, checks: violations.map((v) => v.check) }, message);
    throw new BridgeError(code, message, violations);
  };

  /**
   * One orderRef, one order: a retried place is reconciled by the edge, never re-sent. A close may
   * be sent again once its earlier order is done (cancelled by a kill switch, say): reduce-only
   * keeps it from closing more than is held.
   */
  const duplicateViolation = (orderRef: string, workingOnly = false): Violation[] => {
    const existing = mirror.knownOrderRef(orderRef, workingOnly);
    return existing === null
      ? []
      : [{ check: "duplicate_order_ref", message: `Order ${existing} already carries orderRef ${orderRef}: the bridge never sends a trade twice (reconcile with open_orders/executions instead)`, value: existing }];
  };

  const stopFileViolation = (): Violation => ({ check: "emergency_stop_file", message: `Emergency stop file ${deps.emergencyStopFile} is present on the trading box` });
  const edgeStopViolation = (): Violation => {
    const stop = deps.edgeStop();
    return { check: "emergency_stop", message: `The edge's emergency stop is on (set${stop.by ? ` by ${stop.by}` : ""}${stop.at ? ` at ${stop.at}` : ""}${stop.reason ? `: ${stop.reason}` : ""})` };
  };

  /**
   * Send one order and wait for TWS's first word on it: acknowledged, or rejected. `hold` (a close's
   * flows counted as working since its check) is released once the order itself is in the mirror.
   */
  const submit = async (orderRef: string, built: BuiltOrder, record: { symbol: string; strategy: string | null; intent: "open" | "close"; legs: Leg[]; maxRisk: number | null; fileRef: string }, meta: RequestMeta = {}, hold?: { release(): void }) => {
    const orderId = tws.nextOrderId();
    const order: IbOrder = {
      action: built.action,
      orderType: OrderType.LMT,
      totalQuantity: built.quantity,
      lmtPrice: built.limitPrice,
      tif: TimeInForce.DAY,
      orderRef,
      // @stoqey/ib sends an unset transmit as 0 and TWS would then hold the order unsent.
      transmit: true,
      ...(tws.account ? { account: tws.account } : {}),
    };
    const now = new Date().toISOString();
    mirror.expectOrder({
      orderId, permId: null, orderRef, symbol: record.symbol, secType: String(built.contract.secType ?? ""), action: built.action === "SELL" ? "SELL" : "BUY",
      quantity: built.quantity, orderType: "LMT", limitPrice: built.limitPrice, status: "PendingSubmit", filled: 0, remaining: built.quantity,
      avgFillPrice: null, whyHeld: null, reason: null, flows: orderFlows(built.contract, built.action === "SELL" ? "SELL" : "BUY"),
    });
    // In the same turn as expectOrder: the order now counts as working by itself.
    hold?.release();
    // Watch before sending (the answer may come at once); the deadline runs from the send.
    let startDeadline: () => void = () => undefined;
    const acked = new Promise<MirrorOrder>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      startDeadline = () => {
        timer = setTimeout(() => {
          unwatch();
          reject(new BridgeError("timeout", `TWS did not acknowledge order ${orderId} (${orderRef}) within ${deps.orderAckTimeoutMs} ms; it may still reach TWS: reconcile by orderRef before sending it again`));
        }, deps.orderAckTimeoutMs);
      };
      const unwatch = mirror.watchOrder(orderId, (update, rejection) => {
        clearTimeout(timer);
        unwatch();
        if (rejection) reject(new TwsError(rejection.code, rejection.text, `order ${orderId} (${orderRef}) rejected`));
        else resolve(update);
      });
    });
    acked.catch(() => undefined);
    try {
      await tws.send(`order ${orderRef}`, (ib) => {
        // The last moment before the order leaves: the pacer may have held it, or the process was
        // paused. An edge that gave up has marked it unconfirmed; sending it now would surprise it.
        if (meta.expiresAt !== undefined && Date.now() > meta.expiresAt - EXPIRY_MARGIN_MS)
          throw new BridgeError("expired", `Order ${orderRef} was not sent: the edge stopped waiting for it ${Math.max(0, Date.now() - meta.expiresAt)} ms ago (the bridge was held up)`);
        if (record.intent === "open" && emergencyStopOn(deps.emergencyStopFile))
          throw new BridgeError("emergency_stop_file", `Emergency stop file ${deps.emergencyStopFile} appeared before order ${orderRef} was sent: not sent`, [stopFileViolation()]);
        // The edge's stop may have arrived after this order was accepted: it still must not leave.
        if (record.intent === "open" && deps.edgeStop().on)
          refuse(orderRef, "emergency_stop", [{ ...edgeStopViolation(), message: `${edgeStopViolation().message}; order ${orderRef} was held back at the moment of sending` }]);
        ib.placeOrder(orderId, built.contract, order);
      }, true);
    } catch (error) {
      mirror.orders.delete(orderId);
      throw error;
    }
    startDeadline();
    // The order is out: a log-file failure must not turn its ack into an error.
    try {
      tradeLogs.recordPlaced(
        {
          trade_id: record.fileRef, order_ref: orderRef, symbol: record.symbol,
          strategy: record.strategy, intent: record.intent, legs: record.legs, max_risk: record.maxRisk, order_type: "LMT", limit_price: built.limitPrice, order_id: orderId,
          perm_id: null, status: "PendingSubmit", filled: 0, remaining: built.quantity, avg_fill_price: null, reason: null, fills: [], commission_total: 0,
          account: tws.account, mode: deps.mode, placed_at: now, updated_at: now,
        },
        orderRef,
      );
    } catch (error) {
      logger.error({ order_ref: orderRef, err: (error as Error).message }, "could not write the trade log");
    }
    logger.info({ order_id: orderId, order_ref: orderRef, order: built.description, limit: built.limitPrice }, "order sent to TWS");
    const first = await acked;
    return { order_id: orderId, perm_id: first.permId, status: first.status, limit_price: built.limitPrice, tws_session: tws.session };
  };

  const requireTradable = (what: string) => {
    if (!tws.tradable) throw notConnected(what, `${tws.health.state}${tws.health.last_error ? `: ${tws.health.last_error}` : ""}`);
  };

  /**
   * The styles the first risk check runs with: the edge's, or (an older edge) what this bridge
   * already knows of the contracts from TWS. Either way the order is checked again with TWS's own
   * answer for the resolved contracts (settlementViolations) before it is sent.
   */
  const withSettlement = (p: PlaceParams): PlaceParams => (p.settlement ? p : { ...p, settlement: p.legs.map((leg) => contracts.cached(leg.contract)?.settlement ?? null) });

  const place = async (p: PlaceParams, meta: RequestMeta = {}) => {
    checkId("trade_id", p.trade_id);
    const stopped = emergencyStopOn(deps.emergencyStopFile);
    if (stopped && p.intent === "open") refuse(p.trade_id, "emergency_stop_file", [stopFileViolation()]);
    if (deps.edgeStop().on && p.intent === "open") refuse(p.trade_id, "emergency_stop", [edgeStopViolation()]);
    // The second key's "today" is the broker's trading day (TWS's clock), not this machine's.
    const violations = [...placeViolations(withSettlement(p), tws.brokerNow()), ...duplicateViolation(p.trade_id)];
    if (violations.length > 0) refuse(p.trade_id, "second_key_refused", violations);
    requireTradable(`order ${p.trade_id}`);
    // The edge decided an opening order under a collar band without a quote of its own (one trip):
    // the bridge's fresh quote, taken beside the contract lookup, must fall inside it.
    const checkMarket = p.intent === "open" && (p.collar !== undefined || p.exposure_group !== undefined);
    const [resolved, quote] = await Promise.all([contracts.resolveAll(p.legs), checkMarket ? market.quote(p.legs) : null]);
    if (p.intent === "open") {
      const atTws = settlementViolations(p, resolved, tws.brokerNow());
      if (atTws.length > 0) refuse(p.trade_id, "second_key_refused", atTws);
    }
    if (quote) {
      // The quote was stamped by the broker's clock: its age is judged by the same clock.
      const marketViolations = marketCheckViolations(p, quote, tws.brokerNow().getTime());
      if (marketViolations.length > 0) refuse(p.trade_id, "second_key_refused", marketViolations);
    }
    if (p.intent === "open") {
      // One direction per contract: an opening leg against a held or working side would net out at TWS.
      const opposing = opposingLegViolations(p.legs, (_leg, i) => String(resolved[i]?.conId ?? 0), accountSides(mirror.positions(), mirror.openOrders()), describeLeg);
      if (opposing.length > 0) refuse(p.trade_id, "second_key_refused", opposing);
    }
    if (p.intent === "close") {
      const notReducing = reduceOnlyViolations(p.legs, resolved, (id) => mirror.positionOf(id), mirror.positionsLoaded, mirror.workingFlows());
      if (notReducing.length > 0) refuse(p.trade_id, stopped ? "emergency_stop_file" : "second_key_refused", stopped ? [stopFileViolation(), ...notReducing] : notReducing);
    }
    const built = buildOrder(p.symbol, p.legs, resolved);
    return submit(p.trade_id, built, { symbol: p.symbol, strategy: p.strategy, intent: p.intent, legs: p.legs, maxRisk: p.max_risk, fileRef: p.trade_id }, meta);
  };

  /** The closing legs carrying the close's net limit (per-leg prices are display hints). */
  const closeAtLimit = (closeRef: string, outgoing: Leg[], limitPrice: number): Leg[] => {
    const repriced = repriceLegs(outgoing, limitPrice, MIN_LEG_PRICE);
    if (!repriced.ok) refuse(closeRef, "second_key_refused", [{ check: "limit_price", message: `The close's limit price ${limitPrice} cannot be sent: ${repriced.reason}` }]);
    return (repriced as { ok: true; legs: Leg[] }).legs;
  };

  /**
   * IBKR's modify: placeOrder again with the working order's id and orderRef, a new limit price
   * and nothing else changed. The second key re-checks the order at its new price (an opening
   * order's legs must carry it; a close must still only reduce), and the bridge refuses a modify
   * that would change the contract, side or size, or touch an order that is not working.
   */
  const modify = async (p: ModifyParams, meta: RequestMeta = {}): Promise<OpResult<"modify">> => {
    checkId("order_ref", p.order_ref);
    const known = mirror.orders.get(p.order_id);
    const notModifiable = (why: string) => new BridgeError("not_modifiable", `Order ${p.order_id} cannot be modified: ${why}`);
    if (!known) throw notModifiable("it is not known to this bridge (not placed or seen since it started)");
    if (known.orderRef !== p.order_ref) throw notModifiable(`it carries orderRef ${known.orderRef ?? "(none)"}, not ${p.order_ref}`);
    if (TERMINAL.has(known.status) || known.status === "PendingSubmit") throw notModifiable(`it is ${known.status}`);
    // An order id names an order only within the TWS session that issued it: after TWS restarted,
    // placeOrder with an old id would be a NEW order (a second opening order of the trade).
    if (known.lost || known.session !== mirror.session)
      throw notModifiable(`TWS's current session has not confirmed it (TWS restarted since it was placed${known.lost ? ", and no longer lists it" : ""}); the edge reconciles it — cancel and place a new order if it is gone`);
    const stopped = emergencyStopOn(deps.emergencyStopFile);
    if (stopped && p.intent === "open") refuse(p.order_ref, "emergency_stop_file", [stopFileViolation()]);
    let outgoing: Leg[];
    if (p.intent === "open") {
      const violations = placeViolations(withSettlement({ trade_id: p.order_ref, symbol: p.symbol, strategy: p.strategy, legs: p.legs, max_risk: p.max_risk, order_type: "LMT", limit_price: p.limit_price, intent: "open", settlement: p.settlement }), tws.brokerNow());
      if (violations.length > 0) refuse(p.order_ref, "second_key_refused", violations);
      outgoing = p.legs;
    } else {
      const violations = closeViolations(p.legs, p.symbol, tws.brokerNow());
      // Never past what the legs can cost at expiry plus the tolerance, unless a person walks it.
      if (!p.person_approved) violations.push(...closeCapViolations(p.legs, p.limit_price, tradingDay(tws.brokerNow()), p.legs.map((leg) => contracts.cached(leg.contract)?.settlement ?? null)));
      if (violations.length > 0) refuse(p.order_ref, "second_key_refused", violations);
      outgoing = closeAtLimit(p.order_ref, closingLegs(p.legs), p.limit_price);
    }
    requireTradable(`modify of order ${p.order_id}`);
    const resolved = await contracts.resolveAll(outgoing);
    if (p.intent === "open") {
      const atTws = settlementViolations(p, resolved, tws.brokerNow());
      if (atTws.length > 0) refuse(p.order_ref, "second_key_refused", atTws);
    }
    if (p.intent === "close") {
      // Reduce-only, counting every other working order (this one is being replaced, not added).
      const notReducing = reduceOnlyViolations(outgoing, resolved, (id) => mirror.positionOf(id), mirror.positionsLoaded, mirror.workingFlows(p.order_id));
      if (notReducing.length > 0) refuse(p.order_ref, "second_key_refused", notReducing);
    }
    const built = buildOrder(p.symbol, outgoing, resolved);
    const action = built.action === "SELL" ? "SELL" : "BUY";
    const flowsKey = (flows: MirrorOrder["flows"]) => flows.map((f) => `${f.conId}:${f.action}:${f.ratio}`).sort().join(",");
    if (
      action !== known.action || Math.abs(built.quantity - known.quantity) > 1e-9 || String(built.contract.secType ?? "") !== known.secType ||
      flowsKey(orderFlows(built.contract, action)) !== flowsKey(known.flows)
    )
      throw notModifiable(`only the limit price may change (the order is ${known.action} ${known.quantity} ${known.secType}; this would be ${action} ${built.quantity} ${String(built.contract.secType ?? "")}): cancel it and place a new one`);
    const order: IbOrder = {
      action: built.action, orderType: OrderType.LMT, totalQuantity: built.quantity, lmtPrice: built.limitPrice, tif: TimeInForce.DAY,
      orderRef: p.order_ref, transmit: true, ...(tws.account ? { account: tws.account } : {}),
    };
    mirror.modifying.add(p.order_id);
    try {
      const answer = await awaitOrderAnswer<MirrorOrder>(tws, p.order_id, {
        timeoutMs: deps.orderAckTimeoutMs,
        onTimeout: () => new BridgeError("timeout", `TWS did not acknowledge the modify of order ${p.order_id} (${p.order_ref}) within ${deps.orderAckTimeoutMs} ms; it may still take effect`),
        watch: (settle) =>
          mirror.watchOrder(p.order_id, (update, rejection) => {
            if (rejection) settle(new TwsError(rejection.code, rejection.text, `modify of order ${p.order_id} (${p.order_ref}) refused; the order keeps working at its previous price`));
            else if (TERMINAL.has(update.status) || (update.limitPrice !== null && Math.abs(update.limitPrice - built.limitPrice) < 0.005)) settle(update);
          }),
        onError: () => null, // order errors reach the watcher through the mirror
        send: () =>
          tws.send(`modify of order ${p.order_ref}`, (ib) => {
            if (meta.expiresAt !== undefined && Date.now() > meta.expiresAt - EXPIRY_MARGIN_MS)
              throw new BridgeError("expired", `The modify of ${p.order_ref} was not sent: the edge stopped waiting for it`);
            if (p.intent === "open" && emergencyStopOn(deps.emergencyStopFile))
              throw new BridgeError("emergency_stop_file", `Emergency stop file ${deps.emergencyStopFile} appeared before the modify of ${p.order_ref} was sent: not sent`, [stopFileViolation()]);
            ib.placeOrder(p.order_id, built.contract, order);
          }, true),
      });
      logger.info({ order_id: p.order_id, order_ref: p.order_ref, limit: built.limitPrice, status: answer.status }, "order modified");
      return { order_id: p.order_id, perm_id: answer.permId, status: answer.status, limit_price: answer.limitPrice ?? built.limitPrice };
    } finally {
      mirror.modifying.delete(p.order_id);
    }
  };

  const handlers: Handlers = {
    async account() {
      // Just after a connect TWS may not have sent the summary yet: give it a moment.
      for (let waited = 0; !mirror.account() && tws.connected && waited < 3_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      const snapshot = mirror.account(mirror.accountIsLive ? tws.brokerNow().toISOString() : undefined);
      if (!snapshot) throw tws.connected ? new BridgeError("tws_error", "TWS has not sent the account summary and P&L yet") : notConnected("account", tws.health.state);
      return snapshot;
    },

    async positions(p) {
      return mirror.positions(p.symbol);
    },

    place,

    modify,

    async preview(p) {
      checkId("trade_id", p.trade_id);
      if (!tws.connected) throw notConnected("preview", tws.health.state);
      const resolved = await contracts.resolveAll(p.legs);
      const built = buildOrder(p.symbol, p.legs, resolved);
      const orderId = tws.nextOrderId();
      const order: IbOrder = { action: built.action, orderType: OrderType.LMT, totalQuantity: built.quantity, lmtPrice: built.limitPrice, orderRef: p.trade_id, whatIf: true, transmit: true };
      return awaitOrderAnswer<OpResult<"preview">>(tws, orderId, {
        timeoutMs: deps.orderAckTimeoutMs,
        onTimeout: () => new BridgeError("timeout", `TWS did not answer the what-if preview within ${deps.orderAckTimeoutMs} ms`),
        watch: (settle) =>
          mirror.watchWhatIf(orderId, (state) => {
            // Early what-if answers can carry unset margins; wait for initMarginChange.
            if (num(state.initMarginChange) === null) return;
            settle({
              init_margin_change: num(state.initMarginChange),
              maint_margin_change: num(state.maintMarginChange),
              equity_with_loan_change: num(state.equityWithLoanChange),
              commission: num(state.commission),
              warning: state.warningText || null,
            });
          }),
        onError: (code, message) => (code === 399 || (code >= 2100 && code < 2200) ? null : new TwsError(code, message, "what-if preview")),
        send: () => tws.send("what-if preview", (ib) => ib.placeOrder(orderId, built.contract, order)),
      });
    },

    // preview_order's one trip: the quote for the edge's checks and IBKR's what-if, side by side.
    async preview_with_quote(p, meta) {
      const [quote, margin] = await Promise.allSettled([market.quote(p.legs), handlers.preview(p, meta)]);
      const why = (r: PromiseRejectedResult) => (r.reason instanceof Error ? r.reason.message : String(r.reason));
      return {
        quote: quote.status === "fulfilled" ? quote.value : null,
        quote_error: quote.status === "rejected" ? why(quote) : null,
        margin: margin.status === "fulfilled" ? margin.value : null,
        margin_error: margin.status === "rejected" ? why(margin) : null,
      };
    },

    async cancel({ order_id }) {
      const known = mirror.orders.get(order_id);
      if (!known) throw new BridgeError("unknown_order", `Order ${order_id} is not known to this bridge (not placed or seen since it started)`);
      if (TERMINAL.has(known.status)) return { order_id, status: known.status };
      if (!tws.connected) throw notConnected(`cancel of order ${order_id}`, tws.health.state);
      return awaitOrderAnswer<OpResult<"cancel">>(tws, order_id, {
        timeoutMs: 5_000,
        onTimeout: () => ({ order_id, status: mirror.orders.get(order_id)?.status ?? known.status }),
        watch: (settle) =>
          mirror.watchOrder(order_id, (order) => {
            if (order.status === "Cancelled") settle({ order_id, status: order.status });
          }),
        onError: (code, message) =>
          code === 10147
            ? new BridgeError("unknown_order", `TWS does not know order ${order_id}: ${message}`)
            : code === 10148 || code === 161
              ? new TwsError(code, message, `cancel of order ${order_id}`)
              : null,
        send: () => tws.send(`cancel of order ${order_id}`, (ib) => ib.cancelOrder(order_id)),
      });
    },

    async cancel_all() {
      await tws.send("cancel all (reqGlobalCancel)", (ib) => ib.reqGlobalCancel());
      logger.warn("reqGlobalCancel sent: every working order of the account is being cancelled");
      return { requested: true as const };
    },

    async close(p, meta = {}) {
      checkId("trade_id", p.trade_id);
      checkId("close_trade_id", p.close_trade_id);
      const stopped = emergencyStopOn(deps.emergencyStopFile);
      const violations = [...closeViolations(p.legs, p.symbol, tws.brokerNow()), ...duplicateViolation(p.close_trade_id, true)];
      if (violations.length > 0) refuse(p.close_trade_id, "second_key_refused", violations);
      requireTradable(`close of ${p.trade_id}`);
      const outgoing = closingLegs(p.legs);
      const resolved = await contracts.resolveAll(outgoing);
      const notReducing = reduceOnlyViolations(outgoing, resolved, (id) => mirror.positionOf(id), mirror.positionsLoaded, mirror.workingFlows());
      if (notReducing.length > 0) refuse(p.close_trade_id, stopped ? "emergency_stop_file" : "second_key_refused", stopped ? [stopFileViolation(), ...notReducing] : notReducing);
      // Working from the check on, in the same turn: another close checked while this one awaits
      // its quotes counts it (two closes on shared contracts cannot both pass). Released when the
      // order is in the mirror, or here when it is not sent.
      const hold = mirror.holdFlows(outgoing.map((leg, i) => ({ conId: resolved[i]?.conId ?? 0, action: leg.action, quantity: leg.quantity })));
      try {
        // A limit the edge approved, or else the natural price: the asks of what the close buys,
        // the bids of what it sells — marketable.
        // Second key of the close cap: what the close pays, at its limit or at the natural price
        // read below, never past what the held legs can cost at expiry plus the tolerance — unless
        // a person ordered it (shared/close-cap.ts).
        const capped = (priced: Leg[]) => {
          const over = p.person_approved ? [] : closeCapViolations(p.legs, netLimitPrice(priced), tradingDay(tws.brokerNow()), resolved.map((r) => r.settlement ?? null));
          if (over.length > 0) refuse(p.close_trade_id, "second_key_refused", over);
        };
        if (p.limit_price !== undefined) {
          const priced = closeAtLimit(p.close_trade_id, outgoing, p.limit_price);
          capped(priced);
          const built = buildOrder(p.symbol, priced, resolved);
          return await submit(p.close_trade_id, built, { symbol: p.symbol, strategy: null, intent: "close", legs: priced, maxRisk: null, fileRef: p.trade_id }, meta, hold);
        }
        const quotes = await market.legQuotes(outgoing);
        const priced: Leg[] = outgoing.map((leg, i) => {
          const q = quotes.get(contractKey(leg.contract));
          // A long option no one bids for is worth nothing: inside a combo it is sold at 0 with the
          // rest (its worthless wing must not keep the legs that carry risk from being closed).
          const worthless = outgoing.length > 1 && leg.action === "SELL" && q !== undefined && q.bid === null && q.ask !== null;
          const natural = worthless ? 0 : leg.action === "BUY" ? q?.ask : q?.bid;
          if (natural === null || natural === undefined)
            throw new BridgeError("tws_error", `No ${leg.action === "BUY" ? "ask" : "bid"} for ${leg.contract.symbol} leg ${i + 1} of the close (${q?.dataType ?? "no quote"}${q?.reason ? `: ${q.reason}` : ""}); not sending a close at a guessed price`);
          return { ...leg, price: natural };
        });
        capped(priced);
        const built = buildOrder(p.symbol, priced, resolved);
        return await submit(p.close_trade_id, built, { symbol: p.symbol, strategy: null, intent: "close", legs: priced, maxRisk: null, fileRef: p.trade_id }, meta, hold);
      } finally {
        hold.release();
      }
    },

    async order_status({ order_id }) {
      const order = mirror.orders.get(order_id);
      if (!order) throw new BridgeError("unknown_order", `Order ${order_id} is not known to this bridge`);
      return {
        order_id,
        trade_id: order.orderRef,
        status: order.status,
        filled: order.filled,
        remaining: order.remaining,
        avg_fill_price: order.avgFillPrice,
        last_update: order.lastUpdate,
        why_held: order.whyHeld,
      };
    },

    async open_orders() {
      const seen = await tws.call<number[]>("open orders", 5_000, (ctx) => {
        const ids: number[] = [];
        ctx.on(EventName.openOrder, (orderId: number, _c: unknown, order: IbOrder) => {
          if (!order.whatIf && !ids.includes(orderId)) ids.push(orderId);
        });
        ctx.on(EventName.openOrderEnd, () => ctx.resolve(ids));
        return (ib) => ib.reqAllOpenOrders();
      });
      return seen
        .map((id) => mirror.orders.get(id))
        .filter((o): o is MirrorOrder => o !== undefined)
        .map((o) => ({
          order_id: o.orderId, perm_id: o.permId, order_ref: o.orderRef, symbol: o.symbol, sec_type: o.secType, action: o.action, quantity: o.quantity,
          order_type: o.orderType, limit_price: o.limitPrice, status: o.status, filled: o.filled, remaining: o.remaining,
        }));
    },

    async completed_orders() {
      if (!tws.connected) throw new BridgeError("tws_not_connected", "TWS is not connected: its completed orders cannot be read");
      return mirror.completedOrders();
    },

    async executions({ since }) {
      let from: Date | null = null;
      if (since !== undefined) {
        from = new Date(since);
        if (Number.isNaN(from.getTime())) throw new BridgeError("invalid_params", `since "${since}" is not an ISO date-time`);
      }
      // TWS filters on its own clock and zone; ask for today's executions and filter here.
      await tws.call<void>("executions", 8_000, (ctx) => {
        ctx.on(EventName.execDetailsEnd, (reqId: number) => {
          if (reqId === ctx.reqId) setImmediate(() => ctx.resolve(undefined));
        });
        return (ib) => ib.reqExecutions(ctx.reqId, {});
      });
      return mirror.executionsSince(from);
    },

    async quote(p) {
      return market.quote(p.legs);
    },

    async option_chain(p) {
      return market.optionChain(p);
    },

    async price_history(p) {
      return history.bars(p);
    },

    async health() {
      return tws.health;
    },

    async write_log(p) {
      tradeLogs.append(p.kind, { at: p.at, message: p.message, ...(p.details ? { details: p.details } : {}) });
      return { written: true as const };
    },
  };
  return handlers;
}
