// IBKR's modify over the real link against the simulator: a resting condor walked toward the
// market keeps its order id and orderRef and fills at the new price; a close placed at a limit is
// walked too; the bridge refuses a modify that changes anything but the price, touches an order
// that is not working, or whose legs do not carry the new price (second key).
import { describe, expect, it } from "vitest";
import { repriceLegs } from "../../shared/combo-price";
import { MIN_LEG_PRICE } from "../../shared/limits";
import type { Leg } from "../../shared/order";
import { placeParams, spyIronCondor, until, useRig, simSettlement, risk } from "./helpers";
import { cents } from "../support/cents";

const current = useRig();

const TRADE = "IRON_CONDOR_SPY_20261125_103045";
const priced = (legs: Leg[], net: number): Leg[] => {
  const r = repriceLegs(legs, net, MIN_LEG_PRICE);
  if (!r.ok) throw new Error(r.reason);
  return r.legs;
};

/** A condor resting at 0.30 more credit than the market's natural price (sent, not yet waited for). */
async function placeResting() {
  const { sim, edge } = current.rig;
  const natural = spyIronCondor(sim);
  const naturalNet = placeParams(TRADE, natural, 0).limit_price as number; // the marketable credit
  const restingNet = Math.round((naturalNet - 0.3) * 100) / 100; // asks 0.30 more credit
  const resting = priced(natural, restingNet);
  const placed = await edge.ok<{ order_id: number; limit_price: number }>("place", placeParams(TRADE, resting, risk(resting)));
  return { sim, edge, natural, naturalNet, restingNet, resting, placed };
}

