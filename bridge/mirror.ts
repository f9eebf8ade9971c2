// The bridge's mirror of the broker (ib_insync style): orders, executions with their
// commissions, positions with prices, account values and P&L, kept current by TWS's event
// stream so reads are instant. Every change is published once as a protocol event.
import { type Contract as IbContract, EventName, type Execution as IbExecution, type Order as IbOrder, type OrderState } from "@stoqey/ib";
import type { CompletedOrder, EventData, EventType } from "../shared/protocol";
import type { AccountSummary, OrderStatusName, Position } from "../shared/tools";
import { fromIbExpiry } from "./contracts";
import type { Logger } from "./log";
import type { TwsConnection } from "./tws-connection";

export type Publish = <T extends EventType>(event: T, data: EventData<T>) => void;

export interface MirrorOrder {
  orderId: number;
  permId: number | null;
  orderRef: string | null;
  symbol: string;
  secType: string;
  action: "BUY" | "SELL";
  quantity: number;
  orderType: string;
  limitPrice: number | null;
  status: OrderStatusName;
  filled: number;
  remaining: number;
  avgFillPrice: number | null;
  whyHeld: string | null;
  reason: string | null;
  lastUpdate: string;
  /** What one unit of the order trades, per contract (a BAG's legs with the order's side applied). */
  flows: { conId: number; action: "BUY" | "SELL"; ratio: number }[];
  /**
   * A new TWS session no longer lists it (TWS restarted without it): it no longer works anywhere,
   * so it neither counts in reduce-only nor holds its orderRef. No status is published for it: the
   * edge's reconciliation finds it missing and keeps its risk reserved until TWS or a person speaks.
   */
  lost?: boolean;
  /** The TWS session (Mirror's count) that last placed it or spoke of it: an id means something only within its session. */
  session?: number;
}

/** The contracts one unit of an order trades: each combo leg (flipped for a SELL of the BAG), or the contract itself. */
export function orderFlows(contract: IbContract, action: "BUY" | "SELL"): MirrorOrder["flows"] {
  const flip = (a: "BUY" | "SELL"): "BUY" | "SELL" => (a === "BUY" ? "SELL" : "BUY");
  if (String(contract.secType) === "BAG")
    return (contract.comboLegs ?? []).map((leg) => {
      const legAction = leg.action === "SELL" ? "SELL" : "BUY";
      return { conId: leg.conId ?? 0, action: action === "BUY" ? legAction : flip(legAction), ratio: leg.ratio ?? 1 };
    });
  return [{ conId: contract.conId ?? 0, action, ratio: 1 }];
}

interface ExecutionRecord {
  data: Omit<EventData<"execution">, "commission" | "realized_pnl">;
  commission: number | null;
  realizedPnl: number | null;
  hasCommission: boolean;
  published: boolean;
}

/** Longest wait for each step of a re-sync (open orders, executions, completed orders, positions). */
const RESYNC_STEP_MS = 10_000;
/** IBKR's MIN_SERVER_VER_REQ_COMPLETED_ORDERS: older servers have no completed-orders request. */
const MIN_SERVER_COMPLETED_ORDERS = 150;
/** Most finished orders kept from one completed-orders answer (a day's worth, bounded). */
const MAX_COMPLETED = 2000;
const SUMMARY_TAGS = ["NetLiquidation", "TotalCashValue", "BuyingPower", "AvailableFunds", "ExcessLiquidity", "MaintMarginReq"] as const;
const TERMINAL: ReadonlySet<OrderStatusName> = new Set(["Filled", "Cancelled", "Rejected", "Inactive"]);
/** Error codes about an order that do not reject it (cancel confirmations, warnings). */
const NOT_A_REJECTION = new Set([161, 202, 399, 404, 10147, 10148, 10149, 10167, 10168]);

/** TWS's status words mapped onto the protocol's (ApiPending → PendingSubmit, …). */
export function statusName(tws: string | undefined): OrderStatusName {
  switch (tws) {
    case "PendingSubmit":
    case "ApiPending":
      return "PendingSubmit";
    case "PreSubmitted":
      return "PreSubmitted";
    case "Submitted":
    case "PendingCancel":
      return "Submitted";
    case "Filled":
      return "Filled";
    case "Cancelled":
    case "ApiCancelled":
      return "Cancelled";
    case "Inactive":
      return "Inactive";
    case "Rejected":
      return "Rejected";
    default:
      return "Unknown";
  }
}

