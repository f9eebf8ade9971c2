// Issue 23's settlement paths end to end (simulator + wrangler dev + bridge, driven over MCP): the
// settlement style of each leg comes from the simulator's contract details through the real bridge.
// - Cash settlement (item 2): an XSP calendar is refused as unbounded; an XSP put spread held to
//   expiry settles for cash at the index's close — nothing delivered — and its loss is exactly the
//   figure the edge computed (plus commissions).
// - Early assignment (item 1): the issue's SPY structure (near 560C/561C, far 560P) is refused as
//   unbounded; a call calendar whose short leg is assigned weeks early, followed by a rally and both
//   expiries, costs the account no more than the figure the edge computed (plus commissions).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { sessionClose } from "../tws-sim/orders";
import { orderSession } from "../../shared/market-calendar";
import { expectLevel, type FaultStack, type PlaceAnswer, simChain, startFaultStack, waitUntil } from "./faults";
import { simNow } from "./harness";
import { isoDate, waitOrderStatus } from "./scenario";

let t: FaultStack;
beforeAll(async () => {
  t = await startFaultStack("settlement", { bridgeEnv: { BRIDGE_TWS_HEARTBEAT_MS: "500" } });
});
afterAll(async () => {
  await t?.stop();
});

interface Preview { computed_max_risk: number | null; would_pass: boolean; violations: { check: string }[]; risk_bounds: { exact: boolean; dividend_shares: number; pin_shares: number; settlement: unknown[] } }
interface ViewTrade { trade_id: string; state: string; realized_pnl: number | null; fills: { sec_type: string; side: string; shares: number; price: number; commission: number | null; settlement?: string }[] }
interface SimAccount { cash: number; netLiquidation: number }

const trade = async (id: string) => ((await (await t.stack.admin("/api/state")).json()) as { trades: ViewTrade[] }).trades.find((x) => x.trade_id === id)!;
const account = async () => ((await t.simState()) as unknown as { account: SimAccount }).account;
const openPositions = async () => ((await t.simState()) as unknown as { positions: { conId: number; secType: string; position: number; strike: number; right: string; expiry: string }[] }).positions.filter((p) => p.position !== 0);
/** Moves TWS's (the simulator's) and the edge's clocks together to a minute past the close of an expiry (yyyymmdd). */
async function pastClose(expiry: string) {
  const close = sessionClose(Date.UTC(Number(expiry.slice(0, 4)), Number(expiry.slice(4, 6)) - 1, Number(expiry.slice(6, 8)), 15));
  return (await t.stack.moveClock(close + 60_000 - (await simNow(t.stack)))).sim as { settled: { outcome: string; quantity: number; cashValue?: number; stockShares?: number }[] };
}

/** Both clocks to a minute after the next session opens, unless one is under way: TWS holds orders outside their session. */
async function intoSession() {
  const now = await simNow(t.stack);
  const session = orderSession(now);
  if (now < session.open) await t.stack.moveClock(session.open + 60_000 - now);
  // The bridge follows TWS's clock at its next heartbeat; its next account report is then fresh again.
  await waitUntil("account data fresh by the moved clocks", async () => ((await (await t.stack.admin("/api/health")).json()) as { data_age_seconds: number | null }).data_age_seconds! < 30, 30_000);
}

/** A leg priced at the touch (buy at the ask, sell at the bid), from get_quote. */
async function touch(action: Leg["action"], symbol: string, expiry: string, strike: number, right: "C" | "P"): Promise<Leg> {
  const contract = { symbol, expiry: isoDate(expiry), strike, right };
  const q = await t.mcp.tool<{ bid: number; ask: number }>("get_quote", { legs: [{ action: "BUY", contract, quantity: 1 }] });
  expect(q.isError, q.text).toBe(false);
  return { action, contract, quantity: 1, price: action === "BUY" ? q.structured.ask : q.structured.bid };
}

const order = (symbol: string, strategy: string, legs: Leg[], risk: number) => ({ symbol, strategy, legs, max_risk: risk, capital_required: risk });

