// The bridge⇄edge protocol over one WebSocket: a versioned envelope (hello, welcome, request,
// response, event, ack, ping, pong) with every operation and event typed. Both the Durable Object
// and the bridge parse every frame with these schemas; a frame that fails is refused, not guessed.
import { z } from "zod";
import { IsoDate, Leg, MAX_STRIKE, Right, Symbol } from "./order";
import { AccountSummary, OrderStatus, OrderStatusName, Position, Violation } from "./tools";
import { LegSettlement } from "./settlement";

/** How each leg settles, in leg order (null: a stock leg, or not reported), as TWS's contract details say. */
export const LegSettlements = z.array(LegSettlement.nullable()).max(16);

export const PROTOCOL_VERSION = 1;

// Every string and list a frame carries has a stated bound, checked before anything is stored or
// audited: a frame is a claim until its schema has held it (issue 24: a 900 KB account id in a
// hello became a 900 KB audit row). The bounds are far above anything TWS or the bridge sends.
/** Ids and versions: bridge ids, request ids, execution ids, account ids. */
const Id = z.string().max(64);
/** Order refs (trade ids, `…_CLOSE`): at most ~80 characters from makeTradeId. */
const Ref = z.string().max(128);
/** Times as the bridge or TWS writes them (ISO, or TWS's "yyyymmdd hh:mm:ss zone"). */
const Stamp = z.string().max(64);
/** Symbols, security types, currencies, order types, expiries, IBKR durations. */
const Word = z.string().max(32);
/** Sentences: TWS's error texts, the bridge's reasons, warnings, notes. */
const Text = z.string().max(2_000);
/** Rows of one answer (positions, orders, executions of a day): far above one account's. */
const MAX_ROWS = 10_000;
/** Legs of one order or quote: four at most are ever placed; a few more may be quoted. */
const MAX_LEGS = 16;
/** A violation as the bridge reports it (its second key's refusals). */
const BridgeViolation = Violation.extend({ check: Id, message: Text });

export const IbkrMode = z.enum(["paper_tws", "paper_gateway", "live_tws", "live_gateway", "sim"]);
export type IbkrMode = z.infer<typeof IbkrMode>;

export const TwsSession = z.string().min(1).max(100);

export const TwsHealth = z.object({
  state: z.enum(["connected", "degraded", "down"]),
  since: Stamp,
  last_error: Text.nullable(),
  server_version: z.number().int().nullable(),
  /**
   * The TWS session (its handshake's connection time, numbered by the bridge): TWS order ids mean
   * something only within the session that issued them. Absent from older bridges.
   */
  session: TwsSession.nullable().optional(),
});
export type TwsHealth = z.infer<typeof TwsHealth>;

/** A position and the account summary as the bridge sends them: the tools' shapes, their text bounded. */
const BridgePosition = Position.extend({ symbol: Word, expiry: Word.nullable(), risk_note: Text.optional() });
const BridgeAccountSummary = AccountSummary.extend({ account_id: Id, currency: Word, as_of: Stamp });

// ---- operations (edge → bridge requests) ---------------------------------------------------

const Empty = z.strictObject({});

export const PlaceParams = z.strictObject({
  trade_id: Ref.min(1),
  symbol: Symbol,
  strategy: Id,
  legs: z.array(Leg).min(1).max(MAX_LEGS),
  /** The edge's approved worst-case loss; the bridge recomputes it (second key). */
  max_risk: z.number(),
  order_type: z.enum(["LMT", "MKT"]).default("LMT"),
  /** Net limit per combo unit: positive is a debit paid, negative a credit received. */
  limit_price: z.number().optional(),
  /** `open` orders face every check; `close` orders reduce risk and stay allowed under a stop. */
  intent: z.enum(["open", "close"]).default("open"),
  /**
   * The signed mids within which the edge's collar passes this limit price (shared/checks.ts
   * collarBand). The bridge quotes the legs itself just before an opening order goes out and
   * refuses outside the band (it can only refuse; it checks the shared collar regardless).
   */
  collar: z.strictObject({ low: z.number().finite(), high: z.number().finite() }).optional(),
  /** The exposure group the edge reserved the risk under; the bridge refuses when the broker's underlying says otherwise. */
  exposure_group: z.string().min(1).max(16).optional(),
  /**
   * How the edge took each leg to settle when it computed `max_risk`. The bridge checks with it
   * before asking TWS anything, then again with the styles TWS reports for the resolved contracts.
   */
  settlement: LegSettlements.optional(),
});
export type PlaceParams = z.infer<typeof PlaceParams>;

