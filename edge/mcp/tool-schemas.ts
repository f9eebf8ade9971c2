// Input and output schemas of the edge-only MCP tools (the seed's five live in shared/tools.ts).
// Only the edge registers these, so they stay here rather than in shared/.
import { z } from "zod";
import { Leg, legsOrJsonString, Symbol } from "../../shared/order";
import { OptionChain, OptionChainParams, PreviewResult, PriceHistory, PriceHistoryParams, Quote, TwsHealth } from "../../shared/protocol";
import { GetPositionsOutput, MAX_CLAIM_USD, NetLimitPrice, OrderStatusName, PlaceOrderOutput, StaleFigures, TradeId, Violation } from "../../shared/tools";
import { RiskBounds } from "../desk/risk-bounds";
import { ExpiryDayFlag } from "../views/expiry-day";
import { NetGreeksView, TradeStanding } from "../views/standing";

export const LimitUsage = z.object({
  name: z.string(),
  label: z.string(),
  limit: z.number(),
  used: z.number(),
  unit: z.enum(["usd", "pct", "count"]),
  remaining: z.number(),
});
const Breaker = z.object({ name: z.enum(["daily_loss", "drawdown", "consecutive_losses", "assignment"]), tripped: z.boolean(), reason: z.string().nullable(), at: z.string().nullable() });
const Stop = z.object({ on: z.boolean(), reason: z.string().nullable(), at: z.string().nullable(), by: z.string().nullable() });

export const SafetyStatusOutput = z.object({
  /** The account figures behind the usage and budget (net liquidation, today's P&L) are not live. */
  ...StaleFigures,
  account_id: z.string(),
  shadow_mode: z.boolean(),
  read_only: z.boolean(),
  allowed_symbols: z.array(z.string()).nullable(),
  hard_limits: z.record(z.string(), z.number()),
  limits: z.array(LimitUsage),
  emergency_stop: Stop,
  breakers: z.array(Breaker),
  /** Trades with short legs expiring today, with pin risk and the time left (absent: none). */
  expiry_day: z.array(ExpiryDayFlag).optional(),
  remaining_risk_budget: z.object({
    /** The most a new trade may risk right now: the per-trade limit, capped by what is left of today's loss limit. */
    next_trade_max_risk: z.number(),
    /** What is left of today's loss limit after today's loss and the worst case of orders still working. */
    daily_loss_remaining: z.number(),
    /** The worst case reserved by opening orders still working (or waiting for approval): any may fill and lose it today. */
    working_orders_worst_case: z.number(),
    /** Dollars of exposure each underlying group with open or pending trades, or positions held, can still take. */
    concentration_room_by_symbol: z.record(z.string(), z.number()),
    /** The part of each group's exposure in positions TWS holds that no active trade accounts for (assigned stock, hand-placed positions). */
    untracked_exposure_by_symbol: z.record(z.string(), z.number()),
    net_liquidation: z.number().nullable(),
  }),
  bridge_connected: z.boolean(),
  tws_state: z.string().nullable(),
  data_age_seconds: z.number().nullable(),
  can_open_new_trades: z.boolean(),
  blocked_by: z.array(z.string()),
  /** Net greeks of the open trades per underlying group, from TWS's option computations. */
  net_greeks: NetGreeksView.optional(),
  /** The account object's storage: its SQLite size, the alert threshold and Cloudflare's limit (edge/store/storage-figure.ts). */
  storage: z.object({
    database_bytes: z.number(), alert_at_bytes: z.number(), limit_bytes: z.number(), alert: z.boolean(), message: z.string().nullable(),
  }),
});