/** A TWS number that means "unset" (undefined, NaN, Double.MAX) becomes null. */
export const num = (value: number | string | undefined | null): number | null => {
  if (value === undefined || value === null || value === "") return null;
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) && Math.abs(n) < 1e300 ? n : null;
};

const TZ_ALIASES: Record<string, string> = { "US/Eastern": "America/New_York", EST: "America/New_York", EDT: "America/New_York", "US/Central": "America/Chicago", "US/Pacific": "America/Los_Angeles" };

/** TWS times (`20251119 10:30:45 US/Eastern`, `20251119-15:30:45` UTC) as ISO UTC. */
export function twsTimeToIso(text: string | undefined): string {
  if (!text) return new Date().toISOString();
  const m = /^(\d{4})(\d{2})(\d{2})[-\s]+(\d{2}):(\d{2}):(\d{2})\s*(.*)$/.exec(text.trim());
  if (!m) return new Date().toISOString();
  const [, y, mo, d, h, mi, s, zoneText] = m as unknown as string[];
  const asUtc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const zone = zoneText?.trim() ? (TZ_ALIASES[zoneText.trim()] ?? zoneText.trim()) : text.includes("-") ? "UTC" : "America/New_York";
  if (zone === "UTC" || zone === "GMT") return new Date(asUtc).toISOString();
  try {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
        .formatToParts(new Date(asUtc))
        .map((p) => [p.type, p.value]),
    );
    const shown = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour) % 24, Number(parts.minute), Number(parts.second));
    return new Date(asUtc - (shown - asUtc)).toISOString();
  } catch {
    return new Date(asUtc).toISOString();
  }
}

/** One completed order as the edge reads it; TWS's `completedStatus` says how it ended (e.g. an expired DAY order). */
function completedOrderOf(order: IbOrder, state: OrderState): CompletedOrder {
  return {
    perm_id: num(order.permId),
    order_ref: order.orderRef || null,
    status: statusName(String(state?.status ?? "")),
    filled: num(order.filledQuantity) ?? 0,
    completed_time: state?.completedTime ? twsTimeToIso(state.completedTime) : null,
    completed_status: state?.completedStatus ? String(state.completedStatus).slice(0, 500) : null,
  };
}

function secTypeOf(contract: IbContract): Position["sec_type"] {
  const t = String(contract.secType ?? "");
  return t === "STK" || t === "OPT" || t === "BAG" ? t : "OTHER";
}
const rightOf = (contract: IbContract): "C" | "P" | null => {
  const r = String(contract.right ?? "").toUpperCase();
  return r === "C" || r === "CALL" ? "C" : r === "P" || r === "PUT" ? "P" : null;
};

export class Mirror {
  readonly orders = new Map<number, MirrorOrder>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly positionsByConId = new Map<number, Position>();
  private readonly summary = new Map<string, { value: number; currency: string }>();
  private pnl: EventData<"pnl"> | null = null;
  private lastAccountJson = "";
  private lastStatusJson = new Map<number, string>();
  private accountHeard: string | null = null;
  /** The current session's account subscriptions have delivered: the mirror is live, not left over. */
  private accountLive = false;
  /** What TWS listed as finished at the last re-sync (the edge settles the orders it knows from it). */
  private completed: CompletedOrder[] = [];
  /** Order ids of what-if previews: never mirrored as orders. */
  private readonly whatIfIds = new Set<number>();
  private heartbeat: NodeJS.Timeout | null = null;
  private summaryReqId = 0;
  private pnlReqId = 0;
  private sessions = 0;
  private syncReqId = 0;
  /** The next executions re-sync is the process's first: it fills the mirror without publishing. */
  private quietSync = true;
  positionsLoaded = false;
  /**
   * The contracts TWS listed in the account download under way: when it ends, a position the
   * mirror holds that TWS did not list went flat while no session was there to hear it.
   */
  private downloadListed: Set<number> | null = null;
  /** Callbacks waiting for an order's first acknowledgement or its rejection. */
  private readonly orderWatchers = new Map<number, Set<(order: MirrorOrder, rejection: { code: number; text: string } | null) => void>>();
  /**
   * Working orders with a modify (placeOrder again with their id) in flight: TWS refusing a
   * modify leaves the order working at its old price, so such an error is not a rejection.
   */
  readonly modifying = new Set<number>();
  /** whatIf answers by order id (never mirrored as orders). */
  private readonly whatIfWatchers = new Map<number, (state: OrderState) => void>();
  /**
   * Closes that passed reduce-only and are still on their way to TWS (awaiting quotes for their
   * natural price): what they will trade counts as working from the check on (see holdFlows).
   */
  private readonly held = new Map<symbol, readonly { conId: number; action: "BUY" | "SELL"; quantity: number }[]>();

