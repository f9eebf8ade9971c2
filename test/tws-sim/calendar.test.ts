// The simulator's clock and the exchange calendar, read with the real client (no 505): TWS's clock
// starts at the instant a test chooses (CURRENT_TIME says it); an order placed outside its session
// is accepted but held — PreSubmitted, with TWS's warning 399 naming when it will reach the
// exchange — and fills only once the session opens; a DAY order ends at its session's close by the
// calendar (13:00 on the day after Thanksgiving); listed expiries skip the days the exchange is
// closed (a Good Friday expiry lists on Thursday), settle at that day's close and leave the list
// then; the daily P&L
// restarts at the trading day's end (the close), not at midnight. Instants are written out by hand.
import { type Contract, EventName, OrderAction, OrderType } from "@stoqey/ib";
import { afterEach, describe, expect, it } from "vitest";
import { type Client, connect, waitFor } from "../support/ib-client";
import { closeCleanly } from "../support/sim-teardown";
import { type Simulator, startSimulator } from "./index";

let sim: Simulator | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await closeCleanly(clients, sim);
  sim = undefined;
});

const at = (iso: string) => Date.parse(iso);
const simNow = () => Date.parse(sim!.advanceClock(0).now);
/** Moves the simulator's clock to an instant (it only moves forward). */
const moveTo = (iso: string) => sim!.advanceClock(at(iso) - simNow());

async function started(startIso: string): Promise<Client> {
  sim = await startSimulator({ startAt: at(startIso) });
  const c = await connect(sim.port, 3);
  clients.push(c);
  return c;
}

const spy = () => ({ conId: sim!.server.market.stockContract("SPY")!.conId, exchange: "SMART" }) as Contract;

