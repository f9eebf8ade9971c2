// The edge's emergency stop, pushed over the link: the bridge refuses every opening order from the
// moment it arrives — including one it had already accepted and was still preparing, checked at
// the moment the order would leave — while a risk-reducing close still goes out; clearing it lets
// orders out again. And the bridge's TWS re-sync: a new TWS session and 1101/1102 each end with a
// `tws_resynced` event after the fills made meanwhile, so the edge can reconcile.
import { describe, expect, it } from "vitest";
import { cleanupAfterEach, isoExpiry, optionQuote, placeParams, rigStarter, sleep, spyIronCondor, until, risk } from "./helpers";

const cleanups = cleanupAfterEach();
const startRig = rigStarter(cleanups);
const TRADE = "IRON_CONDOR_SPY_20261125_130000";
const STOP = { type: "emergency_stop", on: true, reason: "operator stop", at: "2026-11-25T13:00:00.000Z", by: "admin" };
const CLEAR = { type: "emergency_stop", on: false, reason: "all clear", at: "2026-11-25T13:05:00.000Z", by: "admin" };

describe("the edge's emergency stop at the bridge", () => {
  it("refuses opening orders once pushed, still sends a reducing close, and sends again once cleared", async () => {
    const { sim, edge, bridge } = await startRig();
    const legs = spyIronCondor(sim);
    await edge.ok("place", placeParams(TRADE, legs, risk(legs)));
    await until(() => bridge.mirror.positions().length === 4, 5000, "the condor to fill and be mirrored");

    edge.push(STOP);
    const refused = await edge.request("place", placeParams("IRON_CONDOR_SPY_20261125_130001", spyIronCondor(sim), risk(legs)));
    expect(refused.error?.code).toBe("emergency_stop");
    expect(refused.error?.message).toContain("operator stop");
    expect(refused.error?.violations?.map((v) => v.check)).toEqual(["emergency_stop"]);
    expect(sim.orders()).toHaveLength(1);
    expect(edge.events<{ trade_id: string }>("refusal").map((r) => r.trade_id)).toContain("IRON_CONDOR_SPY_20261125_130001");

    const closed = await edge.ok<{ order_id: number }>("close", { trade_id: TRADE, close_trade_id: `${TRADE}_CLOSE`, legs, symbol: "SPY" });
    expect(closed.order_id).toBeGreaterThan(0);
    await until(() => sim.positions().length === 0, 5000, "the close to fill");

    edge.push(CLEAR);
    const again = await edge.ok<{ order_id: number }>("place", placeParams("IRON_CONDOR_SPY_20261125_130002", spyIronCondor(sim), risk(legs)));
    expect(again.order_id).toBeGreaterThan(closed.order_id);
  });

  it("holds back an opening order it accepted before the stop arrived (checked when the order leaves)", async () => {
    const { sim, edge } = await startRig();
    const legs = spyIronCondor(sim);
    // TWS slow to answer the contract lookup: the order is accepted and waits inside the bridge.
    sim.fault.silent(true);
    const pending = edge.request("place", placeParams(TRADE, legs, risk(legs)));
    await sleep(300);
    edge.push(STOP);
    await sleep(100);
    sim.fault.silent(false);
    const answer = await pending;
    expect(answer.error?.code).toBe("emergency_stop");
    expect(answer.error?.message).toMatch(/held back at the moment of sending/);
    await sleep(300);
    expect(sim.orders()).toEqual([]);
  });
});

