// The daily loss limit counts the worst case of every order still working (issue 23, item 5), as
// concentration already counts pending orders: three long calls sent at once ($469 + $431 + $395
// worst case) with $943 of daily room left must not all be accepted, and the next trade is offered
// only what is left. A working order's reservation ends with the order: cancelled, it is released;
// filled, the trade's loss counts by TWS's marks in today's P&L instead.
import { describe, expect, it } from "vitest";
import { checksOf, Edge, FakeBridge, futureExpiry } from "./harness";


function longCall(strike: number, price: number, symbol = "AAPL") {
  return {
    symbol, strategy: "long call", max_risk: Math.round(price * 100 * 100) / 100, capital_required: 0,
    legs: [{ action: "BUY", quantity: 1, price, contract: { symbol, expiry: futureExpiry(), strike, right: "C" } }],
  };
}

async function withLossToday(loss: number) {
  const edge = new Edge();
  const bridge = await FakeBridge.connect(edge, { account: 100_000 });
  await bridge.event("pnl", { daily: -loss, unrealized: -loss, realized: 0 });
  return { edge, bridge };
}

describe("daily loss reserves the worst case of working orders", () => {
  it("three long calls sent at once with $943 of room: two are accepted, the third is refused with the amounts", async () => {
    const { edge, bridge } = await withLossToday(57);
    const answers = await Promise.all([longCall(100, 4.69), longCall(105, 4.31), longCall(110, 3.95)].map((o) => edge.call("place_order", o)));
    const refused = answers.filter((a) => a.isError);
    expect(refused).toHaveLength(1);
    expect(checksOf(refused[0]!)).toEqual(["daily_loss"]);
    expect(refused[0]!.structuredContent.message).toMatch(/Daily loss so far \(\$57\.00\) plus the worst case of orders still working \(\$\d{3}\.00\) plus this order's worst-case loss \(\$\d{3}\.00\) would exceed the daily loss limit \(\$1,000\.00\)/);
    expect(bridge.sent("place")).toHaveLength(2);
    const reserved = bridge.sent("place").reduce((sum, r) => sum + r.params.max_risk, 0);
    const budget = (await edge.call("get_safety_status", {})).structuredContent.remaining_risk_budget;
    expect(budget.working_orders_worst_case).toBe(reserved);
    expect(budget.daily_loss_remaining).toBe(Math.round((943 - reserved) * 100) / 100);
    expect(budget.next_trade_max_risk).toBe(budget.daily_loss_remaining);
  });

  it("in sequence: $469 and $431 working leave $43, so a $44 trade is refused and a $43 one passes", async () => {
    const { edge, bridge } = await withLossToday(57);
    expect((await edge.call("place_order", longCall(100, 4.69))).isError).toBeFalsy();
    expect((await edge.call("place_order", longCall(105, 4.31))).isError).toBeFalsy();
    const over = await edge.call("place_order", longCall(150, 0.44));
    expect(checksOf(over)).toEqual(["daily_loss"]);
    expect((await edge.call("preview_order", longCall(150, 0.44))).structuredContent.violations.map((v: any) => v.check)).toEqual(["daily_loss"]);
    expect((await edge.call("place_order", longCall(150, 0.43))).isError).toBeFalsy();
    expect(bridge.sent("place")).toHaveLength(3);
  });

  it("a cancelled order gives its room back; a filled one leaves it to today's P&L", async () => {
    const { edge, bridge } = await withLossToday(0);
    const first = (await edge.call("place_order", longCall(100, 4.69))).structuredContent;
    const second = (await edge.call("place_order", longCall(105, 4.31))).structuredContent;
    expect(checksOf(await edge.call("place_order", longCall(110, 3.95)))).toEqual(["daily_loss"]);
    // The first is cancelled at TWS: its $469 no longer counts.
    await bridge.orderStatus(first.trade_id, first.order_id, "Cancelled", 0, 1);
    expect((await edge.call("get_safety_status", {})).structuredContent.remaining_risk_budget.working_orders_worst_case).toBe(431);
    // The second fills: the trade is open, and its loss now counts by the marks in today's P&L.
    const leg = longCall(105, 4.31).legs[0]! as any;
    await bridge.execution(second.trade_id, second.order_id, { ...leg, contract: { ...leg.contract, expiry: bridge.sent("place")[1]!.params.legs[0].contract.expiry } }, "BOT", 4.31);
    await bridge.orderStatus(second.trade_id, second.order_id, "Filled", 1, 0, 4.31);
    expect((await edge.call("get_safety_status", {})).structuredContent.remaining_risk_budget.working_orders_worst_case).toBe(0);
    expect((await edge.call("place_order", longCall(110, 3.95))).isError).toBeFalsy();
  });

  it("a modify of a working order is decided without its own reservation, against the others'", async () => {
    const { edge, bridge } = await withLossToday(100);
    const first = (await edge.call("place_order", longCall(100, 4.69))).structuredContent;
    // $100 + $469 + $431 = $1,000: exactly the limit.
    expect((await edge.call("place_order", longCall(105, 4.31))).isError).toBeFalsy();
    // Walking the first down is inside the limit although its own $469 is reserved.
    const walked = await edge.call("modify_order", { trade_id: first.trade_id, limit_price: 4.6, max_risk: 460 });
    expect(walked.isError, JSON.stringify(walked.structuredContent)).toBeFalsy();
    // $100 + $431 + $470 = $1,001: refused.
    const tooFar = await edge.call("modify_order", { trade_id: first.trade_id, limit_price: 4.7, max_risk: 470 });
    expect(checksOf(tooFar)).toEqual(["daily_loss"]);
    expect(bridge.sent("modify")).toHaveLength(1);
  });
});
