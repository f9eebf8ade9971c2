// Every check of the decision refusing, and passing just inside its limit, through place_order
// over MCP with state seeded by a fake bridge on the real WebSocket protocol.
import { describe, expect, it } from "vitest";
import { checksOf, condorOrder, Edge, FakeBridge, fillOrder, futureExpiry, ironCondor } from "./harness";


async function fresh(netLiq = 100_000, opts: Parameters<typeof FakeBridge.connect>[1] = {}) {
  const edge = new Edge();
  const bridge = await FakeBridge.connect(edge, { account: netLiq, ...opts });
  return { edge, bridge };
}

describe("per-trade risk", () => {
  it("max_trade_risk: a $500 claim passes, $500.01 is refused with the amounts", async () => {
    const { edge, bridge } = await fresh();
    // Refused first: once the $500 order works, its worst case also takes the daily loss room.
    const refused = await edge.call("place_order", condorOrder({ max_risk: 500.01 }, 130));
    expect(refused.isError).toBe(true);
    expect(checksOf(refused)).toEqual(["max_trade_risk"]);
    expect(refused.structuredContent.message).toContain("Max risk ($500.01) exceeds limit ($500.00)");
    expect((await edge.call("place_order", condorOrder({ max_risk: 500 }))).isError).toBeFalsy();
    expect(bridge.sent("place")).toHaveLength(1);
  });

  it("max_risk understated by the caller is refused; the computed value passes", async () => {
    const { edge, bridge } = await fresh();
    const refused = await edge.call("place_order", condorOrder({ max_risk: 399.99 }));
    expect(checksOf(refused)).toEqual(["max_risk_claim"]);
    expect(refused.structuredContent.computed_max_risk).toBe(400);
    expect((await edge.call("place_order", condorOrder({ max_risk: 400 }))).isError).toBeFalsy();
    expect(bridge.sent("place")).toHaveLength(1);
  });

  it("unbounded risk (a naked short call) and a sub-nickel leg are refused", async () => {
    const { edge, bridge } = await fresh();
    const naked = await edge.call("place_order", {
      symbol: "AAPL", strategy: "naked call", max_risk: 100, capital_required: 100,
      legs: [{ action: "SELL", quantity: 1, price: 1.0, contract: { symbol: "AAPL", expiry: futureExpiry(), strike: 110, right: "C" } }],
    });
    expect(checksOf(naked)).toContain("unbounded_risk");
    const legs = ironCondor();
    legs[1]!.price = 0.04;
    const cheap = await edge.call("place_order", { ...condorOrder(), legs });
    expect(checksOf(cheap)).toContain("leg_price");
    expect(bridge.sent("place")).toHaveLength(0);
  });
});

describe("account checks", () => {
  it("daily_loss: $600 lost + $400 risk passes, $600.01 lost is refused", async () => {
    const { edge, bridge } = await fresh();
    await bridge.event("pnl", { daily: -600, unrealized: -600, realized: 0 });
    expect((await edge.call("place_order", condorOrder())).isError).toBeFalsy();
    await bridge.event("pnl", { daily: -600.01, unrealized: -600.01, realized: 0 });
    const refused = await edge.call("place_order", condorOrder({}, 130));
    expect(checksOf(refused)).toEqual(["daily_loss"]);
    expect(refused.structuredContent.message).toContain("$600.01");
  });

  it("concentration counts open and pending trades: the third $400 condor on $2,666.67 is refused", async () => {
    const { edge, bridge } = await fresh(2_666.67);
    const first = await edge.call("place_order", condorOrder({}, 100));
    expect(first.isError).toBeFalsy();
    // The first fills (open): its worst case leaves the daily loss room to today's P&L, its exposure stays.
    await fillOrder(bridge, first.structuredContent.trade_id, first.structuredContent.order_id, ironCondor("AAPL", 100), false, [1.0, 0.5, 1.0, 0.5]);
    expect((await edge.call("place_order", condorOrder({}, 130))).isError).toBeFalsy(); // 800 / 2666.67 = 29.99%
    const third = await edge.call("place_order", condorOrder({}, 160));
    expect(checksOf(third)).toEqual(["concentration"]);
    expect(third.structuredContent.message).toContain("$1,200.00 incl. this order");
    expect((await edge.call("place_order", condorOrder({}, 100, "MSFT"))).isError).toBeFalsy(); // another underlying
    expect(bridge.sent("place")).toHaveLength(3);
  });

  it("concentration: $400 on $1,333.33 (30.0003%) is refused", async () => {
    const { edge } = await fresh(1_333.33);
    expect(checksOf(await edge.call("place_order", condorOrder()))).toEqual(["concentration"]);
  });

  it("order_rate: five orders a minute pass, the sixth is refused", async () => {
    const { edge } = await fresh();
    // $100 long calls: seven of them stay inside the daily loss room, so the rate is what binds.
    const call = (strike: number) => ({
      symbol: "AAPL", strategy: "long call", max_risk: 100, capital_required: 100,
      legs: [{ action: "BUY", quantity: 1, price: 1, contract: { symbol: "AAPL", expiry: futureExpiry(), strike, right: "C" } }],
    });
    for (let i = 0; i < 5; i++) expect((await edge.call("place_order", call(100 + i * 5))).isError, `order ${i}`).toBeFalsy();
    const sixth = await edge.call("place_order", call(150));
    expect(checksOf(sixth)).toEqual(["order_rate"]);
    // A minute later the window has room again.
    await edge.inside((sql) => sql.exec("UPDATE order_times SET at_ms = at_ms - 61000"));
    expect((await edge.call("place_order", call(150))).isError).toBeFalsy();
  });

  it("duplicate_order: the same order again within a minute is refused", async () => {
    const { edge } = await fresh();
    expect((await edge.call("place_order", condorOrder())).isError).toBeFalsy();
    expect(checksOf(await edge.call("place_order", condorOrder()))).toEqual(["duplicate_order"]);
  });

  it("stale_data: account data 59 s old passes, 61 s old is refused", async () => {
    const a = await fresh(100_000, { account: null });
    await a.bridge.account(100_000, 59_000);
    expect((await a.edge.call("place_order", condorOrder())).isError).toBeFalsy();
    const b = await fresh(100_000, { account: null });
    await b.bridge.account(100_000, 61_000);
    const refused = await b.edge.call("place_order", condorOrder());
    expect(checksOf(refused)).toEqual(["stale_data"]);
  });

  it("tws_not_connected and bridge gone: fail closed", async () => {
    const { edge, bridge } = await fresh(100_000, { tws: "down" });
    expect(checksOf(await edge.call("place_order", condorOrder()))).toContain("tws_not_connected");
    await bridge.event("tws_health", { state: "connected", since: new Date().toISOString(), last_error: null, server_version: 193 });
    expect((await edge.call("place_order", condorOrder())).isError).toBeFalsy();
    bridge.close();
    await bridge.closed;
    const refused = await edge.call("place_order", condorOrder({}, 130));
    expect(checksOf(refused)).toEqual(expect.arrayContaining(["bridge_disconnected", "market_data"]));
  });

  it("symbol_not_allowed: the allow-list narrows what may be traded", async () => {
    const { edge } = await fresh();
    const refused = await edge.call("place_order", condorOrder({}, 100, "TSLA"));
    expect(checksOf(refused)).toEqual(["symbol_not_allowed"]);
  });
});

