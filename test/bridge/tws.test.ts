// The TWS side under faults, with the real client against the simulator: reconnect after the
// simulator drops every socket (orders known after, nothing sent twice), an order refused while
// TWS is down never going out after the reconnect, 1100/1102 (degraded, then connected), a
// silent TWS caught by the heartbeat, 326 (clientId in use), and the paper/live account refusals.
import { describe, expect, it } from "vitest";
import { startBridge, type Bridge } from "../../bridge/daemon";
import { analyzeOrder } from "../../shared/risk";
import { tradingDay } from "../../shared/trade-id";
import { type Simulator } from "../tws-sim/index";
import { startPinnedSimulator, TEST_START_MS } from "../support/pinned-sim";
import { isoExpiry, LogCapture, optionQuote, placeParams, type Rig, sleep, spyIronCondor, startRig, TestEdge, testConfig, until, cleanupAfterEach, rigStarter, simSettlement } from "./helpers";

const cleanups = cleanupAfterEach();
const rigFor = rigStarter(cleanups);
const healthStates = (rig: Rig) => rig.edge.events<{ state: string }>("tws_health").map((h) => h.state);

/** A long put bid far below the market: it rests at TWS. */
function restingPut(sim: Simulator) {
  const expiry = isoExpiry(sim.expiries()[2] as string);
  const q = optionQuote(sim, "SPY", expiry, 560, "P");
  const price = Math.max(0.05, Math.round((q.bid / 2) * 100) / 100);
  return { action: "BUY" as const, contract: { symbol: "SPY", expiry, strike: 560, right: "P" as const }, quantity: 1, price };
}