describe("settlement paths on the stack", () => {
  it("XSP settles in cash: a calendar is refused as unbounded; a put spread held to expiry pays its intrinsic values, delivers nothing, and loses exactly its figure", async () => {
    const xsp = (await simChain(t)).XSP!;
    const [near, far] = [xsp.expiries[0]!, xsp.expiries[1]!];
    const ordersBefore = (await t.simState()).orders.length;

    const calendar = [await touch("SELL", "XSP", near, 590, "C"), await touch("BUY", "XSP", far, 590, "C")];
    const calPreview = await t.mcp.tool<Preview>("preview_order", order("XSP", "CALENDAR", calendar, 300));
    expect(calPreview.structured.computed_max_risk).toBeNull();
    expect(calPreview.structured.risk_bounds.settlement).toEqual([
      { delivery: "cash", exercise: "european", trading_class: "XSP" },
      { delivery: "cash", exercise: "european", trading_class: "XSP" },
    ]);
    const calPlaced = await t.mcp.tool<PlaceAnswer>("place_order", order("XSP", "CALENDAR", calendar, 300));
    expect(calPlaced.isError).toBe(true);
    expect(calPlaced.structured.violations.map((v) => v.check)).toContain("unbounded_risk");
    expect((await t.simState()).orders.length).toBe(ordersBefore);

    // A 5-wide put credit spread, marketable at the touch.
    const spread = [await touch("SELL", "XSP", near, 575, "P"), await touch("BUY", "XSP", near, 570, "P")];
    const preview = await t.mcp.tool<Preview>("preview_order", order("XSP", "BULL_PUT", spread, 500));
    const figure = preview.structured.computed_max_risk!;
    const credit = Math.round((spread[0]!.price - spread[1]!.price) * 100 * 100) / 100;
    expect(figure).toBeCloseTo(500 - credit, 2);
    expect(preview.structured.risk_bounds).toMatchObject({ exact: true, dividend_shares: 0, pin_shares: 0 });
    const placed = await t.mcp.tool<PlaceAnswer>("place_order", order("XSP", "BULL_PUT", spread, figure));
    expect(placed.isError, placed.text).toBe(false);
    const tradeId = placed.structured.trade_id!;
    await waitOrderStatus(t.mcp, placed.structured.order_id!, ["Filled"]);
    await waitUntil("the spread to be open", async () => (await trade(tradeId)).state === "open", 20_000);
    await expectLevel(t);

    // The index closes below both strikes on expiry day: the spread's whole width is paid, in cash.
    await t.stack.simControl("/price", { symbol: "XSP", price: 560 });
    const { settled } = await pastClose(near);
    expect(settled.map((s) => [s.outcome, s.quantity, s.cashValue, s.stockShares ?? 0]).sort()).toEqual([["cash_settled", -1, 15, 0], ["cash_settled", 1, 10, 0]]);
    expect(await openPositions()).toEqual([]);

    await waitUntil("the settled trade to close", async () => (await trade(tradeId)).state === "closed", 30_000, 300);
    const done = await trade(tradeId);
    const commissions = done.fills.reduce((sum, f) => sum + (f.commission ?? 0), 0);
    expect(done.fills.filter((f) => f.settlement).map((f) => [f.sec_type, f.side, f.price]).sort()).toEqual([["OPT", "BOT", 15], ["OPT", "SLD", 10]]);
    // Lost exactly the figure, plus commissions.
    expect(done.realized_pnl!).toBeCloseTo(-figure - commissions, 2);
    const status = await t.mcp.tool<{ breakers: { name: string; tripped: boolean }[] }>("get_safety_status", {});
    expect(status.structured.breakers.find((b) => b.name === "assignment")?.tripped).toBe(false);
    await expectLevel(t);
    expect((await t.simState()).protocolWarnings).toEqual([]);
  });

  it("SPY: the issue's near 560C/561C + far 560P is refused as unbounded; a calendar assigned weeks early loses no more than its figure through a rally and both expiries", async () => {
    const spy = (await simChain(t)).SPY!;
    // The first test moved the clocks past the first expiry's close: the next session, for orders to fill.
    await intoSession();
    const [near, far] = [spy.expiries[1]!, spy.expiries[2]!];
    const ordersBefore = (await t.simState()).orders.length;

    const issue = [await touch("BUY", "SPY", near, 560, "C"), await touch("SELL", "SPY", near, 561, "C"), await touch("BUY", "SPY", far, 560, "P")];
    const refused = await t.mcp.tool<PlaceAnswer>("place_order", order("SPY", "ISSUE_23", issue, 206));
    expect(refused.isError).toBe(true);
    expect(refused.structured.violations.map((v) => v.check)).toContain("unbounded_risk");
    expect(refused.text).toMatch(/assigned \(early, or by a holder exercising after the close\)/);
    expect((await t.simState()).orders.length).toBe(ordersBefore);

    const strike = 585;
    const calendar = [await touch("SELL", "SPY", near, strike, "C"), await touch("BUY", "SPY", far, strike, "C")];
    const preview = await t.mcp.tool<Preview>("preview_order", order("SPY", "CALENDAR", calendar, 500));
    const figure = preview.structured.computed_max_risk!;
    expect(figure).toBeCloseTo((calendar[1]!.price - calendar[0]!.price) * 100, 2);
    expect(preview.structured.risk_bounds).toMatchObject({ exact: false, dividend_shares: 100, pin_shares: 100 });
    const before = await account();
    const placed = await t.mcp.tool<PlaceAnswer>("place_order", order("SPY", "CALENDAR", calendar, figure));
    expect(placed.isError, placed.text).toBe(false);
    const tradeId = placed.structured.trade_id!;
    await waitOrderStatus(t.mcp, placed.structured.order_id!, ["Filled"]);
    await waitUntil("the calendar to be open", async () => (await trade(tradeId)).state === "open", 20_000);
    await expectLevel(t);

    // Weeks before its expiry, the short call is assigned: 100 shares short at the strike.
    const short = (await openPositions()).find((p) => p.secType === "OPT" && p.position < 0)!;
    const assigned = (await t.stack.simControl("/fault", { name: "assignEarly", conId: short.conId })) as { settled: { outcome: string; stockShares: number } };
    expect(assigned.settled).toMatchObject({ outcome: "assigned", stockShares: -100 });
    // A rally, then past both expiries: the far call, in the money, is exercised into the shares.
    await t.stack.simControl("/price", { symbol: "SPY", price: 610 });
    await pastClose(near);
    const { settled } = await pastClose(far);
    expect(settled.map((s) => [s.outcome, s.quantity, s.stockShares])).toEqual([["exercised", 1, 100]]);
    expect(await openPositions()).toEqual([]);

    // The account lost the debit and the commissions, within the figure: the rally cost nothing more.
    const after = await account();
    const fills = (await t.simState()).executions as unknown as { orderRef: string; commission: number }[];
    const commissions = fills.filter((e) => e.orderRef === tradeId).reduce((sum, e) => sum + e.commission, 0);
    const lost = before.netLiquidation - after.netLiquidation;
    expect(lost).toBeLessThanOrEqual(figure + commissions + 0.01);
    expect(lost).toBeCloseTo(figure + commissions, 1);
    await expectLevel(t);
    expect((await t.simState()).protocolWarnings).toEqual([]);
  });
});
