// Faults on command, each observed through the real client the way TWS makes it observable:
// dropped sockets, refused connects, silence, 1100/1102 connectivity notices, delayed fills,
// and the pacing counter.

import { ConnectionState, EventName, IBApi, IBApiNext, OrderAction, OrderType, SecType } from "@stoqey/ib";
import { afterEach, describe, expect, it } from "vitest";
import { type Simulator } from "./index";
import { startPinnedSimulator } from "../support/pinned-sim";
import { type Client, on, type Notice, connect, recordNotices, sleep, until, waitFor } from "../support/ib-client";
import { closeCleanly } from "../support/sim-teardown";

let sim: Simulator | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await closeCleanly(clients, sim);
  sim = undefined;
});

const spy = { symbol: "SPY", secType: SecType.STK, exchange: "SMART", currency: "USD" };

describe("faults", () => {
  it("dropAll: IBApi sees disconnected, IBApiNext's state goes Disconnected", async () => {
    sim = await startPinnedSimulator();
    const c = await connect(sim.port, 1);
    clients.push(c);
    const next = new IBApiNext({ host: "127.0.0.1", port: sim.port, reconnectInterval: 0 });
    const states: ConnectionState[] = [];
    const sub = next.connectionState.subscribe((s) => states.push(s));
    next.connect(2);
    await until(() => states.includes(ConnectionState.Connected), 3000, "next connected");
    await until(() => sim!.connections() === 2, 2000, "two sessions");
    const gone = waitFor(c.ib, EventName.disconnected);
    sim.fault.dropAll();
    await gone;
    await until(() => states[states.length - 1] === ConnectionState.Disconnected, 2000, "next disconnected");
    expect(c.ib.isConnected).toBe(false);
    expect(sim.connections()).toBe(0);
    sub.unsubscribe();
    next.disconnect();
  });

  it("refuseConnections: new connects fail with ECONNREFUSED (502), open sessions stay, then it accepts again", async () => {
    sim = await startPinnedSimulator();
    const c = await connect(sim.port, 1);
    clients.push(c);
    await sim.fault.refuseConnections(true);
    const ib = new IBApi({ host: "127.0.0.1", port: sim.port, clientId: 2 });
    const notices: Notice[] = [];
    recordNotices(ib, notices);
    const failed = waitFor<[Error, number]>(ib, EventName.error, (_e, code) => code === 502);
    ib.connect();
    const [err] = await failed;
    expect(err.message).toMatch(/ECONNREFUSED/);
    ib.disconnect();
    const t = waitFor(c.ib, EventName.currentTime);
    c.ib.reqCurrentTime();
    await t;
    await sim.fault.refuseConnections(false);
    const again = await connect(sim.port, 2);
    clients.push(again);
    expect(again.nextValidId).toBeGreaterThan(0);
  });

  it("silent: the socket stays open but nothing answers; answers flow when it ends", async () => {
    sim = await startPinnedSimulator();
    const c = await connect(sim.port, 1);
    clients.push(c);
    sim.fault.silent(true);
    let answered = false;
    const t = waitFor(c.ib, EventName.currentTime, () => true, 3000).then(() => {
      answered = true;
    });
    c.ib.reqCurrentTime();
    await sleep(300);
    expect(answered).toBe(false);
    expect(c.ib.isConnected).toBe(true);
    expect(sim.pacing().total).toBe(2); // START_API and the request did arrive
    sim.fault.silent(false);
    await t;
    expect(answered).toBe(true);
  });

  it("connectivity lost/restored: 1100 then 1102 as info notices; no fills while lost", async () => {
    sim = await startPinnedSimulator();
    const c = await connect(sim.port, 1);
    clients.push(c);
    const lost = waitFor(c.ib, EventName.info, (_m: string, code: number) => code === 1100);
    sim.fault.connectivityLost();
    await lost;
    const orderId = c.nextValidId;
    const submitted = waitFor(c.ib, EventName.orderStatus, (id: number, s: string) => id === orderId && s === "Submitted");
    c.ib.placeOrder(orderId, spy, { action: OrderAction.BUY, orderType: OrderType.MKT, totalQuantity: 10, transmit: true });
    await submitted;
    await sleep(100);
    expect(sim.orders()[0]?.status).toBe("Submitted");
    const restored = waitFor<[string, number]>(c.ib, EventName.info, (_m, code) => code === 1102);
    const filled = waitFor(c.ib, EventName.orderStatus, (id: number, s: string) => id === orderId && s === "Filled");
    sim.fault.connectivityRestored();
    expect((await restored)[0]).toMatch(/restored - data maintained/);
    await filled;
    expect(c.notices.filter((n) => n.code === 1100 || n.code === 1102).every((n) => n.kind === "info")).toBe(true);
  });

  it("delayFills: a marketable order fills only after the delay", async () => {
    sim = await startPinnedSimulator();
    const c = await connect(sim.port, 1);
    clients.push(c);
    sim.fault.delayFills(200);
    const orderId = c.nextValidId;
    const t0 = Date.now();
    const filled = waitFor(c.ib, EventName.orderStatus, (id: number, s: string) => id === orderId && s === "Filled");
    c.ib.placeOrder(orderId, spy, { action: OrderAction.SELL, orderType: OrderType.LMT, lmtPrice: 579.5, totalQuantity: 5, transmit: true });
    await filled;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(sim.executions()[0]?.price).toBe(579.5);
    expect(sim.positions()[0]?.position).toBe(-5);
  });

  it("fillAfterCancel: the next cancel is reported Cancelled, then the order fills anyway (a fill that raced it)", async () => {
    sim = await startPinnedSimulator();
    const c = await connect(sim.port, 1);
    clients.push(c);
    const orderId = c.nextValidId;
    const statuses: string[] = [];
    c.ib.on(EventName.orderStatus, (id: number, s: string) => {
      if (id === orderId) statuses.push(s);
    });
    // Far from the market: it rests.
    c.ib.placeOrder(orderId, spy, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 500, totalQuantity: 3, transmit: true });
    await until(() => statuses.includes("Submitted"), 2000, "resting");
    sim.fault.fillAfterCancel();
    c.ib.cancelOrder(orderId);
    await until(() => statuses.includes("Filled"), 2000, "the raced fill");
    expect(statuses.slice(statuses.indexOf("Cancelled"))).toEqual(["Cancelled", "Filled"]);
    expect(sim.executions().map((e) => [e.orderId, e.shares, e.price])).toEqual([[orderId, 3, 500]]);
    expect(sim.positions()[0]?.position).toBe(3);
    expect(c.notices.map((n) => n.code)).not.toContain(505);
  });

  it("pacing: counts messages per second per client (the client's own limiter keeps it under 50/s)", async () => {
    sim = await startPinnedSimulator();
    const fast = await connect(sim.port, 1); // maxReqPerSec 1000 in the helper
    clients.push(fast);
    const done = until(() => (sim!.pacing().perClient["1"]?.total ?? 0) >= 60, 3000, "burst received");
    for (let i = 0; i < 60; i++) fast.ib.reqCurrentTime();
    await done;
    expect(sim.pacing().perClient["1"]?.maxPerSecond).toBeGreaterThanOrEqual(60);
    expect(sim.pacing().maxPerSecond).toBeGreaterThanOrEqual(60);

    const slow = new IBApi({ host: "127.0.0.1", port: sim.port, clientId: 2 }); // default limiter: 40/s
    const notices: Notice[] = [];
    recordNotices(slow, notices);
    const ready = waitFor(slow, EventName.nextValidId);
    slow.connect();
    await ready;
    for (let i = 0; i < 60; i++) slow.reqCurrentTime();
    await until(() => (sim!.pacing().perClient["2"]?.total ?? 0) >= 60, 4000, "slow burst received");
    expect(sim.pacing().perClient["2"]?.maxPerSecond).toBeLessThanOrEqual(50);
    expect(notices.map((n) => n.code)).not.toContain(505);
    slow.disconnect();
  });
});
