// The simulator's cash-settled index option family (SPX under trading class SPXW, and XSP), read
// with the real client: contract details say so the way TWS does (underSecType IND, the trading
// class, underSymbol the index), the index itself is an IND contract, and at expiry an index option
// settles for cash at its intrinsic value with nothing delivered — and cannot be assigned early
// (European-style). No 505 anywhere.
import { type Contract, EventName, OptionType, OrderAction, OrderType, SecType } from "@stoqey/ib";
import { afterEach, describe, expect, it } from "vitest";
import { type Client, collectUntil, connect, waitFor } from "../support/ib-client";
import { closeCleanly } from "../support/sim-teardown";
import { settlementFromContract } from "../../shared/settlement";
import type { Simulator } from "./index";
import { startPinnedSimulator } from "../support/pinned-sim";
import { sessionClose } from "./orders";

let sim: Simulator | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await closeCleanly(clients, sim);
  sim = undefined;
});

type Details = { contract: Contract; underSymbol?: string; underSecType?: string; underConId?: number };

async function details(c: Client, reqId: number, contract: Contract): Promise<Details[]> {
  const rows = collectUntil<[number, Details]>(c.ib, EventName.contractDetails, EventName.contractDetailsEnd);
  c.ib.reqContractDetails(reqId, contract);
  return (await rows).map(([, d]) => d);
}

describe("index options (cash-settled)", () => {
  it("contract details: SPX options trade as SPXW, XSP as XSP, both on an IND underlying; SPY's on STK", async () => {
    sim = await startPinnedSimulator();
    const c = await connect(sim.port, 3);
    clients.push(c);
    const expiry = sim.expiries()[1]!;
    const option = (symbol: string, strike: number): Contract => ({ symbol, secType: SecType.OPT, exchange: "SMART", currency: "USD", lastTradeDateOrContractMonth: expiry, strike, right: OptionType.Call, multiplier: 100 });
    const [spx] = await details(c, 1, option("SPX", 5800));
    expect(spx).toMatchObject({ underSymbol: "SPX", underSecType: "IND", contract: { symbol: "SPX", tradingClass: "SPXW", multiplier: 100 } });
    expect(spx!.contract.localSymbol).toBe(`SPXW  ${expiry.slice(2)}C05800000`);
    const [xsp] = await details(c, 2, option("XSP", 580));
    expect(xsp).toMatchObject({ underSymbol: "XSP", underSecType: "IND", contract: { tradingClass: "XSP" } });
    const [spy] = await details(c, 3, option("SPY", 580));
    expect(spy).toMatchObject({ underSymbol: "SPY", underSecType: "STK" });
    // What the bridge reads from them (shared/settlement.ts).
    expect(settlementFromContract({ underSecType: spx!.underSecType, tradingClass: spx!.contract.tradingClass })).toEqual({ delivery: "cash", exercise: "european", trading_class: "SPXW" });
    expect(settlementFromContract({ underSecType: spy!.underSecType, tradingClass: spy!.contract.tradingClass })).toEqual({ delivery: "shares" });
    // The index is an IND contract; as a stock it does not exist.
    const [index] = await details(c, 4, { symbol: "SPX", secType: SecType.IND, exchange: "CBOE", currency: "USD" });
    expect(index!.contract).toMatchObject({ secType: "IND", symbol: "SPX" });
    expect(spx!.underConId).toBe(index!.contract.conId);
    const missing = waitFor(c.ib, EventName.error, (_e: unknown, code: number, reqId: number) => reqId === 5 && code === 200);
    c.ib.reqContractDetails(5, { symbol: "SPX", secType: SecType.STK, exchange: "SMART", currency: "USD" });
    await missing;
    // By its OCC local symbol too.
    const [byLocal] = await details(c, 6, { secType: SecType.OPT, localSymbol: spx!.contract.localSymbol, exchange: "SMART", currency: "USD" });
    expect(byLocal!.contract.conId).toBe(spx!.contract.conId);
    // The option chain names the trading class.
    const rows = collectUntil<[number, string, number, string, number, string[], number[]]>(c.ib, EventName.securityDefinitionOptionParameter, EventName.securityDefinitionOptionParameterEnd);
    c.ib.reqSecDefOptParams(7, "SPX", "", SecType.IND, index!.contract.conId as number);
    const chain = await rows;
    expect(chain[0]![3]).toBe("SPXW");
    expect(chain[0]![6]).toContain(5800);
    expect(sim.protocolWarnings()).toEqual([]);
    expect(c.notices.filter((n) => n.code === 505)).toEqual([]);
  });

  it("an XSP put spread held to expiry settles for cash at its intrinsic values: no shares delivered, no early assignment", async () => {
    sim = await startPinnedSimulator();
    const c = await connect(sim.port, 3);
    const master = await connect(sim.port, 0);
    clients.push(c, master);
    const expiry = sim.expiries()[0]!;
    const conId = (strike: number) => sim!.optionConId("XSP", expiry, strike, "P") as number;
    // Sell the 575 put, buy the 570 put: one order each (market orders fill at once).
    const trade = async (strike: number, action: OrderAction, id: number) => {
      const filled = waitFor(c.ib, EventName.orderStatus, (oid: number, status: string) => oid === id && status === "Filled");
      c.ib.placeOrder(id, { conId: conId(strike), exchange: "SMART" } as Contract, { action, orderType: OrderType.MKT, totalQuantity: 2, transmit: true, orderRef: `XSP_${strike}` });
      await filled;
    };
    await trade(575, OrderAction.SELL, c.nextValidId);
    await trade(570, OrderAction.BUY, c.nextValidId + 1);
    expect(() => sim!.fault.assignEarly(conId(575))).toThrow(/European-style/);

    const heard: [Contract, { side?: string; shares?: number; price?: number; orderId?: number }][] = [];
    master.ib.on(EventName.execDetails, (reqId: number, k: Contract, e: { side?: string }) => reqId === -1 && heard.push([k, e]));
    const cashBefore = sim.accountState().cash;
    // The index closes at 567.40 on expiry day: the 575 put pays 7.60, the 570 put receives 2.60.
    sim.setPrice("XSP", 567.4);
    const [y, m, d] = [Number(expiry.slice(0, 4)), Number(expiry.slice(4, 6)), Number(expiry.slice(6, 8))];
    const now = Date.parse(sim.advanceClock(0).now);
    const { settled } = sim.advanceClock(sessionClose(Date.UTC(y, m - 1, d, 15)) + 60_000 - now);
    expect(settled.map((s) => [s.outcome, s.quantity, s.cashValue, s.stockShares ?? 0]).sort()).toEqual([["cash_settled", -2, 7.6, 0], ["cash_settled", 2, 2.6, 0]]);
    expect(sim.positions().filter((p) => p.position !== 0)).toEqual([]);
    // (7.60 − 2.60) × 100 × 2 = $1,000 paid out; nothing else.
    expect(sim.accountState().cash).toBeCloseTo(cashBefore - 1_000, 2);
    for (let i = 0; i < 100 && heard.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(heard.map(([k, e]) => [k.secType, k.strike, e.side, e.shares, e.price, e.orderId]).sort()).toEqual([
      ["OPT", 570, "SLD", 2, 2.6, 0],
      ["OPT", 575, "BOT", 2, 7.6, 0],
    ]);
    expect(sim.protocolWarnings()).toEqual([]);
  });
});