describe("re-sync with TWS", () => {
  it("after a new TWS session, publishes the fills made while it was away, then tws_resynced", async () => {
    const { sim, edge, bridge } = await startRig({ BRIDGE_TWS_BACKOFF_MIN_MS: "50", BRIDGE_TWS_BACKOFF_MAX_MS: "100" });
    await until(() => edge.events("tws_resynced").length >= 1, 5000, "the first session's re-sync");
    // A long call bid at its mid rests; a lower SPY brings the ask down to it.
    const expiry = isoExpiry(sim.expiries()[1] as string);
    const q = optionQuote(sim, "SPY", expiry, 590, "C");
    const price = Math.round(((q.bid + q.ask) / 2) * 100) / 100;
    const leg = { action: "BUY" as const, contract: { symbol: "SPY", expiry, strike: 590, right: "C" as const }, quantity: 1, price };
    const placed = await edge.ok<{ order_id: number }>("place", placeParams("LONG_CALL_SPY_20261125_130000", [leg], price * 100));
    await until(() => sim.orders()[0]?.status === "Submitted", 5000, "the call to rest");

    await sim.fault.refuseConnections(true);
    sim.fault.dropAll();
    await until(() => bridge.tws.health.state === "down", 3000, "the drop to be noticed");
    sim.moveMarket("SPY", -2);
    await until(() => sim.orders()[0]?.status === "Filled", 5000, "the fill at TWS");
    const before = edge.stored.length;
    await sim.fault.refuseConnections(false);
    await until(() => edge.stored.slice(before).some((e) => e.event === "tws_resynced"), 8000, "tws_resynced after the reconnect");
    const after = edge.stored.slice(before);
    const resynced = after.findIndex((e) => e.event === "tws_resynced");
    const fills = after.map((e, i) => [e, i] as const).filter(([e]) => e.event === "execution" && (e.data as { order_id: number }).order_id === placed.order_id);
    expect(fills).toHaveLength(1);
    for (const [, i] of fills) expect(i).toBeLessThan(resynced);
    expect(after[resynced]!.data).toMatchObject({ reason: "session_started", code: null, open_orders: 0, executions: 1, completed_orders: 1 });
    // TWS sends no status for an order that ended while the bridge was away: the completed orders do.
    const filled = after.findIndex((e) => e.event === "order_status" && (e.data as { order_id: number; status: string }).order_id === placed.order_id && (e.data as { status: string }).status === "Filled");
    expect(filled).toBeGreaterThanOrEqual(0);
    expect(filled).toBeLessThan(resynced);
    expect(bridge.mirror.orders.get(placed.order_id)).toMatchObject({ status: "Filled", filled: 1, remaining: 0 });
  });

  it("an order cancelled at TWS while the bridge was away is reported Cancelled after the reconnect (completed orders)", async () => {
    const { sim, edge, bridge } = await startRig({ BRIDGE_TWS_BACKOFF_MIN_MS: "50", BRIDGE_TWS_BACKOFF_MAX_MS: "100" });
    const expiry = isoExpiry(sim.expiries()[1] as string);
    const q = optionQuote(sim, "SPY", expiry, 560, "P");
    const price = Math.max(0.05, Math.round((q.bid - 0.3) * 100) / 100);
    const leg = { action: "BUY" as const, contract: { symbol: "SPY", expiry, strike: 560, right: "P" as const }, quantity: 1, price };
    const placed = await edge.ok<{ order_id: number }>("place", placeParams("LONG_PUT_SPY_20261125_130100", [leg], price * 100));
    await until(() => bridge.mirror.orders.get(placed.order_id)?.status === "Submitted", 5000, "the put to rest");

    await sim.fault.refuseConnections(true);
    sim.fault.dropAll();
    await until(() => bridge.tws.health.state === "down", 3000, "the drop to be noticed");
    sim.server.engine.globalCancel(); // another client (or TWS itself) cancels it meanwhile
    expect(sim.orders()[0]?.status).toBe("Cancelled");
    const before = edge.stored.length;
    await sim.fault.refuseConnections(false);
    await until(() => edge.stored.slice(before).some((e) => e.event === "tws_resynced"), 8000, "tws_resynced after the reconnect");
    const statuses = edge.stored.slice(before).filter((e) => e.event === "order_status").map((e) => e.data as { order_id: number; order_ref: string; status: string });
    expect(statuses).toEqual([expect.objectContaining({ order_id: placed.order_id, order_ref: "LONG_PUT_SPY_20261125_130100", status: "Cancelled" })]);
    expect(sim.protocolWarnings()).toEqual([]);
  });

  it("on 1102 (IB connectivity restored) re-syncs on the same session", async () => {
    const { sim, edge } = await startRig();
    await until(() => edge.events("tws_resynced").length >= 1, 5000, "the first session's re-sync");
    sim.fault.connectivityLost();
    await sleep(200);
    sim.fault.connectivityRestored(false);
    await until(() => edge.events<{ reason: string }>("tws_resynced").some((e) => e.reason === "connectivity_restored"), 5000, "a re-sync after 1102");
    expect(edge.events<{ reason: string; code: number | null }>("tws_resynced").at(-1)).toMatchObject({ reason: "connectivity_restored", code: 1102 });
  });
});