export const PlaceResult = z.object({
  order_id: z.number().int(),
  perm_id: z.number().int().nullable(),
  status: OrderStatusName,
  limit_price: z.number().nullable(),
  /** The TWS session that issued `order_id` (see TwsHealth.session). */
  tws_session: TwsSession.nullable().optional(),
});

export const PreviewResult = z.object({
  init_margin_change: z.number().nullable(),
  maint_margin_change: z.number().nullable(),
  equity_with_loan_change: z.number().nullable(),
  commission: z.number().nullable(),
  warning: Text.nullable(),
});

export const CloseParams = z.strictObject({
  trade_id: Ref.min(1),
  close_trade_id: Ref.min(1),
  /** The legs as they were opened; the bridge sends the reverse combo. */
  legs: z.array(Leg).min(1).max(MAX_LEGS),
  symbol: Symbol,
  /** Net limit per unit of the closing order (debit > 0); absent: the natural (marketable) price. */
  limit_price: z.number().optional(),
  /**
   * A person ordered this close (the dashboard): the bridge does not hold it to the close cap
   * (shared/close-cap.ts). An agent's close never carries it.
   */
  person_approved: z.literal(true).optional(),
});

/**
 * A new limit price for a working order, sent as IBKR's modify: placeOrder again with the same
 * order id and orderRef. Only the price changes; the bridge refuses any other difference.
 */
export const ModifyParams = z.strictObject({
  /** The order's orderRef: the trade id for an opening order, its close ref for a close. */
  order_ref: Ref.min(1),
  order_id: z.number().int().positive(),
  symbol: Symbol,
  strategy: Id,
  intent: z.enum(["open", "close"]),
  /**
   * Opening order: its legs priced at the new net (the bridge re-checks them, second key).
   * Close: the legs as they were opened; the bridge sends their reverse at `limit_price`.
   */
  legs: z.array(Leg).min(1).max(MAX_LEGS),
  /** The new net limit per combo unit of the order as it goes to IBKR (debit > 0, credit < 0). */
  limit_price: z.number(),
  /** The edge's approved worst-case loss at the new price (opening orders). */
  max_risk: z.number(),
  /** How the edge took each leg to settle (opening orders; see PlaceParams.settlement). */
  settlement: LegSettlements.optional(),
  /** A person walks this close (see CloseParams.person_approved): not held to the close cap. */
  person_approved: z.literal(true).optional(),
});
export type ModifyParams = z.infer<typeof ModifyParams>;

export const OpenOrder = z.object({
  order_id: z.number().int(),
  perm_id: z.number().int().nullable(),
  order_ref: Ref.nullable(),
  symbol: Word,
  sec_type: Word,
  action: z.enum(["BUY", "SELL"]),
  quantity: z.number(),
  order_type: Word,
  limit_price: z.number().nullable(),
  status: OrderStatusName,
  filled: z.number(),
  remaining: z.number(),
});
export type OpenOrder = z.infer<typeof OpenOrder>;

export const Execution = z.object({
  exec_id: Id,
  order_id: z.number().int(),
  perm_id: z.number().int().nullable(),
  order_ref: Ref.nullable(),
  con_id: z.number().int(),
  symbol: Word,
  sec_type: Word,
  expiry: Word.nullable(),
  strike: z.number().nullable(),
  right: z.enum(["C", "P"]).nullable(),
  side: z.enum(["BOT", "SLD"]),
  shares: z.number(),
  price: z.number(),
  time: Stamp,
  commission: z.number().nullable(),
  realized_pnl: z.number().nullable(),
});
export type Execution = z.infer<typeof Execution>;

/**
 * A finished order as TWS lists it (reqCompletedOrders): no order id on the wire, so it is matched
 * by permId (or orderRef); `completed_status` is TWS's own words on how it ended.
 */
export const CompletedOrder = z.object({
  perm_id: z.number().int().nullable(),
  order_ref: Ref.nullable(),
  status: OrderStatusName,
  filled: z.number(),
  completed_time: Stamp.nullable(),
  completed_status: z.string().max(500).nullable(),
});
export type CompletedOrder = z.infer<typeof CompletedOrder>;

export const QuoteParams = z.strictObject({
  /** One leg (stock or option) or a whole combo's legs; the combo's mid is net per unit. */
  legs: z.array(Leg.omit({ price: true }).extend({ price: z.number().optional() })).min(1).max(MAX_LEGS),
});
export const MarketDataType = z.enum(["live", "frozen", "delayed", "delayed_frozen", "unavailable"]);

