// The TCP side of the simulator: one Session per client socket, the handshake, request
// dispatch, subscriptions (market data, positions, account, P&L), order/execution fan-out,
// the fault switches and the pacing counter. Market/account/order state lives in the Engine.

import net from "node:net";
import { Account } from "./account";
import { type Request, decodeRequest } from "./decode";
import * as E from "./encode";
import { type Field, type Inbound, InboundReader, encodeFrame } from "./framing";
import { barTimeText, durationSeconds, historicalBars, type SimBar } from "./history";
import { Market, type SimContract, round2 } from "./market";
import { Engine, type FillRule, twsTime } from "./orders";
import type { SimExecution, SimOrder } from "./types";

export const MAX_SERVER_VERSION = 193;
export const MIN_SERVER_VERSION = 176;

export interface ServerOptions {
  port: number;
  host: string;
  serverVersion: number;
  account: string;
  fillDelayMs: number;
  fillRule: FillRule;
  startingCash: number;
  whatIfPlaceholder: boolean;
  /** The instant (epoch ms) TWS's clock starts at; default the machine's clock (Engine's startAt). */
  startAt?: number;
}

interface MktSub {
  reqId: number;
  symbols: Set<string>;
  conId?: number; // STK/OPT
  legs?: { conId: number; ratio: number; action: "BUY" | "SELL" }[]; // BAG
}

class Session {
  readonly reader = new InboundReader();
  sv = 0;
  clientId = -1;
  started = false;
  closed = false;
  autoBind = false;
  mdTypeRequested = false;
  readonly mktSubs = new Map<number, MktSub>();
  positionsSub = false;
  readonly sentPositions = new Map<number, number>();
  acctUpdates = false;
  readonly portfolioSent = new Set<number>();
  readonly summarySubs = new Map<number, string[]>();
  readonly pnlSubs = new Set<number>();
  readonly pnlSingleSubs = new Map<number, number>();
  readonly heldOut: Buffer[] = [];
  readonly heldIn: Inbound[] = [];
  constructor(readonly socket: net.Socket, readonly id: number) {}
}

export interface PacingStats {
  maxPerSecond: number;
  total: number;
  perClient: Record<string, { maxPerSecond: number; total: number }>;
}

class RateWindow {
  private readonly times: number[] = [];
  max = 0;
  total = 0;
  hit(now: number): void {
    this.total++;
    this.times.push(now);
    while (this.times.length && (this.times[0] as number) <= now - 1000) this.times.shift();
    this.max = Math.max(this.max, this.times.length);
  }
}

const SUMMARY_TAGS = [
  "AccountType", "NetLiquidation", "TotalCashValue", "SettledCash", "AccruedCash", "BuyingPower", "EquityWithLoanValue",
  "PreviousDayEquityWithLoanValue", "GrossPositionValue", "RegTEquity", "RegTMargin", "SMA", "InitMarginReq", "MaintMarginReq",
  "AvailableFunds", "ExcessLiquidity", "Cushion", "FullInitMarginReq", "FullMaintMarginReq", "FullAvailableFunds",
  "FullExcessLiquidity", "LookAheadNextChange", "LookAheadInitMarginReq", "LookAheadMaintMarginReq", "LookAheadAvailableFunds",
  "LookAheadExcessLiquidity", "HighestSeverity", "DayTradesRemaining", "Leverage",
];

export class SimServer {
  readonly market: Market;
  readonly account: Account;
  readonly engine: Engine;
  readonly sessions = new Set<Session>();
  readonly protocolWarnings: string[] = [];
  readonly unsupported: number[] = [];
  port = 0;
  silent = false;
  private refusing = false;
  private listener: net.Server | undefined;
  private sessionSeq = 0;
  private readonly pace = new RateWindow();
  private readonly pacePerClient = new Map<number, RateWindow>();
  private readonly sessionStartNetLiq: number;

