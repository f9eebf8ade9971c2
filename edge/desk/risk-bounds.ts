// Whether an order's worst-case figure is exact, and where it is a bound, what it leaves out and by
// how much (README "The risk model"): the engine's figure is exact under its settlement model,
// which values everything at each expiry's settlement price and pays no dividends. Two things
// outside that model act on the shares the position can hold (shared/risk.ts dividendShares and
// pinShares): a dividend going ex while shares are short, and the price moving after the last
// expiry while delivered shares are still held. Cash-settled legs hold none, so an all-cash,
// European-style structure is exact.
//
// @example
//   riskBounds(legs, analysis).notes  // ["Dividends: up to 100 shares …", "After the last expiry …"]
import { z } from "zod";
import { formatUsd } from "../../shared/money";
import type { Leg } from "../../shared/order";
import type { RiskAnalysis } from "../../shared/risk";
import { LegSettlement } from "../../shared/settlement";

export const RiskBounds = z.object({
  /** True when nothing the model leaves out can add to the worst case (no shares can be held). */
  exact: z.boolean(),
  /** Most shares the position can be short before its last expiry: each $1.00 of dividend going ex meanwhile can add this many dollars. */
  dividend_shares: z.number(),
  /** Most shares it can leave after the last expiry: each $1.00 the underlying moves before they are closed can add this many dollars. */
  pin_shares: z.number(),
  /** How each leg was taken to settle, in leg order (from TWS's contract details; null for stock or not known). */
  settlement: z.array(LegSettlement.nullable()),
  /** The same in words. */
  notes: z.array(z.string()),
});
export type RiskBounds = z.infer<typeof RiskBounds>;

/** What the figure leaves out, for preview_order. */
export function riskBounds(legs: readonly Leg[], analysis: RiskAnalysis): RiskBounds {
  const expiries = legs.flatMap((leg) => (leg.contract.sec_type === "STK" ? [] : [leg.contract.expiry])).sort();
  const last = expiries[expiries.length - 1] ?? "the last expiry";
  const notes: string[] = [];
  if (analysis.method === "not_computable") notes.push("No figure: the order's risk is not computable.");
  else {
    if (analysis.dividendShares > 0)
      notes.push(
        `Dividends are not in the worst case: up to ${analysis.dividendShares} shares can be short before ${last} (a short call assigned early, an earlier-dated long put exercised, short stock); each $1.00 of dividend going ex meanwhile can add up to ${formatUsd(analysis.dividendShares)}.`,
      );
    if (analysis.pinShares > 0)
      notes.push(
        `After ${last} up to ${analysis.pinShares} shares can be left (an in-the-money long exercised, a short assigned by a holder's choice after the close, a pinned strike): the worst case values them at that day's closing price; each $1.00 the underlying moves before they are closed can add up to ${formatUsd(analysis.pinShares)}.`,
      );
    if (analysis.settlement.some((s) => s?.delivery === "cash"))
      notes.push("Cash-settled legs pay their value at their own settlement value and deliver nothing; each expiry and trading class is worst-cased on its own.");
    if (analysis.dividendShares === 0 && analysis.pinShares === 0) notes.push("Exact under the model: no shares can be held, so no dividend or later move can add to it.");
  }
  notes.push("Commissions, interest and borrow fees on short stock are not included.");
  return {
    exact: analysis.method !== "not_computable" && analysis.dividendShares === 0 && analysis.pinShares === 0,
    dividend_shares: analysis.dividendShares, pin_shares: analysis.pinShares, settlement: analysis.settlement, notes,
  };
}
