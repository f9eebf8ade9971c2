// The order as the agent describes it (the seed's `place_order` shape): legs with an action, a
// contract, a quantity and a per-share price. Shared by the MCP tools, the risk engine, the
// edge's checks and the bridge's second key, so all four read one definition.
import { z } from "zod";

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

export const OptionContract = z.strictObject({
  symbol: Symbol,
  sec_type: z.literal("OPT").optional(),
  expiry: IsoDate,
  strike: z.number().finite(),
  right: Right,
});
export type OptionContract = z.infer<typeof OptionContract>;

/** A stock leg, allowed for covered structures (covered call, collar). */
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
  quantity: z.number().finite(),
  /** Per-share price: the option premium, or the stock price. */
  price: z.number().finite(),
});
export type Leg = z.infer<typeof Leg>;

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