export const PreviewOrderOutput = z.object({
  would_pass: z.boolean(),
  violations: z.array(Violation),
  effective_risk: z.number().nullable(),
  exposure: z.number().nullable(),
  limit_price: z.number().nullable(),
  quote: Quote.nullable(),
  computed_max_risk: z.number().nullable(),
  max_gain: z.number().nullable(),
  breakevens: z.array(z.number()),
  net_premium: z.number(),
  risk_method: z.string(),
  /** Whether computed_max_risk is exact and, where it is a bound, what it leaves out and by how much (edge/desk/risk-bounds.ts). */
  risk_bounds: RiskBounds,
  /** IBKR's what-if answer, as the bridge's `preview` op returns it. */
  margin: PreviewResult.nullable(),
  margin_error: z.string().nullable(),
  shadow_mode: z.boolean(),
});

export const CancelOrderInput = z
  .strictObject({
    order_id: z.number().int("order_id is an integer").positive("order_id is positive").optional(),
    trade_id: TradeId.optional(),
  })
  .refine((v) => (v.order_id === undefined) !== (v.trade_id === undefined), "give exactly one of order_id or trade_id");
export const CancelOrderOutput = z.object({
  success: z.boolean(),
  trade_id: z.string().nullable(),
  order_id: z.number().int().nullable(),
  status: OrderStatusName.nullable(),
  message: z.string(),
});

const TradeState = z.enum(["pending_approval", "submitting", "unknown", "working", "open", "closing", "closed", "cancelled", "rejected", "expired"]);
export const ListTradesInput = z.strictObject({
  state: TradeState.optional(),
  symbol: Symbol.optional(),
  limit: z.number().int().min(1).max(200).optional(),
});
export const TradeView = z.object({
  trade_id: z.string(),
  symbol: z.string(),
  strategy: z.string(),
  state: TradeState,
  legs: z.array(Leg),
  reserved_risk: z.number(),
  computed_max_risk: z.number().nullable(),
  limit_price: z.number(),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  /** Realized P&L, the closed stock its options delivered included (delivered_stock_pnl). */
  realized_pnl: z.number().nullable(),
  closed_at: z.string().nullable(),
  /** Realized P&L of stock an exercise or assignment of its options delivered and that has since been closed (by hand or a flatten). */
  delivered_stock_pnl: z.number().optional(),
  orders: z.array(z.object({
    order_ref: z.string(), intent: z.enum(["open", "close"]), order_id: z.number().int().nullable(), status: OrderStatusName,
    filled: z.number(), remaining: z.number(), avg_fill_price: z.number().nullable(), updated_at: z.string(),
    /** How it ended (TWS's words, the day's end, or who settled it by hand). */
    reason: z.string().nullable().optional(),
    /** The TWS session that issued `order_id` (ids repeat across sessions). */
    tws_session: z.string().nullable().optional(),
    /** TWS neither holds it nor lists it finished: its risk stays reserved until TWS or an admin settles it. */
    unaccounted: z.boolean().optional(),
    unaccounted_since: z.string().nullable().optional(),
    /** One sentence: unaccounted since when, the risk kept reserved, and what settles it (null otherwise). */
    unaccounted_note: z.string().nullable().optional(),
  })),
  /** Set when the trade's short legs expire today: pin risk and the time left. */
  expiry_day: ExpiryDayFlag.nullable().optional(),
  fills: z.array(z.object({
    exec_id: z.string(), symbol: z.string(), sec_type: z.string(), side: z.enum(["BOT", "SLD"]), shares: z.number(), price: z.number(), commission: z.number().nullable(), time: z.string(),
    /** The leg it filled (null for stock and for a combo's own execution). */
    expiry: z.string().nullable().optional(), strike: z.number().nullable().optional(), right: z.enum(["C", "P"]).nullable().optional(),
    /** Whether it filled the trade's opening order or a closing one. */
    intent: z.enum(["open", "close"]).optional(),
    /** An execution no order made: an option leaving by exercise, assignment or lapse, or the stock it delivered (not in the trade's P&L). */
    settlement: z.enum(["option", "delivery"]).optional(),
  })),
  /** Once TWS reported any: how each option leg ended (lapsed, exercised, assigned, cash_settled; null: not reported). */
  leg_ends: z.array(z.object({
    leg: z.number().int(), contract: z.object({ symbol: z.string(), expiry: z.string(), strike: z.number(), right: z.enum(["C", "P"]) }),
    action: z.enum(["BUY", "SELL"]), quantity: z.number(), outcome: z.enum(["lapsed", "exercised", "assigned", "cash_settled", "mixed"]).nullable(),
    /** Exercised or assigned before its expiry day. */
    early: z.boolean(), exec_ids: z.array(z.string()),
  })).optional(),
  /** A modify of its working order whose answer was lost: TWS works the order at `from` or `to` until the edge sees which. */
  pending_modify: z.object({ intent: z.enum(["open", "close"]), order_id: z.number().int(), from: z.number().nullable(), to: z.number(), since: z.string() }).optional(),
  /** For an open or closing trade: its mark, unrealized P&L, distance to its worst case, days to expiry. */
  standing: TradeStanding.nullable().optional(),
});
/** `stale`: the marks and P&L in the trades' standing come from figures that are not live. */
export const ListTradesOutput = z.object({ ...StaleFigures, trades: z.array(TradeView) });

