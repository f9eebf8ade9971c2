// The bridge reads how each leg settles from TWS's contract details (underSecType, trading class)
// and uses it twice: in every quote it answers (so the edge computes the figure with it), and as
// the second key — an opening order is checked again with TWS's styles for the resolved contracts
// after it was checked with the edge's, so an edge that assumed the wrong style cannot get a
// cash-settled calendar to TWS. Real link, real @stoqey/ib client, the simulator's XSP options.
import { describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { analyzeOrder } from "../../shared/risk";
import { tradingDay } from "../../shared/trade-id";
import { isoExpiry, optionQuote, placeParams, simSettlement, useRig } from "./helpers";

const current = useRig();

const CAL = "CALENDAR_XSP_20261125_103045";

function xspCalendar(sim: Parameters<typeof optionQuote>[0]): Leg[] {
  const near = sim.expiries()[0] as string;
  const far = sim.expiries()[1] as string;
  const leg = (action: Leg["action"], expiry: string): Leg => {
    const q = optionQuote(sim, "XSP", expiry, 590, "C");
    return { action, contract: { symbol: "XSP", expiry: isoExpiry(expiry), strike: 590, right: "C" }, quantity: 1, price: action === "BUY" ? q.ask : q.bid };
  };
  return [leg("SELL", near), leg("BUY", far)];
}

describe("settlement styles from TWS", () => {
  it("answers each leg's style with a quote: XSP cash-settled (European), SPY shares", async () => {
    const { sim, edge } = current.rig;
    const legs = xspCalendar(sim);
    const quote = await edge.ok<{ settlement: unknown[]; underlying: string }>("quote", { legs: legs.map(({ price: _p, ...l }) => l) });
    expect(quote.underlying).toBe("XSP");
    expect(quote.settlement).toEqual([
      { delivery: "cash", exercise: "european", trading_class: "XSP" },
      { delivery: "cash", exercise: "european", trading_class: "XSP" },
    ]);
    const spy = await edge.ok<{ settlement: unknown[] }>("quote", { legs: [{ action: "BUY", contract: { ...legs[0]!.contract, symbol: "SPY" }, quantity: 1 }] });
    expect(spy.settlement).toEqual([{ delivery: "shares" }]);
  });

  it("refuses, as the second key, an XSP calendar the edge sized as if it delivered shares: TWS says cash, and then it is unbounded", async () => {
    const { sim, edge } = current.rig;
    const legs = xspCalendar(sim);
    const asIfShares = legs.map(() => ({ delivery: "shares" as const }));
    const debit = analyzeOrder(legs, { today: tradingDay(new Date()), settlement: asIfShares }).worstCaseLoss!;
    expect(debit).toBeGreaterThan(0);
    expect(debit).toBeLessThan(500);
    const refused = await edge.request("place", placeParams(CAL, legs, debit, { settlement: asIfShares }));
    expect(refused.ok).toBe(false);
    expect(refused.error?.code).toBe("second_key_refused");
    const checks = (refused.error?.violations ?? []).map((v: { check: string }) => v.check);
    expect(checks).toEqual(["settlement_style", "unbounded_risk"]);
    expect(refused.error?.message).toMatch(/TWS reports SELL 1 XSP .* as cash-settled XSP \(European-style\)/);
    expect(sim.orders()).toHaveLength(0);
    // With TWS's own styles the first check already refuses it, before any contract lookup.
    const again = await edge.request("place", placeParams(`${CAL}_2`, legs, debit));
    expect((again.error?.violations ?? []).map((v: { check: string }) => v.check)).toEqual(["unbounded_risk"]);
    expect(simSettlement(legs)[0]).toEqual({ delivery: "cash", exercise: "european", trading_class: "XSP" });
    expect(sim.orders()).toHaveLength(0);
  });
});