describe("TWS connection", () => {
  it("reconnects after the simulator drops every socket: orders placed before are still known, nothing is sent twice", async () => {
    const rig = await rigFor();
    const { sim, edge, bridge } = rig;
    const leg = restingPut(sim);
    const placed = await edge.ok<{ order_id: number }>("place", placeParams("LONG_PUT_SPY_20261125_130000", [leg], leg.price * 100));
    const sessionsBefore = edge.events("tws_health").length;

    sim.fault.dropAll();
    // The reconnect is immediate; the tws_health events show the passage through `down`.
    await until(() => healthStates(rig).slice(sessionsBefore).join() === "down,connected", 5000, "down, then connected");
    expect(bridge.health().state).toBe("connected");

    expect(await edge.ok("order_status", { order_id: placed.order_id })).toMatchObject({ trade_id: "LONG_PUT_SPY_20261125_130000", status: "Submitted" });
    const open = await edge.ok<{ order_id: number; order_ref: string }[]>("open_orders");
    expect(open).toEqual([expect.objectContaining({ order_id: placed.order_id, order_ref: "LONG_PUT_SPY_20261125_130000" })]);
    // A new order after the reconnect gets a fresh id; the first one was never re-sent.
    const next = await edge.ok<{ order_id: number }>("place", placeParams("LONG_PUT_SPY_20261125_130001", [leg], leg.price * 100));
    expect(next.order_id).toBeGreaterThan(placed.order_id);
    expect(sim.orders().map((o) => o.orderRef)).toEqual(["LONG_PUT_SPY_20261125_130000", "LONG_PUT_SPY_20261125_130001"]);
    expect(sim.protocolWarnings()).toEqual([]);
  });

  it("refuses a place while TWS is down (tws_not_connected) and never sends it after the reconnect", async () => {
    const rig = await rigFor();
    const { sim, edge, bridge } = rig;
    const legs = spyIronCondor(sim);
    const worst = analyzeOrder(legs, { today: tradingDay(new Date(TEST_START_MS)), settlement: simSettlement(legs) }).worstCaseLoss as number;
    sim.fault.refuseConnections(true);
    sim.fault.dropAll();
    await until(() => bridge.health().state === "down", 3000, "health down");
    const refused = await edge.request("place", placeParams("IRON_CONDOR_SPY_20261125_140000", legs, worst));
    expect(refused.error?.code).toBe("tws_not_connected");
    expect(refused.error?.message).toContain("nothing was sent to TWS");
    const down = await edge.request("quote", { legs: [{ action: "BUY", contract: { symbol: "SPY", sec_type: "STK" }, quantity: 1 }] });
    expect(down.error?.code).toBe("tws_not_connected");

    sim.fault.refuseConnections(false);
    await until(() => bridge.health().state === "connected", 5000, "reconnected");
    await sleep(300);
    expect(sim.orders()).toEqual([]);
  });

  it("an order waiting behind a burst when TWS drops is refused, never sent on the next session", async () => {
    const rig = await rigFor();
    const { sim, bridge } = rig;
    const leg = restingPut(sim);
    const stock = [{ action: "BUY" as const, contract: { symbol: "SPY", sec_type: "STK" as const }, quantity: 1 }];
    // Both conIds cached: the quotes and then the place go straight into the pacer, in that order.
    await bridge.ops.quote({ legs: [leg] });
    await bridge.ops.quote({ legs: stock });
    // A burst of paced requests ahead of the order (open-order requests: quotes now wait at the
    // market-data line gate instead, outside the pacer).
    const burst = Array.from({ length: 120 }, () => bridge.ops.open_orders({} as never).catch((e: Error) => e));
    const place = bridge.ops.place(placeParams("LONG_PUT_SPY_20261125_170000", [leg], leg.price * 100) as never).catch((e: Error) => e);
    await sleep(100);
    expect(sim.orders()).toEqual([]);
    sim.fault.dropAll();
    const outcome = await place;
    expect(outcome).toMatchObject({ code: "tws_not_connected" });
    await Promise.all(burst);
    await until(() => bridge.health().state === "connected", 5000, "reconnected");
    await sleep(500);
    expect(sim.orders()).toEqual([]);
  });

  it("goes degraded on 1100 (orders refused) and back to connected on 1102", async () => {
    const rig = await rigFor();
    const { sim, edge, bridge } = rig;
    sim.fault.connectivityLost();
    await until(() => bridge.health().state === "degraded", 3000, "degraded");
    expect(bridge.health().last_error).toContain("1100");
    const leg = restingPut(sim);
    const refused = await edge.request("place", placeParams("LONG_PUT_SPY_20261125_150000", [leg], leg.price * 100));
    expect(refused.error?.code).toBe("tws_not_connected");
    expect(refused.error?.message).toContain("degraded");
    sim.fault.connectivityRestored(false);
    await until(() => bridge.health().state === "connected", 3000, "connected again");
    await until(() => healthStates(rig).slice(-2).join() === "degraded,connected", 3000, "tws_health events");
    expect(sim.orders()).toEqual([]);
  });

  it("after 1101 (data lost) subscribes again and keeps the account fresh", async () => {
    const rig = await rigFor({ BRIDGE_ACCOUNT_HEARTBEAT_MS: "200" });
    const { sim, edge, bridge } = rig;
    await until(() => bridge.mirror.accountIsLive, 3000, "live account data");
    sim.fault.connectivityLost();
    await until(() => !bridge.mirror.accountIsLive, 3000, "account not live while degraded");
    const heartbeatsWhileDegraded = edge.events("account").length;
    await sleep(500);
    expect(edge.events("account").length).toBe(heartbeatsWhileDegraded); // no fresh-looking data while degraded
    sim.fault.connectivityRestored(true);
    await until(() => bridge.mirror.accountIsLive, 3000, "live again after resubscribing");
    await until(() => edge.events("account").length > heartbeatsWhileDegraded + 1, 3000, "heartbeats again");
    const account = await edge.ok<{ as_of: string }>("account");
    // Stamped by the broker's clock (the simulator's, pinned), not this machine's.
    expect(Math.abs(Date.parse(sim.advanceClock(0).now) - Date.parse(account.as_of))).toBeLessThan(1000);
    expect(sim.protocolWarnings()).toEqual([]);
  });

  it("treats a TWS that stops answering heartbeats as dead and reconnects", async () => {
    const rig = await rigFor({ BRIDGE_TWS_HEARTBEAT_MS: "100", BRIDGE_TWS_HEARTBEAT_TIMEOUT_MS: "300" });
    const { sim, bridge } = rig;
    sim.fault.silent(true);
    await until(() => bridge.health().state === "down", 3000, "health down");
    expect(bridge.health().last_error).toContain("heartbeat");
    sim.fault.silent(false);
    await until(() => bridge.health().state === "connected", 8000, "reconnected");
  });

  it("reports 326 clearly when a second bridge uses the same clientId", async () => {
    const rig = await rigFor();
    const edge2 = await TestEdge.start();
    const config = { ...testConfig(rig.sim, edge2), clientId: rig.config.clientId };
    const second = startBridge(config, { logDestination: new LogCapture() });
    cleanups.push(async () => {
      await second.stop();
      await edge2.stop();
    });
    await until(() => second.health().last_error?.includes("326"), 5000, "326 in health");
    const health = second.health();
    expect(health.state).toBe("down");
    expect(health.last_error).toContain(`clientId ${rig.config.clientId}`);
    expect(health.last_error).toContain("already in use");
    expect(health.last_error).toContain("IBKR_CLIENT_ID");
    expect(rig.bridge.health().state).toBe("connected");
  });
});

describe("paper and live accounts", () => {
  async function fatalOf(account: string, env: Record<string, string>): Promise<{ error: Error; bridge: Bridge }> {
    const sim = await startPinnedSimulator({ port: 0, account });
    const edge = await TestEdge.start();
    const bridge = startBridge(testConfig(sim, edge, env), { logDestination: new LogCapture() });
    cleanups.push(async () => {
      await bridge.stop();
      await edge.stop();
      await sim.stop();
    });
    const error = await Promise.race([bridge.fatal, sleep(5000).then(() => new Error("no fatal"))]);
    return { error, bridge };
  }

  it("refuses to run a paper mode against a live account", async () => {
    const { error, bridge } = await fatalOf("U7654321", { IBKR_MODE: "paper_tws" });
    expect(error.message).toContain("U7654321, which is not a paper account");
    expect(bridge.health().state).toBe("down");
    expect(bridge.tws.account).toBeNull();
  });

  it("refuses to run a live mode against a paper account", async () => {
    const { error } = await fatalOf("DU1234567", { IBKR_MODE: "live_tws", IBKR_ALLOW_LIVE: "yes" });
    expect(error.message).toContain("live mode but TWS is logged in to paper account DU1234567");
  });
});