describe("the simulator's clock", () => {
  it("starts at the instant asked for, not the machine's: CURRENT_TIME, order times and the chain's expiries follow it", async () => {
    const c = await started("2026-12-04T23:30:00-05:00");
    const time = waitFor<[number]>(c.ib, EventName.currentTime);
    c.ib.reqCurrentTime();
    const [seconds] = await time;
    expect(Math.abs(seconds * 1000 - at("2026-12-04T23:30:00-05:00"))).toBeLessThan(5_000);
    // The next listed weekly is the Friday after that Friday night.
    expect(sim!.expiries()[0]).toBe("20261211");
  });

  it("holds an order placed outside its session (PreSubmitted, warning 399 with the open), fills it only once the session opens", async () => {
    const c = await started("2026-12-04T23:30:00-05:00");
    const id = c.nextValidId;
    const held = waitFor<[number, string]>(c.ib, EventName.orderStatus, (oid: number) => oid === id);
    const warning = waitFor<[Error, number, number]>(c.ib, EventName.error, (_e, code, reqId) => code === 399 && reqId === id);
    // Marketable at once (a buy at 10 over the ask), but the exchange is closed until Monday.
    c.ib.placeOrder(id, spy(), { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: sim!.getPrice("SPY") + 10, totalQuantity: 10, tif: "DAY", transmit: true, orderRef: "HELD" } as never);
    expect((await held)[1]).toBe("PreSubmitted");
    expect((await warning)[0].message).toMatch(/^Order Message:\nBUY 10 SPY SMART\nWarning: your order will not be placed at the exchange until 2026-12-07 09:30:00 US\/Eastern$/);
    // The weekend passes; a market move does not fill it either.
    moveTo("2026-12-07T09:29:00-05:00");
    sim!.moveMarket("SPY", 0.1);
    await new Promise((r) => setTimeout(r, 100));
    expect(sim!.orders()[0]).toMatchObject({ status: "PreSubmitted", filled: 0 });
    expect(sim!.executions()).toEqual([]);
    // Monday 09:30: submitted to the exchange, and it fills.
    const filled = waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === id && status === "Filled");
    moveTo("2026-12-07T09:30:00-05:00");
    await filled;
    const [execution] = sim!.executions();
    expect(execution!.time).toBe("20261207 09:30:00 US/Eastern");
  });

  it("ends a DAY order at its session's close by the calendar: placed the evening before Thanksgiving, it works the next session and ends at its 13:00 early close", async () => {
    const c = await started("2026-11-25T18:00:00-05:00");
    const id = c.nextValidId;
    const held = waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === id && status === "PreSubmitted");
    c.ib.placeOrder(id, spy(), { action: OrderAction.BUY, orderType: OrderType.LMT, lmtPrice: 1, totalQuantity: 10, tif: "DAY", transmit: true, orderRef: "RESTING" } as never);
    await held;
    // Thanksgiving: closed, the order waits. Friday 09:30: it works (resting: 1.00 is far below the market).
    expect(moveTo("2026-11-26T12:00:00-05:00").expired).toBe(0);
    expect(sim!.orders()[0]!.status).toBe("PreSubmitted");
    moveTo("2026-11-27T09:30:00-05:00");
    expect(sim!.orders()[0]!.status).toBe("Submitted");
    expect(moveTo("2026-11-27T12:59:59-05:00").expired).toBe(0);
    const ended = waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === id && status === "Cancelled");
    expect(moveTo("2026-11-27T13:00:00-05:00").expired).toBe(1);
    await ended;
    expect(sim!.orders()[0]).toMatchObject({ status: "Cancelled", completedStatus: "Cancelled by System" });
  });

  it("lists a Good Friday expiry on the Thursday before and settles it at that Thursday's close", async () => {
    const c = await started("2027-03-22T11:00:00-04:00");
    expect(sim!.expiries()).toContain("20270325");
    expect(sim!.expiries()).not.toContain("20270326");
    expect(sim!.expiries().slice(0, 3)).toEqual(["20270325", "20270402", "20270409"]);
    // Short one put far out of the money; it lapses at the Thursday close, not before.
    const strike = sim!.strikes("SPY").find((k) => k < sim!.getPrice("SPY") - 20)!;
    const put = { conId: sim!.optionConId("SPY", "20270325", strike, "P")!, exchange: "SMART" } as Contract;
    const id = c.nextValidId;
    const filled = waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === id && status === "Filled");
    c.ib.placeOrder(id, put, { action: OrderAction.SELL, orderType: OrderType.MKT, totalQuantity: 1, transmit: true, orderRef: "SHORT_PUT" } as never);
    await filled;
    expect(moveTo("2027-03-25T15:59:59-04:00").settled).toEqual([]);
    const { settled } = moveTo("2027-03-25T16:00:00-04:00");
    expect(settled.map((x) => [x.outcome, x.quantity])).toEqual([["lapsed", -1]]);
  });

  it("lists what is listed by its clock: an expiry leaves the list at its close, new weeklies join as time passes", async () => {
    await started("2026-11-18T11:00:00-05:00");
    const first = sim!.expiries();
    expect(first.slice(0, 2)).toEqual(["20261120", "20261127"]);
    expect(first).not.toContain("20270108");
    const conId = sim!.optionConId("SPY", "20261120", 560, "P")!;
    moveTo("2026-11-20T15:59:00-05:00");
    expect(sim!.expiries()[0]).toBe("20261120");
    moveTo("2026-11-20T16:00:00-05:00");
    expect(sim!.expiries()[0]).toBe("20261127");
    expect(sim!.expiries()).not.toContain("20261120");
    // Its contract stays known (a settled position's last report names it).
    expect(sim!.server.market.contract(conId)).toMatchObject({ expiry: "20261120", strike: 560, right: "P" });
    // Later the list reaches further: the weekly of 2027-01-08 (New Year's Day's week lists Thursday 2026-12-31).
    moveTo("2026-11-27T14:00:00-05:00");
    expect(sim!.expiries().slice(0, 6)).toEqual(["20261204", "20261211", "20261218", "20261224", "20261231", "20270108"]);
  });

  it("restarts the daily P&L at the trading day's end (the 16:00 close), not at New York midnight", async () => {
    const c = await started("2026-11-18T11:00:00-05:00");
    const id = c.nextValidId;
    const filled = waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === id && status === "Filled");
    c.ib.placeOrder(id, spy(), { action: OrderAction.BUY, orderType: OrderType.MKT, totalQuantity: 100, transmit: true, orderRef: "STOCK" } as never);
    await filled;
    sim!.moveMarket("SPY", -3);
    const loss = sim!.accountState().dailyPnL;
    expect(loss).toBeLessThan(-100);
    moveTo("2026-11-18T15:59:59-05:00");
    expect(sim!.accountState().dailyPnL).toBe(loss);
    moveTo("2026-11-18T16:00:00-05:00");
    expect(sim!.accountState().dailyPnL).toBe(0);
    // A move after the close counts to the next day, and midnight does not restart it.
    sim!.moveMarket("SPY", -1);
    const evening = sim!.accountState().dailyPnL;
    expect(evening).toBeLessThan(0);
    moveTo("2026-11-19T00:01:00-05:00");
    expect(sim!.accountState().dailyPnL).toBe(evening);
  });
});
