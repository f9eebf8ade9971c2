// The trade ledger in SQLite: trades, their IBKR orders (matched by orderRef) and fills, and the
// realized P&L of a closed trade computed from its fills. Pure SQL helpers, no I/O beyond storage.
import { OPTION_MULTIPLIER } from "../../shared/limits";
import { roundCents } from "../../shared/money";
import { exposureGroup } from "../../shared/underlying";
import type { Leg } from "../../shared/order";
import type { Execution } from "../../shared/protocol";
import type { OrderStatusName, Position } from "../../shared/tools";
import { getKv, setKv } from "./kv";

/** Trade states. Active ones hold their reserved risk and count toward concentration. */
export type TradeState =
  | "pending_approval" // shadow mode: waits for an admin
  | "submitting" // sent to the bridge, no answer yet
  | "unknown" // the bridge never answered: it may have reached TWS (reconciliation settles it)
  | "working" // acknowledged by TWS, not filled yet
  | "open" // opening order filled (or partly filled and done)
  | "closing" // close order sent
  | "closed"
  | "cancelled"
  | "rejected"
  | "expired";
export const ACTIVE_STATES: readonly TradeState[] = ["pending_approval", "submitting", "unknown", "working", "open", "closing"];
const ACTIVE_SQL = ACTIVE_STATES.map((s) => `'${s}'`).join(",");

export type TradeRow = {
  trade_id: string;
  symbol: string;
  strategy: string;
  state: TradeState;
  reserved_risk: number;
  exposure: number;
  /** Underlying group the exposure counts in (shared/underlying.ts); null on rows made before it existed. */
  exposure_group: string | null;
  computed_max_risk: number | null;
  claimed_max_risk: number;
  capital_required: number;
  net_premium: number;
  max_gain: number | null;
  breakevens_json: string;
  legs_json: string;
  limit_price: number;
  fingerprint: string;
  metadata_json: string | null;
  idempotency_key: string | null;
  created_at: string;
  created_ms: number;
  updated_at: string;
  expires_at: string | null;
  realized_pnl: number | null;
  closed_at: string | null;
  /** Realized P&L of stock its options delivered, booked so far (delivered-stock.ts); null: none. */
  delivered_stock_pnl: number | null;
};

export type OrderRow = {
  order_ref: string;
  trade_id: string;
  intent: "open" | "close";
  order_id: number | null;
  perm_id: number | null;
  status: OrderStatusName;
  filled: number;
  remaining: number;
  avg_fill_price: number | null;
  why_held: string | null;
  reason: string | null;
  created_at: string;
  updated_at: string;
  /** The TWS session that issued `order_id` (null: unknown, made before sessions were recorded). */
  tws_session: string | null;
  /** When reconciliation last could not account for this working order (null: accounted for). */
  unaccounted_at: string | null;
  /** The evidence counter when the row last changed (nextEvidence). */
  evidence_seq: number;
};

export type FillRow = {
  exec_id: string;
  order_ref: string | null;
  trade_id: string | null;
  order_id: number | null;
  symbol: string;
  sec_type: string;
  side: "BOT" | "SLD";
  shares: number;
  price: number;
  commission: number | null;
  time: string;
  received_at: string;
  details_json: string;
  /** An execution no order made (settlements.ts): an option leaving by exercise, assignment or lapse, or the stock it delivered. */
  settlement: "option" | "delivery" | null;
  /** An option settlement's delivery, and the delivery's option settlement. */
  paired_exec_id: string | null;
};

/** The strategy of a trade made to close a position TWS holds that no trade accounts for (flatten.ts). */
export const FLATTEN_STRATEGY = "flatten position";

export const closeRef = (tradeId: string): string => `${tradeId}_CLOSE`;
export const legsOf = (trade: TradeRow): Leg[] => JSON.parse(trade.legs_json) as Leg[];

