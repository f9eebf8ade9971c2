// The order as the agent describes it (the seed's `place_order` shape): legs with an action, a
// contract, a quantity and a per-share price. Shared by the MCP tools, the risk engine, the
// edge's checks and the bridge's second key, so all four read one definition.
import { z } from "zod";
import { roundCents } from "./money";

export const Symbol = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z][A-Z0-9.]{0,9}$/, "symbol must be 1-10 letters, digits or dots, starting with a letter");

/** `YYYY-MM-DD`, a real calendar date (2025-02-30 is refused). */
export const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "expiry must be YYYY-MM-DD")
  .refine(isRealDate, "expiry is not a real calendar date");

export function isRealDate(text: string): boolean {
  const [y, m, d] = text.split("-").map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

export const Action = z.enum(["BUY", "SELL"]);
export type Action = z.infer<typeof Action>;
export const Right = z.enum(["C", "P"]);
export type Right = z.infer<typeof Right>;

// Every number an agent sends has a finite range, so no arithmetic downstream can overflow into
// ∞ or NaN. The ranges are wide on purpose (the tighter trading limits live in risk.ts, where a
// refusal can say which limit and by how much); they only keep the numbers sane.
/** Highest strike accepted, in USD (index options sit far below it). */
export const MAX_STRIKE = 100_000;
/** Highest per-share leg price accepted, in USD. */
export const MAX_LEG_PRICE = 1_000_000;
/** Largest leg quantity accepted (contracts, or shares of a stock leg). */
export const MAX_LEG_QUANTITY = 100_000;

// Normalised at the schema, before any check: TWS knows a series by its strike in cents, so 620
// and 620.0000000001 are one series and must be one series to the duplicate-leg and size checks
// (and to every comparison with what TWS reports). A strike always snaps to the cent; a price
// snaps only when it is a cent plus float noise — a price genuinely between cents is left for the
// risk engine to refuse ("must be in whole cents"), never silently repriced. The snap runs
// before the range checks, so a strike of 0.004 is refused as zero, not sent as 0.
/** Smallest strike: a whole cent (a strike is normalised to cents, so anything below rounds to zero). */
export const MIN_STRIKE = 0.01;
/** Float noise around a whole cent (the same tolerance the risk engine's whole-cents check allows). */
const CENT_NOISE = 1e-6;
const toCents = (x: number): number => (Number.isFinite(x) ? roundCents(x) : x);
const centsIfNoise = (x: number): number => (Number.isFinite(x) && Math.abs(x * 100 - Math.round(x * 100)) < CENT_NOISE ? roundCents(x) : x);

export const OptionContract = z.strictObject({
  symbol: Symbol,
  sec_type: z.literal("OPT").optional(),
  expiry: IsoDate,
  strike: z
    .number()
    .finite("strike must be a finite number")
    .overwrite(toCents)
    .gt(0, "strike must be above zero")
    .max(MAX_STRIKE, `strike must be at most ${MAX_STRIKE}`),
  right: Right,
});
export type OptionContract = z.infer<typeof OptionContract>;

/** A stock leg: an order of its own (a combo mixing stock and options is refused, see combo-price.ts). */
export const StockContract = z.strictObject({
  symbol: Symbol,
  sec_type: z.literal("STK"),
});
export type StockContract = z.infer<typeof StockContract>;

export const Contract = z.union([StockContract, OptionContract]);
export type Contract = z.infer<typeof Contract>;

export const Leg = z.strictObject({
  action: Action,
  contract: Contract,
  /** Option contracts, or shares for a stock leg. */
  quantity: z
    .number()
    .int("quantity must be a whole number")
    .min(1, "quantity must be at least 1")
    .max(MAX_LEG_QUANTITY, `quantity must be at most ${MAX_LEG_QUANTITY}`),
  /**
   * Per-share price: the option premium, or the stock price. A hint for display and for the
   * combo's net price; risk rests on that net price (combo-price.ts), never on one leg's price.
   */
  price: z
    .number()
    .finite("price must be a finite number")
    .overwrite(centsIfNoise)
    .min(0, "price cannot be negative")
    .max(MAX_LEG_PRICE, `price must be at most ${MAX_LEG_PRICE}`),
});
export type Leg = z.infer<typeof Leg>;

/** Longest `legs` accepted as a JSON string (four full legs take under 1,000 characters). */
export const MAX_LEGS_JSON_CHARS = 8_192;

/**
 * `legs` as an array, or as a JSON string of that array: some desktop MCP clients send nested
 * arrays stringified. The string is parsed here, before any validation, so the legs it holds meet
 * exactly the schema, checks and limits an array would; the advertised JSON Schema stays the array.
 */
export function legsOrJsonString<T extends z.ZodType>(array: T) {
  return z.preprocess((value, ctx) => {
    if (typeof value !== "string") return value;
    if (value.length > MAX_LEGS_JSON_CHARS) {
      ctx.addIssue({ code: "custom", message: `legs as a string is too long (${value.length} characters, at most ${MAX_LEGS_JSON_CHARS}): send the array itself` });
      return z.NEVER;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `legs is a string but not valid JSON (${(error as Error).message}): send the array of legs, or its exact JSON text` });
      return z.NEVER;
    }
    if (!Array.isArray(parsed)) {
      ctx.addIssue({ code: "custom", message: `legs as a string must hold a JSON array of legs (it holds ${parsed === null ? "null" : typeof parsed})` });
      return z.NEVER;
    }
    return parsed;
  }, array);
}

/** What the tools that take legs say about the string form (their descriptions). */
export const LEGS_AS_STRING_NOTE = "legs may also be sent as a JSON string of that array (as some desktop clients send it); it is parsed and checked exactly like the array.";

export function isStockLeg(leg: Leg): leg is Leg & { contract: StockContract } {
  return leg.contract.sec_type === "STK";
}
export function isOptionLeg(leg: Leg): leg is Leg & { contract: OptionContract } {
  return leg.contract.sec_type !== "STK";
}

/** Readable leg label used in messages: `SELL 1 AAPL 2025-12-19 150C @ 1.20`. */
export function describeLeg(leg: Leg): string {
  const c = leg.contract;
  const what = c.sec_type === "STK" ? `${c.symbol} stock` : `${c.symbol} ${c.expiry} ${c.strike}${c.right}`;
  return `${leg.action} ${leg.quantity} ${what} @ ${leg.price}`;
}

/** Two legs name the same instrument (whatever their action). */
export function contractKey(contract: Contract): string {
  return contract.sec_type === "STK"
    ? `${contract.symbol}:STK`
    : `${contract.symbol}:${contract.expiry}:${contract.strike}:${contract.right}`;
}