  constructor(
    private readonly tws: TwsConnection,
    private readonly publish: Publish,
    private readonly logger: Logger,
  ) {
    tws.onIb(EventName.openOrder, (orderId: number, contract: IbContract, order: IbOrder, state: OrderState) => this.onOpenOrder(orderId, contract, order, state));
    tws.onIb(EventName.orderStatus, (orderId: number, status: string, filled: number, remaining: number, avgFillPrice: number, permId?: number, _parentId?: number, _lastFill?: number, _clientId?: number, whyHeld?: string) =>
      this.onOrderStatus(orderId, status, filled, remaining, avgFillPrice, permId, whyHeld),
    );
    tws.onIb(EventName.execDetails, (reqId: number, contract: IbContract, execution: IbExecution) => this.onExecution(reqId, contract, execution));
    tws.onIb(EventName.commissionReport, (report: { execId?: string; commission?: number; realizedPNL?: number }) => this.onCommission(report));
    tws.onIb(EventName.updatePortfolio, (contract: IbContract, position: number, marketPrice: number, marketValue: number, averageCost?: number, unrealizedPNL?: number) =>
      this.onPortfolio(contract, position, marketPrice, marketValue, averageCost, unrealizedPNL),
    );
    tws.onIb(EventName.accountDownloadEnd, () => {
      this.positionsLoaded = true;
      const listed = this.downloadListed;
      this.downloadListed = null;
      if (!listed) return;
      for (const [conId, position] of [...this.positionsByConId]) {
        if (listed.has(conId)) continue;
        this.positionsByConId.delete(conId);
        this.publish("position", { ...position, quantity: 0, market_value: 0, unrealized_pnl: 0, unrealized_pnl_pct: null, account: this.tws.account ?? "" });
      }
    });
    tws.onIb(EventName.accountSummary, (reqId: number, _account: string, tag: string, value: string, currency: string) => {
      if (reqId !== this.summaryReqId) return;
      const n = num(value);
      if (n !== null) this.summary.set(tag, { value: n, currency });
    });
    tws.onIb(EventName.accountSummaryEnd, (reqId: number) => {
      if (reqId !== this.summaryReqId) return;
      this.accountHeard = this.tws.brokerNow().toISOString();
      this.accountLive = true;
      this.publishAccount(false);
    });
    tws.onIb(EventName.pnl, (reqId: number, daily: number, unrealized?: number, realized?: number) => {
      if (reqId !== this.pnlReqId) return;
      const next = { daily: num(daily), unrealized: num(unrealized), realized: num(realized) };
      if (JSON.stringify(next) !== JSON.stringify(this.pnl)) {
        this.pnl = next;
        this.publish("pnl", next);
      }
      this.accountHeard = this.tws.brokerNow().toISOString();
      this.publishAccount(false);
    });
    tws.on("tws_error", ({ code, message, reqId }: { code: number; message: string; reqId: number }) => this.onOrderError(reqId, code, message));
    tws.on("ready", (account: string) => {
      this.subscribe(account, false);
      void this.resync("session_started", null);
    });
    // 1101: TWS lost its data subscriptions (1102 kept them): subscribe again on this session.
    // Either way orders may have filled or ended while IB was unreachable: re-read them.
    tws.on("restored", (code: number) => {
      if (code === 1101 && tws.account) this.subscribe(tws.account, true);
      void this.resync("connectivity_restored", code);
    });
    tws.on("down", () => {
      this.accountLive = false;
    });
  }

  /** Account events at least every `everyMs` while TWS is connected (the edge's freshness rule). */
  startHeartbeat(everyMs: number, linkUp: () => boolean = () => true): void {
    // Only while someone listens: a backlog of heartbeats would tell a reconnected edge nothing.
    this.heartbeat = setInterval(() => {
      if (this.accountIsLive && linkUp()) this.publishAccount(true);
    }, everyMs);
  }