/**
 * An option's implied volatility and greeks as TWS computed them (its model tick, 13, or the
 * delayed model, 83), per share of one contract: delta in the option's own sign, theta per
 * calendar day, vega per volatility point. A field TWS marked "not computed" is null, never guessed.
 */
export const Greeks = z.object({
  iv: z.number().nullable(),
  delta: z.number().nullable(),
  gamma: z.number().nullable(),
  theta: z.number().nullable(),
  vega: z.number().nullable(),
  /** The model's option price and the underlying price the figures refer to. */
  model_price: z.number().nullable(),
  underlying_price: z.number().nullable(),
  data_type: MarketDataType,
  /** When the bridge received them, and their age when the bridge answered. */
  as_of: Stamp,
  age_seconds: z.number().nonnegative(),
});
export type Greeks = z.infer<typeof Greeks>;

/** Greeks of one option, or why there are none (a stock leg, or TWS sent no computation). */
export const OptionGreeks = z.object({
  greeks: Greeks.nullable(),
  greeks_reason: Text.nullable(),
});

export const Quote = z.object({
  bid: z.number().nullable(),
  ask: z.number().nullable(),
  last: z.number().nullable(),
  mid: z.number().nullable(),
  /** `live`, `delayed`, or `unavailable` with the reason: never a silent zero. */
  data_type: MarketDataType,
  reason: Text.nullable(),
  as_of: Stamp,
  /**
   * The underlying TWS reports for the legs (ContractDetails.underSymbol; the stock's own symbol
   * for a stock leg): what the concentration limit groups by. Absent from older bridges.
   */
  underlying: z.string().max(16).nullable().optional(),
  /**
   * How each leg settles, in leg order, from its contract details (ContractDetails.underSecType
   * and trading class, shared/settlement.ts): what the risk figure of a multi-expiry order or a
   * short leg depends on. Absent from older bridges (such orders are then refused).
   */
  settlement: LegSettlements.optional(),
  /** A single option's IV and greeks; null with `greeks_reason` otherwise. Absent from older bridges. */
  greeks: Greeks.nullable().optional(),
  greeks_reason: Text.nullable().optional(),
  /** Per leg, in the order given, for combos: each option leg's greeks or why there are none. */
  leg_greeks: z.array(OptionGreeks).max(MAX_LEGS).optional(),
});
export type Quote = z.infer<typeof Quote>;

/** preview_order's one trip: the legs' quote and IBKR's what-if, asked together; either may fail alone. */
export const PreviewWithQuote = z.object({
  quote: Quote.nullable(),
  quote_error: Text.nullable(),
  margin: PreviewResult.nullable(),
  margin_error: Text.nullable(),
});

/**
 * TWS's market-data line budget: by default an account may hold about 100 market-data lines at
 * once (more with quote booster packs); each snapshot holds one until it ends. The bridge keeps at
 * most `MARKET_DATA_LINES` open and quotes at most `CHAIN_QUOTE_LINES` (strike × right) in one
 * option-chain answer, so a chain fits one round of snapshots inside the edge's timeout and leaves
 * lines for the quotes an order needs. A wider chain is refused with the count, never truncated.
 */
export const TWS_DEFAULT_MARKET_DATA_LINES = 100;
export const MARKET_DATA_LINES = 95;
export const CHAIN_QUOTE_LINES = 90;
/** Without a window or delta range only this many strikes nearest the money are quoted (and said so). */
export const CHAIN_DEFAULT_QUOTED_STRIKES = 25;

const Strike = z.number().finite().positive("strikes are positive").max(MAX_STRIKE, `strikes are at most ${MAX_STRIKE}`);
const AbsDelta = z.number().finite().min(0, "a delta bound is an absolute delta from 0 to 1").max(1, "a delta bound is an absolute delta from 0 to 1");

