// Market requests over the wire: contract details (stock, option, option chain slice, a BAG's
// legs, unknown → 200), reqSecDefOptParams, snapshot and streaming quotes, at 193 and 176.

import { type Contract, EventName, IBApiNext, SecType } from "@stoqey/ib";

const TickType = { BID: 1, ASK: 2, LAST: 4 } as const;
import { afterEach, describe, expect, it } from "vitest";
import { type Simulator } from "./index";
import { closedReason, newYorkDate } from "../../shared/market-calendar";
import { startPinnedSimulator } from "../support/pinned-sim";
import { type Client, on, collectUntil, connect, waitFor } from "../support/ib-client";
import { closeCleanly } from "../support/sim-teardown";
import { cents } from "../support/cents";

let sim: Simulator | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await closeCleanly(clients, sim);
  sim = undefined;
});

async function setup(serverVersion: number): Promise<{ sim: Simulator; c: Client }> {
  sim = await startPinnedSimulator({ serverVersion });
  const c = await connect(sim.port, 1);
  clients.push(c);
  return { sim, c };
}

describe.each([193, 176])("market at server version %i", (serverVersion) => {
  it("contract details for a stock and an option, field by field", async () => {
    const { sim, c } = await setup(serverVersion);
    const stk = collectUntil<[number, { contract: Contract; longName?: string; minTick?: number }]>(c.ib, EventName.contractDetails, EventName.contractDetailsEnd);
    c.ib.reqContractDetails(11, { symbol: "AAPL", secType: SecType.STK, exchange: "SMART", currency: "USD" });
    const [s] = await stk;
    expect(s?.[0]).toBe(11);
    expect(s?.[1].contract.conId).toBe(265598);
    expect(s?.[1].longName).toBe("APPLE INC");
    expect(s?.[1].minTick).toBe(0.01);

    const expiry = sim.expiries()[2] as string;
    const opt = collectUntil<[number, { contract: Contract; underConId?: number }]>(c.ib, EventName.contractDetails, EventName.contractDetailsEnd);
    c.ib.reqContractDetails(12, { symbol: "SPY", secType: SecType.OPT, lastTradeDateOrContractMonth: expiry, strike: 575, right: "P" as never, exchange: "SMART", currency: "USD" });
    const rows = await opt;
    expect(rows).toHaveLength(1);
    const d = rows[0]?.[1];
    expect(d?.contract.conId).toBe(sim.optionConId("SPY", expiry, 575, "P"));
    expect(d?.contract.multiplier).toBe(100);
    expect(d?.contract.lastTradeDateOrContractMonth).toBe(expiry);
    expect(d?.contract.right).toBe("P");
    expect(d?.contract.localSymbol).toBe(`SPY   ${expiry.slice(2)}P00575000`);
    expect(d?.underConId).toBe(756733);
  });

  it("a partial option spec returns every matching contract (one expiry, both rights, all strikes)", async () => {
    const { sim, c } = await setup(serverVersion);
    const expiry = sim.expiries()[0] as string;
    const rows = collectUntil<[number, { contract: Contract }]>(c.ib, EventName.contractDetails, EventName.contractDetailsEnd);
    c.ib.reqContractDetails(13, { symbol: "IWM", secType: SecType.OPT, lastTradeDateOrContractMonth: expiry, exchange: "SMART", currency: "USD" });
    const got = await rows;
    expect(got).toHaveLength(sim.strikes("IWM").length * 2);
    expect(new Set(got.map((r) => r[1].contract.lastTradeDateOrContractMonth))).toEqual(new Set([expiry]));
  });

  it("unknown contracts get error 200 with the request id and no end marker", async () => {
    const { c } = await setup(serverVersion);
    const err = waitFor<[Error, number, number]>(c.ib, EventName.error, (_e, code) => code === 200);
    c.ib.reqContractDetails(14, { symbol: "NOPE", secType: SecType.STK, exchange: "SMART", currency: "USD" });
    const [e, code, reqId] = await err;
    expect(code).toBe(200);
    expect(reqId).toBe(14);
    expect(e.message).toMatch(/No security definition/);
  });

  it("resolves a BAG's legs by contract details with IBApiNext, and prices the BAG", async () => {
    const { sim } = await setup(serverVersion);
    const api = new IBApiNext({ host: "127.0.0.1", port: sim.port });
    api.connect(2);
    try {
      const expiry = sim.expiries()[1] as string;
      const legs = [
        { strike: 560, right: "P", action: "BUY" },
        { strike: 570, right: "P", action: "SELL" },
        { strike: 590, right: "C", action: "SELL" },
        { strike: 600, right: "C", action: "BUY" },
      ] as const;
      const conIds: number[] = [];
      for (const l of legs) {
        const details = await api.getContractDetails({ symbol: "SPY", secType: SecType.OPT, lastTradeDateOrContractMonth: expiry, strike: l.strike, right: l.right as never, exchange: "SMART", currency: "USD" });
        expect(details).toHaveLength(1);
        conIds.push(details[0]?.contract.conId as number);
      }
      expect(conIds).toEqual(legs.map((l) => sim.optionConId("SPY", expiry, l.strike, l.right)));
      const bag: Contract = {
        symbol: "SPY", secType: SecType.BAG, exchange: "SMART", currency: "USD",
        comboLegs: legs.map((l, i) => ({ conId: conIds[i] as number, ratio: 1, action: l.action, exchange: "SMART" })) as unknown as Contract["comboLegs"],
      };
      const snap = await api.getMarketDataSnapshot(bag, "", false);
      const bid = snap.get(TickType.BID)?.value as number;
      const ask = snap.get(TickType.ASK)?.value as number;
      // an iron condor bought is a net credit: both sides negative, bid below ask
      expect(ask).toBeLessThan(0);
      expect(bid).toBeLessThan(ask);
    } finally {
      api.disconnect();
    }
  });

  it("reqSecDefOptParams lists weekly and monthly expiries and the strikes", async () => {
    const { sim, c } = await setup(serverVersion);
    const rows = collectUntil<[number, string, number, string, number, string[], number[]]>(
      c.ib, EventName.securityDefinitionOptionParameter, EventName.securityDefinitionOptionParameterEnd);
    c.ib.reqSecDefOptParams(15, "AAPL", "", SecType.STK, 265598);
    const got = await rows;
    expect(got.map((r) => r[1])).toEqual(["SMART", "CBOE"]);
    const [, , underConId, tradingClass, multiplier, expiries, strikes] = got[0] as (typeof got)[number];
    expect(underConId).toBe(265598);
    expect(tradingClass).toBe("AAPL");
    expect(multiplier).toBe(100);
    expect(expiries).toEqual(sim.expiries());
    expect(expiries.length).toBeGreaterThanOrEqual(7);
    // After the simulator's today (its pinned clock), each a Friday, or the Thursday before a Friday the exchange is closed.
    const today = newYorkDate(Date.parse(sim.advanceClock(0).now)).replaceAll("-", "");
    expect(expiries.every((e) => e > today)).toBe(true);
    const day = (e: string) => new Date(`${e.slice(0, 4)}-${e.slice(4, 6)}-${e.slice(6)}T12:00:00Z`);
    for (const e of expiries) {
      const weekday = day(e).getUTCDay();
      const nextDay = new Date(day(e).getTime() + 86_400_000).toISOString().slice(0, 10);
      expect(weekday === 5 || (weekday === 4 && closedReason(nextDay) !== null), e).toBe(true);
    }
    expect(strikes).toContain(230);
    expect(strikes).toContain(232.5);
    expect(strikes).toContain(275);
  });

  it("snapshot quote for an option: bid < model < ask, greeks, end marker", async () => {
    const { sim, c } = await setup(serverVersion);
    const conId = sim.optionConId("QQQ", sim.expiries()[3] as string, 500, "C") as number;
    const prices = new Map<number, number>();
    let delta: number | undefined;
    let model: number | undefined;
    on(c.ib, EventName.tickPrice, (id: number, type: number, price: number) => id === 16 && prices.set(type, price));
    on(c.ib, EventName.tickOptionComputation, (id: number, _t: number, _a: number, _iv: number, d: number, optPrice: number) => {
      if (id !== 16) return;
      delta = d;
      model = optPrice;
    });
    const end = waitFor(c.ib, EventName.tickSnapshotEnd, (id) => id === 16);
    c.ib.reqMktData(16, { conId, exchange: "SMART" }, "", true, false);
    await end;
    const bid = prices.get(TickType.BID) as number;
    const ask = prices.get(TickType.ASK) as number;
    expect(bid).toBeGreaterThan(1);
    expect(cents(ask - bid)).toBeGreaterThan(0);
    expect(cents(ask - bid)).toBeLessThanOrEqual(25);
    expect(model).toBeGreaterThan(bid);
    expect(model).toBeLessThan(ask);
    expect(delta).toBeGreaterThan(0.4);
    expect(delta).toBeLessThan(0.7);
  });

  it("option computations: bid/ask/last/model ticks with IV and greeks, unset values decoded as unset", async () => {
    const { sim, c } = await setup(serverVersion);
    const expiry = sim.expiries()[2] as string;
    type Comp = { attrib: number | undefined; iv?: number; delta?: number; price?: number; pv?: number; gamma?: number; vega?: number; theta?: number; und?: number };
    const got = new Map<string, Comp>();
    on(c.ib, EventName.tickOptionComputation, (id: number, type: number, attrib: number | undefined, iv?: number, delta?: number, price?: number, pv?: number, gamma?: number, vega?: number, theta?: number, und?: number) => {
      got.set(`${id}:${type}`, { attrib, iv, delta, price, pv, gamma, vega, theta, und });
    });
    const atm = sim.optionConId("SPY", expiry, 580, "P") as number;
    const far = sim.optionConId("SPY", expiry, 470, "P") as number; // far out of the money: bid 0
    const ends = Promise.all([waitFor(c.ib, EventName.tickSnapshotEnd, (id) => id === 31), waitFor(c.ib, EventName.tickSnapshotEnd, (id) => id === 32)]);
    c.ib.reqMktData(31, { conId: atm, exchange: "SMART" }, "", true, false);
    c.ib.reqMktData(32, { conId: far, exchange: "SMART" }, "", true, false);
    await ends;
    const [bid, ask, last, model] = [10, 11, 12, 13].map((t) => got.get(`31:${t}`) as Comp);
    for (const g of [bid, ask, last, model]) {
      expect(g).toBeDefined();
      expect(g!.attrib).toBe(0);
      expect(g!.und).toBe(580);
      expect(g!.pv).toBe(0);
      expect(g!.delta).toBeLessThan(-0.3);
      expect(g!.delta).toBeGreaterThan(-0.7);
      expect(g!.gamma).toBeGreaterThan(0);
      expect(g!.vega).toBeGreaterThan(0);
      expect(g!.theta).toBeLessThan(0);
    }
    // IV rises with the price it is implied from: bid < model < ask.
    expect(bid!.iv).toBeLessThan(model!.iv as number);
    expect(model!.iv).toBeLessThan(ask!.iv as number);
    expect(model!.iv).toBeCloseTo(0.15, 2);
    // A zero bid implies no volatility: TWS's "not computed" (-1 / -2) reaches the client as unset.
    const farBid = got.get("32:10") as Comp;
    expect(farBid.price).toBe(0);
    expect(farBid.iv).toBeUndefined();
    expect(farBid.delta).toBeUndefined();
    expect(farBid.gamma).toBeUndefined();
    expect(farBid.theta).toBeUndefined();
    expect(got.get("32:13")?.iv).toBeGreaterThan(0.15);
    // Stock quotes carry no option computation.
    const stockEnd = waitFor(c.ib, EventName.tickSnapshotEnd, (id) => id === 33);
    c.ib.reqMktData(33, { symbol: "SPY", secType: SecType.STK, exchange: "SMART", currency: "USD" }, "", true, false);
    await stockEnd;
    expect([...got.keys()].some((k) => k.startsWith("33:"))).toBe(false);
  });

  it("streams new ticks when the price moves, and stops after cancelMktData", async () => {
    const { sim, c } = await setup(serverVersion);
    const first = waitFor<[number, number, number]>(c.ib, EventName.tickPrice, (id, type) => id === 17 && type === TickType.LAST);
    c.ib.reqMktData(17, { symbol: "SPY", secType: SecType.STK, exchange: "SMART", currency: "USD" }, "", false, false);
    expect((await first)[2]).toBe(580);
    const moved = waitFor<[number, number, number]>(c.ib, EventName.tickPrice, (id, type) => id === 17 && type === TickType.LAST);
    sim.setPrice("SPY", 583.25);
    expect((await moved)[2]).toBe(583.25);
    c.ib.cancelMktData(17);
    const cur = waitFor(c.ib, EventName.currentTime);
    c.ib.reqCurrentTime();
    await cur; // the cancel has been processed once this round trip is back
    let more = 0;
    on(c.ib, EventName.tickPrice, (id: number) => id === 17 && more++);
    expect(cents(sim.moveMarket("SPY", 1))).toBe(58908);
    const cur2 = waitFor(c.ib, EventName.currentTime);
    c.ib.reqCurrentTime();
    await cur2;
    expect(more).toBe(0);
  });
});
