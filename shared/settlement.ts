// How an option settles, read from what TWS reports in its contract details, for the risk engine
// (shared/risk.ts). Options on a stock or an ETF (ContractDetails.underSecType STK) deliver 100
// shares a contract at the strike when exercised or assigned, and every US-listed one is
// American-style. Options on an index (underSecType IND: SPX/SPXW, XSP, NDX, RUT, VIX, OEX…) pay
// their intrinsic value in cash at the settlement value and deliver nothing. Most are
// European-style, exercisable only at expiry; OEX is the classic exception, American-style and
// cash-settled, whose short leg can be assigned at any day's close while its cover stays open.
// Only trading classes Cboe documents as European are taken as such; any other cash-settled
// class is treated as American, the style with more ways to lose. A stock option whose trading
// class is not its underlying's symbol is an adjusted series (after a split or merger: "AAPL1")
// whose deliverable need not be 100 shares, so its style is not known; neither is anything else TWS
// reports (futures options, an empty field). The engine refuses an order whose figure depends on
// an unknown style rather than guess.
//
// @example
//   settlementFromContract({ underSecType: "IND", tradingClass: "XSP" })
//   // → { delivery: "cash", exercise: "european", trading_class: "XSP" }
import { z } from "zod";

/**
 * Cash-settled index option classes that are European-style (exercisable at expiry only), as
 * Cboe's and Nasdaq's product specifications state: S&P 500 (SPX, SPXW and the Mini-SPX XSP),
 * Nasdaq-100 (NDX, NDXP, XND), Russell 2000 (RUT, RUTW, MRUT), VIX and its weeklies, the Dow
 * (DJX) and the European S&P 100 (XEO). OEX is deliberately absent: it is American-style.
 */
export const EUROPEAN_INDEX_CLASSES: ReadonlySet<string> = new Set([
  "SPX", "SPXW", "XSP", "NDX", "NDXP", "XND", "RUT", "RUTW", "MRUT", "VIX", "VIXW", "DJX", "XEO",
]);

export const LegSettlement = z.discriminatedUnion("delivery", [
  /** Exercise or assignment delivers 100 shares a contract at the strike (American-style). */
  z.strictObject({ delivery: z.literal("shares") }),
  /**
   * Exercise pays the intrinsic value at the class's settlement value; nothing is delivered.
   * Legs of one trading class and expiry share that value; two classes on one date (SPX's
   * morning settlement and SPXW's closing one) may not, so the engine prices them apart.
   */
  z.strictObject({
    delivery: z.literal("cash"),
    exercise: z.enum(["european", "american"]),
    trading_class: z.string().trim().min(1).max(16),
  }),
]);
export type LegSettlement = z.infer<typeof LegSettlement>;

/** The contract-details fields settlement is read from, as @stoqey/ib names them. */
export interface SettlementFacts {
  underSecType?: string | null | undefined;
  tradingClass?: string | null | undefined;
  underSymbol?: string | null | undefined;
}

/** Letters and digits only: TWS writes BRK B's option class as BRKB. */
const bare = (text: string | null | undefined): string => (text ?? "").toUpperCase().replace(/[^A-Z0-9]/g, "");

/** How an option settles from its contract details; null when TWS's answer does not say. */
export function settlementFromContract(facts: SettlementFacts): LegSettlement | null {
  const under = (facts.underSecType ?? "").trim().toUpperCase();
  if (under === "STK") {
    const adjusted = bare(facts.tradingClass) !== "" && bare(facts.underSymbol) !== "" && bare(facts.tradingClass) !== bare(facts.underSymbol);
    return adjusted ? null : { delivery: "shares" };
  }
  if (under !== "IND") return null;
  const tradingClass = (facts.tradingClass ?? "").trim().toUpperCase();
  if (!tradingClass || tradingClass.length > 16) return null;
  return { delivery: "cash", exercise: EUROPEAN_INDEX_CLASSES.has(tradingClass) ? "european" : "american", trading_class: tradingClass };
}

/** A short description of a settlement style, for refusals and read-backs. */
export function describeSettlement(settlement: LegSettlement | null | undefined): string {
  if (!settlement) return "settlement not known";
  return settlement.delivery === "shares" ? "delivers shares (American-style)" : `cash-settled ${settlement.trading_class} (${settlement.exercise === "european" ? "European" : "American"}-style)`;
}
