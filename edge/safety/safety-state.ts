// The account's persisted safety state: emergency stop, circuit breakers, shadow mode, the latest
// account/P&L/TWS snapshots from the bridge, and the AccountState that shared/checks.ts evaluates.
import type { AccountState } from "../../shared/checks";
import {
  CONSECUTIVE_LOSS_LIMIT,
  DAILY_LOSS_LIMIT,
  DRAWDOWN_CIRCUIT_BREAKER,
  MAX_CONCENTRATION,
  MAX_CLOSE_ORDERS_PER_MINUTE,
  MAX_ORDERS_PER_MINUTE,
  MAX_TRADE_RISK,
} from "../../shared/limits";
import { roundCents } from "../../shared/money";
import { type EmergencyStopPush, PROTOCOL_VERSION, type TwsHealth } from "../../shared/protocol";
import { tradingDay } from "../../shared/trade-id";
import type { AccountSummary } from "../../shared/tools";
import type { Settings } from "../store/desk-context";
import { getKv, setKv } from "../store/kv";
import { activeTrades, closeOrdersLastMinute, exposureBySymbol, legsOf, ordersLastMinute, realizedOnDay, recentFingerprints, storedPositions, workingOrdersRisk } from "../store/ledger";
import { addSide, type ContractSides } from "../../shared/one-direction";
import { type Contract, contractKey } from "../../shared/order";
import { untrackedExposureByGroup } from "./untracked-exposure";

/** `assignment`: a short stock position left by an option assignment (edge/safety/assigned-stock.ts). */
export type BreakerName = "daily_loss" | "drawdown" | "consecutive_losses" | "assignment";
export const BREAKERS: readonly BreakerName[] = ["daily_loss", "drawdown", "consecutive_losses", "assignment"];
export interface BreakerRecord { tripped: boolean; reason: string | null; at: string | null; trading_day?: string | null }
export interface EmergencyStop { on: boolean; reason: string | null; at: string | null; by: string | null }
export interface AccountSnapshot { summary: AccountSummary; received_at_ms: number }
export interface PnlSnapshot { daily: number | null; unrealized: number | null; realized: number | null; trading_day: string; received_at_ms: number }

export const truthy = (value: string | undefined): boolean => /^(1|true|yes|on)$/i.test((value ?? "").trim());

export function emergencyStop(sql: SqlStorage): EmergencyStop {
  return getKv<EmergencyStop>(sql, "emergency_stop", { on: false, reason: null, at: null, by: null });
}
export function setEmergencyStop(sql: SqlStorage, stop: EmergencyStop): void {
  setKv(sql, "emergency_stop", stop);
}

/** The stop as the frame the bridge gets when it changes and after every welcome (shared/protocol.ts). */
export function emergencyStopFrame(sql: SqlStorage): string {
  const { on, reason, at, by } = emergencyStop(sql);
  return JSON.stringify({ v: PROTOCOL_VERSION, type: "emergency_stop", on, reason, at, by } satisfies EmergencyStopPush);
}

export function shadowMode(sql: SqlStorage, settings: Settings): boolean {
  return getKv<boolean>(sql, "shadow_mode", settings.shadowDefault);
}

export function breaker(sql: SqlStorage, name: BreakerName): BreakerRecord {
  return getKv<BreakerRecord>(sql, `breaker:${name}`, { tripped: false, reason: null, at: null });
}
export function setBreaker(sql: SqlStorage, name: BreakerName, record: BreakerRecord): void {
  setKv(sql, `breaker:${name}`, record);
}

export function accountSnapshot(sql: SqlStorage): AccountSnapshot | null {
  return getKv<AccountSnapshot | null>(sql, "account", null);
}

/**
 * Age of the account data: measured from the older of the bridge's `as_of` and our receipt, so
 * neither a replayed old event nor a bridge clock running ahead makes stale data look fresh.
 */
export function accountDataAgeMs(snapshot: AccountSnapshot | null, nowMs: number): number | null {
  if (!snapshot) return null;
  const asOf = Date.parse(snapshot.summary.as_of);
  const oldest = Number.isFinite(asOf) ? Math.min(asOf, snapshot.received_at_ms) : snapshot.received_at_ms;
  return Math.max(0, nowMs - oldest);
}

export function twsHealth(sql: SqlStorage): TwsHealth | null {
  return getKv<TwsHealth | null>(sql, "tws_health", null);
}

export function highWaterMark(sql: SqlStorage): number | null {
  return getKv<number | null>(sql, "high_water_mark", null);
}

export function lossStreak(sql: SqlStorage): number {
  return getKv<number>(sql, "loss_streak", 0);
}

/**
 * Today's P&L: the worst of the ledger's realized P&L today, the bridge's daily P&L event and the
 * account summary's daily P&L (each only when it belongs to today's New York trading day).
 */
export function dailyPnl(sql: SqlStorage, now: Date): number {
  const day = tradingDay(now);
  const figures = [realizedOnDay(sql, day)];
  const pnl = getKv<PnlSnapshot | null>(sql, "pnl", null);
  if (pnl && pnl.trading_day === day && pnl.daily !== null) figures.push(pnl.daily);
  const account = accountSnapshot(sql);
  if (account && Number.isFinite(Date.parse(account.summary.as_of)) && tradingDay(new Date(account.summary.as_of)) === day) figures.push(account.summary.daily_pnl);
  return roundCents(Math.min(...figures));
}

