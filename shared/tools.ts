// The MCP tools' inputs and outputs. The seed's five keep the seed's field names and shapes;
// the edge registers these schemas as-is (inputSchema/outputSchema) and the bridge fills the
// account and position shapes, so both sides read one definition.
import { z } from "zod";
import { Leg, legsOrJsonString, Symbol } from "./order";

const Money = z.number().finite();
/** Largest `max_risk` or `capital_required` an agent may claim, in USD: finite, far above any limit. */
export const MAX_CLAIM_USD = 1_000_000_000;
const Claim = (name: string) =>
  z
    .number()
    .finite(`${name} must be a finite number`)
    .nonnegative(`${name} cannot be negative`)
    .max(MAX_CLAIM_USD, `${name} must be at most ${MAX_CLAIM_USD}`);
export const METADATA_MAX_CHARS = 4_096;
const IdempotencyKey = z
  .string()
  .min(8, "idempotency_key must be at least 8 characters")
  .max(128, "idempotency_key must be at most 128 characters")
  .regex(/^[A-Za-z0-9._:-]+$/, "idempotency_key may hold letters, digits and . _ : - only");

export const TradeId = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,40}_[A-Z][A-Z0-9.]{0,9}_\d{8}_\d{6}(_\d+)?$/, "trade_id looks like IRON_CONDOR_AAPL_20251119_103045");

/** Strategy names the seed uses; free text is allowed but normalised into the trade id. */
export const Strategy = z
  .string()
  .trim()
  .min(1, "strategy is required")
  .max(40, "strategy must be at most 40 characters");

// ---- get_account ---------------------------------------------------------------------------

export const GetAccountInput = z.strictObject({});
export const AccountSummary = z.object({
  account_id: z.string(),
  net_liquidation: Money,
  total_cash: Money,
  buying_power: Money,
  available_funds: Money,
  excess_liquidity: Money,
  maintenance_margin: Money,
  unrealized_pnl: Money,
  realized_pnl: Money,
  daily_pnl: Money,
  currency: z.string(),
  /** When the bridge last heard these values from TWS (ISO time). */
  as_of: z.string(),
});
export type AccountSummary = z.infer<typeof AccountSummary>;
/**
 * On every read that shows account figures: `stale` when they are the last the bridge reported and
 * not live (no bridge, TWS not connected, or older than trading allows), and one sentence of why.
 */
export const StaleFigures = {
  stale: z.boolean(),
  stale_reason: z.string().nullable(),
};
export const GetAccountOutput = AccountSummary.extend({
  ...StaleFigures,
  /** Age of the snapshot when answered, so the agent knows how fresh it is. */
  data_age_seconds: z.number(),
});

// ---- get_positions -------------------------------------------------------------------------

export const GetPositionsInput = z.strictObject({ symbol: Symbol.optional() });
export const Position = z.object({
  symbol: z.string(),
  sec_type: z.enum(["STK", "OPT", "BAG", "OTHER"]),
  expiry: z.string().nullable(),
  strike: z.number().nullable(),
  right: z.enum(["C", "P"]).nullable(),
  con_id: z.number().int(),
  /** Signed: negative is short. Contracts for options, shares for stock. */
  quantity: z.number(),
  avg_cost: Money,
  current_price: Money.nullable(),
  market_value: Money.nullable(),
  unrealized_pnl: Money.nullable(),
  unrealized_pnl_pct: z.number().nullable(),
  /** The edge's own risk of a stock position (e.g. left by an assignment): null = unbounded (short). */
  worst_case_loss: Money.nullable().optional(),
  risk_note: z.string().optional(),
});
export type Position = z.infer<typeof Position>;
export const GetPositionsOutput = z.object({
  ...StaleFigures,
  positions: z.array(Position),
  as_of: z.string(),
  data_age_seconds: z.number(),
});

// ---- place_order ---------------------------------------------------------------------------

export const PlaceOrderInput = z.strictObject({
  symbol: Symbol,
  strategy: Strategy,
  legs: legsOrJsonString(z.array(Leg).min(1, "an order needs at least one leg")),
  /** The caller's claim of the worst-case loss (USD); checked against the computed one. */
  max_risk: Claim("max_risk"),
  capital_required: Claim("capital_required"),
  /** Free-form notes kept with the trade; bounded so an agent cannot bloat the ledger. */
  metadata: z
    .record(z.string(), z.unknown())
    .refine((value) => JSON.stringify(value).length <= METADATA_MAX_CHARS, `metadata must be at most ${METADATA_MAX_CHARS} characters as JSON`)
    .optional(),
  idempotency_key: IdempotencyKey.optional(),
});
export type PlaceOrderInput = z.infer<typeof PlaceOrderInput>;