export const OptionChainParams = z
  .strictObject({
    symbol: Symbol,
    expiry: IsoDate.optional(),
    /** Only strikes within this fraction of the underlying price (default 10%). */
    strike_range: z.number().positive().max(1).optional(),
    /** A strike window in dollars; with it, every strike inside is quoted (strike_range is ignored). */
    min_strike: Strike.optional(),
    max_strike: Strike.optional(),
    /** Only calls or only puts. */
    right: Right.optional(),
    /** Keep options whose |delta| (TWS's model) lies in [delta_min, delta_max]; needs an expiry. */
    delta_min: AbsDelta.optional(),
    delta_max: AbsDelta.optional(),
  })
  .refine((p) => p.min_strike === undefined || p.max_strike === undefined || p.min_strike <= p.max_strike, { message: "min_strike must not be above max_strike", path: ["min_strike"] })
  .refine((p) => p.delta_min === undefined || p.delta_max === undefined || p.delta_min <= p.delta_max, { message: "delta_min must not be above delta_max", path: ["delta_min"] })
  .refine((p) => p.expiry !== undefined || (p.delta_min === undefined && p.delta_max === undefined && p.min_strike === undefined && p.max_strike === undefined && p.right === undefined), {
    message: "a delta range, strike window or right selects quotes of one expiry: give expiry too",
    path: ["expiry"],
  });
export type OptionChainParams = z.infer<typeof OptionChainParams>;

export const ChainQuote = z.object({
  strike: z.number(),
  right: z.enum(["C", "P"]),
  bid: z.number().nullable(),
  ask: z.number().nullable(),
  mid: z.number().nullable(),
  data_type: MarketDataType.optional(),
  reason: Text.nullable().optional(),
  greeks: Greeks.nullable().optional(),
  greeks_reason: Text.nullable().optional(),
});
export const OptionChain = z.object({
  symbol: Word,
  underlying_price: z.number().nullable(),
  expiries: z.array(Word).max(MAX_ROWS),
  strikes: z.array(z.number()).max(MAX_ROWS),
  expiry: Word.nullable(),
  quotes: z.array(ChainQuote).max(MAX_ROWS),
  /** Strikes whose options were quoted (before a delta filter), and the lines that took. */
  quoted_strikes: z.array(z.number()).max(MAX_ROWS).optional(),
  market_data_lines: z.object({ used: z.number().int(), budget: z.number().int() }).optional(),
  /** What was quoted and left out, in words (the default 25-strike view; options without a delta). */
  note: Text.nullable().optional(),
});
export type OptionChain = z.infer<typeof OptionChain>;

/** Bar sizes offered for price history (IBKR's bar size settings), and the most bars one answer holds. */
export const BAR_SIZES = ["1 min", "5 mins", "15 mins", "30 mins", "1 hour", "1 day"] as const;
export const MAX_HISTORY_BARS = 500;

export const PriceHistoryParams = z.strictObject({
  symbol: Symbol,
  bar_size: z.enum(BAR_SIZES).default("1 day"),
  /** How many bars, the most recent last (regular trading hours only). */
  count: z.number().int("count is a whole number of bars").min(1, "count is at least 1").max(MAX_HISTORY_BARS, `count is at most ${MAX_HISTORY_BARS}`).default(30),
});
export type PriceHistoryParams = z.infer<typeof PriceHistoryParams>;
export const PriceBar = z.object({
  /** Start of the bar: YYYY-MM-DD for daily bars, ISO date-time (UTC) for intraday bars. */
  time: Stamp,
  open: z.number(),
  high: z.number(),
  low: z.number(),
  close: z.number(),
  volume: z.number().nullable(),
});
export const PriceHistory = z.object({
  symbol: Word,
  bar_size: z.enum(BAR_SIZES),
  bars: z.array(PriceBar).max(MAX_HISTORY_BARS),
  /** What TWS was asked for (IBKR's duration string), and when. */
  duration: Word,
  as_of: Stamp,
});
export type PriceHistory = z.infer<typeof PriceHistory>;