export function insertTrade(sql: SqlStorage, t: Omit<TradeRow, "realized_pnl" | "closed_at" | "delivered_stock_pnl">): void {
  sql.exec(
    `INSERT INTO trades (trade_id, symbol, strategy, state, reserved_risk, exposure, exposure_group, computed_max_risk, claimed_max_risk,
       capital_required, net_premium, max_gain, breakevens_json, legs_json, limit_price, fingerprint, metadata_json,
       idempotency_key, created_at, created_ms, updated_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    t.trade_id, t.symbol, t.strategy, t.state, t.reserved_risk, t.exposure, t.exposure_group, t.computed_max_risk, t.claimed_max_risk,
    t.capital_required, t.net_premium, t.max_gain, t.breakevens_json, t.legs_json, t.limit_price, t.fingerprint,
    t.metadata_json, t.idempotency_key, t.created_at, t.created_ms, t.updated_at, t.expires_at,
  );
}

export function tradeExists(sql: SqlStorage, tradeId: string): boolean {
  return sql.exec("SELECT 1 FROM trades WHERE trade_id = ?", tradeId).toArray().length > 0;
}

export function getTrade(sql: SqlStorage, tradeId: string): TradeRow | null {
  return (sql.exec<TradeRow>("SELECT * FROM trades WHERE trade_id = ?", tradeId).toArray()[0] as TradeRow | undefined) ?? null;
}

export function setTradeState(sql: SqlStorage, tradeId: string, state: TradeState, at = new Date()): void {
  sql.exec("UPDATE trades SET state = ?, updated_at = ? WHERE trade_id = ?", state, at.toISOString(), tradeId);
}

export function listTrades(sql: SqlStorage, filter: { state?: string; symbol?: string; limit?: number } = {}): TradeRow[] {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (filter.state) (where.push("state = ?"), args.push(filter.state));
  if (filter.symbol) (where.push("symbol = ?"), args.push(filter.symbol));
  const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
  return sql.exec<TradeRow>(`SELECT * FROM trades ${clause} ORDER BY created_ms DESC, trade_id DESC LIMIT ?`, ...args, filter.limit ?? 100).toArray() as TradeRow[];
}

export function activeTrades(sql: SqlStorage): TradeRow[] {
  return sql.exec<TradeRow>(`SELECT * FROM trades WHERE state IN (${ACTIVE_SQL}) ORDER BY created_ms`).toArray() as TradeRow[];
}

/** States whose opening order is not (wholly) filled yet: its worst case is reserved against today's loss room. */
export const WORKING_STATES: readonly TradeState[] = ["pending_approval", "submitting", "unknown", "working"];

/**
 * The worst case reserved by every trade whose opening order still works (or waits to be sent),
 * against the daily loss room: any of them may fill and lose its worst case today. Once filled,
 * the trade's loss counts by TWS's marks in today's P&L instead (safety-state.ts dailyPnl).
 */
export function workingOrdersRisk(sql: SqlStorage, exceptTradeId?: string): number {
  const row = sql
    .exec<{ total: number | null }>(`SELECT SUM(reserved_risk) AS total FROM trades WHERE state IN (${WORKING_STATES.map((s) => `'${s}'`).join(",")}) AND trade_id != ?`, exceptTradeId ?? "")
    .toArray()[0];
  return roundCents(row?.total ?? 0);
}

/** Exposure per underlying group (economic underlyings together; each row already counts its multiple) of every active trade (open, working and pending ones). */
export function exposureBySymbol(sql: SqlStorage, exceptTradeId?: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const row of sql.exec<{ symbol: string; exposure_group: string | null; total: number }>(
    `SELECT symbol, exposure_group, SUM(exposure) AS total FROM trades WHERE state IN (${ACTIVE_SQL}) AND trade_id != ? GROUP BY symbol, exposure_group`,
    exceptTradeId ?? "",
  )) {
    const group = exposureGroup(row.exposure_group ?? row.symbol);
    out[group] = roundCents((out[group] ?? 0) + row.total);
  }
  return out;
}

/**
 * What the active trades hold, per contract (con_id, signed: negative is short), by their fills:
 * opening fills minus closing ones (and its options that left by exercise, assignment or lapse),
 * so a partly closed trade holds what is left. Stock delivered by an exercise or an assignment is
 * booked on the option's trade (settlements.ts) but is not one of its legs: its close does not
 * sell it and its exposure does not count it, so no trade holds it here. With `flattens`, a
 * flatten trade under way also holds its one leg (it has no opening fills of its own). A position
 * TWS reports beyond this is one no trade accounts for (flatten.ts, untracked-exposure.ts).
 */
export function heldByActiveTrades(sql: SqlStorage, opts: { flattens: boolean }): Map<number, number> {
  const held = new Map<number, number>();
  for (const row of sql.exec<{ details_json: string; side: string; shares: number }>(
    `SELECT f.details_json, f.side, f.shares FROM fills f JOIN trades t ON t.trade_id = f.trade_id
     WHERE t.state IN (${ACTIVE_SQL}) AND f.sec_type != 'BAG' AND (f.settlement IS NULL OR f.settlement != 'delivery')`,
  )) {
    const conId = (JSON.parse(row.details_json) as { con_id?: number }).con_id;
    if (typeof conId !== "number") continue;
    held.set(conId, (held.get(conId) ?? 0) + (row.side === "BOT" ? row.shares : -row.shares));
  }
  if (!opts.flattens) return held;
  for (const row of sql.exec<{ metadata_json: string; legs_json: string }>(`SELECT metadata_json, legs_json FROM trades WHERE strategy = ? AND state IN (${ACTIVE_SQL})`, FLATTEN_STRATEGY)) {
    const conId = (JSON.parse(row.metadata_json) as { con_id: number }).con_id;
    const [leg] = JSON.parse(row.legs_json) as Leg[];
    if (leg) held.set(conId, (held.get(conId) ?? 0) + (leg.action === "BUY" ? leg.quantity : -leg.quantity));
  }
  return held;
}

/** The TWS session the bridge last reported (TwsHealth.session), or null. */
export function currentTwsSession(sql: SqlStorage): string | null {
  return getKv<{ session?: string | null } | null>(sql, "tws_health", null)?.session ?? null;
}

/**
 * Writes an order. An order id is recorded with the TWS session that issued it (the one given,
 * else the bridge's current one); a new id takes its session along, the same id keeps the first.
 * An order that reaches a final status is no longer unaccounted.
 */
export function upsertOrder(sql: SqlStorage, o: Partial<OrderRow> & Pick<OrderRow, "order_ref" | "trade_id" | "intent" | "status">, at = new Date()): void {
  const now = at.toISOString();
  const evidence = nextEvidence(sql);
  const session = o.order_id != null ? (o.tws_session ?? currentTwsSession(sql)) : null;
  const unaccounted = ["Filled", "Cancelled", "Rejected", "Inactive"].includes(o.status) ? null : (o.unaccounted_at ?? null);
  sql.exec(
    `INSERT INTO orders (order_ref, trade_id, intent, order_id, perm_id, status, filled, remaining, avg_fill_price, why_held, reason, created_at, updated_at, tws_session, unaccounted_at, evidence_seq)
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
     ON CONFLICT(order_ref) DO UPDATE SET order_id = COALESCE(excluded.order_id, orders.order_id),
       tws_session = CASE WHEN excluded.order_id IS NULL THEN orders.tws_session
                          WHEN orders.order_id IS excluded.order_id THEN COALESCE(orders.tws_session, excluded.tws_session)
                          ELSE excluded.tws_session END,
       perm_id = COALESCE(excluded.perm_id, orders.perm_id), status = excluded.status, filled = excluded.filled,
       remaining = excluded.remaining, avg_fill_price = excluded.avg_fill_price, why_held = excluded.why_held,
       reason = excluded.reason, updated_at = excluded.updated_at, unaccounted_at = excluded.unaccounted_at, evidence_seq = excluded.evidence_seq`,
    o.order_ref, o.trade_id, o.intent, o.order_id ?? null, o.perm_id ?? null, o.status, o.filled ?? 0, o.remaining ?? 0,
    o.avg_fill_price ?? null, o.why_held ?? null, o.reason ?? null, now, now, session, unaccounted, evidence,
  );
}

/**
 * A counter every write of an order or position row takes a number from. Reconciliation notes it
 * when TWS's snapshot arrives; a row whose number is higher changed after the snapshot was taken
 * (a status, a fill or a position streamed meanwhile, or an order just placed), so the snapshot
 * no longer speaks for it. Later evidence beats an earlier snapshot.
 */
export function nextEvidence(sql: SqlStorage): number {
  const next = getKv<number>(sql, "evidence_seq", 0) + 1;
  setKv(sql, "evidence_seq", next);
  return next;
}

export function currentEvidence(sql: SqlStorage): number {
  return getKv<number>(sql, "evidence_seq", 0);
}

export function setOrderUnaccounted(sql: SqlStorage, orderRef: string, at: Date | null): void {
  sql.exec("UPDATE orders SET unaccounted_at = ? WHERE order_ref = ?", at ? at.toISOString() : null, orderRef);
}

/**
 * A close that ended part-filled leaves part of the position, and the next close order takes the
 * same ref: the old order's id is retired first, so its late statuses cannot speak for the new one.
 */
export function retireOrderId(sql: SqlStorage, order: OrderRow): void {
  if (order.order_id !== null) {
    const key = `retired_orders:${order.order_ref}`;
    const ids = getKv<number[]>(sql, key, []);
    if (!ids.includes(order.order_id)) setKv(sql, key, [...ids, order.order_id]);
  }
  sql.exec("UPDATE orders SET order_id = NULL, perm_id = NULL, evidence_seq = ? WHERE order_ref = ?", nextEvidence(sql), order.order_ref);
}

export function isRetiredOrderId(sql: SqlStorage, orderRef: string, orderId: number): boolean {
  return getKv<number[]>(sql, `retired_orders:${orderRef}`, []).includes(orderId);
}

export function getOrderByRef(sql: SqlStorage, orderRef: string): OrderRow | null {
  return (sql.exec<OrderRow>("SELECT * FROM orders WHERE order_ref = ?", orderRef).toArray()[0] as OrderRow | undefined) ?? null;
}

export function getOrderByPermId(sql: SqlStorage, permId: number): OrderRow | null {
  return (sql.exec<OrderRow>("SELECT * FROM orders WHERE perm_id = ?", permId).toArray()[0] as OrderRow | undefined) ?? null;
}

/** Every order that holds this TWS order id (ids repeat across TWS sessions). */
export function ordersWithId(sql: SqlStorage, orderId: number): OrderRow[] {
  return sql.exec<OrderRow>("SELECT * FROM orders WHERE order_id = ? ORDER BY updated_at DESC", orderId).toArray() as OrderRow[];
}

export type OrderIdLookup = { order: OrderRow } | { order: null; ambiguous: OrderRow[] };

/**
 * The order an id names. A TWS order id is meaningful only within the session that issued it: one
 * holder answers; several resolve to the one of `session` (default: the bridge's current one),
 * and otherwise the lookup is ambiguous and nothing is guessed.
 */
export function resolveOrderId(sql: SqlStorage, orderId: number, session: string | null = currentTwsSession(sql)): OrderIdLookup {
  const holders = ordersWithId(sql, orderId);
  if (holders.length <= 1) return holders[0] ? { order: holders[0] } : { order: null, ambiguous: [] };
  const ofSession = session === null ? [] : holders.filter((o) => o.tws_session === session);
  return ofSession.length === 1 ? { order: ofSession[0]! } : { order: null, ambiguous: holders };
}

/** The single order an id names (see resolveOrderId), or null when none or ambiguous. */
export function getOrderById(sql: SqlStorage, orderId: number): OrderRow | null {
  return resolveOrderId(sql, orderId).order;
}

export function ordersOfTrade(sql: SqlStorage, tradeId: string): OrderRow[] {
  return sql.exec<OrderRow>("SELECT * FROM orders WHERE trade_id = ? ORDER BY created_at", tradeId).toArray() as OrderRow[];
}

/** Inserts a fill once per execId; returns false when it was already recorded. */
export function insertFill(sql: SqlStorage, e: Execution, tradeId: string | null, at = new Date(), settlement: FillRow["settlement"] = null): boolean {
  const before = sql.exec("SELECT 1 FROM fills WHERE exec_id = ?", e.exec_id).toArray().length;
  if (before) return false;
  sql.exec(
    `INSERT INTO fills (exec_id, order_ref, trade_id, order_id, symbol, sec_type, side, shares, price, commission, time, received_at, details_json, settlement)
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    e.exec_id, e.order_ref, tradeId, e.order_id, e.symbol, e.sec_type, e.side, e.shares, e.price, e.commission, e.time, at.toISOString(), JSON.stringify(e), settlement,
  );
  return true;
}

