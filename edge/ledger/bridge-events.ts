// Applies the bridge's events, synchronously, each in one turn: order statuses and executions go to
// the trades they belong to (trade-state.ts), account and P&L snapshots to the safety state (which
// may trip a breaker), positions and the broker's clock settle expirations, TWS health is kept.
import type { Event } from "../../shared/protocol";
import { tradingDay } from "../../shared/trade-id";
import { applyAccountSnapshot } from "../safety/account-jumps";
import { checkBreakers } from "../safety/breakers";
import { recordPnlPoint } from "../safety/pnl-points";
import { twsHealth } from "../safety/safety-state";
import type { DeskContext } from "../store/desk-context";
import { getKv, setKv } from "../store/kv";
import { settleExpirations } from "./expirations";
import { writePosition } from "./positions";
import { applyExecution, applyOrderStatus } from "./trade-state";

/** One bridge event, applied in a single synchronous turn. */
export function applyEvent(ctx: DeskContext, event: Event): void {
  const now = ctx.now();
  switch (event.event) {
    case "order_status":
      if (!applyOrderStatus(ctx, event.data)) ctx.audit("bridge", "foreign_order_status", event.data);
      return;
    case "execution":
      applyExecution(ctx, event.data);
      return;
    case "account": {
      // The bridge may see several managed accounts; only this edge's account counts.
      if (event.data.account_id !== ctx.settings.accountId) {
        ctx.audit("bridge", "foreign_account_data", { account_id: event.data.account_id });
        return;
      }
      // A jump beyond the plausible bound is held as suspect until confirmed (account-jumps.ts).
      applyAccountSnapshot(ctx, event.data);
      recordPnlPoint(ctx.sql, now);
      return;
    }
    case "pnl":
      setKv(ctx.sql, "pnl", { ...event.data, trading_day: tradingDay(now), received_at_ms: now.getTime() });
      checkBreakers(ctx);
      recordPnlPoint(ctx.sql, now);
      return;
    case "position": {
      const { account, ...position } = event.data;
      if (account !== ctx.settings.accountId) {
        ctx.audit("bridge", "foreign_account_data", { account_id: account, con_id: position.con_id });
        return;
      }
      writePosition(ctx.sql, position, now);
      setKv(ctx.sql, "positions_as_of", now.toISOString());
      // Legs that left after their expiry close their trade; stock in their underlying is an assignment's.
      settleExpirations(ctx);
      return;
    }
    case "tws_clock": {
      const before = getKv<{ skew_ms: number } | null>(ctx.sql, "tws_clock", null);
      setKv(ctx.sql, "tws_clock", { ...event.data, received_at_ms: now.getTime() });
      ctx.audit("bridge", "tws_clock", { tws_time: event.data.tws_time, skew_ms: event.data.skew_ms, skew_before_ms: before?.skew_ms ?? null });
      settleExpirations(ctx);
      return;
    }
    case "tws_health": {
      const before = twsHealth(ctx.sql);
      setKv(ctx.sql, "tws_health", event.data);
      if (before?.state !== event.data.state) ctx.audit("bridge", "tws_health", { from: before?.state ?? null, to: event.data.state, last_error: event.data.last_error });
      return;
    }
    case "refusal":
      ctx.audit("bridge", "second_key_refusal", event.data);
      ctx.writeLog("safety_violation", `Bridge refused ${event.data.trade_id} (second key)`, { trade_id: event.data.trade_id, violations: event.data.violations });
      return;
    case "tws_resynced":
      // The Durable Object reconciles on it (account-do.ts); the ledger changes only through that.
      ctx.audit("bridge", "tws_resynced", event.data);
      return;
  }
}

/** The last event seq stored for a bridge process (0 if none). */
export function lastEventSeq(sql: SqlStorage, bridgeId: string): number {
  return getKv<number>(sql, `bridge_seq:${bridgeId}`, 0);
}
export function storeEventSeq(sql: SqlStorage, bridgeId: string, seq: number): void {
  setKv(sql, `bridge_seq:${bridgeId}`, seq);
}
