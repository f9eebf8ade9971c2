// The risk review's findings on the whole running system (the `npm start` stack: MCP SDK client →
// wrangler dev → bridge → @stoqey/ib → TWS simulator): a skewed stock+option collar and a
// near-call/far-put premium trap are refused before anything reaches TWS; a truly bounded
// calendar is allowed at its true figure, and the cash the simulator's fills move is exactly the
// dollars the risk engine said the limit price binds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { type TestStack, startTestStack } from "./harness";
import { isoDate, optionChain, waitOrderStatus } from "./scenario";
import { cents } from "../support/cents";

interface Answer { success: boolean; trade_id: string | null; order_id: number | null; status: string; violations: { check: string; message: string }[]; computed_max_risk: number | null; net_premium: number }
interface Quote { bid: number | null; ask: number | null; mid: number | null }

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack("risk");
});
afterAll(async () => {
  await t?.stop();
});


async function quote(symbol: string, expiry: string, strike: number, right: "C" | "P"): Promise<Quote> {
  const answer = await t.mcp.tool<Quote>("get_quote", { legs: [{ action: "BUY", contract: { symbol, expiry, strike, right }, quantity: 1 }] });
  return answer.structured;
}

describe("risk that cannot be talked around, on the running stack", () => {
  it("refuses a skewed collar and a premium trap before anything reaches TWS", async () => {
    const chain = await optionChain(t.mcp, "SPY", undefined, 0.2);
    const near = isoDate(chain.expiries[1]!);
    const far = isoDate(chain.expiries[3] ?? chain.expiries[2]!);
    const spot = chain.underlying_price!;
    const k = chain.strikes.reduce((best, s) => (Math.abs(s - spot) < Math.abs(best - spot) ? s : best));
    const ordersBefore = (await t.simState()).orders.length;

    const collar: Leg[] = [
      { action: "BUY", contract: { symbol: "SPY", sec_type: "STK" }, quantity: 100, price: Math.round(spot * 0.9 * 100) / 100 },
      { action: "BUY", contract: { symbol: "SPY", expiry: near, strike: k - 10, right: "P" }, quantity: 1, price: 9 },
      { action: "SELL", contract: { symbol: "SPY", expiry: near, strike: k + 10, right: "C" }, quantity: 1, price: 1 },
    ];
    const refusedCollar = await t.mcp.tool<Answer>("place_order", { symbol: "SPY", strategy: "collar", legs: collar, max_risk: 400, capital_required: 400 });
    expect(refusedCollar.isError).toBe(true);
    expect(refusedCollar.structured.violations.map((v) => v.check)).toContain("risk_not_computable");

    const deepPut = chain.strikes.filter((s) => s >= spot * 1.08).sort((a, b) => a - b)[0] ?? k + 20;
    const callQ = await quote("SPY", near, k, "C");
    const putQ = await quote("SPY", far, deepPut, "P");
    const trap: Leg[] = [
      { action: "BUY", contract: { symbol: "SPY", expiry: near, strike: k, right: "C" }, quantity: 1, price: callQ.ask! },
      { action: "BUY", contract: { symbol: "SPY", expiry: far, strike: deepPut, right: "P" }, quantity: 1, price: putQ.ask! },
    ];
    const refusedTrap = await t.mcp.tool<Answer>("place_order", { symbol: "SPY", strategy: "premium trap", legs: trap, max_risk: 400, capital_required: 400 });
    expect(refusedTrap.isError).toBe(true);
    // Held to expiry with no action, both premiums can be lost.
    expect(cents(refusedTrap.structured.computed_max_risk)).toBe(cents((callQ.ask! + putQ.ask!) * 100));
    expect(refusedTrap.structured.violations.map((v) => v.check)).toContain("max_trade_risk");

    expect((await t.simState()).orders.length).toBe(ordersBefore);
  });

  it("places a bounded calendar at its true figure, and the simulator's fills move exactly the dollars it binds", async () => {
    const chain = await optionChain(t.mcp, "SPY", undefined, 0.2);
    const near = isoDate(chain.expiries[1]!);
    const far = isoDate(chain.expiries[2]!);
    const spot = chain.underlying_price!;
    // An out-of-the-money call calendar: cheap, so its debit fits the $500 limit.
    const strikes = chain.strikes.filter((s) => s >= spot * 1.03).sort((a, b) => a - b);
    let legs: Leg[] | null = null;
    for (const strike of strikes) {
      const [nq, fq] = await Promise.all([quote("SPY", near, strike, "C"), quote("SPY", far, strike, "C")]);
      if (nq.bid === null || fq.ask === null || nq.bid < 0.1) continue;
      if ((fq.ask - nq.bid) * 100 > 480) continue;
      legs = [
        { action: "SELL", contract: { symbol: "SPY", expiry: near, strike, right: "C" }, quantity: 1, price: nq.bid },
        { action: "BUY", contract: { symbol: "SPY", expiry: far, strike, right: "C" }, quantity: 1, price: fq.ask },
      ];
      break;
    }
    expect(legs, "an affordable calendar in the chain").not.toBeNull();
    const debit = Math.round((legs![1]!.price - legs![0]!.price) * 100 * 100) / 100;
    const placed = await t.mcp.tool<Answer>("place_order", { symbol: "SPY", strategy: "calendar", legs: legs!, max_risk: debit, capital_required: debit });
    expect(placed.isError, JSON.stringify(placed.structured)).toBe(false);
    expect(cents(placed.structured.computed_max_risk)).toBe(cents(debit));
    await waitOrderStatus(t.mcp, placed.structured.order_id!, ["Filled"]);
    const sim = await t.simState();
    const fills = sim.executions.filter((e) => e.orderRef === placed.structured.trade_id);
    expect(fills).toHaveLength(2);
    const cash = fills.reduce((sum, e) => sum + (e.side === "SLD" ? 1 : -1) * e.shares * e.price * 100, 0);
    expect(cents(cash)).toBe(cents(placed.structured.net_premium));
    expect(cents(-cash)).toBe(cents(debit));
  });
});
