// Orders over the wire with the real client: an iron condor as one BAG order (four executions,
// commissions, positions, account and P&L changing), whatIf margins, a resting order filled by a
// market move, a resting order cancelled, partial fills, and TWS's rejections 110/200/201/10147.

import { type Contract, EventName, OrderAction, OrderType, SecType } from "@stoqey/ib";
import { afterEach, describe, expect, it } from "vitest";
import { type Simulator } from "./index";
import { startPinnedSimulator } from "../support/pinned-sim";
import { type Client, on, collectUntil, connect, until, waitFor } from "../support/ib-client";
import { closeCleanly } from "../support/sim-teardown";
import { cents } from "../support/cents";

let sim: Simulator | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await closeCleanly(clients, sim);
  sim = undefined;
});

async function setup(serverVersion: number, fillDelayMs = 0): Promise<{ sim: Simulator; c: Client }> {
  sim = await startPinnedSimulator({ serverVersion, fillDelayMs });
  const c = await connect(sim.port, 1);
  clients.push(c);
  return { sim, c };
}

type Exec = { orderId: number; execId: string; side: string; shares: number; price: number; orderRef: string };
type Comm = { execId: string; commission: number; realizedPNL?: number };

function condor(sim: Simulator): { bag: Contract; legs: { conId: number; action: "BUY" | "SELL" }[] } {
  const expiry = sim.expiries()[1] as string;
  const spec = [[560, "P", "BUY"], [570, "P", "SELL"], [590, "C", "SELL"], [600, "C", "BUY"]] as const;
  const legs = spec.map(([k, r, action]) => ({ conId: sim.optionConId("SPY", expiry, k, r) as number, action }));
  return {
    legs,
    bag: { symbol: "SPY", secType: SecType.BAG, exchange: "SMART", currency: "USD", comboLegs: legs.map((l) => ({ conId: l.conId, ratio: 1, action: l.action, exchange: "SMART" })) as unknown as Contract["comboLegs"] },
  };
}

async function bagAsk(c: Client, bag: Contract, reqId: number): Promise<number> {
  const ask = waitFor<[number, number, number]>(c.ib, EventName.tickPrice, (id, t) => id === reqId && t === 2);
  c.ib.reqMktData(reqId, bag, "", true, false);
  return (await ask)[2];
}

async function summary(c: Client, reqId: number): Promise<Record<string, number>> {
  const rows = collectUntil<[number, string, string, string, string]>(c.ib, EventName.accountSummary, EventName.accountSummaryEnd, (id) => id === reqId);
  c.ib.reqAccountSummary(reqId, "All", "NetLiquidation,TotalCashValue,InitMarginReq,MaintMarginReq,AvailableFunds,EquityWithLoanValue");
  const got = await rows;
  c.ib.cancelAccountSummary(reqId);
  return Object.fromEntries(got.filter((r) => r[0] === reqId).map((r) => [r[2], Number(r[3])]));
}

async function positions(c: Client): Promise<Map<number, { pos: number; avgCost: number }>> {
  const rows = collectUntil<[string, Contract, number, number]>(c.ib, EventName.position, EventName.positionEnd);
  c.ib.reqPositions();
  const got = await rows;
  c.ib.cancelPositions();
  return new Map(got.map(([, k, pos, avgCost]) => [k.conId as number, { pos, avgCost }]));
}