describe("market checks", () => {
  it("price_collar: 0.10 from the mid passes, 0.11 is refused", async () => {
    const { edge, bridge } = await fresh();
    // The condor's limit is -1.00 (credit); below a $1 mid the collar is its $0.10 floor.
    bridge.quoteMid = () => -0.9;
    expect((await edge.call("place_order", condorOrder())).isError).toBeFalsy();
    bridge.quoteMid = () => -0.89;
    const refused = await edge.call("place_order", condorOrder({}, 130));
    expect(checksOf(refused)).toEqual(["price_collar"]);
    expect(refused.structuredContent.message).toContain("$0.11 from the mid -$0.89; at most $0.10");
  });

  it("market_data: no quote or a 16 s old quote is refused, a 14 s old one passes", async () => {
    const { edge, bridge } = await fresh();
    bridge.quoteMid = () => null;
    const none = await edge.call("place_order", condorOrder());
    expect(checksOf(none)).toEqual(["market_data"]);
    expect(none.structuredContent.violations[0].message).toContain("354");
    bridge.quoteMid = null;
    bridge.quoteAgeMs = 16_000;
    expect(checksOf(await edge.call("place_order", condorOrder()))).toEqual(["market_data"]);
    bridge.quoteAgeMs = 14_000;
    expect((await edge.call("place_order", condorOrder())).isError).toBeFalsy();
  });
});

describe("emergency stop", () => {
  it("refuses new trades, still allows closing an open trade, and can cancel all and flatten", async () => {
    const { edge, bridge } = await fresh();
    const placed = await edge.call("place_order", condorOrder());
    const { trade_id, order_id } = placed.structuredContent;
    await bridge.orderStatus(trade_id, order_id, "Filled", 1, 0, -1);
    expect((await edge.admin("/api/emergency-stop", { on: true, reason: "drill", by: "ops", cancel_orders: true, close_positions: true })).status).toBe(200);
    expect(bridge.sent("cancel_all")).toHaveLength(1);
    expect(bridge.sent("close")[0]!.params.trade_id).toBe(trade_id);
    const refused = await edge.call("place_order", condorOrder({}, 130));
    expect(checksOf(refused)).toEqual(["emergency_stop"]);
    const stop = (await edge.call("get_safety_status")).structuredContent;
    expect(stop.emergency_stop).toMatchObject({ on: true, reason: "drill", by: "ops" });
    expect(stop.can_open_new_trades).toBe(false);
    expect((await edge.audit("emergency_stop_set")).length).toBe(1);
    // The log on the trading box hears about refusals.
    expect(bridge.sent("write_log").some((r) => r.params.kind === "safety_violation")).toBe(true);
  });

  it("close_position stays allowed under the stop", async () => {
    const { edge, bridge } = await fresh();
    const placed = await edge.call("place_order", condorOrder());
    const { trade_id, order_id } = placed.structuredContent;
    await bridge.orderStatus(trade_id, order_id, "Filled", 1, 0, -1);
    await edge.admin("/api/emergency-stop", { on: true, reason: "halt" });
    const closed = await edge.call("close_position", { trade_id });
    expect(closed.isError).toBeFalsy();
    expect(closed.structuredContent.status).toBe("Submitted");
  });
});