describe("modify", () => {
  it("walks a resting condor to a marketable price: same order id and orderRef, filled at the new limit", async () => {
    const { sim, edge, naturalNet, resting, placed } = await placeResting();
    await until(() => sim.orders()[0]?.status === "Submitted", 3000, "the order to rest");
    expect(sim.executions()).toHaveLength(0);

    const walked = priced(resting, naturalNet);
    const modified = await edge.ok<{ order_id: number; limit_price: number; status: string }>("modify", {
      order_ref: TRADE, order_id: placed.order_id, symbol: "SPY", strategy: "iron condor", intent: "open", legs: walked, limit_price: naturalNet, max_risk: risk(walked),
    });
    expect(modified.order_id).toBe(placed.order_id);
    expect(cents(modified.limit_price)).toBe(cents(naturalNet));
    const orders = sim.orders();
    expect(orders).toHaveLength(1); // modified in place, not a second order
    expect(orders[0]).toMatchObject({ orderId: placed.order_id, orderRef: TRADE, lmtPrice: naturalNet });
    await until(() => sim.orders()[0]?.status === "Filled", 5000, "the fill at the new price");
    const fills = await until(() => edge.events<{ order_id: number; order_ref: string; price: number; side: string }>("execution").length === 4 && edge.events<{ order_id: number; order_ref: string; price: number; side: string }>("execution"), 5000, "four fills");
    expect(fills.every((f) => f.order_id === placed.order_id && f.order_ref === TRADE)).toBe(true);
    const net = fills.reduce((s, f) => s + (f.side === "BOT" ? f.price : -f.price), 0);
    expect(cents(net)).toBe(cents(naturalNet));
    // A filled order is not working any more.
    const late = await edge.request("modify", { order_ref: TRADE, order_id: placed.order_id, symbol: "SPY", strategy: "iron condor", intent: "open", legs: walked, limit_price: naturalNet, max_risk: risk(walked) });
    expect(late.error?.code).toBe("not_modifiable");
    expect(late.error?.message).toMatch(/Filled/);
  });

  it("refuses a modify that changes the size, names another orderRef, or whose legs do not carry the price", async () => {
    const { sim, edge, naturalNet, resting, placed } = await placeResting();
    await until(() => sim.orders()[0]?.status === "Submitted", 3000, "the order to rest");
    const base = { order_ref: TRADE, order_id: placed.order_id, symbol: "SPY", strategy: "iron condor", intent: "open" as const };
    // Another contract (the short put one strike higher) or another size is a new order, not a modify.
    const moved = resting.map((l, i) => (i === 1 ? { ...l, contract: { ...l.contract, strike: 571 } } : l)) as Leg[];
    // As the edge sends it: with the legs' settlement styles (the moved contract is new to the bridge).
    const other1 = await edge.request("modify", { ...base, legs: moved, limit_price: placeParams(TRADE, moved, 0).limit_price, max_risk: risk(moved), settlement: simSettlement(moved) });
    expect(other1.error?.code).toBe("not_modifiable");
    expect(other1.error?.message).toMatch(/only the limit price may change/);
    const single = [resting[1] as Leg];
    const smaller = await edge.request("modify", { ...base, legs: single, limit_price: placeParams(TRADE, single, 0).limit_price, max_risk: risk(single) });
    expect(smaller.error?.code).not.toBeUndefined();
    const other = await edge.request("modify", { ...base, order_ref: "OTHER_SPY_20261125_103045", legs: resting, limit_price: placeParams(TRADE, resting, 0).limit_price, max_risk: risk(resting) });
    expect(other.error?.code).toBe("not_modifiable");
    const skewed = await edge.request("modify", { ...base, legs: resting, limit_price: naturalNet, max_risk: 500 });
    expect(skewed.error?.code).toBe("second_key_refused");
    expect(skewed.error?.message).toMatch(/not the legs' net price/);
    // Nothing reached TWS: the order rests unchanged.
    expect(sim.orders()).toHaveLength(1);
    expect(sim.orders()[0]).toMatchObject({ status: "Submitted", lmtPrice: placeParams(TRADE, resting, 0).limit_price, totalQuantity: 1 });
  });

  it("a modify TWS refuses leaves the order working at its old price: no Rejected status reaches the edge", async () => {
    const { sim, edge, restingNet, resting, placed } = await placeResting();
    await until(() => sim.orders()[0]?.status === "Submitted", 3000, "the order to rest");
    sim.fault.rejectNextOrder("modification not accepted");
    const walked = priced(resting, Math.round((restingNet + 0.05) * 100) / 100);
    const refused = await edge.request("modify", { order_ref: TRADE, order_id: placed.order_id, symbol: "SPY", strategy: "iron condor", intent: "open", legs: walked, limit_price: placeParams(TRADE, walked, 0).limit_price, max_risk: risk(walked) });
    expect(refused.error?.code).toBe("tws_error");
    expect(refused.error?.message).toMatch(/keeps working at its previous price/);
    expect(sim.orders()[0]).toMatchObject({ status: "Submitted", lmtPrice: restingNet });
    expect(edge.events<{ status: string }>("order_status").some((s) => s.status === "Rejected")).toBe(false);
    const status = await edge.ok<{ status: string }>("order_status", { order_id: placed.order_id });
    expect(status.status).toBe("Submitted");
  });

  it("tells the edge the limit price TWS holds: each order status carries it, and a modify TWS took is published", async () => {
    const { edge, restingNet, resting, placed } = await placeResting();
    type Status = { order_id: number; status: string; limit_price?: number | null };
    const mine = () => edge.events<Status>("order_status").filter((s) => s.order_id === placed.order_id);
    await until(() => mine().some((s) => s.status === "Submitted"), 3000, "the order to rest");
    expect(cents(mine().at(-1)?.limit_price)).toBe(cents(restingNet));
    // Still far from the market: the order rests, only its price changes (no new status from TWS).
    const walkedNet = Math.round((restingNet + 0.1) * 100) / 100;
    const walked = priced(resting, walkedNet);
    await edge.ok("modify", { order_ref: TRADE, order_id: placed.order_id, symbol: "SPY", strategy: "iron condor", intent: "open", legs: walked, limit_price: walkedNet, max_risk: risk(walked) });
    const published = await until(() => mine().find((s) => s.limit_price !== undefined && s.limit_price !== null && Math.abs(s.limit_price - walkedNet) < 0.005), 3000, "a status with the new price");
    expect(published.status).toBe("Submitted");
  });

  it("places a close at a limit and walks it to a fill", async () => {
    const { sim, edge } = current.rig;
    const legs = spyIronCondor(sim);
    await edge.ok("place", placeParams(TRADE, legs, risk(legs)));
    await until(() => sim.orders()[0]?.status === "Filled" && edge.events("position").length >= 4, 5000, "the opening fill");
    const close = `${TRADE}_CLOSE`;
    // Buying the condor back: a debit. 0.05 is far below its ask, so the close rests.
    const sent = await edge.ok<{ order_id: number; limit_price: number }>("close", { trade_id: TRADE, close_trade_id: close, legs, symbol: "SPY", limit_price: 0.05 });
    expect(sent.limit_price).toBe(0.05);
    await until(() => sim.orders().find((o) => o.orderId === sent.order_id)?.status === "Submitted", 3000, "the close to rest");
    const ask = -(placeParams(TRADE, legs, 0).limit_price as number) + 0.5; // well above the ask: marketable
    const walked = await edge.ok<{ order_id: number; limit_price: number }>("modify", { order_ref: close, order_id: sent.order_id, symbol: "SPY", strategy: "iron condor", intent: "close", legs, limit_price: Math.round(ask * 100) / 100, max_risk: 0 });
    expect(walked.order_id).toBe(sent.order_id);
    await until(() => sim.orders().find((o) => o.orderId === sent.order_id)?.status === "Filled", 5000, "the close to fill");
    expect(sim.orders().filter((o) => o.orderRef === close)).toHaveLength(1);
    expect(sim.positions().filter((p) => p.position !== 0)).toHaveLength(0);
  });
});
