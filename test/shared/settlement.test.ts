// How a leg settles, read from TWS's contract details (shared/settlement.ts): shares for a stock or
// ETF option of the standard class, cash for an index option (European only for the classes Cboe
// documents so), and "not known" for everything else — an adjusted series, a futures option, an
// empty answer — which the engine then refuses rather than guess.
import { describe, expect, it } from "vitest";
import { LegSettlement, settlementFromContract } from "../../shared/settlement";

describe("settlement style from contract details", () => {
  it("stock and ETF options of their standard class deliver shares", () => {
    expect(settlementFromContract({ underSecType: "STK", tradingClass: "SPY", underSymbol: "SPY" })).toEqual({ delivery: "shares" });
    expect(settlementFromContract({ underSecType: "STK", tradingClass: "BRKB", underSymbol: "BRK B" })).toEqual({ delivery: "shares" });
  });

  it("an adjusted series (class AAPL1 on AAPL) may not deliver 100 shares: not known", () => {
    expect(settlementFromContract({ underSecType: "STK", tradingClass: "AAPL1", underSymbol: "AAPL" })).toBeNull();
  });

  it("index options settle in cash: European for Cboe's European classes, American otherwise (OEX)", () => {
    for (const tradingClass of ["SPX", "SPXW", "XSP", "NDX", "NDXP", "XND", "RUT", "RUTW", "MRUT", "VIX", "VIXW", "DJX", "XEO"])
      expect(settlementFromContract({ underSecType: "IND", tradingClass })).toEqual({ delivery: "cash", exercise: "european", trading_class: tradingClass });
    expect(settlementFromContract({ underSecType: "IND", tradingClass: "OEX" })).toEqual({ delivery: "cash", exercise: "american", trading_class: "OEX" });
    expect(settlementFromContract({ underSecType: "IND", tradingClass: "" })).toBeNull();
  });

  it("anything else is not known", () => {
    for (const underSecType of ["FUT", "", undefined, "CASH"]) expect(settlementFromContract({ underSecType, tradingClass: "ES" })).toBeNull();
  });

  it("the wire schema takes exactly these shapes", () => {
    expect(LegSettlement.safeParse({ delivery: "shares" }).success).toBe(true);
    expect(LegSettlement.safeParse({ delivery: "cash", exercise: "european", trading_class: "XSP" }).success).toBe(true);
    expect(LegSettlement.safeParse({ delivery: "cash", exercise: "bermudan", trading_class: "XSP" }).success).toBe(false);
    expect(LegSettlement.safeParse({ delivery: "shares", exercise: "american" }).success).toBe(false);
    expect(LegSettlement.safeParse({ delivery: "cash", exercise: "european", trading_class: "X".repeat(17) }).success).toBe(false);
  });
});
