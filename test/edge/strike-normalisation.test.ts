// Strikes and prices are normalised to whole cents by the schema, before any check (issue 23,
// item 4): 620 and 620.0000000001 name one series at TWS, so they must be one series for the
// duplicate-leg and contract-count checks too, or two 10-lot legs go out as one 20-lot series.
import { describe, expect, it } from "vitest";
import { checksOf, Edge, FakeBridge, futureExpiry } from "./harness";


function vertical20(expiry = futureExpiry()) {
  const leg = (action: "BUY" | "SELL", strike: number, price: number) => ({ action, quantity: 10, price, contract: { symbol: "SPY", expiry, strike, right: "C" as const } });
  // A 10-lot 620/625 call vertical, twice: the second pair's strikes differ by 1e-10.
  return {
    symbol: "SPY", strategy: "bull call", max_risk: 500, capital_required: 500,
    legs: [leg("BUY", 620, 0.3), leg("BUY", 620.0000000001, 0.3), leg("SELL", 625, 0.05), leg("SELL", 625.0000000001, 0.05)],
  };
}

describe("strikes and prices normalised at the schema", () => {
  it("620 and 620.0000000001 are one series: the doubled 10-lot is refused as duplicate legs and nothing reaches the bridge", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const refused = await edge.call("place_order", vertical20());
    expect(refused.isError).toBe(true);
    expect(checksOf(refused)).toContain("duplicate_leg");
    const preview = (await edge.call("preview_order", vertical20())).structuredContent;
    expect(preview.would_pass).toBe(false);
    expect(preview.violations.map((v: any) => v.check)).toContain("duplicate_leg");
    expect(bridge.sent("place")).toHaveLength(0);
  });

  it("a strike and a price off by float noise reach the ledger and the bridge in whole cents", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const expiry = futureExpiry();
    const placed = await edge.call("place_order", {
      symbol: "SPY", strategy: "bull call", max_risk: 250, capital_required: 250,
      legs: [
        { action: "BUY", quantity: 1, price: 3.0000000001, contract: { symbol: "SPY", expiry, strike: 619.9999999999, right: "C" } },
        { action: "SELL", quantity: 1, price: 0.5, contract: { symbol: "SPY", expiry, strike: 625.0000000001, right: "C" } },
      ],
    });
    expect(placed.isError, JSON.stringify(placed.structuredContent)).toBeFalsy();
    const sent = bridge.sent("place")[0]!.params;
    expect(sent.legs.map((l: any) => l.contract.strike)).toEqual([620, 625]);
    expect(sent.legs.map((l: any) => l.price)).toEqual([3, 0.5]);
    const trade = (await edge.call("list_trades", {})).structuredContent.trades[0];
    expect(trade.legs.map((l: any) => l.contract.strike)).toEqual([620, 625]);
    // A strike that rounds to no strike at all is refused by the schema, not sent as 0.
    const zero = await edge.call("place_order", {
      symbol: "SPY", strategy: "long call", max_risk: 100, capital_required: 100,
      legs: [{ action: "BUY", quantity: 1, price: 1, contract: { symbol: "SPY", expiry, strike: 0.004, right: "C" } }],
    });
    expect(zero.isError).toBe(true);
    expect(bridge.sent("place")).toHaveLength(1);
  });
});
