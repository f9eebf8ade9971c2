// The realized P&L of stock an assignment (or exercise) delivered is booked on the trade that
// produced it (issue 23, item 6): a short call assigned early leaves short stock; when that stock
// is bought back — by hand in TWS, or by the kill switch's flatten — the loss belongs to the trade
// (its realized P&L, the loss streak) and to today's P&L at once (the daily loss limit and its
// breaker), instead of the trade booking its premiums alone while the account lost far more.
import { describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { Edge, FakeBridge, fillOrder, futureExpiry, limitsUsed, optionOf, settlement, waitFor } from "./harness";

const STOCK = { symbol: "AAPL" };

/** A 100/105 bear call spread (1.50 credit, worst case $350), opened and filled at 2.00 / 0.50. */
async function openBearCall(edge: Edge, bridge: FakeBridge): Promise<{ tradeId: string; legs: Leg[] }> {
  const expiry = futureExpiry();
  const legs: Leg[] = [
    { action: "SELL", quantity: 1, price: 2.0, contract: { symbol: "AAPL", expiry, strike: 100, right: "C" } },
    { action: "BUY", quantity: 1, price: 0.5, contract: { symbol: "AAPL", expiry, strike: 105, right: "C" } },
  ];
  const placed = (await edge.call("place_order", { symbol: "AAPL", strategy: "bear call", legs, max_risk: 350, capital_required: 350 })).structuredContent;
  if (!placed.success) throw new Error(placed.message);
  await fillOrder(bridge, placed.trade_id, placed.order_id, legs, false, [2.0, 0.5]);
  return { tradeId: placed.trade_id, legs };
}

/** TWS's report of the short 100 call assigned early: the option leaving at no price, 100 shares sold at the strike. */
async function assignShortCall(bridge: FakeBridge, legs: Leg[]): Promise<void> {
  // Stamped by the object's own clock, as every execution the fake bridge sends: FIFO matching orders them by time.
  const at = bridge.edge.now().toISOString();
  await bridge.event("execution", settlement(optionOf(legs[0]!), "BOT", 1, 0, at));
  await bridge.event("execution", settlement(STOCK, "SLD", 100, 100, at));
}

/** A stock execution of an order the ledger does not know (bought back by hand in TWS). */
function byHand(edge: Edge, side: "BOT" | "SLD", shares: number, price: number, commission = 1) {
  return {
    exec_id: crypto.randomUUID(), order_id: 77, perm_id: 5_550_001, order_ref: null, con_id: 265598, symbol: "AAPL", sec_type: "STK",
    expiry: null, strike: null, right: null, side, shares, price, time: edge.now().toISOString(), commission, realized_pnl: null,
  };
}

const trade = async (edge: Edge, id: string) => (await edge.call("list_trades", {})).structuredContent.trades.find((t: any) => t.trade_id === id);
const breaker = async (edge: Edge, name: string) => (await edge.call("get_safety_status", {})).structuredContent.breakers.find((b: any) => b.name === name);

describe("stock delivered by an assignment: its realized P&L is the trade's", () => {
  it("short stock bought back by hand at a loss: today's P&L at once, then the trade's P&L and the loss streak when it closes", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge, { account: 100_000 });
    const { tradeId, legs } = await openBearCall(edge, bridge);
    await assignShortCall(bridge, legs);
    // AAPL rallies to 112; the short stock is bought back by hand: (100 − 112) × 100 − $1 = −$1,201.
    await bridge.event("execution", byHand(edge, "BOT", 100, 112));
    expect((await limitsUsed(edge)).daily_loss).toBe(1_201);
    expect(await breaker(edge, "daily_loss")).toMatchObject({ tripped: true });
    const booked = (await edge.audit("delivered_stock_pnl")).map((r) => JSON.parse(r.details_json));
    expect(booked).toEqual([expect.objectContaining({ trade_id: tradeId, symbol: "AAPL", delta: -1_201, delivered_stock_pnl: -1_201 })]);
    expect((await trade(edge, tradeId)).delivered_stock_pnl).toBe(-1_201);

    // The long 105 call is sold at 7.00: premiums +$847 (2.00 − 0.50 + 7.00 a share, three $1 commissions), stock −$1,201.
    const closed = (await edge.call("close_position", { trade_id: tradeId })).structuredContent;
    expect(closed.success, closed.message).toBe(true);
    await fillOrder(bridge, `${tradeId}_CLOSE`, closed.close_order_id, [legs[1]!], true, [7.0]);
    const done = await waitFor(async () => ((await trade(edge, tradeId)).state === "closed" ? trade(edge, tradeId) : null), "the trade to close");
    expect(done.realized_pnl).toBe(-354);
    const status = (await edge.call("get_safety_status", {})).structuredContent;
    expect(status.limits.find((l: any) => l.name === "consecutive_losses").used).toBe(1);
    // Today's P&L: −$1,201 booked when the stock was bought back, +$847 when the trade closed.
    expect((await limitsUsed(edge)).daily_loss).toBe(354);
  });

  it("the trade closed before its stock is flattened by the kill switch: its P&L turns to a loss, the streak counts it", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge, { account: 100_000 });
    const { tradeId, legs } = await openBearCall(edge, bridge);
    await assignShortCall(bridge, legs);
    const closed = (await edge.call("close_position", { trade_id: tradeId })).structuredContent;
    await fillOrder(bridge, `${tradeId}_CLOSE`, closed.close_order_id, [legs[1]!], true, [3.0]);
    await waitFor(async () => (await trade(edge, tradeId)).state === "closed", "the trade to close");
    expect((await trade(edge, tradeId)).realized_pnl).toBe(447); // 200 − 50 + 300 − 3: a win on its premiums alone
    // TWS holds the short stock; the kill switch flattens it, and the flatten's buy fills at 104.
    await bridge.event("position", { account: "sim", symbol: "AAPL", sec_type: "STK", expiry: null, strike: null, right: null, con_id: 265598, quantity: -100, avg_cost: 100, current_price: 104, market_value: -10_400, unrealized_pnl: -400, unrealized_pnl_pct: -4 });
    const stop = await edge.admin("/api/emergency-stop", { on: true, reason: "flatten", close_positions: true });
    const flatten = stop.body.closes.find((c: any) => c.trade_id && c.trade_id !== tradeId);
    expect(flatten.success, JSON.stringify(stop.body)).toBe(true);
    const stockLeg: Leg = { action: "SELL", quantity: 100, price: 104, contract: { symbol: "AAPL", sec_type: "STK" } };
    await fillOrder(bridge, `${flatten.trade_id}_CLOSE`, flatten.close_order_id ?? 0, [stockLeg], true, [106]);
    // (100 − 106) × 100 − $1 = −$601: 447 − 601 = −$154, a loss; the flatten books nothing of its own.
    await waitFor(async () => (await trade(edge, tradeId)).realized_pnl === -154, "the trade's P&L to take the stock's");
    expect((await trade(edge, flatten.trade_id)).realized_pnl).toBeNull();
    expect((await edge.audit("delivered_stock_pnl")).map((r) => JSON.parse(r.details_json)).at(-1)).toMatchObject({ trade_id: tradeId, delta: -601, realized_pnl: -154, loss_streak_counted: true });
    const status = (await edge.call("get_safety_status", {})).structuredContent;
    expect(status.limits.find((l: any) => l.name === "consecutive_losses").used).toBe(1);
    expect((await limitsUsed(edge)).daily_loss).toBe(154);
  });
});
