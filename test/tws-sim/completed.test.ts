// reqCompletedOrders with the real client: the account's finished orders (a filled iron condor and
// a cancelled single option) as COMPLETED_ORDER messages read to their last field (no 505), then
// COMPLETED_ORDERS_END; working orders are not among them. Modelled from server version 177 on.
import { type Contract, EventName, OrderAction, OrderType, SecType } from "@stoqey/ib";
import { afterEach, describe, expect, it } from "vitest";
import { type Client, collectUntil, connect, waitFor } from "../support/ib-client";
import { closeCleanly } from "../support/sim-teardown";
import { type Simulator } from "./index";
import { startPinnedSimulator } from "../support/pinned-sim";

let sim: Simulator | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await closeCleanly(clients, sim);
  sim = undefined;
});

type Completed = [Contract, { orderRef?: string; permId?: number; filledQuantity?: number; totalQuantity?: number; lmtPrice?: number; action?: string }, { status?: string; completedStatus?: string; completedTime?: string }];

describe.each([193, 177])("completed orders at server version %i", (serverVersion) => {
  it("lists the filled and the cancelled order, not the working one", async () => {
    sim = await startPinnedSimulator({ serverVersion });
    const c = await connect(sim.port, 3);
    clients.push(c);
    const expiry = sim.expiries()[1] as string;
    const legs = ([[560, "P", "BUY"], [570, "P", "SELL"], [590, "C", "SELL"], [600, "C", "BUY"]] as const).map(([k, r, action]) => ({ conId: sim!.optionConId("SPY", expiry, k, r) as number, ratio: 1, action, exchange: "SMART" }));
    const bag = { symbol: "SPY", secType: SecType.BAG, exchange: "SMART", currency: "USD", comboLegs: legs } as unknown as Contract;
    const put = { conId: sim.optionConId("SPY", expiry, 550, "P") as number, exchange: "SMART" } as Contract;

    let id = c.nextValidId;
    const condorId = id++;
    const filled = waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === condorId && status === "Filled");
    c.ib.placeOrder(condorId, bag, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 5, totalQuantity: 1, transmit: true, orderRef: "IRON_CONDOR_SPY_20261125_100000" });
    await filled;
    const cancelId = id++;
    const cancelled = waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === cancelId && status === "Cancelled");
    c.ib.placeOrder(cancelId, put, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 0.05, totalQuantity: 1, transmit: true, orderRef: "LONG_PUT_SPY_20261125_100001" });
    c.ib.cancelOrder(cancelId);
    await cancelled;
    const workingId = id++;
    const working = waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === workingId && status === "Submitted");
    c.ib.placeOrder(workingId, put, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 0.05, totalQuantity: 1, transmit: true, orderRef: "LONG_PUT_SPY_20261125_100002" });
    await working;

    const rows = collectUntil<Completed>(c.ib, EventName.completedOrder, EventName.completedOrdersEnd);
    c.ib.reqCompletedOrders(false);
    const got = await rows;
    const byRef = new Map(got.map(([contract, order, state]) => [order.orderRef, { contract, order, state }]));
    expect([...byRef.keys()].sort()).toEqual(["IRON_CONDOR_SPY_20261125_100000", "LONG_PUT_SPY_20261125_100001"]);
    const condor = byRef.get("IRON_CONDOR_SPY_20261125_100000")!;
    expect(condor.state.status).toBe("Filled");
    expect(condor.order).toMatchObject({ action: "BUY", totalQuantity: 1, filledQuantity: 1, lmtPrice: 5 });
    expect(condor.contract.secType).toBe("BAG");
    expect(condor.contract.comboLegs?.map((l) => l.conId)).toEqual(legs.map((l) => l.conId));
    expect(condor.order.permId).toBe(sim.orders().find((o) => o.orderId === condorId)?.permId);
    const put550 = byRef.get("LONG_PUT_SPY_20261125_100001")!;
    expect(put550.state.status).toBe("Cancelled");
    expect(put550.order.filledQuantity).toBe(0);
    expect(put550.state.completedTime).toMatch(/^\d{8} \d{2}:\d{2}:\d{2}/);
  });
});

it("below server version 177 answers the end only", async () => {
  sim = await startPinnedSimulator({ serverVersion: 176 });
  const c = await connect(sim.port, 3);
  clients.push(c);
  const rows = collectUntil<Completed>(c.ib, EventName.completedOrder, EventName.completedOrdersEnd);
  c.ib.reqCompletedOrders(true);
  expect(await rows).toEqual([]);
});
