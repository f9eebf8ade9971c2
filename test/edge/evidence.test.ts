// Events are evidence, not orders (issue 17 case 1, issue 18 case 2): a fill outweighs a status
// that raced it or lagged it. A trade marked cancelled whose order then fills is re-opened, its
// risk counted again, and close_position works on it; an order whose executions cover it is
// Filled whatever its status said; a close whose fills cover the position is booked.
import { describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { condorOrder, Edge, execution, FakeBridge, fillOrder, futureExpiry, ironCondor } from "./harness";

const trades = async (edge: Edge) => Object.fromEntries(((await edge.call("list_trades", {})).structuredContent.trades as any[]).map((t) => [t.trade_id, t]));
const concentrationUsed = async (edge: Edge): Promise<number> =>
  (await edge.call("get_safety_status")).structuredContent.limits.find((l: any) => l.name === "concentration").used;

/** Two units of a $1-wide call debit spread ($50 risk a unit): small enough to fill in parts. */
function callSpread(units: number, expiry = futureExpiry()): Leg[] {
  return [
    { action: "BUY", quantity: units, price: 1.0, contract: { symbol: "AAPL", expiry, strike: 100, right: "C" } },
    { action: "SELL", quantity: units, price: 0.5, contract: { symbol: "AAPL", expiry, strike: 101, right: "C" } },
  ];
}

describe("later evidence wins", () => {
  it("cancel-then-fill race: an execution after Cancelled re-opens the trade, counts its risk, and close_position closes it", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const placed = (await edge.call("place_order", condorOrder())).structuredContent;
    const reserved = await concentrationUsed(edge);
    expect(reserved).toBeGreaterThan(0);

    // TWS reports the cancel first, and the fill that raced it afterwards.
    await bridge.orderStatus(placed.trade_id, placed.order_id, "Cancelled", 0, 1);
    expect((await trades(edge))[placed.trade_id].state).toBe("cancelled");
    expect(await concentrationUsed(edge)).toBe(0);
    const legs = ironCondor();
    for (const [i, leg] of legs.entries()) await bridge.execution(placed.trade_id, placed.order_id, leg, leg.action === "BUY" ? "BOT" : "SLD", [1.0, 0.5, 1.0, 0.5][i]!);

    const trade = (await trades(edge))[placed.trade_id];
    expect(trade.state).toBe("open");
    expect(trade.orders[0]).toMatchObject({ status: "Filled", filled: 1, remaining: 0 });
    expect(await concentrationUsed(edge)).toBe(reserved);
    expect(JSON.parse((await edge.audit("trade_reopened"))[0]!.details_json)).toMatchObject({ trade_id: placed.trade_id, from: "cancelled", to: "open" });
    // A stale status repeated later changes none of it.
    await bridge.orderStatus(placed.trade_id, placed.order_id, "Cancelled", 0, 1);
    expect((await trades(edge))[placed.trade_id]).toMatchObject({ state: "open", orders: [expect.objectContaining({ status: "Filled" })] });

    const closed = await edge.call("close_position", { trade_id: placed.trade_id });
    expect(closed.isError, JSON.stringify(closed.structuredContent)).toBeFalsy();
    expect(bridge.sent("close")).toHaveLength(1);
    expect(bridge.sent("close")[0]!.params.legs).toEqual(legs);
  });

  it("a partial fill after Cancelled re-opens the trade and the close covers only what filled", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const legs = callSpread(2);
    const placed = (await edge.call("place_order", { symbol: "AAPL", strategy: "bull call spread", legs, max_risk: 100, capital_required: 100 })).structuredContent;
    expect(placed.status, JSON.stringify(placed.violations)).toBe("Submitted");
    await bridge.orderStatus(placed.trade_id, placed.order_id, "Cancelled", 0, 2);
    // One unit of the two filled before the cancel took: one execution per leg.
    await bridge.execution(placed.trade_id, placed.order_id, { ...legs[0]!, quantity: 1 }, "BOT", 1.0);
    await bridge.execution(placed.trade_id, placed.order_id, { ...legs[1]!, quantity: 1 }, "SLD", 0.5);
    const trade = (await trades(edge))[placed.trade_id];
    expect(trade).toMatchObject({ state: "open", orders: [expect.objectContaining({ status: "Cancelled", filled: 1 })] });
    const closed = await edge.call("close_position", { trade_id: placed.trade_id });
    expect(closed.isError, JSON.stringify(closed.structuredContent)).toBeFalsy();
    expect(bridge.sent("close")[0]!.params.legs.map((l: Leg) => l.quantity)).toEqual([1, 1]);
  });

  it("an order whose executions cover it is Filled whatever its last status said, and is closable (issue 18 case 2)", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const placed = (await edge.call("place_order", condorOrder())).structuredContent;
    const legs = ironCondor();
    // The fills arrive (recovered after a TWS outage); no Filled status ever does.
    for (const [i, leg] of legs.entries()) await bridge.event("execution", execution(placed.trade_id, placed.order_id, leg, leg.action === "BUY" ? "BOT" : "SLD", [1.0, 0.5, 1.0, 0.5][i]!, `exec-${i}`));
    expect((await trades(edge))[placed.trade_id]).toMatchObject({ state: "open", orders: [expect.objectContaining({ status: "Filled", filled: 1 })] });
    const closed = await edge.call("close_position", { trade_id: placed.trade_id });
    expect(closed.isError, JSON.stringify(closed.structuredContent)).toBeFalsy();

    // The close's fills cover the position; its status lags (still Submitted): it is booked anyway.
    for (const [i, leg] of legs.entries()) await bridge.execution(`${placed.trade_id}_CLOSE`, closed.structuredContent.close_order_id, leg, leg.action === "BUY" ? "SLD" : "BOT", [0.4, 0.1, 0.4, 0.1][i]!);
    expect((await trades(edge))[placed.trade_id]).toMatchObject({ state: "closed" });
    expect(await edge.audit("trade_closed")).toHaveLength(1);
  });

  it("a trade cancelled as never reaching TWS is working again when TWS reports its order live", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const placed = (await edge.call("place_order", condorOrder())).structuredContent;
    await bridge.orderStatus(placed.trade_id, placed.order_id, "Cancelled", 0, 1);
    expect(await concentrationUsed(edge)).toBe(0);
    await bridge.orderStatus(placed.trade_id, placed.order_id, "Submitted", 0, 1);
    expect((await trades(edge))[placed.trade_id].state).toBe("working");
    expect(await concentrationUsed(edge)).toBeGreaterThan(0);
    // And it still completes normally.
    await fillOrder(bridge, placed.trade_id, placed.order_id, ironCondor(), false, [1.0, 0.5, 1.0, 0.5]);
    expect((await trades(edge))[placed.trade_id].state).toBe("open");
  });
});
