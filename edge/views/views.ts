// Read-only views of the account built from storage: trades with their orders and fills, the
// safety status (limits, usage, breakers, budget), link health, and the dashboard's /api/state.
import { LIMITS, DAILY_LOSS_LIMIT, MAX_ACCOUNT_DATA_AGE_MS, MAX_CONCENTRATION, MAX_TRADE_RISK } from "../../shared/limits";
import { roundCents } from "../../shared/money";
import type { DeskContext } from "../store/desk-context";
import { activeTrades, closeRef, fillsOfTrade, type FillRow, legsOf, listTrades, ordersOfTrade, type TradeRow } from "../store/ledger";
import type { Execution } from "../../shared/protocol";
import { accountFreshness } from "../safety/freshness";
import { linkViolations } from "../desk/order-desk";
import { confirmEveryOrder } from "../desk/approval-links";
import { accountDataAgeMs, accountSnapshot, BREAKERS, breakerNow, buildAccountState, emergencyStop, limitUsage, shadowMode, twsHealth } from "../safety/safety-state";
import { payoffView, pnlSeries } from "./pictures";
import { tradeStanding } from "./standing";
import { positionsView } from "../ledger/positions";
import { legOutcomes, type LegSettlement } from "../ledger/settlements";
import { pendingModifyOfTrade } from "../ledger/pending-modify";
import { storageStatus } from "../store/storage-figure";
import { actsOf, tradesActedOnBy } from "../ledger/trade-acts";
import { unaccountedNote } from "../ledger/order-ends";

export function tradeView(sql: SqlStorage, t: TradeRow, now = new Date()) {
  return {
    standing: tradeStanding(sql, t, now),
    trade_id: t.trade_id, symbol: t.symbol, strategy: t.strategy, state: t.state, intent: "open" as const, legs: legsOf(t),
    reserved_risk: t.reserved_risk, computed_max_risk: t.computed_max_risk, limit_price: t.limit_price, net_premium: t.net_premium,
    created_at: t.created_at, expires_at: t.expires_at, realized_pnl: t.realized_pnl, closed_at: t.closed_at,
    ...(t.delivered_stock_pnl !== null ? { delivered_stock_pnl: t.delivered_stock_pnl } : {}),
    orders: ordersOfTrade(sql, t.trade_id).map((o) => ({
      order_ref: o.order_ref, intent: o.intent, order_id: o.order_id, status: o.status, filled: o.filled, remaining: o.remaining,
      avg_fill_price: o.avg_fill_price, updated_at: o.updated_at, reason: o.reason, tws_session: o.tws_session,
      // TWS neither holds nor lists it as finished: its risk stays reserved until TWS or an admin settles it.
      unaccounted: o.unaccounted_at !== null, unaccounted_since: o.unaccounted_at, unaccounted_note: unaccountedNote(o, t),
    })),
    fills: fillsOfTrade(sql, t.trade_id).map((f) => ({
      exec_id: f.exec_id, symbol: f.symbol, sec_type: f.sec_type, side: f.side, shares: f.shares, price: f.price, commission: f.commission, time: f.time,
      ...fillLeg(f, t.trade_id),
      ...(f.settlement ? { settlement: f.settlement } : {}),
    })),
    ...legEnds(sql, t),
    ...pendingModifyView(sql, t.trade_id),
  };
}

/**
 * Which leg a fill filled (a combo fills leg by leg, and "SPY" alone does not say which), from the
 * execution as TWS reported it, and whether it filled the opening order or a close.
 */
function fillLeg(f: FillRow, tradeId: string): { expiry: string | null; strike: number | null; right: "C" | "P" | null; intent?: "open" | "close" } {
  let e: Partial<Pick<Execution, "expiry" | "strike" | "right">> = {};
  try {
    e = JSON.parse(f.details_json) as typeof e;
  } catch {
    // A row without its execution: the leg stays unnamed rather than guessed.
  }
  const leg = { expiry: e.expiry ?? null, strike: e.strike ?? null, right: e.right ?? null };
  // A settlement (exercise, assignment, lapse) filled no order of ours.
  if (f.settlement || !f.order_ref) return leg;
  return f.order_ref === tradeId ? { ...leg, intent: "open" } : f.order_ref === closeRef(tradeId) ? { ...leg, intent: "close" } : leg;
}

