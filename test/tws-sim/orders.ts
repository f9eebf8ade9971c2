// The order engine: validation and rejections (110/200/201/103), whatIf margins, the
// deterministic fill model (marketable limits fill at their limit, resting ones wait for the
// market, slices no larger than the displayed size), executions, commissions and cancels, and
// what the exchange calendar (shared/market-calendar.ts) does to them: an order placed outside
// its session is held until it opens, a DAY order ends at its session's close, an option settles
// at its expiry's close, and the daily P&L restarts at the trading day's end.

import { expiryClose, orderSession, productOf, type Session, tradingDayOf } from "../../shared/market-calendar";
import { Account, portfolioMargin } from "./account";
import type { PlaceOrderReq } from "./decode";
import { BAG_CON_ID } from "./encode";
import { type Market, type SimContract, isTickMultiple, round2 } from "./market";
import type { OrderLeg, SimExecution, SimOrder, WhatIfState } from "./types";

export interface EngineEvents {
  /** status changed (or order modified): TWS sends openOrder + orderStatus */
  orderUpdate(o: SimOrder): void;
  execution(o: SimOrder, e: SimExecution): void;
  /** an execution no API order made (exercise, assignment, lapse): TWS tells the master client (id 0) */
  accountExecution(e: SimExecution): void;
  /** an ERR_MSG tied to an order id, for the client that owns it */
  orderError(clientId: number, id: number, code: number, msg: string): void;
  portfolioChanged(): void;
}

export type FillRule = "touch" | "mid";

/** What an option position became at its expiry. */
export interface SimExpiry {
  conId: number;
  symbol: string;
  /** Signed contracts held at expiry. */
  quantity: number;
  outcome: "lapsed" | "exercised" | "assigned" | "cash_settled";
  underlyingPrice: number;
  /** Signed shares delivered (exercise/assignment). */
  stockShares?: number;
  strike?: number;
  /** For a cash settlement: the intrinsic value per share it left at (what was paid or received, per share). */
  cashValue?: number;
  /** The executions TWS reported for it: the option leaving, then the stock delivered. */
  execIds: string[];
}

export interface EngineOptions {
  fillDelayMs: number;
  fillRule: FillRule;
  /**
   * The instant (epoch ms) the clock starts at; default the machine's clock. It then runs with real
   * time and moves on with advanceClock, so a test chooses the hour, not the machine.
   */
  startAt?: number;
}

const WORKING = new Set(["PreSubmitted", "Submitted"]);
const OPTION_COMMISSION = 0.65; // per contract
const STOCK_COMMISSION = 0.005; // per share
const MIN_COMMISSION = 1.0; // per order

export type PlaceResult =
  | { kind: "rejected" }
  | { kind: "whatIf"; order: SimOrder; state: WhatIfState }
  | { kind: "accepted"; order: SimOrder };

interface Priced {
  bidNat: number; // what the whole order's instrument can be sold for now
  askNat: number; // what it can be bought for now
  mid: number;
  size: number; // displayed size in order units
}

const nyFormat = new Intl.DateTimeFormat("en-CA", {
  timeZone: "America/New_York", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});
