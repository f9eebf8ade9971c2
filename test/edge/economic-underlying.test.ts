// Concentration by economic underlying (issue 23, item 7): an ETF counts with the index it tracks
// (shared/underlying.ts's table), a leveraged or inverse fund by the size of its multiple, so an
// agent cannot hold 30% of net liquidation in SPY, another 30% in VOO and another in SPX options.
import { describe, expect, it } from "vitest";
import { checksOf, Edge, FakeBridge, futureExpiry } from "./harness";


/** A one-lot call vertical on `symbol` (debit 1.00, worst case $100) claiming `capital` of exposure. */
function vertical(symbol: string, strike: number, capital: number) {
  const expiry = futureExpiry();
  return {
    symbol, strategy: "bull call", max_risk: 100, capital_required: capital,
    legs: [
      { action: "BUY", quantity: 1, price: 1.5, contract: { symbol, expiry, strike, right: "C" } },
      { action: "SELL", quantity: 1, price: 0.5, contract: { symbol, expiry, strike: strike + 5, right: "C" } },
    ],
  };
}

async function fresh() {
  const edge = new Edge();
  const bridge = await FakeBridge.connect(edge, { account: 100_000 }); // 30% = $30,000
  return { edge, bridge };
}

describe("concentration by economic underlying", () => {
  it.each([
    ["SPY then SPX", "SPY", 600, "SPX", 6000, "SPX"],
    ["SPY then XSP", "SPY", 600, "XSP", 600, "SPX"],
    ["VOO then SPY", "VOO", 550, "SPY", 600, "SPX"],
    ["QQQ then XND", "QQQ", 500, "XND", 200, "NDX"],
    ["IWM then MRUT", "IWM", 220, "MRUT", 220, "RUT"],
  ])("%s count as one underlying: 20k + 15k of exposure on 100k of net liquidation is refused", async (_name, first, k1, second, k2, group) => {
    const { edge, bridge } = await fresh();
    expect((await edge.call("place_order", vertical(first, k1, 20_000))).isError).toBeFalsy();
    const refused = await edge.call("place_order", vertical(second, k2, 15_000));
    expect(checksOf(refused)).toEqual(["concentration"]);
    const label = second === group ? group : `${second} (counted with ${group})`;
    expect(refused.structuredContent.message).toContain(`${label} exposure ($35,000.00 incl. this order)`);
    // Inside the room it passes: the group's own remainder is $10,000.
    expect((await edge.call("place_order", vertical(second, k2 + 10, 10_000))).isError).toBeFalsy();
    expect(bridge.sent("place")).toHaveLength(2);
    const room = (await edge.call("get_safety_status", {})).structuredContent.remaining_risk_budget.concentration_room_by_symbol;
    expect(room).toEqual({ [group]: 0 });
  });

  it("a 3x fund counts three times its exposure: 5k of UPRO and 16k of SPY pass 30% together", async () => {
    const { edge, bridge } = await fresh();
    const upro = await edge.call("place_order", vertical("UPRO", 90, 5_000));
    expect(upro.isError).toBeFalsy();
    const refused = await edge.call("place_order", vertical("SPY", 600, 16_000));
    expect(checksOf(refused)).toEqual(["concentration"]);
    expect(refused.structuredContent.message).toContain("SPY (counted with SPX) exposure ($31,000.00 incl. this order)");
    const preview = (await edge.call("preview_order", vertical("UPRO", 100, 1_000))).structuredContent;
    expect(preview.exposure).toBe(3_000);
    expect(bridge.sent("place")).toHaveLength(1);
  });

  it("stock held that no trade accounts for counts with its family too, by its multiple", async () => {
    const { edge, bridge } = await fresh();
    // 100 UPRO shares at $90 (bought by hand in TWS): $9,000 × 3 = $27,000 of S&P 500 exposure.
    await bridge.event("position", {
      account: "sim", symbol: "UPRO", sec_type: "STK", expiry: null, strike: null, right: null, con_id: 777, quantity: 100,
      avg_cost: 90, current_price: 90, market_value: 9_000, unrealized_pnl: 0, unrealized_pnl_pct: 0,
    });
    const refused = await edge.call("place_order", vertical("SPX", 6000, 3_001));
    expect(checksOf(refused)).toEqual(["concentration"]);
    expect(refused.structuredContent.message).toContain("$27,000.00 in positions held that no trade accounts for");
    expect((await edge.call("place_order", vertical("SPX", 6000, 3_000))).isError).toBeFalsy();
    const status = (await edge.call("get_safety_status", {})).structuredContent.remaining_risk_budget;
    expect(status.untracked_exposure_by_symbol).toEqual({ SPX: 27_000 });
  });
});
