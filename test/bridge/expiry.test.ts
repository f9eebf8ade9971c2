// A request the edge has stopped waiting for must not become an order: the bridge checks the
// request's expires_at at the moment the order would leave, after every await before it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXPIRY_MARGIN_MS } from "../../bridge/operations";
import { placeParams, type Rig, spyIronCondor, startRig, risk } from "./helpers";

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(async () => {
  await rig?.stop();
});


describe("request deadlines", () => {
  it("refuses an expired place with code expired and sends nothing to TWS", async () => {
    const legs = spyIronCondor(rig.sim);
    const before = rig.sim.orders().length;
    const answer = await rig.edge.request("place", placeParams("IRON_CONDOR_SPY_20261125_110000", legs, risk(legs)), 10_000, { expires_at: Date.now() - 1 });
    expect(answer.ok).toBe(false);
    expect(answer.error?.code).toBe("expired");
    expect(answer.error?.message).toMatch(/not sent/);
    expect(rig.sim.orders()).toHaveLength(before);
  });

  it("refuses one whose deadline is closer than the margin the answer needs to arrive", async () => {
    const legs = spyIronCondor(rig.sim, 1, 2);
    const before = rig.sim.orders().length;
    const answer = await rig.edge.request("place", placeParams("IRON_CONDOR_SPY_20261125_110001", legs, risk(legs)), 10_000, { expires_at: Date.now() + EXPIRY_MARGIN_MS / 2 });
    expect(answer.error?.code).toBe("expired");
    expect(rig.sim.orders()).toHaveLength(before);
  });

  it("sends one whose deadline is ahead, exactly once", async () => {
    const legs = spyIronCondor(rig.sim, 1, 3);
    const tradeId = "IRON_CONDOR_SPY_20261125_110002";
    const answer = await rig.edge.request("place", placeParams(tradeId, legs, risk(legs)), 10_000, { expires_at: Date.now() + 8_000 });
    expect(answer.ok, JSON.stringify(answer.error)).toBe(true);
    expect(rig.sim.orders().filter((o) => o.orderRef === tradeId)).toHaveLength(1);
  });
});
