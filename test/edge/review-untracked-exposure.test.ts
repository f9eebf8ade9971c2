// Adversarial review of untracked exposure (edge/safety/untracked-exposure.ts), inside workerd over MCP
// with a fake bridge: a position TWS marks at no price is not counted as worth nothing.
import { describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { checksOf, condor, Edge, FakeBridge, futureExpiry, reconciled } from "./harness";

const EXPIRY = futureExpiry(20);

describe("untracked positions TWS marks at no price", () => {
  it("long stock marked 0 (no market data) counts at its average cost: 100 SPY bought at 580 still fills SPY's room", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge, { account: 100_000 }); // 30% = $30,000
    await reconciled(edge, 1);
    await bridge.event("position", {
      account: "sim", symbol: "SPY", sec_type: "STK", expiry: null, strike: null, right: null, con_id: 756733, quantity: 100, avg_cost: 580, current_price: 0,
      market_value: 0, unrealized_pnl: null, unrealized_pnl_pct: null,
    });
    const spy = await edge.call("place_order", { symbol: "SPY", strategy: "iron condor", legs: condor("SPY", 580, 5, 1, EXPIRY), max_risk: 400, capital_required: 400 });
    expect(checksOf(spy), JSON.stringify(spy.structuredContent)).toEqual(["concentration"]);
    bridge.close();
  });
});
