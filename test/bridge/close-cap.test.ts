// The bridge's second key of the close cap (issue 23, item 8; shared/close-cap.ts): a close the
// edge sends without a limit goes at the natural price the bridge reads, which the edge never sees.
// On a deep in-the-money 5-wide put spread that price is above the most the spread can cost at
// expiry ($5.00 a share) plus the tolerance: the bridge refuses it. A close a person ordered goes
// out; a limit over the cap that reached the bridge anyway (an edge gone wrong) is refused too.
import { TEST_START_MS } from "../support/pinned-sim";
import { describe, expect, it } from "vitest";
import { CLOSE_PRICE_TOLERANCE } from "../../shared/limits";
import type { Leg } from "../../shared/order";
import { analyzeOrder } from "../../shared/risk";
import { tradingDay } from "../../shared/trade-id";
import { isoExpiry, optionQuote, placeParams, until, useRig, simSettlement } from "./helpers";

const current = useRig();

function putSpread(): Leg[] {
  const expiry = isoExpiry(current.rig.sim.expiries()[1] as string);
  return ([["SELL", 570, "P"], ["BUY", 565, "P"]] as const).map(([action, strike, right]) => {
    const q = optionQuote(current.rig.sim, "SPY", expiry, strike, right);
    return { action, contract: { symbol: "SPY", expiry, strike, right }, quantity: 1, price: action === "BUY" ? q.ask : q.bid };
  });
}

describe("the close cap at the bridge", () => {
  it("refuses a natural-price close of a deep in-the-money spread above its cap; a person's close of it goes out", async () => {
    const { sim, edge, bridge } = current.rig;
    const legs = putSpread();
    const tradeId = "CAP_SPY_20261201_100000";
    await edge.ok("place", placeParams(tradeId, legs, analyzeOrder(legs, { today: tradingDay(new Date(TEST_START_MS)), settlement: simSettlement(legs) }).worstCaseLoss ?? 1));
    await until(() => bridge.mirror.positions().length === 2, 5_000, "the spread to fill and reach the mirror");
    sim.setPrice("SPY", 450); // both puts deep in the money: the spread is worth about its width
    const expiry = legs[0]!.contract.sec_type === "STK" ? "" : legs[0]!.contract.expiry;
    const natural = optionQuote(sim, "SPY", expiry, 570, "P").ask - optionQuote(sim, "SPY", expiry, 565, "P").bid;
    expect(natural, "the natural price must be over the cap for this test to mean anything").toBeGreaterThan(5 + CLOSE_PRICE_TOLERANCE + 0.005);

    const refused = await edge.request("close", { trade_id: tradeId, close_trade_id: `${tradeId}_CLOSE`, legs, symbol: "SPY" });
    expect(refused.error?.code).toBe("second_key_refused");
    expect(refused.error?.violations?.map((v) => v.check)).toEqual(["close_over_worst_case"]);
    expect(refused.error?.message).toContain("more than the $500.00 the legs it closes can cost at expiry at worst plus $10.00");
    // An over-cap limit is refused the same way, whatever the edge said.
    const limited = await edge.request("close", { trade_id: tradeId, close_trade_id: `${tradeId}_CLOSE`, legs, symbol: "SPY", limit_price: 5.5 });
    expect(limited.error?.violations?.map((v) => v.check)).toEqual(["close_over_worst_case"]);
    expect(sim.orders().filter((o) => o.orderRef.startsWith(`${tradeId}_CLOSE`))).toEqual([]);
    expect(bridge.mirror.workingFlows()).toEqual([]);

    const byPerson = await edge.ok<{ order_id: number; limit_price: number }>("close", { trade_id: tradeId, close_trade_id: `${tradeId}_CLOSE`, legs, symbol: "SPY", person_approved: true });
    expect(byPerson.limit_price).toBeGreaterThan(5.1);
    await until(() => sim.positions().every((p) => p.position === 0), 5_000, "the person's close to fill");
  });

  it("a walk of a working close past the cap is refused by the bridge", async () => {
    const { sim, edge, bridge } = current.rig;
    const legs = putSpread();
    const tradeId = "CAP_SPY_20261201_110000";
    await edge.ok("place", placeParams(tradeId, legs, analyzeOrder(legs, { today: tradingDay(new Date(TEST_START_MS)), settlement: simSettlement(legs) }).worstCaseLoss ?? 1));
    await until(() => bridge.mirror.positions().length === 2, 5_000, "the spread to fill and reach the mirror");
    const closed = await edge.ok<{ order_id: number }>("close", { trade_id: tradeId, close_trade_id: `${tradeId}_CLOSE`, legs, symbol: "SPY", limit_price: 0.05 });
    await until(() => bridge.mirror.orders.get(closed.order_id)?.status === "Submitted", 5_000, "the resting close");
    const walked = await edge.request("modify", { order_ref: `${tradeId}_CLOSE`, order_id: closed.order_id, symbol: "SPY", strategy: "bull put", intent: "close", legs, limit_price: 5.2, max_risk: 0 });
    expect(walked.error?.violations?.map((v) => v.check)).toEqual(["close_over_worst_case"]);
    expect(sim.orders().find((o) => o.orderId === closed.order_id)?.lmtPrice).toBeCloseTo(0.05, 2);
  });
});
