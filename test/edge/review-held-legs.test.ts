// Adversarial review of what a trade still holds (edge/ledger/held-legs.ts), inside workerd with a fake
// bridge: whatever the bridge reports, a close is never sized above what the trade opened.
import { describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { condorOrder, Edge, FakeBridge, fillOrder, ironCondor, optionOf, placeTwoLots, reconciled, settlement, testNow, waitFor } from "./harness";

describe("what a trade holds, against odd bridge reports", () => {
  it("a settlement execution with a negative share count does not make a leg hold more than it opened", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    const legs = ironCondor("AAPL", 100);
    const placed = (await edge.call("place_order", condorOrder({}, 100))).structuredContent;
    await fillOrder(bridge, placed.trade_id, placed.order_id, legs, false, [1.0, 0.5, 1.0, 0.5]);
    // The shares schema is a bare number: -1 gets through and is booked on the short call's trade.
    await bridge.event("execution", settlement(optionOf(legs[2]!), "BOT", -1, 0, testNow().toISOString(), "negative-shares"));
    const closed = await edge.call("close_position", { trade_id: placed.trade_id });
    expect(closed.structuredContent.success, JSON.stringify(closed.structuredContent)).toBe(true);
    const sent = bridge.sent("close").at(-1)!.params.legs as Leg[];
    // Never more than the one lot opened: a close of 2 short calls would open a long call.
    expect(sent.map((l) => l.quantity)).toEqual([1, 1, 1, 1]);
    bridge.close();
  });
});

describe("modify_order of a partly filled close", () => {
  it("sends the close order's own size (IBKR's totalQuantity), not what is left after its fills", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    const { legs, placed } = await placeTwoLots(edge);
    await fillOrder(bridge, placed.trade_id, placed.order_id, legs, false, [2.0, 0.5, 2.0, 0.5]);
    await bridge.orderStatus(placed.trade_id, placed.order_id, "Filled", 2, 0, 1);
    bridge.quoteMid = () => 0.6;
    const closed = await edge.call("close_position", { trade_id: placed.trade_id, limit_price: 0.55 });
    expect(closed.isError, JSON.stringify(closed.structuredContent)).toBeFalsy();
    const closeId = closed.structuredContent.close_order_id as number;
    expect((bridge.sent("close").at(-1)!.params.legs as Leg[]).map((l) => l.quantity), "the close").toEqual([2, 2, 2, 2]);
    // One of the two combo units of the close fills; the rest keeps working.
    const ref = `${placed.trade_id}_CLOSE`;
    for (const leg of ironCondor("AAPL", 100, 1)) await bridge.execution(ref, closeId, leg, leg.action === "BUY" ? "SLD" : "BOT", leg.action === "SELL" ? 0.4 : 0.1);
    await bridge.orderStatus(ref, closeId, "Submitted", 1, 1);
    bridge.quoteMid = () => 0.62;
    const walked = await edge.call("modify_order", { trade_id: placed.trade_id, limit_price: 0.6 });
    expect(walked.isError, JSON.stringify(walked.structuredContent)).toBeFalsy();
    // A modify is placeOrder again with the same id: its size is the order's total, filled part
    // included (the bridge refuses any size change, and a smaller total would end the close at 1 of 2).
    expect((bridge.sent("modify").at(-1)!.params.legs as Leg[]).map((l) => l.quantity), "the modify").toEqual([2, 2, 2, 2]);
    bridge.close();
  });
});

describe("a close that ended part filled, its executions still on their way", () => {
  it("the next close is sized by TWS's filled count where an execution lags it (the bridge sends an execution only with its commission)", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    const { legs, placed } = await placeTwoLots(edge);
    await fillOrder(bridge, placed.trade_id, placed.order_id, legs, false, [2.0, 0.5, 2.0, 0.5]);
    await bridge.orderStatus(placed.trade_id, placed.order_id, "Filled", 2, 0, 1);
    const first = await edge.call("close_position", { trade_id: placed.trade_id });
    expect(first.isError, JSON.stringify(first.structuredContent)).toBeFalsy();
    const closeId = first.structuredContent.close_order_id as number;
    const ref = `${placed.trade_id}_CLOSE`;
    // One combo unit of the close filled at TWS, then the rest was cancelled; three of its four
    // leg executions have reached the edge, the fourth waits for its commission report.
    for (const leg of ironCondor("AAPL", 100, 1).slice(0, 3)) await bridge.execution(ref, closeId, leg, leg.action === "BUY" ? "SLD" : "BOT", 0.3);
    await bridge.orderStatus(ref, closeId, "Cancelled", 1, 1);
    await waitFor(async () => (await edge.call("list_trades", {})).structuredContent.trades.find((t: any) => t.trade_id === placed.trade_id).state === "open", "the trade open again");
    const again = await edge.call("close_position", { trade_id: placed.trade_id });
    expect(again.isError, JSON.stringify(again.structuredContent)).toBeFalsy();
    // TWS holds one of each leg: 2 of the long call would be sold, one of them short.
    expect((bridge.sent("close").at(-1)!.params.legs as Leg[]).map((l) => l.quantity), "the second close").toEqual([1, 1, 1, 1]);
    bridge.close();
  });
});