export const Violation = z.object({
  /** Machine name of the check (`max_trade_risk`, `daily_loss`, …). */
  check: z.string(),
  /** One sentence a trader understands, with the amounts. */
  message: z.string(),
  /** The value that was measured and the limit it was measured against, when numeric. */
  value: z.number().optional(),
  limit: z.number().optional(),
});
export type Violation = z.infer<typeof Violation>;

export const OrderStatusName = z.enum([
  "PendingApproval",
  "PendingSubmit",
  "PreSubmitted",
  "Submitted",
  "PartiallyFilled",
  "Filled",
  "Cancelled",
  "Rejected",
  "Inactive",
  "Unknown",
]);
export type OrderStatusName = z.infer<typeof OrderStatusName>;

export const PlaceOrderOutput = z.object({
  success: z.boolean(),
  trade_id: z.string().nullable(),
  order_id: z.number().int().nullable(),
  /**
   * awaiting_confirmation: "confirm every order" is on and the client cannot ask its person, so the
   * order waits for them to open confirmation_url (logged in) and approve or decline it.
   */
  status: z.union([OrderStatusName, z.literal("Refused"), z.literal("awaiting_confirmation")]),
  /** One-time approval link on the edge (needs the dashboard login); set with awaiting_confirmation. */
  confirmation_url: z.string().optional(),
  confirmation_expires_at: z.string().optional(),
  message: z.string(),
  violations: z.array(Violation),
  /** Worst-case loss computed from the legs (null when not computable). */
  computed_max_risk: z.number().nullable(),
  max_gain: z.number().nullable(),
  breakevens: z.array(z.number()),
  net_premium: z.number(),
});
export type PlaceOrderOutput = z.infer<typeof PlaceOrderOutput>;

// ---- close_position ------------------------------------------------------------------------

/** Largest |net limit price| per combo unit an agent may send, in USD per share. */
export const MAX_NET_LIMIT = 100_000;
/** A net limit per combo unit in IBKR's signed convention: debit positive, credit negative, whole cents. */
export const NetLimitPrice = z
  .number()
  .finite("limit_price must be a finite number")
  .min(-MAX_NET_LIMIT, `limit_price must be at least -${MAX_NET_LIMIT}`)
  .max(MAX_NET_LIMIT, `limit_price must be at most ${MAX_NET_LIMIT}`)
  .refine((x) => Math.abs(x * 100 - Math.round(x * 100)) < 1e-6, "limit_price must be in whole cents");

export const ClosePositionInput = z.strictObject({
  trade_id: TradeId,
  /**
   * Optional net limit per combo unit of the CLOSING order (debit positive: you pay to close;
   * negative: you receive). Checked against the quote (price collar). Without it the close goes
   * at the natural, marketable price. A working close can be walked with modify_order.
   */
  limit_price: NetLimitPrice.optional(),
  idempotency_key: IdempotencyKey.optional(),
});
export const ClosePositionOutput = z.object({
  success: z.boolean(),
  trade_id: z.string(),
  close_order_id: z.number().int().nullable(),
  status: z.union([OrderStatusName, z.literal("Refused")]),
  message: z.string(),
  violations: z.array(Violation),
});

// ---- get_order_status ----------------------------------------------------------------------

export const GetOrderStatusInput = z.strictObject({
  order_id: z.number().int("order_id is an integer").positive("order_id is positive"),
});
export const OrderStatus = z.object({
  order_id: z.number().int(),
  trade_id: z.string().nullable(),
  status: OrderStatusName,
  filled: z.number(),
  remaining: z.number(),
  avg_fill_price: z.number().nullable(),
  last_update: z.string(),
  why_held: z.string().nullable(),
  /**
   * TWS neither holds this order nor lists it as finished: `status` is the last TWS reported, and
   * its trade's risk stays reserved until TWS accounts for it or an admin settles it.
   */
  unaccounted: z.boolean().optional(),
  unaccounted_since: z.string().nullable().optional(),
  /** One sentence: unaccounted since when, the risk kept reserved, and what settles it (null otherwise). */
  unaccounted_note: z.string().nullable().optional(),
  /**
   * A modify of this order whose answer was lost (the link dropped, or it timed out): TWS may work
   * the order at either net price (debit positive) until the edge next sees TWS's order.
   */
  pending_modify: z.object({ from: z.number().nullable(), to: z.number(), since: z.string() }).optional(),
});
export type OrderStatus = z.infer<typeof OrderStatus>;
export const GetOrderStatusOutput = OrderStatus;

/** Names of the seed's tools, for the registry and the docs. */
export const SEED_TOOLS = ["get_account", "get_positions", "place_order", "close_position", "get_order_status"] as const;
