// The simulator's clock, started at the tests' pinned instant and advanced by them: a working DAY
// order ends at its session's close (16:00 New York by the exchange calendar) as TWS ends it — an
// ORDER_STATUS Cancelled nobody asked for, then listed among the completed orders with its
// completion time — and a restarted TWS holds none of the old orders and hands out order ids from 1
// again. All read with the real client (no 505). calendar.test.ts holds the calendar's hours.
import { type Contract, EventName, OrderAction, OrderType } from "@stoqey/ib";
import { afterEach, describe, expect, it } from "vitest";
import { type Client, collectUntil, connect, waitFor } from "../support/ib-client";
import { closeCleanly } from "../support/sim-teardown";
import { type Simulator } from "./index";
import { startPinnedSimulator } from "../support/pinned-sim";
import { sessionClose, twsTime } from "./orders";
import { cents } from "../support/cents";

let sim: Simulator | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await closeCleanly(clients, sim);
  sim = undefined;
});

async function positions(c: Client): Promise<Map<number, { pos: number; avgCost: number; secType: string }>> {
  const rows = collectUntil<[string, Contract, number, number]>(c.ib, EventName.position, EventName.positionEnd);
  c.ib.reqPositions();
  const got = await rows;
  c.ib.cancelPositions();
  return new Map(got.filter(([, , pos]) => pos !== 0).map(([, k, pos, avgCost]) => [k.conId as number, { pos, avgCost, secType: String(k.secType) }]));
}

type Completed = [Contract, { orderRef?: string; permId?: number }, { status?: string; completedStatus?: string; completedTime?: string }];

const simNow = () => Date.parse(sim!.advanceClock(0).now);