function pendingModifyView(sql: SqlStorage, tradeId: string): { pending_modify?: NonNullable<ReturnType<typeof pendingModifyOfTrade>> } {
  const pending = pendingModifyOfTrade(sql, tradeId);
  return pending ? { pending_modify: pending } : {};
}

/** What TWS reported of each option leg's end (exercise, assignment, lapse), once it reported any. */
function legEnds(sql: SqlStorage, t: TradeRow): { leg_ends?: Omit<LegSettlement, "times">[] } {
  const ends = legOutcomes(sql, t);
  return ends.some((l) => l.outcome !== null) ? { leg_ends: ends.map(({ times: _times, ...end }) => end) } : {};
}

export function dataAgeSeconds(ctx: DeskContext): number | null {
  const age = accountDataAgeMs(accountSnapshot(ctx.sql), ctx.now().getTime());
  return age === null ? null : Math.round(age / 100) / 10;
}

/** The link's part of the health: bridge, TWS, the account data's age, and what keeps an order from reaching TWS. */
function linkHealth(ctx: DeskContext) {
  const info = ctx.link.info();
  const tws = twsHealth(ctx.sql);
  const age = dataAgeSeconds(ctx);
  const fresh = age !== null && age * 1000 <= MAX_ACCOUNT_DATA_AGE_MS;
  const problems = linkViolations(ctx).map((v) => v.message);
  if (!fresh) problems.push(age === null ? "No account data from the bridge yet" : `Account data is ${age} s old (limit ${MAX_ACCOUNT_DATA_AGE_MS / 1000} s)`);
  return {
    bridge: { connected: info.connected, since: info.since, bridge_version: info.bridge_version, mode: info.mode },
    tws,
    data_age_seconds: age,
    account_data_fresh: fresh,
    ready_to_trade: problems.length === 0,
    problems,
  };
}

/**
 * Whether a new trade can be opened now, and every reason it cannot, in the order a person acts
 * on them: the one answer health_check, get_safety_status and the dashboard's headline give.
 * Closing stays possible under a stop or a breaker (ready_to_trade says whether the link can carry it).
 */
function openingGate(ctx: DeskContext, link: ReturnType<typeof linkHealth>) {
  const stop = emergencyStop(ctx.sql);
  const blockedBy = [
    ...(ctx.settings.readOnly ? ["read-only mode (READ_ONLY): this edge registers no write tools"] : []),
    ...(stop.on ? [`emergency stop: ${stop.reason ?? ""}`] : []),
    ...breakersView(ctx).filter((b) => b.tripped).map((b) => `${b.name} breaker: ${b.reason ?? ""}`),
    ...link.problems,
  ];
  return { can_open_new_trades: blockedBy.length === 0, blocked_by: blockedBy };
}

export function healthView(ctx: DeskContext) {
  const link = linkHealth(ctx);
  return { ...link, ...openingGate(ctx, link) };
}

export function breakersView(ctx: DeskContext) {
  return BREAKERS.map((name) => {
    const b = breakerNow(ctx.sql, name, ctx.now());
    return { name, tripped: b.tripped, reason: b.reason, at: b.at };
  });
}