  constructor(readonly opts: ServerOptions) {
    // One clock for everything TWS says with time: the engine's (its start, real time, test moves).
    const startAt = opts.startAt ?? Date.now();
    this.market = new Market(() => new Date(this.engine ? this.engine.now() : startAt));
    this.account = new Account(opts.account, this.market, opts.startingCash);
    this.sessionStartNetLiq = opts.startingCash;
    this.engine = new Engine(this.market, this.account, {
      orderUpdate: (o) => this.onOrderUpdate(o),
      execution: (o, e) => this.onExecution(o, e),
      accountExecution: (e) => {
        for (const s of this.sessions) {
          if (!s.started || s.clientId !== 0) continue;
          this.send(s, E.execDetails(s.sv, -1, e));
          this.send(s, E.commissionReport(e));
        }
      },
      orderError: (clientId, id, code, msg) => {
        for (const s of this.sessions) if (s.started && s.clientId === clientId) this.send(s, E.errMsg(s.sv, id, code, msg));
      },
      portfolioChanged: () => this.pushPortfolio(),
    }, { fillDelayMs: opts.fillDelayMs, fillRule: opts.fillRule, ...(opts.startAt === undefined ? {} : { startAt: opts.startAt }) });
  }

  async listen(): Promise<number> {
    await this.openListener(this.opts.port);
    return this.port;
  }

