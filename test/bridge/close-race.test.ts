// Two closes on shared contracts, each without a limit (issue 23, item 10): the bridge's close
// handler checked reduce-only, then awaited the legs' quotes for the natural price before the
// close counted as working, so a second close checked during that wait did not see the first and
// both went out — together selling more than the account held, a naked short opened by two
// "closes". The close now counts as working from its check, before the await.
//
// Today the edge link runs requests one at a time (edge-link.ts), which hides the race from the
// edge; the handler must not lean on that, so the first test calls it as the link would if it ran
// two requests at once. The second test is the same through the link (a guard of that order).
import { TEST_START_MS } from "../support/pinned-sim";
import { describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { analyzeOrder } from "../../shared/risk";
import { tradingDay } from "../../shared/trade-id";
import { isoExpiry, optionQuote, placeParams, sleep, until, useRig, simSettlement } from "./helpers";

const current = useRig();

function vertical(quantity: number): Leg[] {
  const expiry = isoExpiry(current.rig.sim.expiries()[1] as string);
  return ([["BUY", 600, "C"], ["SELL", 605, "C"]] as const).map(([action, strike, right]) => {
    const q = optionQuote(current.rig.sim, "SPY", expiry, strike, right);
    return { action, contract: { symbol: "SPY", expiry, strike, right }, quantity, price: action === "BUY" ? q.ask : q.bid };
  });
}

describe("closes without a limit count as working before they await their quotes", () => {
  it("two 2-lot closes of one 2-lot position run at once, both waiting for quotes: one goes out, the other is refused reduce-only", async () => {
    const { sim, edge, bridge } = current.rig;
    const legs = vertical(2);
    const tradeId = "RACE_SPY_20261201_100000";
    await edge.ok("place", placeParams(tradeId, legs, analyzeOrder(legs, { today: tradingDay(new Date(TEST_START_MS)), settlement: simSettlement(legs) }).worstCaseLoss ?? 1));
    await until(() => bridge.mirror.positions().length === 2, 5_000, "the vertical to fill and reach the mirror");
    sim.fault.delayFills(3_000); // the close that goes out rests, working

    // TWS answers nothing for a moment: each close passes (or fails) its check, then waits for its quotes.
    sim.fault.silent(true);
    const settle = (p: Promise<unknown>) => p.then(() => null, (error: { code?: string; violations?: { check: string }[] }) => error);
    const first = settle(bridge.ops.close({ trade_id: tradeId, close_trade_id: `${tradeId}_CLOSE`, legs, symbol: "SPY" }));
    const second = settle(bridge.ops.close({ trade_id: tradeId, close_trade_id: `${tradeId}_CLOSE_2`, legs, symbol: "SPY" }));
    await sleep(300);
    sim.fault.silent(false);
    const errors = await Promise.all([first, second]);

    const sent = sim.orders().filter((o) => o.orderRef.startsWith(`${tradeId}_CLOSE`));
    expect(sent.map((o) => o.orderRef)).toHaveLength(1);
    const refused = errors.filter((e) => e !== null);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.code).toBe("second_key_refused");
    expect(refused[0]!.violations?.filter((v) => v.check === "reduce_only")).toHaveLength(2);
    // The refused close's reservation is gone: once the working close is done, nothing is left held against it.
    await until(() => sim.positions().every((p) => p.position === 0), 8_000, "the one close to fill");
    // TWS's position update can come before the close's Filled status: wait for the status, then nothing may be held.
    await until(() => bridge.mirror.openOrders().length === 0, 5_000, "the close's final status");
    expect(bridge.mirror.workingFlows()).toEqual([]);
  });

  it("a close that fails while waiting for its quotes releases what it held: the next close goes out", async () => {
    const { sim, bridge } = current.rig;
    const legs = vertical(1);
    const tradeId = "RACE_SPY_20261201_110000";
    await current.rig.edge.ok("place", placeParams(tradeId, legs, analyzeOrder(legs, { today: tradingDay(new Date(TEST_START_MS)), settlement: simSettlement(legs) }).worstCaseLoss ?? 1));
    await until(() => bridge.mirror.positions().length === 2, 5_000, "the vertical to fill and reach the mirror");
    // TWS sends no quote: the snapshot runs out (4 s) without a bid or ask, and the close is not sent.
    sim.fault.silent(true);
    const failing = bridge.ops.close({ trade_id: tradeId, close_trade_id: `${tradeId}_CLOSE`, legs, symbol: "SPY" }).then(() => null, (e: Error) => e);
    // While it waits it counts as working: both legs' flows are held.
    await until(() => bridge.mirror.workingFlows().length === 2, 2_000, "the close to count as working while it waits");
    const error = await failing;
    sim.fault.silent(false);
    expect(error?.message).toMatch(/not sending a close at a guessed price/);
    expect(sim.orders().filter((o) => o.orderRef.startsWith(`${tradeId}_CLOSE`))).toEqual([]);
    expect(bridge.mirror.workingFlows()).toEqual([]);
    const closed = await bridge.ops.close({ trade_id: tradeId, close_trade_id: `${tradeId}_CLOSE_2`, legs, symbol: "SPY" });
    expect(closed.order_id).toBeGreaterThan(0);
  });

  it("through the edge link: two closes of one position sent at once, one goes out and one is refused", async () => {
    const { sim, edge, bridge } = current.rig;
    const legs = vertical(2);
    const tradeId = "RACE_SPY_20261201_120000";
    await edge.ok("place", placeParams(tradeId, legs, analyzeOrder(legs, { today: tradingDay(new Date(TEST_START_MS)), settlement: simSettlement(legs) }).worstCaseLoss ?? 1));
    await until(() => bridge.mirror.positions().length === 2, 5_000, "the vertical to fill and reach the mirror");
    sim.fault.delayFills(3_000);
    const answers = await Promise.all([`${tradeId}_CLOSE`, `${tradeId}_CLOSE_2`].map((ref) => edge.request("close", { trade_id: tradeId, close_trade_id: ref, legs, symbol: "SPY" })));
    expect(sim.orders().filter((o) => o.orderRef.startsWith(`${tradeId}_CLOSE`))).toHaveLength(1);
    expect(answers.filter((a) => a.error?.violations?.some((v) => v.check === "reduce_only"))).toHaveLength(1);
  });
});