  /** TWS connected (not degraded) and this session's subscriptions have delivered. */
  get accountIsLive(): boolean {
    return this.accountLive && this.tws.health.state === "connected";
  }

  stop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
  }

  // ---------------------------------------------------------------- subscriptions

  private subscribe(account: string, sameSession: boolean): void {
    if (sameSession) {
      // Replace, not add to, this session's subscriptions (TWS allows two account summaries).
      const [oldSummary, oldPnl] = [this.summaryReqId, this.pnlReqId];
      this.tws.send("cancel account summary", (ib) => ib.cancelAccountSummary(oldSummary)).catch(() => undefined);
      this.tws.send("cancel P&L", (ib) => ib.cancelPnL(oldPnl)).catch(() => undefined);
    } else this.sessions++;
    this.accountLive = false;
    this.positionsLoaded = false;
    this.downloadListed = new Set();
    this.summaryReqId = this.tws.nextReqId();
    this.pnlReqId = this.tws.nextReqId();
    const summaryId = this.summaryReqId;
    const pnlId = this.pnlReqId;
    const sends: [string, (ib: import("@stoqey/ib").IBApi) => void][] = [
      ["account summary", (ib) => ib.reqAccountSummary(summaryId, "All", SUMMARY_TAGS.join(","))],
      ["account updates", (ib) => ib.reqAccountUpdates(true, account)],
      ["P&L", (ib) => ib.reqPnL(pnlId, account, "")],
    ];
    for (const [what, send] of sends) this.tws.send(what, send).catch((error: Error) => this.logger.warn(`subscribing to ${what} failed: ${error.message}`));
  }

  /**
   * The full re-read after TWS came back: open orders (their statuses update the mirror and go to
   * the edge), today's executions (the fills made while TWS was away are published), completed
   * orders (final statuses of orders that ended meanwhile), and the positions of the account download. Then `tws_resynced` tells the edge to reconcile its ledger
   * against them, as on a link reconnect. A session that ends meanwhile drops the re-sync; the
   * next session makes its own.
   */
  private async resync(reason: EventData<"tws_resynced">["reason"], code: number | null): Promise<void> {
    const session = this.sessions;
    // What this mirror thought was working before the session began: what TWS no longer lists is lost.
    const before = reason === "session_started" ? this.openOrders().map((o) => o.orderId) : [];
    try {
      const listed = await this.tws.call<Set<number>>("re-sync: open orders", RESYNC_STEP_MS, (ctx) => {
        const ids = new Set<number>();
        ctx.on(EventName.openOrder, (orderId: number, _contract: IbContract, order: IbOrder) => {
          if (!order.whatIf) ids.add(orderId);
        });
        ctx.on(EventName.openOrderEnd, () => ctx.resolve(ids));
        return (ib) => ib.reqOpenOrders();
      });
      const openOrders = listed.size;
      for (const id of before) {
        const o = this.orders.get(id);
        if (!o || listed.has(id) || TERMINAL.has(o.status)) continue;
        o.lost = true;
        this.logger.warn({ order_id: id, order_ref: o.orderRef }, "TWS's new session does not list this working order: counted as lost (the edge reconciles it)");
      }
      const executions = await this.tws.call<number>("re-sync: executions", RESYNC_STEP_MS, (ctx) => {
        // Today's executions: the first session fills the mirror quietly (the edge reconciles what
        // happened before this process); later sessions publish the fills made while TWS was away.
        if (this.quietSync) this.syncReqId = ctx.reqId;
        this.quietSync = false;
        let count = 0;
        ctx.on(EventName.execDetails, (reqId: number) => {
          if (reqId === ctx.reqId) count++;
        });
        // Commission reports follow their executions: let the last one land before resolving.
        ctx.on(EventName.execDetailsEnd, (reqId: number) => {
          if (reqId === ctx.reqId) setImmediate(() => ctx.resolve(count));
        });
        return (ib) => ib.reqExecutions(ctx.reqId, {});
      });
      // Orders that ended while TWS was away (filled, cancelled) are no longer open, and TWS sends
      // no status for them: their final word is in the completed orders (server version ≥ 150).
      const completed =
        (this.tws.health.server_version ?? 0) < MIN_SERVER_COMPLETED_ORDERS
          ? 0
          : await this.tws.call<number>("re-sync: completed orders", RESYNC_STEP_MS, (ctx) => {
              const listed: CompletedOrder[] = [];
              ctx.on(EventName.completedOrder, (_contract: IbContract, order: IbOrder, state: OrderState) => {
                listed.push(completedOrderOf(order, state));
                this.onCompletedOrder(order, state);
              });
              ctx.on(EventName.completedOrdersEnd, () => {
                this.completed = listed.slice(-MAX_COMPLETED);
                ctx.resolve(listed.length);
              });
              return (ib) => ib.reqCompletedOrders(false);
            });
      for (let waited = 0; !this.positionsLoaded && waited < RESYNC_STEP_MS; waited += 50) await new Promise((r) => setTimeout(r, 50));
      if (session !== this.sessions || !this.tws.connected) return;
      if (!this.positionsLoaded) this.logger.warn("re-sync: TWS has not finished sending positions; the edge reconciles with what is known");
      const summary = { reason, code, open_orders: openOrders, executions, completed_orders: completed };
      this.logger.info(summary, "re-synced with TWS");
      this.publish("tws_resynced", summary);
    } catch (error) {
      this.logger.warn(`re-sync with TWS (${reason}${code ? ` ${code}` : ""}) failed: ${(error as Error).message}`);
    }
  }

  // ---------------------------------------------------------------- orders

  /** Register an order the bridge is about to send, so its events carry the orderRef at once. */
  expectOrder(order: Omit<MirrorOrder, "lastUpdate">): void {
    this.orders.set(order.orderId, { ...order, session: this.sessions, lastUpdate: this.tws.brokerNow().toISOString() });
  }

  /** The TWS session under way, as this mirror counts them (one per "ready"). */
  get session(): number {
    return this.sessions;
  }

  /** Call `fn` on the order's next update (or its rejection); returns an unsubscribe. */
  watchOrder(orderId: number, fn: (order: MirrorOrder, rejection: { code: number; text: string } | null) => void): () => void {
    const set = this.orderWatchers.get(orderId) ?? new Set();
    set.add(fn);
    this.orderWatchers.set(orderId, set);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.orderWatchers.delete(orderId);
    };
  }

  watchWhatIf(orderId: number, fn: (state: OrderState) => void): () => void {
    this.whatIfIds.add(orderId);
    this.whatIfWatchers.set(orderId, fn);
    return () => this.whatIfWatchers.delete(orderId);
  }

  private notify(order: MirrorOrder, rejection: { code: number; text: string } | null): void {
    for (const fn of [...(this.orderWatchers.get(order.orderId) ?? [])]) fn(order, rejection);
  }

  private onOpenOrder(orderId: number, contract: IbContract, order: IbOrder, state: OrderState): void {
    if (order.whatIf || this.whatIfIds.has(orderId)) {
      this.whatIfWatchers.get(orderId)?.(state);
      return;
    }
    const known = this.orders.get(orderId);
    const status = statusName(String(state?.status ?? ""));
    const action = order.action === "SELL" ? "SELL" : "BUY";
    const flows = orderFlows(contract, action);
    const next: MirrorOrder = {
      orderId,
      flows: flows.length > 0 && flows.every((f) => f.conId > 0) ? flows : known?.flows ?? flows,
      session: this.sessions,
      permId: num(order.permId) ?? known?.permId ?? null,
      orderRef: order.orderRef || known?.orderRef || null,
      symbol: contract.symbol ?? known?.symbol ?? "",
      secType: String(contract.secType ?? known?.secType ?? ""),
      action: order.action === "SELL" ? "SELL" : "BUY",
      quantity: num(order.totalQuantity) ?? known?.quantity ?? 0,
      orderType: String(order.orderType ?? known?.orderType ?? ""),
      limitPrice: num(order.lmtPrice) ?? known?.limitPrice ?? null,
      status: status === "Unknown" && known ? known.status : status,
      filled: known?.filled ?? 0,
      remaining: known?.remaining ?? num(order.totalQuantity) ?? 0,
      avgFillPrice: known?.avgFillPrice ?? null,
      whyHeld: known?.whyHeld ?? null,
      reason: known?.reason ?? null,
      lastUpdate: this.tws.brokerNow().toISOString(),
    };
    this.orders.set(orderId, next);
    // A new limit price (a modify TWS took) is news to the edge: a modify whose answer was lost settles on it.
    if (known && known.limitPrice !== next.limitPrice && this.lastStatusJson.has(orderId)) this.publishStatus(next);
    this.notify(next, null);
  }

  private onOrderStatus(orderId: number, status: string, filled: number, remaining: number, avgFillPrice: number, permId?: number, whyHeld?: string): void {
    if (this.whatIfIds.has(orderId)) return;
    const known = this.orders.get(orderId);
    const filledN = num(filled) ?? 0;
    const next: MirrorOrder = {
      orderId,
      // Not known yet (a status before its openOrder): the reduce-only check then cannot count it,
      // which is why the bridge registers every order it sends before sending it.
      flows: known?.flows ?? [],
      session: this.sessions,
      permId: num(permId) ?? known?.permId ?? null,
      orderRef: known?.orderRef ?? null,
      symbol: known?.symbol ?? "",
      secType: known?.secType ?? "",
      action: known?.action ?? "BUY",
      quantity: known?.quantity ?? filledN + (num(remaining) ?? 0),
      orderType: known?.orderType ?? "",
      limitPrice: known?.limitPrice ?? null,
      status: statusName(status),
      filled: filledN,
      remaining: num(remaining) ?? 0,
      avgFillPrice: filledN > 0 ? num(avgFillPrice) : null,
      whyHeld: whyHeld || null,
      reason: known?.reason ?? null,
      lastUpdate: this.tws.brokerNow().toISOString(),
    };
    this.orders.set(orderId, next);
    this.publishStatus(next);
    this.notify(next, null);
  }

  /**
   * A finished order from reqCompletedOrders (no order id on the wire): matched by permId, or by
   * orderRef for an order TWS never acknowledged to us (no permId yet) — never by orderRef alone
   * when permIds differ, since a close may be re-sent under the same ref after an earlier one ended.
   */
  private onCompletedOrder(order: IbOrder, state: OrderState): void {
    const status = statusName(String(state?.status ?? ""));
    if (!TERMINAL.has(status) || status === "Rejected") return;
    const permId = num(order.permId);
    const mine = [...this.orders.values()];
    const known = mine.find((o) => permId !== null && o.permId === permId) ?? mine.find((o) => o.permId === null && !!order.orderRef && o.orderRef === order.orderRef);
    if (!known || TERMINAL.has(known.status)) return;
    const filled = num(order.filledQuantity) ?? known.filled;
    const next: MirrorOrder = {
      ...known, permId: permId ?? known.permId, status, filled, remaining: Math.max(0, known.quantity - filled), lastUpdate: this.tws.brokerNow().toISOString(),
    };
    this.orders.set(known.orderId, next);
    this.logger.info({ order_id: known.orderId, order_ref: known.orderRef, status, filled }, "order finished while TWS was away (completed orders)");
    this.publishStatus(next);
    this.notify(next, null);
  }

  private onOrderError(id: number, code: number, text: string): void {
    const known = this.orders.get(id);
    if (!known) return;
    if (NOT_A_REJECTION.has(code) || (code >= 2100 && code < 2200)) {
      this.logger.info({ order_id: id, code }, `TWS about order ${id}: ${text}`);
      return;
    }
    if (this.modifying.has(id)) {
      this.logger.warn({ order_id: id, order_ref: known.orderRef, code }, `TWS refused the modify of order ${id}, which keeps working as it was: ${text}`);
      this.notify(known, { code, text });
      return;
    }
    if (TERMINAL.has(known.status)) return;
    const rejected: MirrorOrder = { ...known, status: "Rejected", reason: `TWS ${code}: ${text}`, lastUpdate: this.tws.brokerNow().toISOString() };
    this.orders.set(id, rejected);
    this.logger.warn({ order_id: id, order_ref: known.orderRef, code }, `TWS rejected order ${id}: ${text}`);
    this.publishStatus(rejected);
    this.notify(rejected, { code, text });
  }

  private publishStatus(order: MirrorOrder): void {
    const data: EventData<"order_status"> = {
      order_id: order.orderId,
      perm_id: order.permId,
      order_ref: order.orderRef,
      status: order.status,
      filled: order.filled,
      remaining: order.remaining,
      avg_fill_price: order.avgFillPrice,
      why_held: order.whyHeld,
      reason: order.status === "Rejected" ? order.reason : null,
      tws_session: this.tws.session,
      limit_price: order.limitPrice,
    };
    const json = JSON.stringify(data);
    // TWS repeats identical statuses; the edge hears each distinct one.
    if (this.lastStatusJson.get(order.orderId) === json) return;
    this.lastStatusJson.set(order.orderId, json);
    this.publish("order_status", data);
  }

  /** An order (not rejected; only working ones when `workingOnly`) or a fill carrying this orderRef. */
  knownOrderRef(orderRef: string, workingOnly = false): number | null {
    for (const o of this.orders.values()) {
      if (o.orderRef !== orderRef || o.status === "Rejected") continue;
      if (!workingOnly || (!TERMINAL.has(o.status) && !o.lost)) return o.orderId;
    }
    if (workingOnly) return null;
    for (const r of this.executions.values()) if (r.data.order_ref === orderRef) return r.data.order_id;
    return null;
  }

  /** The finished orders TWS listed at the last re-sync. */
  completedOrders(): CompletedOrder[] {
    return [...this.completed];
  }

  openOrders(): MirrorOrder[] {
    return [...this.orders.values()].filter((o) => !TERMINAL.has(o.status) && !o.lost);
  }

  /**
   * What every working order may still trade, per contract: the reduce-only check counts it. A
   * modify leaves out the order it replaces.
   */
  workingFlows(exceptOrderId?: number): { conId: number; action: "BUY" | "SELL"; quantity: number }[] {
    return [
      ...this.openOrders()
        .filter((o) => o.orderId !== exceptOrderId)
        .flatMap((o) => o.flows.map((f) => ({ conId: f.conId, action: f.action, quantity: f.ratio * Math.max(0, o.remaining) }))),
      ...[...this.held.values()].flat(),
    ];
  }

  /**
   * Counts an order that passed its reduce-only check as working before it exists at TWS, so a
   * check made while it awaits anything (its quotes) sees it — the check and the count in one
   * synchronous turn. `release` (idempotent) ends the hold: once the order itself is in the
   * mirror (expectOrder), or when it is not sent after all.
   */
  holdFlows(flows: readonly { conId: number; action: "BUY" | "SELL"; quantity: number }[]): { release(): void } {
    const key = Symbol("held close");
    this.held.set(key, [...flows]);
    return { release: () => void this.held.delete(key) };
  }

  // ---------------------------------------------------------------- executions

  private onExecution(reqId: number, contract: IbContract, e: IbExecution): void {
    if (!e.execId) return;
    const known = this.executions.get(e.execId);
    if (known) return;
    const record: ExecutionRecord = {
      data: {
        exec_id: e.execId,
        order_id: e.orderId ?? 0,
        perm_id: num(e.permId),
        order_ref: e.orderRef || null,
        con_id: contract.conId ?? 0,
        symbol: contract.symbol ?? "",
        sec_type: String(contract.secType ?? ""),
        expiry: fromIbExpiry(contract.lastTradeDateOrContractMonth),
        strike: num(contract.strike),
        right: rightOf(contract),
        side: e.side === "SLD" ? "SLD" : "BOT",
        shares: num(e.shares) ?? 0,
        price: num(e.price) ?? 0,
        time: twsTimeToIso(e.time),
      },
      commission: null,
      realizedPnl: null,
      hasCommission: false,
      // The first session's sync fills the mirror without publishing (see subscribe).
      published: reqId !== -1 && reqId === this.syncReqId,
    };
    this.executions.set(e.execId, record);
    this.maybePublishExecution(record);
  }

  private onCommission(report: { execId?: string; commission?: number; realizedPNL?: number }): void {
    if (!report.execId) return;
    const record = this.executions.get(report.execId);
    if (!record) return;
    record.commission = num(report.commission);
    record.realizedPnl = num(report.realizedPNL);
    record.hasCommission = true;
    this.maybePublishExecution(record);
  }

  private maybePublishExecution(record: ExecutionRecord): void {
    if (record.published || !record.hasCommission) return;
    record.published = true;
    this.publish("execution", this.executionData(record));
  }

  private executionData(record: ExecutionRecord): EventData<"execution"> {
    return { ...record.data, commission: record.commission, realized_pnl: record.realizedPnl };
  }

  /** Executions known to the mirror since an instant (all of today's when `since` is null). */
  executionsSince(since: Date | null): EventData<"execution">[] {
    return [...this.executions.values()]
      .filter((r) => since === null || Date.parse(r.data.time) >= since.getTime())
      .map((r) => this.executionData(r))
      .sort((a, b) => a.time.localeCompare(b.time) || a.exec_id.localeCompare(b.exec_id));
  }

  // ---------------------------------------------------------------- positions and account

  private onPortfolio(contract: IbContract, quantity: number, marketPrice: number, marketValue: number, averageCost?: number, unrealizedPNL?: number): void {
    const conId = contract.conId ?? 0;
    this.downloadListed?.add(conId);
    const avgCost = num(averageCost) ?? 0;
    const unrealized = num(unrealizedPNL);
    const basis = Math.abs(quantity * avgCost);
    const position: Position = {
      symbol: contract.symbol ?? "",
      sec_type: secTypeOf(contract),
      expiry: fromIbExpiry(contract.lastTradeDateOrContractMonth),
      strike: secTypeOf(contract) === "OPT" ? num(contract.strike) : null,
      right: rightOf(contract),
      con_id: conId,
      quantity,
      avg_cost: avgCost,
      current_price: num(marketPrice),
      market_value: num(marketValue),
      unrealized_pnl: unrealized,
      unrealized_pnl_pct: unrealized !== null && basis > 0 ? Math.round((unrealized / basis) * 10_000) / 100 : null,
    };
    const before = this.positionsByConId.get(conId);
    if (before && JSON.stringify(before) === JSON.stringify(position)) return;
    if (!before && quantity === 0) return;
    if (quantity === 0) this.positionsByConId.delete(conId);
    else this.positionsByConId.set(conId, position);
    this.publish("position", { ...position, account: this.tws.account ?? "" });
  }

  /** Publish the current state again (a new event stream starts from nothing at the edge). */
  publishSnapshot(): void {
    for (const position of this.positionsByConId.values()) this.publish("position", { ...position, account: this.tws.account ?? "" });
    if (this.pnl) this.publish("pnl", this.pnl);
    const account = this.account();
    if (account) this.publish("account", account);
  }

  positions(symbol?: string): Position[] {
    return [...this.positionsByConId.values()].filter((p) => !symbol || p.symbol === symbol);
  }

  positionOf(conId: number): Position | undefined {
    return this.positionsByConId.get(conId);
  }

  /** The account snapshot, or null until TWS has sent the summary and P&L. */
  account(asOf?: string): AccountSummary | null {
    const get = (tag: string) => this.summary.get(tag)?.value;
    const netLiq = get("NetLiquidation");
    if (netLiq === undefined || this.pnl === null || !this.tws.account || this.accountHeard === null) return null;
    return {
      account_id: this.tws.account,
      net_liquidation: netLiq,
      total_cash: get("TotalCashValue") ?? 0,
      buying_power: get("BuyingPower") ?? 0,
      available_funds: get("AvailableFunds") ?? 0,
      excess_liquidity: get("ExcessLiquidity") ?? 0,
      maintenance_margin: get("MaintMarginReq") ?? 0,
      unrealized_pnl: this.pnl.unrealized ?? 0,
      realized_pnl: this.pnl.realized ?? 0,
      daily_pnl: this.pnl.daily ?? 0,
      currency: this.summary.get("NetLiquidation")?.currency || "USD",
      as_of: asOf ?? this.accountHeard,
    };
  }

  /**
   * Publish the account when it changed — or, for the heartbeat, always. While TWS is connected
   * with live subscriptions the mirror is current, so the heartbeat's as_of is now.
   */
  private publishAccount(heartbeat: boolean): void {
    if (heartbeat) this.accountHeard = this.tws.brokerNow().toISOString();
    const snapshot = this.account();
    if (!snapshot) return;
    const { as_of: _asOf, ...values } = snapshot;
    const json = JSON.stringify(values);
    if (!heartbeat && json === this.lastAccountJson) return;
    this.lastAccountJson = json;
    this.publish("account", snapshot);
  }
}