export const HealthCheckOutput = z.object({
  bridge: z.object({ connected: z.boolean(), since: z.string().nullable(), bridge_version: z.string().nullable(), mode: z.string().nullable() }),
  tws: TwsHealth.nullable(),
  data_age_seconds: z.number().nullable(),
  account_data_fresh: z.boolean(),
  /** The bridge, TWS and the account data can carry an order (a close needs no more). */
  ready_to_trade: z.boolean(),
  problems: z.array(z.string()),
  /** Whether a new trade can be opened now: false under the emergency stop, a tripped breaker, read-only mode or any problem. */
  can_open_new_trades: z.boolean(),
  /** Every reason a new trade would be refused now, whatever the order. */
  blocked_by: z.array(z.string()),
});

export const GetQuoteInput = z.strictObject({
  legs: legsOrJsonString(z.array(Leg.omit({ price: true }).extend({ price: z.number().optional() })).min(1, "give at least one leg").max(4, "at most 4 legs")),
});
export const GetQuoteOutput = Quote;
export const GetOptionChainInput = OptionChainParams;
export const GetOptionChainOutput = OptionChain;

export const ModifyOrderInput = z.strictObject({
  trade_id: TradeId,
  /**
   * The new net limit per combo unit in IBKR's signed convention (debit positive, credit
   * negative), as list_trades shows limit_price; for a working close, the closing order's net.
   */
  limit_price: NetLimitPrice,
  /** A new claim of the worst-case loss at the new price (USD); default: the order's first claim. */
  max_risk: z.number().finite("max_risk must be a finite number").nonnegative("max_risk cannot be negative").max(MAX_CLAIM_USD, `max_risk must be at most ${MAX_CLAIM_USD}`).optional(),
});
/** place_order's answer for the order at its new price (net_premium null when not computable). */
export const ModifyOrderOutput = PlaceOrderOutput.pick({ message: true, violations: true, computed_max_risk: true, max_gain: true, breakevens: true }).extend({
  success: z.boolean(),
  trade_id: z.string(),
  order_id: z.number().int().nullable(),
  intent: z.enum(["open", "close"]).nullable(),
  status: z.union([OrderStatusName, z.literal("Refused")]),
  previous_limit_price: z.number().nullable(),
  limit_price: z.number().nullable(),
  net_premium: z.number().nullable(),
});

export const GetPriceHistoryInput = PriceHistoryParams;
export const GetPriceHistoryOutput = PriceHistory;

/** get_positions: the seed's shape, plus each open trade's standing. */
export const GetPositionsWithStandingOutput = GetPositionsOutput.extend({
  trades: z.array(z.object({ trade_id: z.string(), symbol: z.string(), strategy: z.string(), standing: TradeStanding })).optional(),
});