describe("an assignment larger than the trade's leg (a position placed by hand in the same contract)", () => {
  it("the trade stays closing until its close's executions cover the legs it still holds, and its P&L counts them all", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    const legs = ironCondor("AAPL", 100);
    const placed = (await edge.call("place_order", condorOrder({}, 100))).structuredContent;
    await fillOrder(bridge, placed.trade_id, placed.order_id, legs, false, [1.0, 0.5, 1.0, 0.5]);
    // TWS assigns 3 of the short put's contract early: this trade's one and two sold by hand.
    await bridge.event("execution", settlement(optionOf(legs[0]!), "BOT", 3, 0, testNow().toISOString(), "assigned-3"));
    const [row] = (await edge.audit("option_settlement")).map((r) => JSON.parse(r.details_json));
    expect(row).toMatchObject({ trade_id: placed.trade_id });
    const closed = await edge.call("close_position", { trade_id: placed.trade_id });
    expect(closed.structuredContent.success, JSON.stringify(closed.structuredContent)).toBe(true);
    const rest = bridge.sent("close").at(-1)!.params.legs as Leg[];
    expect(rest).toHaveLength(3);
    const ref = `${placed.trade_id}_CLOSE`;
    const closeId = closed.structuredContent.close_order_id as number;
    const trade = async () => (await edge.call("list_trades", {})).structuredContent.trades.find((t: any) => t.trade_id === placed.trade_id);
    // The first of the close's three leg executions: two legs are still held.
    await bridge.execution(ref, closeId, rest[0]!, rest[0]!.action === "BUY" ? "SLD" : "BOT", 0.2);
    expect((await trade()).state).toBe("closing");
    await bridge.execution(ref, closeId, rest[1]!, rest[1]!.action === "BUY" ? "SLD" : "BOT", 0.4);
    await bridge.execution(ref, closeId, rest[2]!, rest[2]!.action === "BUY" ? "SLD" : "BOT", 0.1);
    await bridge.orderStatus(ref, closeId, "Filled", 1, 0, 1);
    // Opening +100 − 4; the assigned put left at no price; closing +20 − 40 + 10 − 3.
    expect(await trade()).toMatchObject({ state: "closed", realized_pnl: 83 });
    bridge.close();
  });
});

describe("the next close after a part-filled close of a ratio trade whose short leg was assigned", () => {
  it("takes off what the last close filled in that close's own units (a single leg's are contracts)", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    const expiry = optionOf(ironCondor("AAPL", 100)[0]!).expiry;
    const put = (action: Leg["action"], quantity: number, strike: number, price: number): Leg => ({ action, quantity, price, contract: { symbol: "AAPL", expiry, strike, right: "P" } });
    // A put backspread: sell one 100 put, buy two 98 puts (one combo unit, ratio 1:2).
    const legs = [put("SELL", 1, 100, 2.0), put("BUY", 2, 98, 0.8)];
    const placed = (await edge.call("place_order", { symbol: "AAPL", strategy: "put backspread", legs, max_risk: 200, capital_required: 200 })).structuredContent;
    expect(placed.success, JSON.stringify(placed)).toBe(true);
    await fillOrder(bridge, placed.trade_id, placed.order_id, legs, false, [2.0, 0.8]);
    // The short put is assigned early: two long 98 puts are left.
    await bridge.event("execution", settlement(optionOf(legs[0]!), "BOT", 1, 0, testNow().toISOString(), "assigned-100p"));
    const first = await edge.call("close_position", { trade_id: placed.trade_id });
    expect(first.structuredContent.success, JSON.stringify(first.structuredContent)).toBe(true);
    expect((bridge.sent("close").at(-1)!.params.legs as Leg[]).map((l) => [l.contract.sec_type === "STK" ? 0 : (l.contract as any).strike, l.quantity])).toEqual([[98, 2]]);
    const ref = `${placed.trade_id}_CLOSE`;
    const closeId = first.structuredContent.close_order_id as number;
    // One of the two contracts sold, then the rest cancelled; its execution is in.
    await bridge.execution(ref, closeId, put("BUY", 1, 98, 0.8), "SLD", 0.9);
    await bridge.orderStatus(ref, closeId, "Cancelled", 1, 1);
    await waitFor(async () => (await edge.call("list_trades", {})).structuredContent.trades.find((t: any) => t.trade_id === placed.trade_id).state === "open", "the trade open again");
    const again = await edge.call("close_position", { trade_id: placed.trade_id });
    expect(again.structuredContent.success, JSON.stringify(again.structuredContent)).toBe(true);
    expect((bridge.sent("close").at(-1)!.params.legs as Leg[]).map((l) => l.quantity), "the second close").toEqual([1]);
    bridge.close();
  });
});