export const LogParams = z.strictObject({
  kind: z.enum(["safety_violation", "circuit_breaker"]),
  at: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** Every operation with its params and result. */
export const Ops = {
  account: { params: Empty, result: BridgeAccountSummary },
  positions: { params: z.strictObject({ symbol: Symbol.optional() }), result: z.array(BridgePosition).max(MAX_ROWS) },
  place: { params: PlaceParams, result: PlaceResult },
  preview: { params: PlaceParams, result: PreviewResult },
  preview_with_quote: { params: PlaceParams, result: PreviewWithQuote },
  cancel: { params: z.strictObject({ order_id: z.number().int().positive() }), result: z.object({ order_id: z.number().int(), status: OrderStatusName }) },
  cancel_all: { params: Empty, result: z.object({ requested: z.literal(true) }) },
  close: { params: CloseParams, result: PlaceResult },
  modify: { params: ModifyParams, result: PlaceResult },
  order_status: { params: z.strictObject({ order_id: z.number().int().positive() }), result: OrderStatus },
  open_orders: { params: Empty, result: z.array(OpenOrder).max(MAX_ROWS) },
  executions: { params: z.strictObject({ since: Stamp.optional() }), result: z.array(Execution).max(MAX_ROWS) },
  /** The orders TWS lists as finished in its current session (its last re-sync's reqCompletedOrders). */
  completed_orders: { params: Empty, result: z.array(CompletedOrder).max(MAX_ROWS) },
  quote: { params: QuoteParams, result: Quote },
  option_chain: { params: OptionChainParams, result: OptionChain },
  price_history: { params: PriceHistoryParams, result: PriceHistory },
  health: { params: Empty, result: TwsHealth },
  write_log: { params: LogParams, result: z.object({ written: z.literal(true) }) },
} as const;
export type OpName = keyof typeof Ops;
export type OpParams<N extends OpName> = z.infer<(typeof Ops)[N]["params"]>;
export type OpResult<N extends OpName> = z.infer<(typeof Ops)[N]["result"]>;
export const OpName = z.enum(Object.keys(Ops) as [OpName, ...OpName[]]);

// ---- events (bridge → edge) ----------------------------------------------------------------

export const Events = {
  order_status: z.object({
    order_id: z.number().int(),
    perm_id: z.number().int().nullable(),
    order_ref: Ref.nullable(),
    status: OrderStatusName,
    filled: z.number(),
    remaining: z.number(),
    avg_fill_price: z.number().nullable(),
    why_held: Text.nullable(),
    /** TWS error text when the status is a rejection. */
    reason: Text.nullable(),
    /** The TWS session that spoke (order ids are per session); absent from older bridges. */
    tws_session: TwsSession.nullable().optional(),
    /**
     * The limit price TWS holds for the order, as IBKR's lmtPrice (as in OpenOrder): a combo's
     * signed net per unit, a single leg's own positive price. Absent from older bridges.
     */
    limit_price: z.number().nullable().optional(),
  }),
  execution: Execution,
  position: BridgePosition.extend({ account: Id }),
  account: BridgeAccountSummary,
  pnl: z.object({ daily: z.number().nullable(), unrealized: z.number().nullable(), realized: z.number().nullable() }),
  tws_health: TwsHealth,
  /**
   * TWS's own clock (its answer to the heartbeat's reqCurrentTime), sent when it runs apart from the
   * bridge's by more than a minute, or comes back in line: the broker's day decides expiries.
   */
  tws_clock: z.object({ tws_time: Stamp, skew_ms: z.number().int() }),
  /** The bridge refused an order the edge approved (second key) — the edge must hear why. */
  refusal: z.object({ trade_id: Ref, violations: z.array(BridgeViolation).max(32) }),
  /**
   * TWS came back (a new session, or 1101/1102 after IB's connectivity returned) and the bridge
   * has re-read open orders, executions, completed orders, positions and the account: the edge reconciles its ledger
   * as on a link reconnect (fills made while TWS was away may have finished orders it thinks open).
   */
  tws_resynced: z.object({
    reason: z.enum(["session_started", "connectivity_restored"]),
    /** The TWS notice behind a `connectivity_restored` (1101 data lost, 1102 data kept). */
    code: z.number().int().nullable(),
    open_orders: z.number().int().nonnegative(),
    executions: z.number().int().nonnegative(),
    /** Finished orders TWS listed (reqCompletedOrders); their final statuses were published first. */
    completed_orders: z.number().int().nonnegative(),
  }),
} as const;
export type EventType = keyof typeof Events;
export type EventData<T extends EventType> = z.infer<(typeof Events)[T]>;

// ---- the envelope ----------------------------------------------------------------------------

const V = z.literal(PROTOCOL_VERSION);

/**
 * The edge's first frame on every new bridge socket. The bridge proves its identity by signing
 * this challenge (fresh per socket, bound to the account and the connection) in its hello.
 */
export const Challenge = z.strictObject({
  v: V,
  type: z.literal("challenge"),
  account_id: Id,
  connection_id: z.string().min(16).max(64),
  nonce: z.string().min(32).max(128),
});
export type Challenge = z.infer<typeof Challenge>;

export const Hello = z.strictObject({
  v: V,
  type: z.literal("hello"),
  bridge_version: Id.min(1),
  /** Random per bridge process; with `seq` it identifies an event exactly once. */
  bridge_id: Id.min(8).regex(/^[\x21-\x7e]+$/, "bridge_id is printable ASCII without spaces"),
  account_id: Id,
  mode: IbkrMode,
  tws: TwsHealth,
  /** The highest event seq this bridge_id has numbered: the edge never welcomes it with a higher one. */
  last_seq: z.number().int().nonnegative(),
  /** Ed25519 signature (base64url) of helloSigningText(challenge, hello) with the bridge's identity key. */
  signature: z.string().min(1).max(200),
});
export type Hello = z.infer<typeof Hello>;

/**
 * The exact text a bridge signs: the challenge (so a signature cannot be replayed on another
 * socket or account) and every field of the hello, its TWS health included (what the edge records
 * and shows of the link must be what the key holder said). Fields are listed one by one, not
 * serialized as an object, so key order and keys a schema strips cannot change the text; a test
 * holds this list against the Hello schema's fields.
 */
export function helloSigningText(challenge: Pick<Challenge, "account_id" | "connection_id" | "nonce">, hello: Omit<Hello, "v" | "type" | "signature">): string {
  const tws = hello.tws;
  // A JSON array: no field can spill into the next, whatever characters it holds.
  return JSON.stringify([
    "ibkr-mcp bridge hello v2", challenge.account_id, challenge.connection_id, challenge.nonce,
    hello.bridge_id, hello.bridge_version, hello.account_id, hello.mode, hello.last_seq,
    [tws.state, tws.since, tws.last_error, tws.server_version, tws.session ?? null],
  ]);
}

export const Welcome = z.strictObject({
  v: V,
  type: z.literal("welcome"),
  /** The last event seq of this bridge_id the edge has stored; the bridge resends anything after. */
  last_event_seq: z.number().int().nonnegative(),
});

export const Request = z.strictObject({
  v: V,
  type: z.literal("request"),
  id: Id.min(1),
  op: OpName,
  params: z.unknown(),
  /**
   * Epoch ms when the edge stops waiting for the answer. The bridge sends no order after it: a
   * request held up (a paused bridge, a slow socket) must not reach TWS once the edge gave up.
   */
  expires_at: z.number().int().positive().optional(),
});
export type Request = z.infer<typeof Request>;

/** What the bridge knows of a request besides its params. */
export interface RequestMeta {
  expiresAt?: number;
}

export const ErrorBody = z.object({
  code: Id,
  message: Text,
  violations: z.array(BridgeViolation).max(32).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export const Response = z.union([
  z.strictObject({ v: V, type: z.literal("response"), id: Id, ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ v: V, type: z.literal("response"), id: Id, ok: z.literal(false), error: ErrorBody }),
]);
export type Response = z.infer<typeof Response>;

const eventVariants = Object.entries(Events).map(([type, data]) =>
  z.strictObject({ v: V, type: z.literal("event"), seq: z.number().int().positive(), at: Stamp, event: z.literal(type), data }),
);
export const Event = z.discriminatedUnion("event", eventVariants as unknown as [typeof eventVariants[number], ...typeof eventVariants]);
export type Event = { v: 1; type: "event"; seq: number; at: string } & {
  [T in EventType]: { event: T; data: EventData<T> };
}[EventType];

/**
 * The edge's emergency stop, pushed the moment it is set or cleared and after every welcome: the
 * bridge then sends no opening order, even one it had already accepted (closes stay allowed).
 */
export const EmergencyStopPush = z.strictObject({
  v: V,
  type: z.literal("emergency_stop"),
  on: z.boolean(),
  reason: Text.nullable(),
  at: Stamp.nullable(),
  by: z.string().max(100).nullable(),
});
export type EmergencyStopPush = z.infer<typeof EmergencyStopPush>;

export const Ack = z.strictObject({ v: V, type: z.literal("ack"), seq: z.number().int().nonnegative() });
export const Ping = z.strictObject({ v: V, type: z.literal("ping"), t: z.number() });
export const Pong = z.strictObject({ v: V, type: z.literal("pong"), t: z.number() });

/** Anything the bridge may send. */
export const BridgeMessage = z.union([Hello, z.strictObject({ ...Response.options[0].shape }), z.strictObject({ ...Response.options[1].shape }), Event, Ping, Pong]);
/** Anything the edge may send. */
export const EdgeMessage = z.union([Challenge, Welcome, Request, EmergencyStopPush, Ack, Ping, Pong]);

/** Parse a request's params with its op's schema. */
export function parseParams<N extends OpName>(op: N, params: unknown): OpParams<N> {
  return Ops[op].params.parse(params) as OpParams<N>;
}
