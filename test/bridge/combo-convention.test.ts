// The one money convention end to end: for each kind of structure the bridge builds its order
// from shared/combo-price.ts, the real @stoqey/ib client sends it to the simulator, the simulator
// fills it by IBKR's combo rules, and the cash its executions move must be exactly the dollars the
// risk engine said the limit price binds. Any mismatch between the risk math, the BAG builder and
// the fills fails here.
import { describe, expect, it } from "vitest";
import { priceOrder } from "../../shared/combo-price";
import type { Leg } from "../../shared/order";
import { analyzeOrder } from "../../shared/risk";
import { tradingDay } from "../../shared/trade-id";
import { TEST_START_MS } from "../support/pinned-sim";
import { isoExpiry, optionQuote, placeParams, until, useRig, simSettlement } from "./helpers";
import { cents } from "../support/cents";

const current = useRig();

type Spec = readonly [action: "BUY" | "SELL", strike: number, right: "C" | "P", quantity: number, expiryIndex: number];

/** Legs priced at the natural market (asks bought, bids sold), so the combo is marketable at its net. */
function legsOf(specs: readonly Spec[]): Leg[] {
  return specs.map(([action, strike, right, quantity, expiryIndex]) => {
    const expiry = isoExpiry(current.rig.sim.expiries()[expiryIndex] as string);
    const q = optionQuote(current.rig.sim, "SPY", expiry, strike, right);
    return { action, contract: { symbol: "SPY", expiry, strike, right }, quantity, price: action === "BUY" ? q.ask : q.bid };
  });
}

const KINDS: Record<string, readonly Spec[]> = {
  "long call": [["BUY", 590, "C", 1, 1]],
  "two-lot debit call vertical": [["BUY", 600, "C", 2, 1], ["SELL", 605, "C", 2, 1]],
  "credit put vertical": [["SELL", 570, "P", 1, 1], ["BUY", 565, "P", 1, 1]],
  "iron condor": [["BUY", 565, "P", 1, 1], ["SELL", 570, "P", 1, 1], ["SELL", 590, "C", 1, 1], ["BUY", 595, "C", 1, 1]],
  "1×2×1 call butterfly": [["BUY", 575, "C", 1, 1], ["SELL", 580, "C", 2, 1], ["BUY", 585, "C", 1, 1]],
  "call calendar": [["SELL", 580, "C", 1, 1], ["BUY", 580, "C", 1, 2]],
  "put diagonal": [["SELL", 555, "P", 1, 1], ["BUY", 560, "P", 1, 2]],
};