/** The state shared/checks.ts evaluates, read from storage in the same synchronous turn as the decision. */
export function buildAccountState(sql: SqlStorage, settings: Settings, now: Date, exceptTradeId?: string): AccountState {
  const snapshot = accountSnapshot(sql);
  const tripped = BREAKERS.map((name) => ({ name, ...breakerNow(sql, name, now) })).filter((b) => b.tripped);
  // Trades' exposure plus what TWS holds that no active trade accounts for (untracked-exposure.ts).
  const exposure = exposureBySymbol(sql, exceptTradeId);
  const untracked = untrackedExposureByGroup(sql);
  for (const [group, amount] of Object.entries(untracked)) exposure[group] = roundCents((exposure[group] ?? 0) + amount);
  return {
    netLiquidation: snapshot?.summary.net_liquidation ?? null,
    highWaterMark: highWaterMark(sql),
    dailyPnl: dailyPnl(sql, now),
    workingOrdersRisk: workingOrdersRisk(sql, exceptTradeId),
    lossStreak: lossStreak(sql),
    exposureBySymbol: exposure,
    untrackedExposureBySymbol: untracked,
    emergencyStop: emergencyStop(sql).on,
    breaker: tripped.length
      ? { tripped: true, kind: tripped.map((b) => b.name).join(", "), reason: tripped.map((b) => b.reason).join("; ") }
      : { tripped: false },
    ordersLastMinute: ordersLastMinute(sql, now.getTime(), exceptTradeId),
    accountDataAgeMs: accountDataAgeMs(snapshot, now.getTime()),
    recentOrderFingerprints: recentFingerprints(sql, now.getTime(), exceptTradeId),
    allowedSymbols: settings.allowedSymbols,
    contractSides: contractSides(sql, exceptTradeId),
  };
}

/** Each contract's side as the active trades' legs and TWS's positions hold it (shared/one-direction.ts). */
export function contractSides(sql: SqlStorage, exceptTradeId?: string): ContractSides {
  const sides = new Map<string, { long: string[]; short: string[] }>();
  for (const trade of activeTrades(sql)) {
    if (trade.trade_id === exceptTradeId) continue;
    for (const leg of legsOf(trade)) addSide(sides, contractKey(leg.contract), leg.action === "BUY" ? "long" : "short", `trade ${trade.trade_id}`);
  }
  for (const p of storedPositions(sql)) {
    if (p.quantity === 0 || (p.sec_type !== "STK" && p.sec_type !== "OPT")) continue;
    const contract: Contract =
      p.sec_type === "STK" ? { symbol: p.symbol, sec_type: "STK" } : { symbol: p.symbol, expiry: p.expiry ?? "", strike: p.strike ?? 0, right: p.right === "P" ? "P" : "C" };
    addSide(sides, contractKey(contract), p.quantity > 0 ? "long" : "short", `the position TWS holds (${p.quantity})`);
  }
  return sides;
}

/** A daily-loss trip holds only for the trading day it tripped on; the others hold until an admin resets them. */
export function breakerNow(sql: SqlStorage, name: BreakerName, now: Date): BreakerRecord {
  const record = breaker(sql, name);
  if (name === "daily_loss" && record.tripped && record.trading_day !== tradingDay(now)) return { tripped: false, reason: null, at: null };
  return record;
}

export interface LimitUsage { name: string; label: string; limit: number; used: number; unit: "usd" | "pct" | "count"; remaining: number }

/** Each hard limit with what is used of it now (the /api/state and get_safety_status view). */
export function limitUsage(sql: SqlStorage, now: Date, state: AccountState = buildAccountState(sql, { accountId: "", readOnly: false, allowedSymbols: null, shadowDefault: false }, now)): LimitUsage[] {
  // The daily room is taken by today's loss and by the worst case of orders still working.
  const lossToday = Math.max(0, -state.dailyPnl) + (state.workingOrdersRisk ?? 0);
  const netLiq = state.netLiquidation;
  const topShare = netLiq && netLiq > 0 ? Math.max(0, ...Object.values(state.exposureBySymbol)) / netLiq : 0;
  const hwm = state.highWaterMark;
  const drawdown = hwm && netLiq !== null && hwm > 0 ? Math.max(0, (hwm - netLiq) / hwm) : 0;
  const largestRisk = sql
    .exec<{ r: number | null }>("SELECT MAX(reserved_risk) AS r FROM trades WHERE created_ms >= ?", now.getTime() - 86_400_000)
    .toArray()[0]?.r ?? 0;
  const row = (name: string, label: string, limit: number, used: number, unit: LimitUsage["unit"]): LimitUsage => {
    const u = unit === "pct" ? Math.round(used * 10_000) / 10_000 : roundCents(used);
    return { name, label, limit, used: u, unit, remaining: unit === "pct" ? Math.round(Math.max(0, limit - used) * 10_000) / 10_000 : roundCents(Math.max(0, limit - used)) };
  };
  return [
    row("max_trade_risk", "Largest trade risk (last 24 h) vs per-trade limit", MAX_TRADE_RISK, largestRisk, "usd"),
    row("daily_loss", "Loss this trading day + worst case of working orders", DAILY_LOSS_LIMIT, lossToday, "usd"),
    row("concentration", "Largest single-underlying exposure", MAX_CONCENTRATION, topShare, "pct"),
    row("drawdown", "Drawdown from high-water mark", DRAWDOWN_CIRCUIT_BREAKER, drawdown, "pct"),
    row("consecutive_losses", "Losing trades in a row", CONSECUTIVE_LOSS_LIMIT, state.lossStreak, "count"),
    row("order_rate", "Orders and modifies in the last minute (all kinds)", MAX_ORDERS_PER_MINUTE, state.ordersLastMinute, "count"),
    row("close_order_rate", "Closes and their modifies in the last minute", MAX_CLOSE_ORDERS_PER_MINUTE, closeOrdersLastMinute(sql, now.getTime()), "count"),
  ];
}
