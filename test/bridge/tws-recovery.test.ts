// The bridge heals from TWS misbehaving without a restart: a silent TWS leaves no orphan sockets
// behind (the simulator counts its open client sockets), so when TWS answers again no stale
// handshake grabs the client id and the bridge is back and trading within seconds; a 326 ("client
// id already in use") is retried with backoff until the id is free. Real @stoqey/ib over TCP.
import { describe, expect, it } from "vitest";
import { startBridge } from "../../bridge/daemon";
import { connect } from "../support/ib-client";
import { startPinnedSimulator } from "../support/pinned-sim";
import { cleanupAfterEach, LogCapture, placeParams, rigStarter, sleep, spyIronCondor, TestEdge, testConfig, until, risk } from "./helpers";

const cleanups = cleanupAfterEach();
const startRig = rigStarter(cleanups);
const FAST = {
  BRIDGE_TWS_HEARTBEAT_MS: "200",
  BRIDGE_TWS_HEARTBEAT_TIMEOUT_MS: "300",
  BRIDGE_TWS_CONNECT_TIMEOUT_MS: "400",
  BRIDGE_TWS_BACKOFF_MIN_MS: "50",
  BRIDGE_TWS_BACKOFF_MAX_MS: "200",
  // Every failed attempt logged (the default tells a repeating one once a minute): the test counts them.
  BRIDGE_LOG_REPEAT_MS: "10",
};
const failedAttempts = (logs: LogCapture) => logs.lines.filter((l) => l.includes("TWS connect failed")).length;


describe("TWS silence", () => {
  it("keeps at most one socket open against a silent TWS, and is trading again within seconds of TWS answering", async () => {
    const rig = await startRig(FAST);
    const { sim, bridge, edge, logs } = rig;
    expect(sim.connections()).toBe(1);

    sim.fault.silent(true);
    await until(() => bridge.tws.health.state === "down", 3_000, "the heartbeat to notice the silence");
    // Several connect attempts time out against the silent TWS; sample the open sockets meanwhile.
    let most = 0;
    const started = Date.now();
    while (Date.now() - started < 4_000 || failedAttempts(logs) < 4) {
      most = Math.max(most, sim.connections());
      await sleep(25);
      if (Date.now() - started > 15_000) break;
    }
    expect(failedAttempts(logs)).toBeGreaterThanOrEqual(4);
    // One attempt's socket at a time (two for the instant the simulator has not yet seen a close).
    expect(most).toBeLessThanOrEqual(2);

    sim.fault.silent(false);
    const woke = Date.now();
    await until(() => bridge.tws.tradable, 5_000, "the bridge to be back on TWS");
    expect(Date.now() - woke).toBeLessThan(5_000);
    await until(() => sim.connections() === 1, 2_000, "exactly one socket at the simulator");
    expect(logs.lines.filter((l) => /error 326|TWS 326/.test(l))).toEqual([]);

    // Trading: an order reaches TWS and fills.
    const legs = spyIronCondor(sim);
    const placed = await edge.ok<{ order_id: number }>("place", placeParams("IRON_CONDOR_SPY_20261125_110000", legs, risk(legs)));
    await until(() => sim.orders().find((o) => o.orderId === placed.order_id)?.status === "Filled", 5_000, "the order to fill");
    await sleep(300);
    expect(sim.connections()).toBe(1);
    expect(sim.protocolWarnings()).toEqual([]);
  });

  it("after a refused reconnect and a dropped socket, comes back with one socket", async () => {
    const rig = await startRig(FAST);
    const { sim, bridge } = rig;
    await sim.fault.refuseConnections(true);
    sim.fault.dropAll();
    await until(() => bridge.tws.health.state === "down", 3_000, "the drop to be noticed");
    await sleep(1_000);
    expect(sim.connections()).toBe(0);
    await sim.fault.refuseConnections(false);
    await until(() => bridge.tws.tradable, 5_000, "the bridge to be back on TWS");
    await sleep(500);
    expect(sim.connections()).toBe(1);
  });
});

describe("client id already in use (326)", () => {
  it("retries with backoff while another client holds the id and connects once it is free, without a restart", async () => {
    const sim = await startPinnedSimulator({ port: 0 });
    cleanups.push(() => sim.stop());
    const edge = await TestEdge.start();
    cleanups.push(() => edge.stop());
    const config = testConfig(sim, edge, FAST);
    const squatter = await connect(sim.port, config.clientId);
    const logs = new LogCapture();
    const bridge = startBridge(config, { logDestination: logs });
    cleanups.push(() => bridge.stop());

    await until(() => logs.lines.filter((l) => /error 326|TWS 326/.test(l)).length >= 2, 5_000, "two attempts refused with 326");
    expect(bridge.tws.tradable).toBe(false);
    // The refused attempts leave nothing open: only the other client's socket (and at most one attempt).
    await sleep(300);
    expect(sim.connections()).toBeLessThanOrEqual(2);

    squatter.close();
    await until(() => bridge.tws.tradable, 5_000, "the bridge to take the freed id");
    await sleep(300);
    expect(sim.connections()).toBe(1);
  });
});
