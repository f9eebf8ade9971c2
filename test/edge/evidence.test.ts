// Events are evidence, not orders (issue 17 case 1, issue 18 case 2): a fill outweighs a status
// that raced it or lagged it. A trade marked cancelled whose order then fills is re-opened, its
// risk counted again, and close_position works on it; an order whose executions cover it is
// Filled whatever its status said; a close whose fills cover the position is booked.
import { describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { condorOrder, Edge, execution, FakeBridge, fillOrder, futureExpiry, ironCondor, trades } from "./harness";

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

  it("a close that ends part-filled leaves the trade open, and the next close takes only what is still held", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const legs = callSpread(2);
    const placed = (await edge.call("place_order", { symbol: "AAPL", strategy: "bull call spread", legs, max_risk: 100, capital_required: 100 })).structuredContent;
    await fillOrder(bridge, placed.trade_id, placed.order_id, legs, false, [1.0, 0.5]);
    const first = (await edge.call("close_position", { trade_id: placed.trade_id })).structuredContent;
    expect(bridge.sent("close")[0]!.params.legs.map((l: Leg) => l.quantity)).toEqual([2, 2]);
    const ref = `${placed.trade_id}_CLOSE`;
    // One unit of the close fills, then TWS cancels the rest.
    await bridge.execution(ref, first.close_order_id, { ...legs[0]!, quantity: 1 }, "SLD", 1.2);
    await bridge.execution(ref, first.close_order_id, { ...legs[1]!, quantity: 1 }, "BOT", 0.6);
    await bridge.orderStatus(ref, first.close_order_id, "Cancelled", 1, 1);
    expect((await trades(edge))[placed.trade_id].state).toBe("open");

    const second = await edge.call("close_position", { trade_id: placed.trade_id });
    expect(second.isError, JSON.stringify(second.structuredContent)).toBeFalsy();
    expect(bridge.sent("close")[1]!.params.legs.map((l: Leg) => l.quantity)).toEqual([1, 1]);
    // A late, repeated status of the first close order speaks for it only, not for the new one.
    await bridge.orderStatus(ref, first.close_order_id, "Cancelled", 1, 1);
    expect((await trades(edge))[placed.trade_id]).toMatchObject({ state: "closing" });
    expect(await edge.audit("stale_order_status")).toHaveLength(1);
    const secondId = second.structuredContent.close_order_id;
    await bridge.execution(ref, secondId, { ...legs[0]!, quantity: 1 }, "SLD", 1.3);
    await bridge.execution(ref, secondId, { ...legs[1]!, quantity: 1 }, "BOT", 0.6);
    const closed = (await trades(edge))[placed.trade_id];
    // Opened for 2 × (1.00 − 0.50) debit, closed for (1.20 − 0.60) + (1.30 − 0.60): +$30 less six $1 commissions.
    expect(closed).toMatchObject({ state: "closed", realized_pnl: 24 });
  });

  it("the emergency stop's close-all closes trades the ledger had wrong and positions no trade accounts for, from TWS's positions", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const position = (leg: Leg, quantity: number, conId?: number) => {
      const c = leg.contract as { symbol: string; expiry: string; strike: number; right: "C" | "P" };
      return bridge.event("position", {
        account: "sim", symbol: c.symbol, sec_type: "OPT", expiry: c.expiry, strike: c.strike, right: c.right, con_id: conId ?? 1000 + c.strike,
        quantity, avg_cost: 100, current_price: 1, market_value: 100 * quantity, unrealized_pnl: 0, unrealized_pnl_pct: 0,
      });
    };
    // A: an ordinary open trade. B: marked cancelled, then filled (its state is stale).
    const a = (await edge.call("place_order", condorOrder({}, 100))).structuredContent;
    const aLegs = ironCondor("AAPL", 100);
    await fillOrder(bridge, a.trade_id, a.order_id, aLegs, false, [1.0, 0.5, 1.0, 0.5]);
    const b = (await edge.call("place_order", condorOrder({}, 130))).structuredContent;
    expect(b.status, JSON.stringify(b.violations)).toBe("Submitted");
    const bLegs = ironCondor("AAPL", 130);
    await edge.inside((sql) => {
      // As old code left it: the trade cancelled, its executions stored, nothing re-derived since.
      sql.exec("UPDATE trades SET state = 'cancelled' WHERE trade_id = ?", b.trade_id);
      sql.exec("UPDATE orders SET status = 'Cancelled' WHERE order_ref = ?", b.trade_id);
    });
    for (const [i, leg] of bLegs.entries())
      await edge.inside((sql) => {
        const e = execution(b.trade_id, b.order_id, leg, leg.action === "BUY" ? "BOT" : "SLD", 1, `exec-b-${i}`);
        sql.exec("INSERT INTO fills (exec_id, order_ref, trade_id, order_id, symbol, sec_type, side, shares, price, commission, time, received_at, details_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
          e.exec_id, e.order_ref, b.trade_id, e.order_id, e.symbol, e.sec_type, e.side, e.shares, e.price, 1, e.time, e.time, JSON.stringify(e));
      });
    expect((await trades(edge))[b.trade_id].state).toBe("cancelled");
    // TWS holds A's and B's legs, and one option placed by hand in TWS.
    for (const leg of [...aLegs, ...bLegs]) await position(leg, leg.action === "BUY" ? 1 : -1);
    const manual: Leg = { action: "BUY", quantity: 2, price: 1, contract: { symbol: "MSFT", expiry: futureExpiry(), strike: 400, right: "P" } };
    await position(manual, 2, 7777);

    const stop = await edge.admin("/api/emergency-stop", { on: true, reason: "drill", close_positions: true });
    expect(stop.status).toBe(200);
    const closes = stop.body.closes as Array<{ trade_id: string; success: boolean; con_id?: number }>;
    expect(closes.every((c) => c.success), JSON.stringify(closes)).toBe(true);
    expect(closes.map((c) => c.trade_id)).toEqual(expect.arrayContaining([a.trade_id, b.trade_id]));
    expect(closes).toHaveLength(3);
    const flatten = closes.find((c) => c.con_id === 7777)!;
    expect(flatten.trade_id).toMatch(/^FLATTEN_POSITION_MSFT_\d{8}_\d{6}/);
    const sent = bridge.sent("close");
    expect(sent).toHaveLength(3);
    // The flatten sends the position as held; the bridge reverses it (and checks it only reduces).
    expect(sent.find((r) => r.params.trade_id === flatten.trade_id)!.params.legs).toEqual([{ ...manual, price: 1 }]);

    // A second press closes nothing twice: every position is accounted for by a close under way.
    const again = await edge.admin("/api/emergency-stop", { on: true, reason: "drill again", close_positions: true });
    expect(again.body.closes.filter((c: { success: boolean }) => c.success)).toEqual([]);
    expect(bridge.sent("close")).toHaveLength(3);

    // The flatten's fill closes it without booking a P&L the ledger cannot know (no cost basis).
    const closeOrder = (await trades(edge))[flatten.trade_id].orders.find((o: any) => o.intent === "close");
    await bridge.execution(`${flatten.trade_id}_CLOSE`, closeOrder.order_id, manual, "SLD", 1.1);
    expect((await trades(edge))[flatten.trade_id]).toMatchObject({ state: "closed", realized_pnl: null });
    expect((await edge.call("get_safety_status")).structuredContent.limits.find((l: any) => l.name === "daily_loss").used).toBe(0);
  });
});