export function fillsOfTrade(sql: SqlStorage, tradeId: string): FillRow[] {
  return sql.exec<FillRow>("SELECT * FROM fills WHERE trade_id = ? ORDER BY time, exec_id", tradeId).toArray() as FillRow[];
}

export function lastFillTime(sql: SqlStorage): string | null {
  return sql.exec<{ t: string | null }>("SELECT MAX(time) AS t FROM fills").toArray()[0]?.t ?? null;
}

/**
 * A combo also reports a BAG-level execution; the legs carry the cash, so the BAG row is skipped.
 * Stock an exercise or assignment delivered enters at its strike and is no cash of the trade's
 * legs: its P&L is booked when it is closed (delivered-stock.ts), not here.
 */
const countsForPnl = (f: Pick<FillRow, "sec_type"> & Partial<Pick<FillRow, "settlement">>): boolean => f.sec_type !== "BAG" && f.settlement !== "delivery";

/** Σ(SLD +, BOT −) shares × price × multiplier − commissions, over the trade's leg fills. */
export function realizedPnl(fills: readonly (Pick<FillRow, "sec_type" | "side" | "shares" | "price" | "commission"> & Partial<Pick<FillRow, "settlement">>)[]): number {
  let total = 0;
  for (const f of fills) {
    if (!countsForPnl(f)) continue;
    const multiplier = f.sec_type === "OPT" ? OPTION_MULTIPLIER : 1;
    total += (f.side === "SLD" ? 1 : -1) * f.shares * f.price * multiplier - (f.commission ?? 0);
  }
  return roundCents(total);
}