describe("the money convention, risk math ⇄ BAG builder ⇄ simulator fills", () => {
  it.each(Object.keys(KINDS))("%s: the order carries the convention's price and its fills move exactly the dollars the risk engine bound", async (kind) => {
    const legs = legsOf(KINDS[kind]!);
    const priced = priceOrder(legs);
    if (!priced.ok) throw new Error(priced.reason);
    const analysis = analyzeOrder(legs, { today: tradingDay(new Date(TEST_START_MS)), settlement: simSettlement(legs) });
    expect(cents(analysis.netPremium)).toBe(cents(-priced.price.boundDollars));

    const tradeId = `CONVENTION_SPY_20261201_10${String(Object.keys(KINDS).indexOf(kind)).padStart(2, "0")}00`;
    const answer = await current.rig.edge.ok<{ order_id: number; limit_price: number }>("place", placeParams(tradeId, legs, Math.max(analysis.worstCaseLoss ?? 0, 1)));
    const order = current.rig.sim.orders().find((o) => o.orderId === answer.order_id)!;
    expect(order.action).toBe(priced.price.action);
    expect(order.totalQuantity).toBe(priced.price.units);
    expect(order.lmtPrice).toBeCloseTo(priced.price.limitPrice, 6);
    if (legs.length > 1) expect(order.legs.map((l) => l.ratio)).toEqual(priced.price.ratios);

    const fills = await until(() => {
      const mine = current.rig.sim.executions().filter((e) => e.orderId === answer.order_id);
      const shares = mine.reduce((s, e) => s + e.shares, 0);
      return shares === legs.reduce((s, l) => s + l.quantity, 0) ? mine : null;
    }, 5_000, `the fills of ${kind}`);
    // Cash at the open, as the broker moved it: sold legs bring premium in, bought legs pay it.
    const cash = fills.reduce((sum, e) => sum + (e.side === "SLD" ? 1 : -1) * e.shares * e.price * (e.secType === "OPT" ? 100 : 1), 0);
    expect(cents(Math.round(cash * 100) / 100)).toBe(cents(-priced.price.boundDollars));
  });

  it("a single-leg SELL (the close of a long put) goes out as a SELL at its positive price and brings in exactly its dollars", async () => {
    const legs = legsOf([["BUY", 570, "P", 1, 1]]);
    const tradeId = "CONVENTION_SPY_20261201_110000";
    await current.rig.edge.ok("place", placeParams(tradeId, legs, Math.max(analyzeOrder(legs, { today: tradingDay(new Date(TEST_START_MS)), settlement: simSettlement(legs) }).worstCaseLoss ?? 0, 1)));
    await until(() => current.rig.sim.executions().some((e) => e.orderRef === tradeId), 5_000, "the opening fill");
    await until(() => current.rig.sim.positions().some((p) => p.position !== 0), 5_000, "the position");
    const closed = await current.rig.edge.ok<{ order_id: number }>("close", { trade_id: tradeId, close_trade_id: `${tradeId}_CLOSE`, legs, symbol: "SPY" });
    const order = current.rig.sim.orders().find((o) => o.orderId === closed.order_id)!;
    expect(order.secType).not.toBe("BAG");
    expect(order.action).toBe("SELL");
    expect(order.lmtPrice).toBeGreaterThan(0);
    const fills = await until(() => {
      const mine = current.rig.sim.executions().filter((e) => e.orderId === closed.order_id);
      return mine.length === 1 ? mine : null;
    }, 5_000, "the closing fill");
    const priced = priceOrder([{ ...legs[0]!, action: "SELL", price: order.lmtPrice! }]);
    if (!priced.ok) throw new Error(priced.reason);
    expect(priced.price.signedNet).toBeLessThan(0);
    const cash = fills[0]!.shares * fills[0]!.price * 100;
    expect(cents(cash)).toBe(cents(-priced.price.boundDollars));
  });

  it("two closes of one held position cannot both go out while the first still works (reduce-only counts working orders)", async () => {
    const legs = legsOf([["BUY", 600, "C", 2, 1], ["SELL", 605, "C", 2, 1]]);
    const tradeId = "CONVENTION_SPY_20261201_120000";
    await current.rig.edge.ok("place", placeParams(tradeId, legs, analyzeOrder(legs, { today: tradingDay(new Date(TEST_START_MS)), settlement: simSettlement(legs) }).worstCaseLoss ?? 1));
    await until(() => current.rig.bridge.mirror.positions().length === 2, 5_000, "the vertical to fill and reach the mirror");
    current.rig.sim.fault.delayFills(3_000); // the first close rests, working
    const oneLot = legs.map((l) => ({ ...l, quantity: 1 }));
    await current.rig.edge.ok("close", { trade_id: tradeId, close_trade_id: `${tradeId}_CLOSE`, legs: oneLot, symbol: "SPY" });
    // Each close alone fits the two lots held; a second 2-lot close on top of the working one does not.
    const second = await current.rig.edge.request("close", { trade_id: tradeId, close_trade_id: `${tradeId}_CLOSE_2`, legs, symbol: "SPY" });
    expect(second.error?.code).toBe("second_key_refused");
    expect(second.error?.violations?.filter((v) => v.check === "reduce_only")).toHaveLength(2);
    expect(current.rig.sim.orders().filter((o) => o.orderRef.endsWith("_CLOSE_2"))).toEqual([]);
    // One more lot still fits: held 2, working 1.
    await current.rig.edge.ok("close", { trade_id: tradeId, close_trade_id: `${tradeId}_CLOSE_3`, legs: oneLot, symbol: "SPY" });
  });
});