describe("session close", () => {
  it("is 16:00 New York on a trading day, or the next session's after the close, a weekend or a holiday", () => {
    // Tue 2026-12-01 10:00 ET (15:00 UTC) → 16:00 ET (21:00 UTC) that day.
    expect(new Date(sessionClose(Date.parse("2026-12-01T15:00:00Z"))).toISOString()).toBe("2026-12-01T21:00:00.000Z");
    // After the close → Wednesday's close.
    expect(new Date(sessionClose(Date.parse("2026-12-01T22:00:00Z"))).toISOString()).toBe("2026-12-02T21:00:00.000Z");
    // Friday evening → Monday's close; summer time (EDT) → 20:00 UTC.
    expect(new Date(sessionClose(Date.parse("2026-12-04T22:00:00Z"))).toISOString()).toBe("2026-12-07T21:00:00.000Z");
    expect(new Date(sessionClose(Date.parse("2026-07-01T14:00:00Z"))).toISOString()).toBe("2026-07-01T20:00:00.000Z");
    // Thanksgiving → the next day's 13:00 early close.
    expect(new Date(sessionClose(Date.parse("2026-11-26T15:00:00Z"))).toISOString()).toBe("2026-11-27T18:00:00.000Z");
  });

  it("ends a working DAY order when the clock passes it, and TWS lists it completed", async () => {
    sim = await startPinnedSimulator();
    const c = await connect(sim.port, 3);
    clients.push(c);
    const expiry = sim.expiries()[1] as string;
    const put = { conId: sim.optionConId("SPY", expiry, 550, "P") as number, exchange: "SMART" } as Contract;
    const id = c.nextValidId;
    const working = waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === id && status === "Submitted");
    c.ib.placeOrder(id, put, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 0.05, totalQuantity: 1, tif: "DAY", transmit: true, orderRef: "LONG_PUT_SPY_20261201_100000" } as never);
    await working;
    // A minute short of the close: still working.
    const placed = sim.orders()[0]!.createdAt;
    expect(sim.advanceClock(sessionClose(placed) - simNow() - 60_000).expired).toBe(0);
    expect(sim.orders()[0]!.status).toBe("Submitted");
    const ended = waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === id && status === "Cancelled");
    expect(sim.advanceClock(120_000).expired).toBe(1);
    await ended;
    const rows = collectUntil<Completed>(c.ib, EventName.completedOrder, EventName.completedOrdersEnd);
    c.ib.reqCompletedOrders(false);
    const got = await rows;
    expect(got).toHaveLength(1);
    const [, order, state] = got[0]!;
    expect(order.orderRef).toBe("LONG_PUT_SPY_20261201_100000");
    expect(state.status).toBe("Cancelled");
    expect(state.completedStatus).toBe("Cancelled by System");
    // Completed at the simulator's time: a minute past its session's close (the pinned Wednesday's 16:00).
    expect(state.completedTime?.slice(0, 14)).toBe(twsTime(sessionClose(placed) + 60_000).slice(0, 14));
    const open = collectUntil<unknown[]>(c.ib, EventName.openOrder, EventName.openOrderEnd);
    c.ib.reqOpenOrders();
    expect(await open).toEqual([]);
  });

  it("a restarted TWS holds none of the old orders and starts order ids at 1", async () => {
    sim = await startPinnedSimulator();
    const c = await connect(sim.port, 3);
    const expiry = sim.expiries()[1] as string;
    const put = { conId: sim.optionConId("SPY", expiry, 550, "P") as number, exchange: "SMART" } as Contract;
    const first = c.nextValidId;
    const working = waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === first && status === "Submitted");
    c.ib.placeOrder(first, put, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 0.05, totalQuantity: 1, transmit: true, orderRef: "A" });
    await working;
    c.ib.placeOrder(first + 4, put, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 0.05, totalQuantity: 1, transmit: true, orderRef: "B" });
    await waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === first + 4 && status === "Submitted");
    sim.fault.restartTws();
    c.ib.disconnect();
    const again = await connect(sim.port, 3);
    clients.push(again);
    expect(again.nextValidId).toBe(1);
    const open = collectUntil<unknown[]>(again.ib, EventName.openOrder, EventName.openOrderEnd);
    again.ib.reqOpenOrders();
    expect(await open).toEqual([]);
    const done = collectUntil<Completed>(again.ib, EventName.completedOrder, EventName.completedOrdersEnd);
    again.ib.reqCompletedOrders(false);
    expect(await done).toEqual([]);
    expect(sim.orders()).toEqual([]);
  });

  it("at an option's expiry: out of the money it lapses, $0.01 in the money it is assigned into stock at the strike, each reported as executions no order made", async () => {
    sim = await startPinnedSimulator();
    const c = await connect(sim.port, 3);
    // The master client (id 0) hears of executions no API order made, as they happen.
    const master = await connect(sim.port, 0);
    clients.push(c, master);
    const heard: [Contract, { execId?: string; orderId?: number; permId?: number; orderRef?: string; side?: string; shares?: number; price?: number }][] = [];
    const heardBy3: string[] = [];
    master.ib.on(EventName.execDetails, (reqId: number, k: Contract, e: { execId?: string }) => reqId === -1 && heard.push([k, e]));
    c.ib.on(EventName.execDetails, (reqId: number, _k: Contract, e: { execId?: string }) => reqId === -1 && heardBy3.push(e.execId!));
    const commissions: { execId?: string; commission?: number }[] = [];
    master.ib.on(EventName.commissionReport, (r: { execId?: string; commission?: number }) => commissions.push(r));
    const expiry = sim.expiries()[0] as string;
    const price = sim.getPrice("SPY");
    const strikes = sim.strikes("SPY");
    const below = strikes.filter((k) => k < price - 5).at(-1)!;
    const above = strikes.filter((k) => k > price + 5)[0]!;
    // Short a put below the price and a call above it (market orders fill at once).
    const sell = async (strike: number, right: "C" | "P", id: number) => {
      const filled = waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === id && status === "Filled");
      c.ib.placeOrder(id, { conId: sim!.optionConId("SPY", expiry, strike, right) as number, exchange: "SMART" } as Contract, { action: OrderAction.SELL, orderType: OrderType.MKT, totalQuantity: 2, transmit: true, orderRef: `SHORT_${right}` });
      await filled;
    };
    await sell(below, "P", c.nextValidId);
    await sell(above, "C", c.nextValidId + 1);
    const executions = sim.executions().length;
    heardBy3.length = 0;
    const cashBefore = sim.accountState().cash;
    // At expiry the price sits exactly one cent inside the call's strike: the call is assigned, the put lapses.
    sim.setPrice("SPY", above + 0.01);
    const [y, m, d] = [Number(expiry.slice(0, 4)), Number(expiry.slice(4, 6)), Number(expiry.slice(6, 8))];
    const close = sessionClose(Date.UTC(y, m - 1, d, 15));
    const clock = sim.advanceClock(0);
    expect(sim.advanceClock(close - 120_000 - Date.parse(clock.now)).settled).toEqual([]);
    const { settled } = sim.advanceClock(180_000);
    expect(settled.map((x) => [x.outcome, x.quantity, x.stockShares ?? 0, x.execIds.length]).sort()).toEqual([["assigned", -2, -200, 2], ["lapsed", -2, 0, 1]]);
    const held = await positions(c);
    const stockConId = sim.positions().find((p) => p.secType === "STK")!.conId;
    expect([...held.keys()]).toEqual([stockConId]);
    expect(held.get(stockConId)).toMatchObject({ pos: -200, avgCost: above, secType: "STK" });
    // Short 200 shares delivered at the strike: the cash comes in.
    expect(cents(sim.accountState().cash)).toBe(cents(cashBefore + 200 * above));

    // Three executions: both options leave at no price (bought back), the stock is sold at the strike;
    // no order made them (order id 0, permId 0, no orderRef) and they cost no commission.
    expect(sim.executions()).toHaveLength(executions + 3);
    for (let i = 0; i < 100 && commissions.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    const rows = (list: typeof heard) => list.map(([k, e]) => [k.secType, k.strike ?? 0, k.right ?? "", e.side, e.shares, e.price, e.orderId, e.permId, e.orderRef ?? ""]).sort();
    const expected = [
      ["OPT", above, "C", "BOT", 2, 0, 0, 0, ""],
      ["OPT", below, "P", "BOT", 2, 0, 0, 0, ""],
      ["STK", 0, "", "SLD", 200, above, 0, 0, ""],
    ].sort();
    expect(rows(heard)).toEqual(expected);
    expect(commissions.map((r) => r.commission)).toEqual([0, 0, 0]);
    // A client that did not place them hears nothing unasked, but reqExecutions lists them.
    expect(heardBy3).toEqual([]);
    const listed = collectUntil<[number, Contract, { execId?: string; orderId?: number; permId?: number; orderRef?: string; side?: string; shares?: number; price?: number }]>(c.ib, EventName.execDetails, EventName.execDetailsEnd);
    c.ib.reqExecutions(77, {});
    const all = (await listed).filter(([, , e]) => e.orderId === 0);
    expect(rows(all.map(([, k, e]) => [k, e]))).toEqual(expected);
  });

  it("at the trading day's end (the close) the daily P&L starts again; positions and realized P&L stay", async () => {
    sim = await startPinnedSimulator();
    const c = await connect(sim.port, 3);
    clients.push(c);
    const id = c.nextValidId;
    const filled = waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === id && status === "Filled");
    c.ib.placeOrder(id, { conId: sim.server.market.stockContract("SPY")!.conId, exchange: "SMART" } as Contract, { action: OrderAction.BUY, orderType: OrderType.MKT, totalQuantity: 100, transmit: true, orderRef: "STOCK" });
    await filled;
    sim.moveMarket("SPY", -3);
    const before = sim.accountState();
    expect(before.dailyPnL).toBeLessThan(-100);
    // To the session's close (plus a minute), in one step.
    sim.advanceClock(sessionClose(simNow()) + 60_000 - simNow());
    const after = sim.accountState();
    expect(after.dailyPnL).toBe(0);
    expect(after.netLiquidation).toBe(before.netLiquidation);
    expect(after.realizedPnL).toBe(before.realizedPnL);
    expect(sim.positions().map((p) => p.position)).toEqual([100]);
  });
});