/** Shares filled on the legs of one order (BAG summary rows excluded). */
export function legSharesFilled(sql: SqlStorage, orderRef: string): number {
  return sql.exec<{ n: number | null }>("SELECT SUM(shares) AS n FROM fills WHERE order_ref = ? AND sec_type != 'BAG'", orderRef).toArray()[0]?.n ?? 0;
}

export function addDailyPnl(sql: SqlStorage, day: string, pnl: number): void {
  sql.exec("INSERT INTO daily_pnl (trading_day, pnl) VALUES (?, ?) ON CONFLICT(trading_day) DO UPDATE SET pnl = pnl + excluded.pnl", day, pnl);
}

export function realizedOnDay(sql: SqlStorage, day: string): number {
  return sql.exec<{ pnl: number }>("SELECT pnl FROM daily_pnl WHERE trading_day = ?", day).toArray()[0]?.pnl ?? 0;
}

/** What an order sent to TWS (or queued for approval) was: an opening order, a close, or a modify of either. */
export type OrderKind = "open" | "close" | "modify_open" | "modify_close";
const CLOSE_KINDS = "('close', 'modify_close')";

/** Records an order or modify sent (or queued) under `ref` (a trade id, or a close ref). */
export function recordOrderTime(sql: SqlStorage, ref: string, atMs: number, kind: OrderKind = "open"): void {
  sql.exec("INSERT INTO order_times (trade_id, at_ms, kind) VALUES (?, ?, ?)", ref, atMs, kind);
  sql.exec("DELETE FROM order_times WHERE at_ms < ?", atMs - 3_600_000);
}

