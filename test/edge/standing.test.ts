// A trade's standing and the account's net greeks through real MCP requests: list_trades and
// get_positions mark an open condor from the positions TWS reported, its unrealized P&L against
// the cash it opened for, how far it is from its worst case and its days to expiry;
// get_safety_status sums TWS's per-leg greeks per underlying, and says which legs had none.
import { describe, expect, it } from "vitest";
import { calendarDay } from "../../shared/trade-id";
import { condorOrder, Edge, FakeBridge, fillOrder, futureExpiry, ironCondor, testNow } from "./harness";

const greeks = (delta: number) => ({ iv: 0.2, delta, gamma: 0.01, theta: -0.02, vega: 0.1, model_price: 1, underlying_price: 100, data_type: "live", as_of: testNow().toISOString(), age_seconds: 0 });

describe("a trade's standing", () => {
  it("marks an open condor from reported positions: unrealized P&L, distance to worst case, days to expiry", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    bridge.quoteMid = () => -1.0;
    const placed = await edge.call("place_order", condorOrder());
    const tradeId = placed.structuredContent.trade_id as string;
    const legs = ironCondor();
    await fillOrder(bridge, tradeId, placed.structuredContent.order_id, legs, false, [1.0, 0.5, 1.0, 0.5]);
    // Before TWS reports prices: no mark, and the reason.
    const before = (await edge.call("list_trades", {})).structuredContent.trades[0];
    expect(before.standing).toMatchObject({ mark: null, unrealized_pnl: null, opening_cash: 100, worst_case_loss: 400 });
    expect(before.standing.reason).toMatch(/no market price/);
    const prices = [0.8, 0.3, 0.6, 0.2];
    for (const [i, leg] of legs.entries()) {
      const c = leg.contract as { symbol: string; expiry: string; strike: number; right: "C" | "P" };
      const qty = leg.action === "BUY" ? 1 : -1;
      await bridge.event("position", {
        account: "sim", symbol: c.symbol, sec_type: "OPT", expiry: c.expiry, strike: c.strike, right: c.right, con_id: 500 + i, quantity: qty,
        avg_cost: 100, current_price: prices[i], market_value: qty * prices[i]! * 100, unrealized_pnl: 0, unrealized_pnl_pct: 0,
      });
    }
    const trade = (await edge.call("list_trades", {})).structuredContent.trades[0];
    const days = Math.round((Date.parse(`${futureExpiry()}T00:00:00Z`) - Date.parse(`${calendarDay(testNow())}T00:00:00Z`)) / 86_400_000);
    // Buying it back costs 0.90 a unit: opened for $100, worth -$90 now → +$10; it can still lose $410 to its worst case.
    expect(trade.standing).toMatchObject({ mark: -0.9, opening_cash: 100, unrealized_pnl: 10, worst_case_loss: 400, distance_to_worst_case: 410, days_to_expiry: days, reason: null });
    const positions = await edge.call("get_positions", {});
    expect(positions.isError).toBeFalsy();
    expect(positions.structuredContent.trades).toEqual([expect.objectContaining({ trade_id: tradeId, standing: expect.objectContaining({ unrealized_pnl: 10 }) })]);
    expect((await edge.call("get_positions", { symbol: "SPY" })).structuredContent.trades).toEqual([]);

    // Net greeks: TWS's per-leg greeks × signed contracts × 100; a leg without greeks is counted, not guessed.
    const quote = bridge.handlers.quote!;
    bridge.handlers.quote = async (p: any) => ({ ...(await quote(p)), greeks: null, greeks_reason: "combo", leg_greeks: [
      { greeks: greeks(-0.3), greeks_reason: null }, { greeks: greeks(-0.15), greeks_reason: null }, { greeks: greeks(0.28), greeks_reason: null }, { greeks: null, greeks_reason: "TWS sent none" },
    ] });
    const status = await edge.call("get_safety_status", {});
    const net = status.structuredContent.net_greeks;
    // SELL 95P (-0.30) → +30; BUY 90P (-0.15) → -15; SELL 105C (0.28) → -28; the 110C has none.
    expect(net.by_underlying.AAPL).toEqual({ delta: -13, gamma: -1, theta: 2, vega: -10, legs_without_greeks: 1 });
    expect(net.reason).toBeNull();
  });
});
