// Connect/handshake against the simulator with the real @stoqey/ib client (IBApi and
// IBApiNext) at server versions 193 and 176; startup notices, reqIds, reqCurrentTime, and
// error 326 for a clientId already in use.

import { ConnectionState, EventName, IBApiNext } from "@stoqey/ib";
import { afterEach, describe, expect, it } from "vitest";
import { type Simulator } from "./index";
import { startPinnedSimulator, TEST_START_MS } from "../support/pinned-sim";
import { type Client, type Notice, connect, recordNotices, until, waitFor } from "../support/ib-client";
import { closeCleanly } from "../support/sim-teardown";

let sim: Simulator | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await closeCleanly(clients, sim);
  sim = undefined;
});

describe.each([193, 176])("handshake at server version %i", (serverVersion) => {
  it("answers the version range with its version, then accounts, next id and farm notices", async () => {
    sim = await startPinnedSimulator({ serverVersion, account: "DU7654321" });
    const c = await connect(sim.port, 3);
    clients.push(c);
    expect(c.serverVersion).toBe(serverVersion);
    expect(c.accounts).toBe("DU7654321");
    expect(c.nextValidId).toBe(1);
    await until(() => c.notices.filter((n) => n.kind === "info").length >= 4, 2000, "farm notices");
    expect(c.notices.map((n) => `${n.kind}:${n.code}`)).toEqual(["info:2104", "info:2104", "info:2106", "info:2158"]);
    expect(sim.connections()).toBe(1);

    // TWS's clock: the simulator's, started at the pinned instant a moment ago.
    const t0 = Date.parse(sim.advanceClock(0).now) / 1000;
    const now = waitFor<[number]>(c.ib, EventName.currentTime);
    c.ib.reqCurrentTime();
    const [t] = await now;
    expect(Math.abs(t - t0)).toBeLessThanOrEqual(2);
    expect(Math.abs(t * 1000 - TEST_START_MS)).toBeLessThan(10_000);

    const ids = waitFor<[number]>(c.ib, EventName.nextValidId);
    c.ib.reqIds();
    expect((await ids)[0]).toBe(1);
  });

  it("works with IBApiNext: connection state, current time, managed accounts", async () => {
    sim = await startPinnedSimulator({ serverVersion });
    const api = new IBApiNext({ host: "127.0.0.1", port: sim.port, reconnectInterval: 0 });
    const notices: Notice[] = [];
    recordNotices((api as unknown as { api: Parameters<typeof recordNotices>[0] }).api, notices);
    const states: ConnectionState[] = [];
    const sub = api.connectionState.subscribe((s) => states.push(s));
    api.connect(9);
    try {
      await until(() => states.includes(ConnectionState.Connected), 3000, "Connected");
      const accounts = await api.getManagedAccounts();
      expect(accounts).toEqual(["DU1234567"]);
      const t = await api.getCurrentTime();
      expect(Math.abs(t - Date.parse(sim.advanceClock(0).now) / 1000)).toBeLessThan(3);
      expect(notices.map((n) => n.code)).not.toContain(505);
    } finally {
      sub.unsubscribe();
      api.disconnect();
    }
  });
});

describe("clientId in use", () => {
  it("sends 326 as an info notice and closes the second socket; the first stays connected", async () => {
    sim = await startPinnedSimulator();
    const first = await connect(sim.port, 7);
    clients.push(first);
    const second = await import("@stoqey/ib").then(({ IBApi }) => new IBApi({ host: "127.0.0.1", port: sim!.port, clientId: 7 }));
    const notices: Notice[] = [];
    recordNotices(second, notices);
    const disconnected = waitFor(second, EventName.disconnected, () => true, 3000);
    second.connect();
    await disconnected;
    expect(notices.find((n) => n.code === 326)?.kind).toBe("info");
    expect(notices.map((n) => n.code)).not.toContain(505);
    expect(first.ib.isConnected).toBe(true);
    await until(() => sim!.connections() === 1, 2000, "one connection left");
    // the freed-up id becomes usable once the first client leaves
    first.close();
    await until(() => sim!.connections() === 0, 2000, "no connections");
    const third = await connect(sim.port, 7);
    clients.push(third);
    expect(third.nextValidId).toBeGreaterThan(0);
  });
});
