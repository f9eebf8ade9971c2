// The edge's side of TWS outages healing (issue 18): the emergency stop is pushed to the bridge the
// moment it is set or cleared and right after every welcome; a `tws_resynced` event makes the edge
// reconcile as on a link reconnect; and an order left Unknown by a timed-out send is reconciled on
// the next alarm tick instead of waiting for a link reconnect that may never come.
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { condorOrder, Edge, FakeBridge, ironCondor, waitFor } from "./harness";

const reconciledCount = async (edge: Edge) => (await edge.audit("reconciled")).length;
const stopFrames = (bridge: FakeBridge) => bridge.frames.filter((f) => f.type === "emergency_stop");

describe("the emergency stop reaches the bridge", () => {
  it("right after the welcome when set while no bridge was connected, and at once when set or cleared", async () => {
    const edge = new Edge();
    const set = await edge.admin("/api/emergency-stop", { on: true, reason: "market halt", by: "ops" });
    expect(set.status).toBe(200);
    expect(JSON.parse((await edge.audit("emergency_stop_set"))[0]!.details_json).pushed_to_bridge).toBe(false);

    const bridge = await FakeBridge.connect(edge);
    await waitFor(async () => stopFrames(bridge).length === 1, "the stop after the welcome");
    // The edge speaks first with the identity challenge; then welcome, then the stop.
    const afterChallenge = bridge.frames.filter((f) => f.type !== "challenge");
    expect(afterChallenge[0]).toMatchObject({ type: "welcome" });
    expect(afterChallenge[1]).toMatchObject({ v: 1, type: "emergency_stop", on: true, reason: "market halt", by: "ops" });

    const cleared = await edge.admin("/api/emergency-stop", { on: false, reason: "resumed", by: "ops" });
    expect(cleared.status).toBe(200);
    await waitFor(async () => stopFrames(bridge).length === 2, "the cleared stop");
    expect(stopFrames(bridge)[1]).toMatchObject({ on: false, reason: "resumed", by: "ops" });
    expect(JSON.parse((await edge.audit("emergency_stop_cleared"))[0]!.details_json).pushed_to_bridge).toBe(true);
  });
});

describe("reconciliation after TWS comes back", () => {
  it("a tws_resynced event reconciles: an order whose fills cover its legs while TWS listed it no more is Filled", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await waitFor(async () => (await reconciledCount(edge)) === 1, "the link's reconciliation");
    const placed = (await edge.call("place_order", condorOrder({}, 100))).structuredContent;
    expect(placed.status).toBe("Submitted");
    // Fills that TWS made while the bridge's socket was down arrive after the reconnect, with no status.
    bridge.handlers.executions = () => [];
    for (const [i, leg] of ironCondor("AAPL", 100).entries())
      await bridge.execution(placed.trade_id, placed.order_id, leg, leg.action === "BUY" ? "BOT" : "SLD", [1.0, 0.5, 1.0, 0.5][i]!, `exec-${i}`);
    await bridge.event("tws_resynced", { reason: "session_started", code: null, open_orders: 0, executions: 4, completed_orders: 1 });
    await waitFor(async () => (await reconciledCount(edge)) >= 2, "a reconciliation after tws_resynced");
    const trade = (await edge.call("list_trades", {})).structuredContent.trades.find((t: { trade_id: string }) => t.trade_id === placed.trade_id);
    expect(trade.state).toBe("open");
    expect(trade.orders[0]).toMatchObject({ status: "Filled", order_id: placed.order_id });
    expect((await edge.audit("tws_resynced")).length).toBe(1);
  });

  it("an order left Unknown because the bridge answered timeout first is reconciled on the next alarm tick", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await waitFor(async () => (await reconciledCount(edge)) === 1, "the link's reconciliation");
    bridge.handlers.place = () => ({ error: { code: "timeout", message: "TWS did not acknowledge order 7 within 8000 ms" } });
    const placed = (await edge.call("place_order", condorOrder({}, 100))).structuredContent;
    expect(placed.status).toBe("Unknown");
    await runDurableObjectAlarm(edge.stub());
    await waitFor(async () => (await reconciledCount(edge)) === 2, "a reconciliation on the alarm");
    const trade = (await edge.call("list_trades", {})).structuredContent.trades.find((t: { trade_id: string }) => t.trade_id === placed.trade_id);
    expect(trade.state).toBe("cancelled");
    expect((await edge.audit("order_not_found")).map((r) => JSON.parse(r.details_json).trade_id)).toEqual([placed.trade_id]);
    // Nothing left to settle: later ticks do not reconcile again.
    await runDurableObjectAlarm(edge.stub());
    await new Promise((r) => setTimeout(r, 200));
    expect(await reconciledCount(edge)).toBe(2);
  });

  it("an order no reconciliation can settle is re-checked at doubling intervals, not on every tick", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await waitFor(async () => (await reconciledCount(edge)) === 1, "the link's reconciliation");
    bridge.handlers.place = () => ({ error: { code: "timeout", message: "TWS did not acknowledge order 7 within 8000 ms" } });
    bridge.handlers.open_orders = () => ({ error: { code: "tws_error", message: "TWS error 504: not connected" } });
    expect((await edge.call("place_order", condorOrder({}, 100))).structuredContent.status).toBe("Unknown");
    const failures = async () => (await edge.audit("reconcile_failed")).length;
    await runDurableObjectAlarm(edge.stub());
    await waitFor(async () => (await failures()) === 1, "the first re-check");
    for (let i = 0; i < 3; i++) await runDurableObjectAlarm(edge.stub());
    await new Promise((r) => setTimeout(r, 200));
    expect(await failures()).toBe(1);
  });
});