/** Every order and modify sent (or queued) in the last minute, of any kind: what an opening order may join. */
export function ordersLastMinute(sql: SqlStorage, nowMs: number, exceptTradeId?: string): number {
  return sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM order_times WHERE at_ms > ? AND trade_id != ?", nowMs - 60_000, exceptTradeId ?? "").toArray()[0]?.n ?? 0;
}

/** Closing orders and modifies of closes sent in the last minute: the closes' own allowance. */
export function closeOrdersLastMinute(sql: SqlStorage, nowMs: number): number {
  return sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM order_times WHERE at_ms > ? AND kind IN ${CLOSE_KINDS}`, nowMs - 60_000).toArray()[0]?.n ?? 0;
}

/** Fingerprints of trades placed in the last minute that are still active (a repeat is refused). */
export function recentFingerprints(sql: SqlStorage, nowMs: number, exceptTradeId?: string): string[] {
  return sql
    .exec<{ fingerprint: string }>(
      `SELECT fingerprint FROM trades WHERE created_ms > ? AND state IN (${ACTIVE_SQL}) AND trade_id != ?`,
      nowMs - 60_000,
      exceptTradeId ?? "",
    )
    .toArray()
    .map((r) => r.fingerprint);
}

/** Gives back an order's rate slot: the bridge refused it on the market before anything was sent. */
export function forgetOrderTime(sql: SqlStorage, tradeId: string): void {
  sql.exec("DELETE FROM order_times WHERE trade_id = ? AND (kind IS NULL OR kind = 'open')", tradeId);
}

/** The positions TWS last reported (the bridge's position events, replaced at reconciliation), by conId. */
export function storedPositions(sql: SqlStorage): Position[] {
  return sql.exec<{ position_json: string }>("SELECT position_json FROM positions ORDER BY con_id").toArray().map((r) => JSON.parse(r.position_json) as Position);
}