export function twsTime(ms: number): string {
  const p = Object.fromEntries(nyFormat.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const hour = p.hour === "24" ? "00" : p.hour;
  return `${p.year}${p.month}${p.day} ${hour}:${p.minute}:${p.second} US/Eastern`;
}

export class Engine {
  readonly orders = new Map<string, SimOrder>();
  readonly executions: SimExecution[] = [];
  connectivityLost = false;
  /** Most order units one fill slice may take (tests make partial fills with it); unset: the displayed size. */
  sliceLimit: number | undefined;
  private rejectNext: string | undefined;
  /** The next cancel is reported, then the order fills anyway (see fillAfterNextCancel). */
  private raceNextCancel = false;
  private maxOrderId = 0;
  private clockOffsetMs: number;
  /** The trading day the daily P&L counts in (it restarts at the day's close). */
  private tradingDay: string;
  /** The one timer that wakes the engine at the next session open, close or expiry while real time runs. */
  private clockTimer: NodeJS.Timeout | undefined;
  private permSeq = 1_000_000_000 + Math.floor(Date.now() / 1000) % 100_000_000;
  private execSeq = 0;
  private readonly execPrefix = Math.floor(Date.now() / 1000).toString(16).padStart(8, "0");
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly scheduled = new Set<string>();

  constructor(
    readonly market: Market,
    readonly account: Account,
    private readonly events: EngineEvents,
    readonly opts: EngineOptions,
  ) {
    this.clockOffsetMs = opts.startAt === undefined ? 0 : opts.startAt - Date.now();
    this.tradingDay = tradingDayOf(this.now());
  }

  nextOrderId(): number {
    return this.maxOrderId + 1;
  }

  /**
   * The simulator's clock, TWS's: the start instant (the machine's clock by default), run on with
   * real time, plus what a test advanced it by. It stamps orders, executions, the account's update
   * time and CURRENT_TIME, and it drives the sessions; it only moves forward.
   */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /**
   * Moves the clock on (0 just applies the time that passed): the daily P&L restarts at a trading
   * day's close, DAY orders whose session closed end, held orders whose session opened are
   * submitted, and options whose expiry closed settle.
   */
  advanceClock(ms: number): { now: number; expired: SimOrder[]; settled: SimExpiry[] } {
    if (!Number.isFinite(ms) || ms < 0 || ms > 400 * 86_400_000) throw new Error("advance_ms must be a number of milliseconds from 0 to 400 days");
    this.clockOffsetMs += ms;
    const now = this.now();
    // At the trading day's end (a session's close) the daily P&L starts again from the account's value.
    const day = tradingDayOf(now);
    if (day !== this.tradingDay) {
      this.tradingDay = day;
      this.account.rollDay();
    }
    const expired: SimOrder[] = [];
    for (const o of this.orders.values()) {
      if ((!WORKING.has(o.status) && o.status !== "NotTransmitted") || o.tif !== "DAY" || now < this.sessionOf(o).close) continue;
      this.scheduled.delete(key(o.clientId, o.orderId));
      // TWS ends the order itself: Cancelled (no 202, nobody asked), listed among completed orders.
      o.completedStatus = "Cancelled by System";
      this.setStatus(o, "Cancelled");
      expired.push(o);
    }
    // Orders held for their session go to the exchange once it opens.
    for (const o of this.orders.values()) this.submitWhenOpen(o);
    const settled = this.settleExpiries(now);
    this.armClock();
    return { now, expired, settled };
  }

  /** The session an order works in: the one under way when it was placed, or the next to open. */
  sessionOf(o: SimOrder): Session {
    return orderSession(o.createdAt, productOf(o.contract.symbol));
  }

  /** Whether an order's session is open now (orders fill only then). */
  private sessionOpen(o: SimOrder): boolean {
    const session = this.sessionOf(o);
    const now = this.now();
    return now >= session.open && now < session.close;
  }

  /** A transmitted order waiting for its session: submitted (and tried) once the session is open. */
  private submitWhenOpen(o: SimOrder): void {
    if (o.status !== "PreSubmitted" || !this.sessionOpen(o)) return;
    this.setStatus(o, "Submitted");
    this.tryFill(o);
  }

  /**
   * Wakes the engine at the next instant the calendar changes something (a held order's open, a
   * working DAY order's close, an option position's expiry close, the trading day's end) while
   * real time runs, so `npm start` behaves as TWS does; at most an hour ahead, never holding the
   * process open.
   */
  private armClock(): void {
    if (this.clockTimer) clearTimeout(this.clockTimer);
    this.clockTimer = undefined;
    const now = this.now();
    const at: number[] = [orderSession(now).close];
    for (const o of this.orders.values()) {
      if (o.status === "PreSubmitted") at.push(this.sessionOf(o).open);
      if (WORKING.has(o.status) && o.tif === "DAY") at.push(this.sessionOf(o).close);
    }
    for (const p of this.account.positions.values()) if (p.contract.secType === "OPT" && p.qty !== 0) at.push(expiryClose(isoDate(p.contract.expiry)));
    const next = Math.min(...at.filter((t) => t > now));
    if (!Number.isFinite(next)) return;
    this.clockTimer = setTimeout(() => {
      this.clockTimer = undefined;
      this.advanceClock(0);
    }, Math.min(next - now + 1, 3_600_000));
    this.clockTimer.unref?.();
  }

  /**
   * Options whose expiry day closed (16:00 New York) by `now` settle as OCC does: out of the money
   * they lapse; $0.01 or more in the money they are exercised (long) or assigned (short) into 100
   * shares each at the strike. TWS reports each as executions that no API order made (order id 0,
   * permId 0, no orderRef, no commission): the option leaving the account at no price, and the
   * stock delivered at the strike. Index options (SPX, XSP) settle in cash instead: the option
   * leaves at its intrinsic value at the index's close (the settlement value) and nothing is
   * delivered. At server version 201+ the execution also says which event it
   * was (optExerciseOrLapseType); at the versions this wire speaks it does not, so a reader infers
   * it from the pair. They reach the master client (id 0) and any reqExecutions.
   */
  private settleExpiries(now: number): SimExpiry[] {
    const out: SimExpiry[] = [];
    for (const p of [...this.account.positions.values()]) {
      const c = p.contract;
      if (c.secType !== "OPT" || p.qty === 0) continue;
      if (!/^\d{8}$/.test(c.expiry) || now < expiryClose(isoDate(c.expiry), productOf(c.symbol))) continue;
      const price = this.market.getPrice(c.symbol);
      const intrinsic = round2(c.right === "C" ? price - c.strike : c.strike - price);
      const contracts = Math.abs(p.qty);
      const stock = this.market.stockContract(c.symbol);
      if (intrinsic >= 0.01 && stock && !this.market.settlesInCash(c.symbol)) {
        out.push(this.exerciseOrAssign(c, stock, p.qty, now));
        continue;
      }
      // Cash settlement (an index option, or one with no deliverable): the option leaves at its
      // intrinsic value, paid to a long holder, by a short one; nothing else changes hands.
      const cashValue = intrinsic >= 0.01 ? intrinsic : 0;
      const leaving = this.accountExecution(c, p.qty > 0 ? "SLD" : "BOT", contracts, cashValue, now);
      out.push({
        conId: c.conId, symbol: c.symbol, quantity: p.qty, outcome: intrinsic < 0.01 ? "lapsed" : "cash_settled", underlyingPrice: price,
        ...(intrinsic >= 0.01 ? { cashValue } : {}), execIds: [leaving.execId],
      });
    }
    if (out.length > 0) this.events.portfolioChanged();
    return out;
  }

  /**
   * An exercise (long) or assignment (short) before expiry — an American option's holder may
   * exercise any day — reported like one at expiry: the option leaving at no price, the stock at the strike.
   */
  assignEarly(conId: number, contracts?: number): SimExpiry {
    const p = this.account.positions.get(conId);
    if (!p || p.contract.secType !== "OPT" || p.qty === 0) throw new Error(`no option position with conId ${conId}`);
    const c = p.contract;
    const n = contracts ?? Math.abs(p.qty);
    if (!Number.isInteger(n) || n < 1 || n > Math.abs(p.qty)) throw new Error(`contracts must be a whole number from 1 to ${Math.abs(p.qty)}`);
    if (this.market.settlesInCash(c.symbol)) throw new Error(`${c.tradingClass} options are European-style: they cannot be exercised or assigned before their expiry`);
    const stock = this.market.stockContract(c.symbol);
    if (!stock) throw new Error(`no deliverable stock for ${c.symbol}`);
    const settled = this.exerciseOrAssign(c, stock, p.qty > 0 ? n : -n, this.now());
    this.events.portfolioChanged();
    return settled;
  }

  /**
   * `signed` contracts of an option exercised (long) or assigned (short): the option leaves at no
   * price, then the stock at the strike — long call / short put take stock, long put / short call deliver it.
   */
  private exerciseOrAssign(c: SimContract, stock: SimContract, signed: number, now: number): SimExpiry {
    const contracts = Math.abs(signed);
    const leaving = this.accountExecution(c, signed > 0 ? "SLD" : "BOT", contracts, 0, now);
    const buys = (c.right === "C") === signed > 0;
    const delivered = this.accountExecution(stock, buys ? "BOT" : "SLD", contracts * c.multiplier, c.strike, now);
    return {
      conId: c.conId, symbol: c.symbol, quantity: signed, outcome: signed > 0 ? "exercised" : "assigned", underlyingPrice: this.market.getPrice(c.symbol),
      stockShares: (buys ? 1 : -1) * contracts * c.multiplier, strike: c.strike, execIds: [leaving.execId, delivered.execId],
    };
  }

  /** Books an execution that no API order made (see settleExpiries) and reports it. */
  private accountExecution(c: SimContract, side: "BOT" | "SLD", shares: number, price: number, now: number): SimExecution {
    const e: SimExecution = {
      execId: `${this.execPrefix}.${(++this.execSeq).toString(16).padStart(8, "0")}.01.01`,
      orderId: 0, clientId: 0, permId: 0, orderRef: "", account: this.account.id,
      conId: c.conId, symbol: c.symbol, secType: c.secType as "STK" | "OPT", contract: c, side,
      shares, price, cumQty: shares, avgPrice: price, time: twsTime(now), timeMs: now, commission: 0, liquidity: 0,
    };
    const realized = this.account.applyFill(c, side === "BOT" ? "BUY" : "SELL", shares, price, 0);
    if (realized !== undefined) e.realizedPnL = round4(realized);
    this.executions.push(e);
    this.events.accountExecution(e);
    return e;
  }

  /**
   * A new TWS (restarted, or a new Gateway): it no longer holds the old session's orders or
   * executions, and hands out order ids from 1 again. Positions and cash stay (they are the account's).
   */
  forgetSession(): void {
    this.stop();
    this.scheduled.clear();
    this.orders.clear();
    this.executions.length = 0;
    this.maxOrderId = 0;
    // The account's option positions still expire.
    this.armClock();
  }

  rejectNextOrder(reason: string): void {
    this.rejectNext = reason;
  }

  /**
   * The next cancel of a working order races a fill: TWS reports it Cancelled (status and 202),
   * then the fill that had already happened at the exchange arrives, in full at its limit price.
   */
  fillAfterNextCancel(): void {
    this.raceNextCancel = true;
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.clockTimer) clearTimeout(this.clockTimer);
    this.clockTimer = undefined;
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private reject(clientId: number, orderId: number, code: number, msg: string, o?: SimOrder): PlaceResult {
    if (o) {
      o.status = "Rejected";
      o.rejectCode = code;
      o.rejectReason = msg;
      this.orders.set(key(o.clientId, o.orderId), o);
    }
    this.events.orderError(clientId, orderId, code, msg);
    return { kind: "rejected" };
  }

  place(clientId: number, req: PlaceOrderReq): PlaceResult {
    const k = key(clientId, req.orderId);
    this.maxOrderId = Math.max(this.maxOrderId, req.orderId);
    const existing = this.orders.get(k);
    if (existing && !req.whatIf) {
      if (WORKING.has(existing.status)) return this.modify(existing, req);
      return this.reject(clientId, req.orderId, 103, `Duplicate order id`);
    }
    const built = this.build(clientId, req);
    if ("error" in built) {
      const [code, msg] = built.error;
      return this.reject(clientId, req.orderId, code, msg, req.whatIf ? undefined : built.partial);
    }
    const o = built.order;
    if (req.whatIf) return { kind: "whatIf", order: o, state: this.whatIf(o) };
    if (this.rejectNext !== undefined) {
      const reason = this.rejectNext;
      this.rejectNext = undefined;
      return this.reject(clientId, o.orderId, 201, `Order rejected - reason:${reason}`, o);
    }
    const w = this.whatIf(o);
    if (w.initMarginAfter > w.equityWithLoanAfter + 1e-6) {
      return this.reject(clientId, o.orderId, 201,
        `Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN VALUE [${w.equityWithLoanAfter.toFixed(2)} USD] MUST EXCEED THE INITIAL MARGIN [${w.initMarginAfter.toFixed(2)} USD]`, o);
    }
    this.orders.set(k, o);
    if (!o.transmit) {
      o.status = "NotTransmitted";
      return { kind: "accepted", order: o };
    }
    this.setStatus(o, "PreSubmitted");
    const session = this.sessionOf(o);
    if (this.now() < session.open) {
      // Outside its session TWS accepts the order and holds it (PreSubmitted) until the session
      // opens, saying so with warning 399 under the order's id; it works and fills only then.
      this.events.orderError(clientId, o.orderId, 399, `Order Message:\n${o.action} ${o.totalQuantity} ${o.contract.localSymbol || o.contract.symbol} ${o.contract.exchange}\nWarning: your order will not be placed at the exchange until ${twsTime(session.open).replace(" US/Eastern", "").replace(/^(\d{4})(\d{2})(\d{2})/, "$1-$2-$3")} US/Eastern`);
      this.armClock();
      return { kind: "accepted", order: o };
    }
    this.later(0, () => this.submitWhenOpen(o));
    this.armClock();
    return { kind: "accepted", order: o };
  }

  private modify(o: SimOrder, req: PlaceOrderReq): PlaceResult {
    const orderType = req.orderType;
    if (this.rejectNext !== undefined) {
      // TWS refuses the change and the order keeps working as it was.
      const reason = this.rejectNext;
      this.rejectNext = undefined;
      return this.reject(o.clientId, o.orderId, 201, `Order rejected - reason:${reason}`);
    }
    if (orderType === "LMT" && (req.lmtPrice === undefined || !isTickMultiple(req.lmtPrice))) {
      return this.reject(o.clientId, o.orderId, 110, "The price does not conform to the minimum price variation for this contract.");
    }
    if (req.totalQuantity < o.filled || req.totalQuantity <= 0) {
      return this.reject(o.clientId, o.orderId, 201, "Order rejected - reason:Quantity below filled quantity");
    }
    o.orderType = orderType;
    o.lmtPrice = req.lmtPrice;
    o.totalQuantity = req.totalQuantity;
    o.remaining = req.totalQuantity - o.filled;
    o.orderRef = req.orderRef || o.orderRef;
    o.updatedAt = this.now();
    this.events.orderUpdate(o);
    this.tryFill(o);
    return { kind: "accepted", order: o };
  }

  private build(clientId: number, req: PlaceOrderReq): { order: SimOrder } | { error: [number, string]; partial?: SimOrder } {
    const byConId = req.contract.conId ? this.market.contract(req.contract.conId) : undefined;
    // a contract given by conId alone is enough for TWS
    const secType = req.contract.secType.toUpperCase() || byConId?.secType || "";
    const now = this.now();
    const base = {
      orderId: req.orderId, clientId, permId: 0, account: req.account || this.account.id, orderRef: req.orderRef,
      action: (req.action === "SELL" ? "SELL" : "BUY") as "BUY" | "SELL", totalQuantity: req.totalQuantity,
      orderType: req.orderType, lmtPrice: req.lmtPrice, auxPrice: req.auxPrice, tif: req.tif || "DAY",
      transmit: req.transmit, outsideRth: req.outsideRth, status: "PreSubmitted" as const, filled: 0,
      remaining: req.totalQuantity, avgFillPrice: 0, lastFillPrice: 0, commission: 0, createdAt: now, updatedAt: now,
    };
    const wc = req.contract;
    const rawContract = {
      conId: wc.conId ?? 0, symbol: wc.symbol, secType: (secType || "STK") as SimOrder["secType"], expiry: wc.expiry,
      strike: wc.strike ?? 0, right: wc.right, multiplier: "" as const, exchange: wc.exchange || "SMART",
      currency: wc.currency || "USD", localSymbol: wc.localSymbol, tradingClass: wc.tradingClass,
    };
    const partial: SimOrder = { ...base, contract: rawContract, secType: rawContract.secType, legs: [] };
    const noDef = (): { error: [number, string]; partial: SimOrder } => ({ error: [200, "No security definition has been found for the request"], partial });

    let order: SimOrder;
    if (secType === "BAG") {
      if (req.legs.length === 0) return noDef();
      const legs: OrderLeg[] = [];
      for (const l of req.legs) {
        const c = this.market.contract(l.conId);
        if (!c || c.secType === "IND" || l.ratio <= 0) return noDef();
        legs.push({ conId: l.conId, ratio: l.ratio, action: l.action.toUpperCase() === "SELL" ? "SELL" : "BUY", exchange: l.exchange || "SMART", contract: c });
      }
      const sym = legs[0]?.contract.symbol ?? wc.symbol;
      order = {
        ...base, secType: "BAG", legs,
        contract: { conId: BAG_CON_ID, symbol: wc.symbol || sym, secType: "BAG", expiry: "", strike: 0, right: "", multiplier: "", exchange: wc.exchange || "SMART", currency: wc.currency || "USD", localSymbol: "", tradingClass: "COMB" },
      };
    } else if (secType === "STK" || secType === "OPT") {
      const matches = this.market.find({ conId: wc.conId, symbol: wc.symbol, secType, expiry: wc.expiry, strike: wc.strike, right: wc.right, localSymbol: wc.localSymbol });
      // An index is quoted, never traded (its options are).
      if (matches.length !== 1 || matches[0]!.secType === "IND") return noDef();
      const c = matches[0] as SimContract & { secType: "STK" | "OPT" };
      order = { ...base, secType: c.secType, legs: [], contract: orderContract(c) };
    } else {
      return noDef();
    }
    if (order.orderType !== "LMT" && order.orderType !== "MKT") {
      return { error: [201, `Order rejected - reason:The simulator models only LMT and MKT orders, not ${order.orderType}`], partial: order };
    }
    if (!(order.totalQuantity > 0) || !Number.isInteger(order.totalQuantity)) {
      return { error: [201, `Order rejected - reason:Invalid order quantity ${order.totalQuantity}`], partial: order };
    }
    if (order.orderType === "LMT") {
      const p = order.lmtPrice;
      if (p === undefined) return { error: [201, "Order rejected - reason:A limit order needs a limit price"], partial: order };
      if (!isTickMultiple(p)) return { error: [110, "The price does not conform to the minimum price variation for this contract."], partial: order };
      if (order.secType !== "BAG" && p <= 0) return { error: [201, `Order rejected - reason:Invalid limit price ${p}`], partial: order };
    }
    return { order };
  }

  /** Price the order's instrument from the current quotes, in order units (combo = one unit). */
  priced(o: SimOrder): Priced | undefined {
    if (o.secType !== "BAG") {
      const q = this.market.quote(o.contract.conId);
      if (!q) return undefined;
      return { bidNat: q.bid, askNat: q.ask, mid: q.mid, size: q.askSize };
    }
    let bidNat = 0, askNat = 0, mid = 0, size = Infinity;
    for (const l of o.legs) {
      const q = this.market.quote(l.conId);
      if (!q) return undefined;
      if (l.action === "BUY") {
        askNat += q.ask * l.ratio;
        bidNat += q.bid * l.ratio;
        mid += q.mid * l.ratio;
      } else {
        askNat -= q.bid * l.ratio;
        bidNat -= q.ask * l.ratio;
        mid -= q.mid * l.ratio;
      }
      size = Math.min(size, Math.floor(q.askSize / l.ratio));
    }
    return { bidNat: round2(bidNat), askNat: round2(askNat), mid: round2(mid), size };
  }

  /** The price this order would trade at now, or undefined if it must rest. */
  fillPrice(o: SimOrder): number | undefined {
    const p = this.priced(o);
    if (!p) return undefined;
    if (o.orderType === "MKT") return o.action === "BUY" ? p.askNat : p.bidNat;
    const lmt = o.lmtPrice as number;
    const buyRef = this.opts.fillRule === "mid" ? p.mid : p.askNat;
    const sellRef = this.opts.fillRule === "mid" ? p.mid : p.bidNat;
    if (o.action === "BUY") return lmt >= buyRef - 1e-9 ? lmt : undefined;
    return lmt <= sellRef + 1e-9 ? lmt : undefined;
  }

  tryFill(o: SimOrder): void {
    const k = key(o.clientId, o.orderId);
    if (!WORKING.has(o.status) || o.status === "PreSubmitted" || this.connectivityLost || this.scheduled.has(k) || !this.sessionOpen(o)) return;
    if (this.fillPrice(o) === undefined) return;
    this.scheduled.add(k);
    this.later(this.opts.fillDelayMs, () => {
      this.scheduled.delete(k);
      this.fillSlice(o);
    });
  }

  /** Re-check every working order, e.g. after the market moved or connectivity came back. */
  recheckAll(): void {
    for (const o of this.orders.values()) this.tryFill(o);
  }

  private fillSlice(o: SimOrder, forcedPrice?: number): void {
    if ((o.status !== "Submitted" && forcedPrice === undefined) || this.connectivityLost) return;
    // A fill that raced a cancel (forcedPrice) happened while the session was open; others need it open.
    if (forcedPrice === undefined && !this.sessionOpen(o)) return;
    const price = forcedPrice ?? this.fillPrice(o);
    const p = this.priced(o);
    if (price === undefined || !p) return;
    const qty = forcedPrice === undefined ? Math.min(o.remaining, Math.max(1, p.size), this.sliceLimit ?? Number.POSITIVE_INFINITY) : o.remaining;
    const legFills = this.legFills(o, price);
    const now = this.now(); // TWS stamps executions by its own clock (the tests may have moved it)
    const execs: SimExecution[] = [];
    let sliceCommission = 0;
    for (const lf of legFills) {
      const shares = lf.ratio * qty;
      const c = lf.contract;
      let comm = c.secType === "OPT" ? OPTION_COMMISSION * shares : Math.min(STOCK_COMMISSION * shares, 0.01 * shares * lf.price);
      comm = Math.round(comm * 10_000) / 10_000;
      sliceCommission += comm;
      execs.push({
        execId: `${this.execPrefix}.${(++this.execSeq).toString(16).padStart(8, "0")}.01.01`,
        orderId: o.orderId, clientId: o.clientId, permId: o.permId, orderRef: o.orderRef, account: o.account,
        conId: c.conId, symbol: c.symbol, secType: c.secType as "STK" | "OPT", contract: c, side: lf.side === "BUY" ? "BOT" : "SLD",
        shares, price: lf.price, cumQty: 0, avgPrice: 0, time: twsTime(now), timeMs: now, commission: comm,
      });
    }
    // IBKR's per-order minimum: top up the first execution of the slice that would leave it short
    const shortfall = MIN_COMMISSION - (o.commission + sliceCommission);
    const first = execs[0];
    if (shortfall > 0 && first) first.commission = Math.round((first.commission + shortfall) * 10_000) / 10_000;
    for (const e of execs) {
      const prior = this.executions.filter((x) => x.orderId === o.orderId && x.clientId === o.clientId && x.conId === e.conId);
      const cum = prior.reduce((a, x) => a + x.shares, 0) + e.shares;
      const notional = prior.reduce((a, x) => a + x.shares * x.price, 0) + e.shares * e.price;
      e.cumQty = cum;
      e.avgPrice = round4(notional / cum);
      const side = e.side === "BOT" ? "BUY" : "SELL";
      const realized = this.account.applyFill(e.contract, side, e.shares, e.price, e.commission);
      if (realized !== undefined) e.realizedPnL = round4(realized);
      o.commission = round4(o.commission + e.commission);
      this.executions.push(e);
    }
    const prevNotional = o.avgFillPrice * o.filled;
    o.filled += qty;
    o.remaining = o.totalQuantity - o.filled;
    o.avgFillPrice = round4((prevNotional + price * qty) / o.filled);
    o.lastFillPrice = price;
    o.updatedAt = now;
    for (const e of execs) this.events.execution(o, e);
    if (o.remaining <= 0) this.setStatus(o, "Filled");
    else this.events.orderUpdate(o);
    this.events.portfolioChanged();
    if (o.remaining > 0) this.tryFill(o);
  }

  /**
   * Split a net combo price over the legs: start from each leg's mid and spread the difference
   * evenly per unit of ratio, in whole cents, so the legs add back to exactly the net price.
   */
  private legFills(o: SimOrder, net: number): { contract: SimContract; ratio: number; side: "BUY" | "SELL"; price: number }[] {
    const flip = (a: "BUY" | "SELL"): "BUY" | "SELL" => (a === "BUY" ? "SELL" : "BUY");
    if (o.secType !== "BAG") {
      const c = this.market.contract(o.contract.conId) as SimContract;
      return [{ contract: c, ratio: 1, side: o.action, price: net }];
    }
    const legs = o.legs.map((l) => ({ l, sign: l.action === "BUY" ? 1 : -1, midC: Math.round(this.market.mark(l.conId) * 100) }));
    const netC = Math.round(net * 100);
    const ratioSum = legs.reduce((a, x) => a + x.l.ratio, 0);
    const diff = netC - legs.reduce((a, x) => a + x.sign * x.l.ratio * x.midC, 0);
    const cents = legs.map((x) => Math.max(1, x.midC + Math.round((x.sign * diff) / ratioSum)));
    const residual = netC - legs.reduce((a, x, i) => a + x.sign * x.l.ratio * (cents[i] as number), 0);
    const adj = legs.findIndex((x, i) => x.l.ratio === 1 && (cents[i] as number) + x.sign * residual >= 1);
    if (adj >= 0) cents[adj] = (cents[adj] as number) + (legs[adj] as (typeof legs)[number]).sign * residual;
    return legs.map((x, i) => ({
      contract: x.l.contract, ratio: x.l.ratio, side: o.action === "BUY" ? x.l.action : flip(x.l.action), price: (cents[i] as number) / 100,
    }));
  }

  private setStatus(o: SimOrder, status: SimOrder["status"]): void {
    if (o.permId === 0) o.permId = ++this.permSeq;
    o.status = status;
    o.updatedAt = this.now();
    this.events.orderUpdate(o);
  }

  estimateCommission(o: SimOrder): number {
    let c = 0;
    const legs = o.secType === "BAG" ? o.legs.map((l) => ({ c: l.contract, n: l.ratio * o.totalQuantity })) : [{ c: this.market.contract(o.contract.conId) as SimContract, n: o.totalQuantity }];
    for (const l of legs) c += l.c.secType === "OPT" ? OPTION_COMMISSION * l.n : STOCK_COMMISSION * l.n;
    return round4(Math.max(MIN_COMMISSION, c));
  }

  /** Margin and equity before and after the order fills in full at its limit (or the touch for MKT). */
  whatIf(o: SimOrder): WhatIfState {
    const before = this.account.snapshot();
    const mBefore = this.account.margin();
    const sim = this.account.clone();
    const p = this.priced(o);
    const price = o.orderType === "LMT" ? (o.lmtPrice as number) : p ? (o.action === "BUY" ? p.askNat : p.bidNat) : 0;
    const commission = this.estimateCommission(o);
    const fills = this.legFills(o, price);
    fills.forEach((f, i) => sim.applyFill(f.contract, f.side, f.ratio * o.totalQuantity, f.price, i === 0 ? commission : 0));
    const after = sim.snapshot();
    const mAfter = portfolioMargin(this.market, [...sim.positions.values()]);
    const r = round2;
    return {
      initMarginBefore: r(mBefore.init), maintMarginBefore: r(mBefore.maint), equityWithLoanBefore: before.equityWithLoan,
      initMarginChange: r(mAfter.init - mBefore.init), maintMarginChange: r(mAfter.maint - mBefore.maint),
      equityWithLoanChange: r(after.equityWithLoan - before.equityWithLoan),
      initMarginAfter: r(mAfter.init), maintMarginAfter: r(mAfter.maint), equityWithLoanAfter: after.equityWithLoan,
      commission, minCommission: commission, maxCommission: commission, warningText: "",
    };
  }

  cancel(clientId: number, orderId: number): void {
    const o = this.orders.get(key(clientId, orderId));
    if (!o || o.status === "Rejected") {
      this.events.orderError(clientId, orderId, 10147, `OrderId ${orderId} that needs to be cancelled is not found.`);
      return;
    }
    if (!WORKING.has(o.status) && o.status !== "NotTransmitted") {
      this.events.orderError(clientId, orderId, 10148, `OrderId ${orderId} that needs to be cancelled cannot be cancelled, state: ${o.status}.`);
      return;
    }
    this.cancelOne(o);
    if (this.raceNextCancel && o.lmtPrice !== undefined && o.remaining > 0) {
      this.raceNextCancel = false;
      const price = o.lmtPrice;
      this.later(this.opts.fillDelayMs, () => this.fillSlice(o, price));
    }
  }

  private cancelOne(o: SimOrder): void {
    this.scheduled.delete(key(o.clientId, o.orderId));
    this.setStatus(o, "Cancelled");
    this.events.orderError(o.clientId, o.orderId, 202, "Order Canceled - reason:");
  }

  globalCancel(): void {
    for (const o of this.orders.values()) if (WORKING.has(o.status) || o.status === "NotTransmitted") this.cancelOne(o);
  }

  workingOrders(clientId?: number): SimOrder[] {
    return [...this.orders.values()].filter((o) => WORKING.has(o.status) && (clientId === undefined || o.clientId === clientId));
  }
}

function orderContract(c: SimContract & { secType: "STK" | "OPT" }): SimOrder["contract"] {
  return {
    conId: c.conId, symbol: c.symbol, secType: c.secType, expiry: c.expiry, strike: c.strike, right: c.right,
    multiplier: c.secType === "OPT" ? c.multiplier : "", exchange: "SMART", currency: c.currency, localSymbol: c.localSymbol, tradingClass: c.tradingClass,
  };
}

const key = (clientId: number, orderId: number): string => `${clientId}:${orderId}`;
/** YYYYMMDD (IBKR's expiry) as YYYY-MM-DD (the calendar's). */
const isoDate = (yyyymmdd: string): string => `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;

/**
 * The close of the session a DAY order placed at `ms` works in, by the exchange calendar: that
 * day's (16:00 New York, 13:00 on an early close; index options 16:15), or the next session's when
 * placed after the close, on a weekend or a holiday.
 */
export function sessionClose(ms: number, symbol = "SPY"): number {
  return orderSession(ms, productOf(symbol)).close;
}
const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;