  private openListener(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const srv = net.createServer((sock) => this.accept(sock));
      srv.once("error", reject);
      srv.listen(port, this.opts.host, () => {
        srv.off("error", reject);
        const addr = srv.address();
        if (addr && typeof addr === "object") this.port = addr.port;
        this.listener = srv;
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    this.engine.stop();
    for (const s of this.sessions) s.socket.destroy();
    this.sessions.clear();
    const l = this.listener;
    this.listener = undefined;
    if (l) await new Promise<void>((r) => l.close(() => r()));
  }

  // ---------------------------------------------------------------- faults

  dropAll(): void {
    for (const s of this.sessions) {
      s.closed = true;
      s.socket.destroy();
    }
    this.sessions.clear();
  }

  /** TWS restarted (or a new Gateway): every socket drops, and the new TWS holds none of the old session's orders. */
  restartTws(): void {
    this.dropAll();
    this.engine.forgetSession();
  }

  async refuseConnections(on: boolean): Promise<void> {
    if (on === this.refusing) return;
    this.refusing = on;
    if (on) {
      // closing the listener makes new connects fail with ECONNREFUSED; open sockets stay up
      const l = this.listener;
      this.listener = undefined;
      l?.close();
    } else {
      await this.openListener(this.port);
    }
  }

  setSilent(on: boolean): void {
    this.silent = on;
    if (on) return;
    for (const s of this.sessions) {
      for (const b of s.heldOut.splice(0)) s.socket.write(b);
      for (const m of s.heldIn.splice(0)) this.process(s, m);
    }
  }

  broadcastInfo(code: number, msg: string): void {
    for (const s of this.sessions) if (s.started) this.send(s, E.errMsg(s.sv, -1, code, msg));
  }

  connectivityLost(): void {
    this.engine.connectivityLost = true;
    this.broadcastInfo(1100, "Connectivity between IB and Trader Workstation has been lost.");
  }

  connectivityRestored(dataLost = false): void {
    this.engine.connectivityLost = false;
    if (dataLost) this.broadcastInfo(1101, "Connectivity between IB and Trader Workstation has been restored - data lost.");
    else this.broadcastInfo(1102, "Connectivity between IB and Trader Workstation has been restored - data maintained. All data farms are connected: usfarm; usopt; ushmds; secdefil.");
    this.engine.recheckAll();
    this.marketChanged(this.market.symbols());
  }

  pacing(): PacingStats {
    const perClient: PacingStats["perClient"] = {};
    for (const [id, w] of this.pacePerClient) perClient[String(id)] = { maxPerSecond: w.max, total: w.total };
    return { maxPerSecond: this.pace.max, total: this.pace.total, perClient };
  }

  connections(): number {
    return [...this.sessions].filter((s) => !s.closed).length;
  }

  // ---------------------------------------------------------------- market

  /** Called after any price change: stream ticks, re-check resting orders, refresh marks. */
  marketChanged(symbols: string[]): void {
    const set = new Set(symbols.map((s) => s.toUpperCase()));
    if (!this.engine.connectivityLost) {
      for (const s of this.sessions) {
        for (const sub of s.mktSubs.values()) if ([...sub.symbols].some((x) => set.has(x))) this.sendTicks(s, sub, false);
      }
    }
    this.engine.recheckAll();
    this.pushPortfolio();
  }

  // ---------------------------------------------------------------- sockets

  /** A client connection: from the TCP listener, or an in-memory stream of the deterministic simulation (test/dst/). */
  accept(sock: net.Socket): void {
    if (this.refusing) {
      sock.destroy();
      return;
    }
    sock.setNoDelay(true);
    const s = new Session(sock, ++this.sessionSeq);
    this.sessions.add(s);
    sock.on("data", (chunk) => this.onData(s, chunk));
    const gone = () => {
      s.closed = true;
      this.sessions.delete(s);
    };
    sock.on("close", gone);
    sock.on("error", gone);
  }

  private send(s: Session, fields: Field[]): void {
    if (s.closed || s.socket.destroyed) return;
    const frame = encodeFrame(fields);
    if (this.silent) s.heldOut.push(frame);
    else s.socket.write(frame);
  }

  private onData(s: Session, chunk: Buffer): void {
    for (const m of s.reader.push(chunk)) {
      if (m.kind === "frame") {
        // counted on arrival, silent or not: this is what TWS's 50/s limit is measured on
        const now = Date.now();
        this.pace.hit(now);
        if (s.clientId >= 0) {
          const w = this.pacePerClient.get(s.clientId) ?? new RateWindow();
          w.hit(now);
          this.pacePerClient.set(s.clientId, w);
        }
      }
      if (this.silent) s.heldIn.push(m);
      else this.process(s, m);
    }
  }

  private process(s: Session, m: Inbound): void {
    if (s.closed) return;
    if (m.kind === "bad") {
      this.protocolWarnings.push(`session ${s.id}: ${m.reason}`);
      s.socket.destroy();
      return;
    }
    if (m.kind === "greeting") {
      const v = Math.min(m.maxVersion, this.opts.serverVersion);
      if (v < m.minVersion) {
        s.socket.destroy();
        return;
      }
      s.sv = v;
      this.send(s, [v, connTime(this.engine.now())]);
      return;
    }
    let req: Request;
    try {
      const d = decodeRequest(s.sv, m.fields);
      req = d.request;
      if (d.leftover) this.protocolWarnings.push(`session ${s.id}: ${d.leftover} unread field(s) in ${req.type}: ${JSON.stringify(m.fields)}`);
    } catch (err) {
      this.protocolWarnings.push(`session ${s.id}: cannot decode ${JSON.stringify(m.fields)}: ${(err as Error).message}`);
      return;
    }
    this.handle(s, req);
  }

  private handle(s: Session, req: Request): void {
    if (req.type === "startApi") return this.startApi(s, req.clientId);
    if (!s.started) {
      this.protocolWarnings.push(`session ${s.id}: ${req.type} before START_API`);
      return;
    }
    switch (req.type) {
      case "reqIds":
        return this.send(s, E.nextValidId(this.engine.nextOrderId()));
      case "reqCurrentTime":
        return this.send(s, E.currentTime(Math.floor(this.engine.now() / 1000)));
      case "reqManagedAccts":
        return this.send(s, E.managedAccts(this.opts.account));
      case "reqMarketDataType":
        s.mdTypeRequested = true;
        return;
      case "reqContractDetails": {
        const c = req.contract;
        const found = c.secType.toUpperCase() === "BAG" ? [] : this.market.find({
          conId: c.conId, symbol: c.symbol, secType: c.secType || (c.conId ? "" : "STK"), expiry: c.expiry, strike: c.strike, right: c.right, localSymbol: c.localSymbol,
        });
        if (!found.length) return this.send(s, E.errMsg(s.sv, req.reqId, 200, "No security definition has been found for the request"));
        for (const x of found) this.send(s, E.contractData(s.sv, req.reqId, x));
        return this.send(s, E.contractDataEnd(req.reqId));
      }
      case "reqSecDefOptParams": {
        const u = this.market.underlying(req.symbol);
        if (u && (!req.conId || req.conId === u.conId)) {
          for (const ex of ["SMART", "CBOE"]) {
            this.send(s, E.secDefOptParams(req.reqId, ex, u.conId, u.optionClass ?? u.symbol, this.market.expiries, this.market.strikes(u.symbol)));
          }
        }
        return this.send(s, E.secDefOptParamsEnd(req.reqId));
      }
      case "reqMktData":
        return this.reqMktData(s, req);
      case "cancelMktData":
        s.mktSubs.delete(req.reqId);
        return;
      case "placeOrder": {
        const r = this.engine.place(s.clientId, req.order);
        if (r.kind === "whatIf") {
          if (this.opts.whatIfPlaceholder) this.send(s, E.openOrder(s.sv, r.order, "PreSubmitted", undefined));
          this.send(s, E.openOrder(s.sv, r.order, "PreSubmitted", r.state));
        }
        return;
      }
      case "cancelOrder":
        return this.engine.cancel(s.clientId, req.orderId);
      case "reqGlobalCancel":
        return this.engine.globalCancel();
      case "reqOpenOrders":
      case "reqAllOpenOrders": {
        const list = this.engine.workingOrders(req.type === "reqOpenOrders" && s.clientId !== 0 ? s.clientId : undefined);
        for (const o of list) {
          this.send(s, E.openOrder(s.sv, o, o.status));
          this.send(s, E.orderStatus(s.sv, o));
        }
        return this.send(s, E.openOrderEnd());
      }
      case "reqCompletedOrders": {
        // Finished orders of the account (all clients; every simulator order is an API order).
        if (s.sv >= E.SV.FA_PROFILE_DESUPPORT)
          for (const o of this.engine.orders.values())
            if (o.status === "Filled" || o.status === "Cancelled" || o.status === "Inactive") this.send(s, E.completedOrder(s.sv, o, twsTime(o.updatedAt)));
        return this.send(s, E.completedOrdersEnd());
      }
      case "reqAutoOpenOrders":
        if (s.clientId === 0) s.autoBind = req.autoBind;
        else this.send(s, E.errMsg(s.sv, -1, 321, "Error validating request:-'a0' : cause - Cannot auto bind orders unless client id is 0."));
        return;
      case "reqExecutions": {
        const f = req.filter;
        const since = f.time.replace("-", " ").slice(0, 17);
        for (const e of this.engine.executions) {
          if (f.clientId && e.clientId !== f.clientId) continue;
          if (f.account && e.account !== f.account) continue;
          if (f.symbol && e.symbol !== f.symbol.toUpperCase()) continue;
          if (f.secType && e.secType !== f.secType.toUpperCase()) continue;
          if (f.side && !((f.side.toUpperCase().startsWith("B") && e.side === "BOT") || (f.side.toUpperCase().startsWith("S") && e.side === "SLD"))) continue;
          if (since && e.time.slice(0, 17) < since) continue;
          this.send(s, E.execDetails(s.sv, req.reqId, e));
          this.send(s, E.commissionReport(e));
        }
        return this.send(s, E.execDetailsEnd(req.reqId));
      }
      case "reqPositions":
        s.positionsSub = true;
        s.sentPositions.clear();
        for (const p of this.account.positions.values()) {
          this.send(s, E.position(this.opts.account, p.contract, p.qty, round4(p.avgCost)));
          s.sentPositions.set(p.contract.conId, p.qty);
        }
        return this.send(s, E.positionEnd());
      case "cancelPositions":
        s.positionsSub = false;
        return;
      case "reqAccountSummary": {
        const tags = req.tags.split(",").map((t) => t.trim()).filter((t) => SUMMARY_TAGS.includes(t));
        s.summarySubs.set(req.reqId, tags);
        return this.sendSummary(s, req.reqId, tags);
      }
      case "cancelAccountSummary":
        s.summarySubs.delete(req.reqId);
        return;
      case "reqAccountUpdates":
        s.acctUpdates = req.subscribe;
        if (req.subscribe) this.sendAccountUpdates(s, true);
        return;
      case "reqPnL":
        s.pnlSubs.add(req.reqId);
        return this.sendPnl(s, req.reqId);
      case "cancelPnL":
        s.pnlSubs.delete(req.reqId);
        return;
      case "reqPnLSingle":
        s.pnlSingleSubs.set(req.reqId, req.conId);
        return this.sendPnlSingle(s, req.reqId, req.conId);
      case "cancelPnLSingle":
        s.pnlSingleSubs.delete(req.reqId);
        return;
      case "reqHistoricalData":
        return this.reqHistoricalData(s, req);
      case "cancelHistoricalData":
        return;
      case "unsupported":
        this.unsupported.push(req.msgId);
        return;
    }
  }

  /** Deterministic bars of a stock (history.ts); TWS's 162 for what it cannot serve. */
  private reqHistoricalData(s: Session, req: Extract<Request, { type: "reqHistoricalData" }>): void {
    const c = req.contract;
    const found = c.secType.toUpperCase() === "BAG" ? [] : this.market.find({ conId: c.conId, symbol: c.symbol, secType: c.secType || "STK" });
    const only = found.length === 1 ? found[0] : undefined;
    if (!only) return this.send(s, E.errMsg(s.sv, req.reqId, 200, "No security definition has been found for the request"));
    const u = this.market.underlying(only.symbol);
    if (only.secType !== "STK" || !u) return this.send(s, E.errMsg(s.sv, req.reqId, 162, "Historical Market Data Service error message:HMDS query returned no data"));
    if (req.keepUpToDate) return this.send(s, E.errMsg(s.sv, req.reqId, 162, "Historical Market Data Service error message:keepUpToDate is not served by the simulator"));
    const endMs = this.engine.now();
    const bars = historicalBars(u.symbol, u.price, u.vol, req.barSize, req.duration, endMs);
    if (!bars) return this.send(s, E.errMsg(s.sv, req.reqId, 321, `Error validating request.-'bP' : cause - Historical data bar size setting "${req.barSize}" or duration "${req.duration}" is invalid.`));
    const daily = req.barSize === "1 day";
    const fmt = (ms: number) => barTimeText({ time: ms } as SimBar, false, 1).replace(" US/Eastern", "");
    const start = fmt(endMs - (durationSeconds(req.duration) as number) * 1000);
    this.send(s, E.historicalData(req.reqId, start, fmt(endMs), bars.map((b) => ({ ...b, date: barTimeText(b, daily, req.formatDate) }))));
  }

  private startApi(s: Session, clientId: number): void {
    const taken = [...this.sessions].some((o) => o !== s && o.started && !o.closed && o.clientId === clientId);
    if (taken) {
      // as TWS: one notice, then the socket is closed
      this.send(s, E.errMsg(s.sv, -1, 326, "Unable to connect as the client id is already in use. Retry with a unique client id."));
      s.closed = true;
      s.socket.end();
      return;
    }
    s.clientId = clientId;
    s.started = true;
    this.send(s, E.managedAccts(this.opts.account));
    this.send(s, E.nextValidId(this.engine.nextOrderId()));
    this.send(s, E.errMsg(s.sv, -1, 2104, "Market data farm connection is OK:usfarm"));
    this.send(s, E.errMsg(s.sv, -1, 2104, "Market data farm connection is OK:usopt"));
    this.send(s, E.errMsg(s.sv, -1, 2106, "HMDS data farm connection is OK:ushmds"));
    this.send(s, E.errMsg(s.sv, -1, 2158, "Sec-def data farm connection is OK:secdefil"));
    if (this.engine.connectivityLost) this.send(s, E.errMsg(s.sv, -1, 1100, "Connectivity between IB and Trader Workstation has been lost."));
  }

  // ---------------------------------------------------------------- market data

  private reqMktData(s: Session, req: Extract<Request, { type: "reqMktData" }>): void {
    const c = req.contract;
    let sub: MktSub;
    if (c.secType.toUpperCase() === "BAG") {
      const legs: NonNullable<MktSub["legs"]> = [];
      const symbols = new Set<string>();
      for (const l of req.legs) {
        const lc = this.market.contract(l.conId);
        if (!lc) return this.send(s, E.errMsg(s.sv, req.reqId, 200, "No security definition has been found for the request"));
        legs.push({ conId: l.conId, ratio: l.ratio || 1, action: l.action.toUpperCase() === "SELL" ? "SELL" : "BUY" });
        symbols.add(lc.symbol);
      }
      if (!legs.length) return this.send(s, E.errMsg(s.sv, req.reqId, 200, "No security definition has been found for the request"));
      sub = { reqId: req.reqId, symbols, legs };
    } else {
      const found = this.market.find({ conId: c.conId, symbol: c.symbol, secType: c.secType || "STK", expiry: c.expiry, strike: c.strike, right: c.right, localSymbol: c.localSymbol });
      const only = found.length === 1 ? found[0] : undefined;
      if (!only) return this.send(s, E.errMsg(s.sv, req.reqId, 200, "No security definition has been found for the request"));
      sub = { reqId: req.reqId, symbols: new Set([only.symbol]), conId: only.conId };
    }
    this.send(s, E.tickReqParams(req.reqId));
    if (s.mdTypeRequested) this.send(s, E.marketDataType(req.reqId, 1));
    this.sendTicks(s, sub, true);
    if (req.snapshot) this.send(s, E.tickSnapshotEnd(req.reqId));
    else s.mktSubs.set(req.reqId, sub);
  }

  private sendTicks(s: Session, sub: MktSub, first: boolean): void {
    const id = sub.reqId;
    if (sub.conId !== undefined) {
      const q = this.market.quote(sub.conId);
      if (!q) return;
      this.send(s, E.tickPrice(id, 1, q.bid, q.bidSize, 1));
      this.send(s, E.tickPrice(id, 2, q.ask, q.askSize, 1));
      this.send(s, E.tickPrice(id, 4, q.last, 1, 0));
      if (first) {
        this.send(s, E.tickPrice(id, 9, q.close, 0, 0));
        this.send(s, E.tickSize(id, 8, q.model ? 1250 : 2_500_000));
      }
      for (const [tickType, values] of this.market.optionComputations(sub.conId)) this.send(s, E.tickOptionComputation(s.sv, id, tickType, values));
      return;
    }
    let bid = 0, ask = 0, mid = 0, size = Infinity;
    for (const l of sub.legs ?? []) {
      const q = this.market.quote(l.conId);
      if (!q) return;
      const sign = l.action === "BUY" ? 1 : -1;
      bid += sign * (sign > 0 ? q.bid : q.ask) * l.ratio;
      ask += sign * (sign > 0 ? q.ask : q.bid) * l.ratio;
      mid += sign * q.mid * l.ratio;
      size = Math.min(size, Math.floor(q.askSize / l.ratio));
    }
    this.send(s, E.tickPrice(id, 1, round2(bid), size, 1));
    this.send(s, E.tickPrice(id, 2, round2(ask), size, 1));
    this.send(s, E.tickPrice(id, 4, round2(mid), 1, 0));
  }

  // ---------------------------------------------------------------- orders

  private orderSessions(o: SimOrder): Session[] {
    return [...this.sessions].filter((s) => s.started && (s.clientId === o.clientId || s.autoBind));
  }

  private onOrderUpdate(o: SimOrder): void {
    if (o.status === "NotTransmitted" || o.status === "Rejected") return;
    for (const s of this.orderSessions(o)) {
      this.send(s, E.openOrder(s.sv, o, o.status));
      this.send(s, E.orderStatus(s.sv, o));
    }
  }

  private onExecution(o: SimOrder, e: SimExecution): void {
    for (const s of this.orderSessions(o)) {
      this.send(s, E.execDetails(s.sv, -1, e));
      this.send(s, E.commissionReport(e));
    }
  }

  // ---------------------------------------------------------------- account

  private summaryValues(): Record<string, [string, string]> {
    const a = this.account.snapshot();
    const usd = (x: number): [string, string] => [x.toFixed(2), "USD"];
    return {
      AccountType: ["INDIVIDUAL", ""], NetLiquidation: usd(a.netLiquidation), TotalCashValue: usd(a.cash), SettledCash: usd(a.cash),
      AccruedCash: usd(0), BuyingPower: usd(a.buyingPower), EquityWithLoanValue: usd(a.equityWithLoan),
      PreviousDayEquityWithLoanValue: usd(this.sessionStartNetLiq), GrossPositionValue: usd(a.grossPositionValue),
      RegTEquity: usd(a.equityWithLoan), RegTMargin: usd(a.initMargin), SMA: usd(Math.max(0, a.availableFunds)),
      InitMarginReq: usd(a.initMargin), MaintMarginReq: usd(a.maintMargin), AvailableFunds: usd(a.availableFunds),
      ExcessLiquidity: usd(a.excessLiquidity), Cushion: [(a.netLiquidation ? a.excessLiquidity / a.netLiquidation : 0).toFixed(6), ""],
      FullInitMarginReq: usd(a.initMargin), FullMaintMarginReq: usd(a.maintMargin), FullAvailableFunds: usd(a.availableFunds),
      FullExcessLiquidity: usd(a.excessLiquidity), LookAheadNextChange: ["0", ""], LookAheadInitMarginReq: usd(a.initMargin),
      LookAheadMaintMarginReq: usd(a.maintMargin), LookAheadAvailableFunds: usd(a.availableFunds),
      LookAheadExcessLiquidity: usd(a.excessLiquidity), HighestSeverity: ["0", ""], DayTradesRemaining: ["-1", ""],
      Leverage: [(a.netLiquidation ? a.grossPositionValue / a.netLiquidation : 0).toFixed(4), ""],
    };
  }

  private sendSummary(s: Session, reqId: number, tags: string[]): void {
    const v = this.summaryValues();
    for (const t of tags) {
      const x = v[t];
      if (x) this.send(s, E.accountSummary(reqId, this.opts.account, t, x[0], x[1]));
    }
    this.send(s, E.accountSummaryEnd(reqId));
  }

  private sendAccountUpdates(s: Session, initial: boolean): void {
    const a = this.account.snapshot();
    const acct = this.opts.account;
    const vals: [string, string, string][] = [
      ["AccountCode", acct, ""], ["AccountType", "INDIVIDUAL", ""], ["Currency", "USD", "USD"],
      ["NetLiquidation", a.netLiquidation.toFixed(2), "USD"], ["TotalCashValue", a.cash.toFixed(2), "USD"],
      ["TotalCashBalance", a.cash.toFixed(2), "BASE"], ["CashBalance", a.cash.toFixed(2), "USD"],
      ["SettledCash", a.cash.toFixed(2), "USD"], ["EquityWithLoanValue", a.equityWithLoan.toFixed(2), "USD"],
      ["GrossPositionValue", a.grossPositionValue.toFixed(2), "USD"], ["InitMarginReq", a.initMargin.toFixed(2), "USD"],
      ["MaintMarginReq", a.maintMargin.toFixed(2), "USD"], ["AvailableFunds", a.availableFunds.toFixed(2), "USD"],
      ["ExcessLiquidity", a.excessLiquidity.toFixed(2), "USD"], ["BuyingPower", a.buyingPower.toFixed(2), "USD"],
      ["UnrealizedPnL", a.unrealizedPnL.toFixed(2), "USD"], ["RealizedPnL", a.realizedPnL.toFixed(2), "USD"],
    ];
    for (const [k, v, c] of vals) this.send(s, E.acctValue(k, v, c, acct));
    const current = new Set<number>();
    for (const p of this.account.positions.values()) {
      current.add(p.contract.conId);
      this.send(s, portfolioMsg(this.account, p.contract, p.qty, p.avgCost, acct));
      s.portfolioSent.add(p.contract.conId);
    }
    for (const conId of [...s.portfolioSent]) {
      if (current.has(conId)) continue;
      // a closed position is reported once with size 0, as TWS does
      const c = this.market.contract(conId);
      if (c) this.send(s, portfolioMsg(this.account, c, 0, 0, acct));
      s.portfolioSent.delete(conId);
    }
    const t = twsTime(this.engine.now());
    this.send(s, E.acctUpdateTime(t.slice(9, 14)));
    if (initial) this.send(s, E.acctDownloadEnd(acct));
  }

  private sendPnl(s: Session, reqId: number): void {
    const a = this.account.snapshot();
    this.send(s, E.pnl(s.sv, reqId, a.dailyPnL, a.unrealizedPnL, a.realizedPnL));
  }

  private sendPnlSingle(s: Session, reqId: number, conId: number): void {
    const p = this.account.positions.get(conId);
    if (!p) return this.send(s, E.pnlSingle(s.sv, reqId, 0, 0, 0, 0, 0));
    const u = round2(this.account.unrealized(p));
    this.send(s, E.pnlSingle(s.sv, reqId, p.qty, u, u, 0, round2(this.account.marketValue(p))));
  }

  /** Fills and price moves: push what each session subscribed to. */
  pushPortfolio(): void {
    for (const s of this.sessions) {
      if (!s.started) continue;
      if (s.positionsSub) {
        const seen = new Set<number>();
        for (const p of this.account.positions.values()) {
          seen.add(p.contract.conId);
          if (s.sentPositions.get(p.contract.conId) === p.qty) continue;
          this.send(s, E.position(this.opts.account, p.contract, p.qty, round4(p.avgCost)));
          s.sentPositions.set(p.contract.conId, p.qty);
        }
        for (const conId of [...s.sentPositions.keys()]) {
          if (seen.has(conId)) continue;
          const c = this.market.contract(conId);
          if (c) this.send(s, E.position(this.opts.account, c, 0, 0));
          s.sentPositions.delete(conId);
        }
      }
      if (s.acctUpdates) this.sendAccountUpdates(s, false);
      for (const [reqId, tags] of s.summarySubs) this.sendSummary(s, reqId, tags);
      for (const reqId of s.pnlSubs) this.sendPnl(s, reqId);
      for (const [reqId, conId] of s.pnlSingleSubs) this.sendPnlSingle(s, reqId, conId);
    }
  }
}

function portfolioMsg(a: Account, c: SimContract, qty: number, avgCost: number, acct: string): Field[] {
  const mark = a.market.mark(c.conId);
  const mv = round2(qty * mark * c.multiplier);
  const unreal = round2(mv - qty * avgCost);
  return E.portfolioValue(c, qty, mark, mv, round4(avgCost), qty ? unreal : 0, 0, acct);
}

function connTime(ms: number): string {
  return twsTime(ms).replace(" US/Eastern", " EST");
}

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;