describe.each([193, 176])("orders at server version %i", (serverVersion) => {
  it("fills an iron condor as one BAG order: four executions, commissions, positions, account, P&L", async () => {
    const { sim, c } = await setup(serverVersion);
    const { bag, legs } = condor(sim);
    const before = await summary(c, 40);
    expect(before.NetLiquidation).toBe(100000);
    expect(before.InitMarginReq).toBe(0);

    const credit = await bagAsk(c, bag, 41); // buying the BAG at its ask: a negative price = net credit
    expect(credit).toBeLessThan(-1);
    const orderId = c.nextValidId;
    const execs: Exec[] = [];
    const comms: Comm[] = [];
    on(c.ib, EventName.execDetails, (_r: number, _k: Contract, e: Exec) => execs.push(e));
    on(c.ib, EventName.commissionReport, (r: Comm) => comms.push(r));
    const filled = waitFor<[number, string, number, number, number]>(c.ib, EventName.orderStatus, (id, status) => id === orderId && status === "Filled");
    c.ib.placeOrder(orderId, bag, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: credit, totalQuantity: 2, transmit: true, orderRef: "IRON_CONDOR_SPY_20251119_103045" });
    const [, , filledQty, remaining, avgFill] = await filled;
    expect([filledQty, remaining, avgFill]).toEqual([2, 0, credit]);
    await until(() => comms.length === 4, 2000, "four commission reports");

    expect(execs).toHaveLength(4);
    expect(execs.every((e) => e.orderId === orderId && e.orderRef === "IRON_CONDOR_SPY_20251119_103045" && e.shares === 2)).toBe(true);
    expect(execs.map((e) => e.side)).toEqual(["BOT", "SLD", "SLD", "BOT"]);
    // leg prices add back to the net combo price
    const net = execs.reduce((a, e) => a + (e.side === "BOT" ? e.price : -e.price), 0);
    expect(net).toBeCloseTo(credit, 6);
    expect(new Set(comms.map((r) => r.execId))).toEqual(new Set(execs.map((e) => e.execId)));
    expect(comms.map((r) => r.commission)).toEqual([1.3, 1.3, 1.3, 1.3]);

    const order = sim.orders().find((o) => o.orderId === orderId);
    expect(order?.secType).toBe("BAG");
    expect(order?.legs.map((l) => [l.conId, l.ratio, l.action])).toEqual(legs.map((l) => [l.conId, 1, l.action]));
    expect(order?.orderRef).toBe("IRON_CONDOR_SPY_20251119_103045");
    expect(sim.executions()).toHaveLength(4);

    const pos = await positions(c);
    expect(legs.map((l) => pos.get(l.conId)?.pos)).toEqual([2, -2, -2, 2]);

    const after = await summary(c, 42);
    // cash: credit received minus $5.20 commission; margin: $10 wide wings x 100 x 2 = $2,000
    expect(cents(after.TotalCashValue)).toBe(cents(100000 - credit * 100 * 2 - 5.2));
    expect(after.InitMarginReq).toBe(2000);
    expect(cents(after.AvailableFunds)).toBe(cents((after.EquityWithLoanValue as number) - 2000));

    const pnl = waitFor<[number, number, number, number]>(c.ib, EventName.pnl, (id) => id === 43);
    c.ib.reqPnL(43, sim.account, "");
    const [, daily, unrealized, realized] = await pnl;
    expect(realized).toBe(0);
    expect(cents(daily)).toBe(cents(sim.accountState().dailyPnL));
    expect(cents(unrealized)).toBe(cents(sim.accountState().unrealizedPnL));
    expect(unrealized).toBeLessThan(0); // crossing the spread and paying commission costs money at the marks
    const moved = waitFor<[number, number, number, number]>(c.ib, EventName.pnl, (id) => id === 43);
    sim.moveMarket("SPY", 4); // through the short call: the condor loses
    const [, daily2, unrealized2] = await moved;
    expect(unrealized2).toBeLessThan(unrealized - 100);
    expect(daily2).toBeLessThan(daily - 100);
  });

  it("whatIf returns margin and commission without placing an order", async () => {
    const { sim, c } = await setup(serverVersion);
    const { bag } = condor(sim);
    const orderId = c.nextValidId;
    const states: { initMarginChange?: number; maintMarginChange?: number; commission?: number; equityWithLoanChange?: number; status?: string }[] = [];
    const got = waitFor(c.ib, EventName.openOrder, (id: number, _k: Contract, _o: unknown, s: (typeof states)[number]) => {
      if (id !== orderId) return false;
      states.push(s);
      return s.initMarginChange !== undefined;
    });
    c.ib.placeOrder(orderId, bag, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: -1.5, totalQuantity: 1, transmit: true, whatIf: true });
    await got;
    // first a placeholder with unset values, as some TWS builds send, then the real answer
    expect(states[0]?.initMarginChange).toBeUndefined();
    const s = states[states.length - 1];
    expect(s?.initMarginChange).toBe(1000);
    expect(s?.maintMarginChange).toBe(1000);
    expect(s?.commission).toBe(2.6);
    expect(cents(s?.equityWithLoanChange)).toBe(cents(150 - 2.6));

    const naked = waitFor(c.ib, EventName.openOrder, (id: number, _k: Contract, _o: unknown, st: { initMarginChange?: number }) => id === orderId + 1 && st.initMarginChange !== undefined);
    const put = sim.optionConId("SPY", sim.expiries()[1] as string, 560, "P") as number;
    c.ib.placeOrder(orderId + 1, { conId: put, exchange: "SMART" }, { action: OrderAction.SELL, orderType: OrderType.LMT, lmtPrice: 2, totalQuantity: 1, transmit: true, whatIf: true });
    const [, , , st] = (await naked) as [number, Contract, unknown, { initMarginChange: number }];
    // 20% rule: premium + 20% of 580 - $20 OTM = mark + 96 per share, x100
    expect(st.initMarginChange).toBeGreaterThan(9600);
    expect(st.initMarginChange).toBeLessThan(10600);
    expect(sim.orders()).toEqual([]);
    expect(sim.accountState().cash).toBe(100000);
  });

  it("a resting limit rests, then fills at its limit when the market moves to it", async () => {
    const { sim, c } = await setup(serverVersion);
    const orderId = c.nextValidId;
    const submitted = waitFor(c.ib, EventName.orderStatus, (id: number, status: string) => id === orderId && status === "Submitted");
    c.ib.placeOrder(orderId, { symbol: "AAPL", secType: SecType.STK, exchange: "SMART", currency: "USD" }, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 220, totalQuantity: 100, transmit: true, orderRef: "rest-1" });
    await submitted;
    await new Promise((r) => setTimeout(r, 50));
    expect(sim.orders()[0]?.status).toBe("Submitted");
    const filled = waitFor<[number, string, number, number, number]>(c.ib, EventName.orderStatus, (id, status) => id === orderId && status === "Filled");
    sim.setPrice("AAPL", 219.5);
    const [, , qty, , avg] = await filled;
    expect([qty, avg]).toEqual([100, 220]);
    const pos = await positions(c);
    expect(pos.get(265598)?.pos).toBe(100);
    expect(pos.get(265598)?.avgCost).toBeCloseTo(220.01, 4); // $1.00 minimum commission spread over 100 shares

    // selling it back realizes P&L: (225 - 220) x 100 - 2 x $1.00
    const sold = waitFor(c.ib, EventName.orderStatus, (id: number, status: string) => id === orderId + 1 && status === "Filled");
    const comm = waitFor<[Comm]>(c.ib, EventName.commissionReport, (r) => r.realizedPNL !== undefined);
    c.ib.placeOrder(orderId + 1, { symbol: "AAPL", secType: SecType.STK, exchange: "SMART", currency: "USD" }, { action: OrderAction.SELL, orderType: OrderType.MKT, totalQuantity: 100, transmit: true });
    sim.setPrice("AAPL", 225.01);
    await sold;
    const [report] = await comm;
    expect(cents(report.realizedPNL)).toBe(cents(100 * (225 - 220) - 2));
    expect(cents(sim.accountState().realizedPnL)).toBe(cents(498));
  });

  it("cancels a resting order (202 + Cancelled), 10148 for a second cancel, 10147 for an unknown id", async () => {
    const { sim, c } = await setup(serverVersion);
    const orderId = c.nextValidId;
    const call = sim.optionConId("SPY", sim.expiries()[0] as string, 590, "C") as number;
    const submitted = waitFor(c.ib, EventName.orderStatus, (id: number, status: string) => id === orderId && status === "Submitted");
    c.ib.placeOrder(orderId, { conId: call, exchange: "SMART" }, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 0.05, totalQuantity: 1, transmit: true });
    await submitted;
    const open = collectUntil<[number]>(c.ib, EventName.openOrder, EventName.openOrderEnd);
    c.ib.reqOpenOrders();
    expect((await open).map((o) => o[0])).toEqual([orderId]);

    const cancelled = waitFor(c.ib, EventName.orderStatus, (id: number, status: string) => id === orderId && status === "Cancelled");
    const e202 = waitFor(c.ib, EventName.error, (_e: Error, code: number, id: number) => code === 202 && id === orderId);
    c.ib.cancelOrder(orderId);
    await Promise.all([cancelled, e202]);
    const e10148 = waitFor(c.ib, EventName.error, (_e: Error, code: number, id: number) => code === 10148 && id === orderId);
    c.ib.cancelOrder(orderId);
    await e10148;
    const e10147 = waitFor<[Error, number, number]>(c.ib, EventName.error, (_e, code) => code === 10147);
    c.ib.cancelOrder(9999);
    const [err, , id] = await e10147;
    expect(id).toBe(9999);
    expect(err.message).toMatch(/9999.*not found/);
    expect(sim.orders().map((o) => o.status)).toEqual(["Cancelled"]);
    const after = collectUntil<[number]>(c.ib, EventName.openOrder, EventName.openOrderEnd);
    c.ib.reqAllOpenOrders();
    expect(await after).toEqual([]);
  });

  it("rejects like TWS: 110 off-tick price, 200 unknown contract, 201 on command, and keeps going", async () => {
    const { sim, c } = await setup(serverVersion);
    const id0 = c.nextValidId;
    const put = sim.optionConId("IWM", sim.expiries()[0] as string, 215, "P") as number;
    const e110 = waitFor<[Error, number, number]>(c.ib, EventName.error, (_e, code) => code === 110);
    c.ib.placeOrder(id0, { conId: put, exchange: "SMART" }, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 1.005, totalQuantity: 1, transmit: true });
    expect((await e110)[2]).toBe(id0);
    const e200 = waitFor<[Error, number, number]>(c.ib, EventName.error, (_e, code) => code === 200);
    c.ib.placeOrder(id0 + 1, { symbol: "SPY", secType: SecType.OPT, lastTradeDateOrContractMonth: sim.expiries()[0], strike: 580.5, right: "C" as never, exchange: "SMART", currency: "USD" }, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 1, totalQuantity: 1, transmit: true });
    expect((await e200)[2]).toBe(id0 + 1);
    sim.fault.rejectNextOrder("Simulated margin check");
    const e201 = waitFor<[Error, number, number]>(c.ib, EventName.error, (_e, code) => code === 201);
    c.ib.placeOrder(id0 + 2, { conId: put, exchange: "SMART" }, { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 1, totalQuantity: 1, transmit: true });
    const [err201, , id201] = await e201;
    expect(id201).toBe(id0 + 2);
    expect(err201.message).toBe("Order rejected - reason:Simulated margin check");
    // only the next order is rejected
    const ok = waitFor(c.ib, EventName.orderStatus, (id: number, status: string) => id === id0 + 3 && status === "Filled");
    c.ib.placeOrder(id0 + 3, { conId: put, exchange: "SMART" }, { action: OrderAction.BUY, orderType: OrderType.MKT, totalQuantity: 1, transmit: true });
    await ok;
    expect(sim.orders().map((o) => [o.orderId, o.status, o.rejectCode])).toEqual([
      [id0, "Rejected", 110], [id0 + 1, "Rejected", 200], [id0 + 2, "Rejected", 201], [id0 + 3, "Filled", undefined],
    ]);
  });

  it("fills a large order in slices of the displayed size (partial fills), after the set delay", async () => {
    const { sim, c } = await setup(serverVersion, 30);
    const orderId = c.nextValidId;
    const call = sim.optionConId("QQQ", sim.expiries()[2] as string, 505, "C") as number;
    const statuses: [string, number, number][] = [];
    on(c.ib, EventName.orderStatus, (id: number, status: string, filled: number, remaining: number) => id === orderId && statuses.push([status, filled, remaining]));
    const t0 = Date.now();
    const done = waitFor(c.ib, EventName.orderStatus, (id: number, status: string) => id === orderId && status === "Filled");
    c.ib.placeOrder(orderId, { conId: call, exchange: "SMART" }, { action: OrderAction.BUY, orderType: OrderType.MKT, totalQuantity: 30, transmit: true });
    await done;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
    expect(statuses).toEqual([["PreSubmitted", 0, 30], ["Submitted", 0, 30], ["Submitted", 25, 5], ["Filled", 30, 0]]);
    const execs = collectUntil<[number, Contract, Exec]>(c.ib, EventName.execDetails, EventName.execDetailsEnd, (id) => id === 44);
    c.ib.reqExecutions(44, {});
    expect((await execs).map((x) => [x[0], x[2].orderId, x[2].shares])).toEqual([[44, orderId, 25], [44, orderId, 5]]);
  });
});