export function safetyStatusView(ctx: DeskContext) {
  const now = ctx.now();
  const state = buildAccountState(ctx.sql, ctx.settings, now);
  const lossToday = Math.max(0, -state.dailyPnl);
  const working = state.workingOrdersRisk ?? 0;
  const dailyRemaining = roundCents(Math.max(0, DAILY_LOSS_LIMIT - lossToday - working));
  const netLiq = state.netLiquidation;
  const room: Record<string, number> = {};
  if (netLiq !== null) for (const [symbol, used] of Object.entries(state.exposureBySymbol)) room[symbol] = roundCents(Math.max(0, netLiq * MAX_CONCENTRATION - used));
  const health = healthView(ctx);
  const stop = emergencyStop(ctx.sql);
  const breakers = breakersView(ctx);
  return {
    ...accountFreshness(ctx),
    account_id: ctx.settings.accountId,
    shadow_mode: shadowMode(ctx.sql, ctx.settings),
    read_only: ctx.settings.readOnly,
    allowed_symbols: ctx.settings.allowedSymbols,
    hard_limits: { ...LIMITS } as Record<string, number>,
    // The same state the budget above is computed from: one read of the ledger, one answer.
    limits: limitUsage(ctx.sql, now, state),
    emergency_stop: stop,
    breakers,
    remaining_risk_budget: {
      next_trade_max_risk: roundCents(Math.min(MAX_TRADE_RISK, dailyRemaining)),
      daily_loss_remaining: dailyRemaining,
      working_orders_worst_case: roundCents(working),
      concentration_room_by_symbol: room,
      untracked_exposure_by_symbol: { ...state.untrackedExposureBySymbol },
      net_liquidation: netLiq,
    },
    bridge_connected: health.bridge.connected,
    tws_state: health.tws?.state ?? null,
    data_age_seconds: health.data_age_seconds,
    can_open_new_trades: health.can_open_new_trades,
    blocked_by: health.blocked_by,
    storage: storageStatus(ctx.sql.databaseSize),
  };
}

/**
 * The dashboard's whole picture (admin API contract, GET /api/state). Each trade carries its acts
 * (who placed, modified, closed or cancelled it); `credential` keeps the trades it acted on.
 */
export function stateView(ctx: DeskContext, filter: { credential?: string | null } = {}) {
  const health = healthView(ctx);
  const actedOn = filter.credential ? tradesActedOnBy(ctx.sql, filter.credential) : null;
  const all = listTrades(ctx.sql, { limit: 200 });
  const trades = actedOn ? all.filter((t) => actedOn.has(t.trade_id)) : all;
  const active = activeTrades(ctx.sql);
  return {
    account_id: ctx.settings.accountId,
    shadow_mode: shadowMode(ctx.sql, ctx.settings),
    confirm_every_order: confirmEveryOrder(ctx.sql),
    read_only: ctx.settings.readOnly,
    storage: storageStatus(ctx.sql.databaseSize),
    bridge: health.bridge,
    tws: health.tws,
    account: accountSnapshot(ctx.sql)?.summary ?? null,
    ...accountFreshness(ctx),
    data_age_seconds: health.data_age_seconds,
    // The headline: can a new trade be opened now, and why not (health_check's answer).
    can_open_new_trades: health.can_open_new_trades,
    blocked_by: health.blocked_by,
    ready_to_trade: health.ready_to_trade,
    /** Risk reserved by every active trade (working, open, closing, waiting for approval). */
    risk_in_use: { reserved_risk: roundCents(active.reduce((sum, t) => sum + t.reserved_risk, 0)), active_trades: active.length },
    limits: limitUsage(ctx.sql, ctx.now()),
    emergency_stop: emergencyStop(ctx.sql),
    breakers: breakersView(ctx),
    positions: positionsView(ctx.sql),
    trades: trades.map((t) => ({ ...tradeView(ctx.sql, t, ctx.now()), payoff: payoffView(ctx.sql, t), acts: actsOf(ctx.sql, t.trade_id) })),
    pnl_series: pnlSeries(ctx.sql, ctx.now()),
    pending_approvals: all
      .filter((t) => t.state === "pending_approval")
      .map((t) => ({ trade_id: t.trade_id, symbol: t.symbol, strategy: t.strategy, legs: legsOf(t), computed_max_risk: t.computed_max_risk, net_premium: t.net_premium, created_at: t.created_at, expires_at: t.expires_at })),
  };
}
