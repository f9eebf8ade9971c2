// An early assignment end to end (simulator + wrangler dev + bridge): an iron condor's short put is
// assigned weeks before its expiry (an American option may be, any day). TWS reports it as
// executions no order made; the edge books them on the trade, flags the leg assigned early, alerts
// the long stock it left with its own risk (no breaker: long stock's loss is bounded), and the
// trade stays open with three legs — close_position closes exactly those, and the trade ends with
// its P&L. The simulator's orders, executions and positions match the ledger and audit log throughout.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SimPosition } from "../tws-sim/index";
import { details, expectLevel, type FaultStack, type PlaceAnswer, startFaultStack, waitUntil } from "./faults";
import { ironCondor, waitOrderStatus } from "./scenario";
import { cents } from "../support/cents";

let t: FaultStack;
beforeAll(async () => {
  t = await startFaultStack("early-assignment");
});
afterAll(async () => {
  await t?.stop();
});

interface ViewTrade {
  trade_id: string; state: string; realized_pnl: number | null;
  fills: { exec_id: string; sec_type: string; side: string; shares: number; price: number; commission: number | null; settlement?: string }[];
  leg_ends?: { action: string; contract: { strike: number; right: string }; outcome: string | null; early: boolean }[];
}
const trade = async (id: string) => ((await (await t.stack.admin("/api/state")).json()) as { trades: ViewTrade[] }).trades.find((x) => x.trade_id === id)!;
const positionsAtTws = async () => ((await t.simState()) as unknown as { positions: SimPosition[] }).positions.filter((p) => p.position !== 0);

describe("early assignment", () => {
  it("a condor's short put assigned weeks early: booked and flagged, the stock alerted with its risk, the rest of the trade closable", async () => {
    const condor = await ironCondor(t.mcp, "QQQ", { pricing: "touch" });
    const placed = await t.mcp.tool<PlaceAnswer>("place_order", condor);
    expect(placed.isError, placed.text).toBe(false);
    const tradeId = placed.structured.trade_id!;
    await waitOrderStatus(t.mcp, placed.structured.order_id!, ["Filled"]);
    await waitUntil("the trade to be open", async () => (await trade(tradeId)).state === "open", 20_000);
    await expectLevel(t);

    const shortPut = condor.legs.map((l) => ({ action: l.action, c: l.contract as { strike: number; right: string } })).find((l) => l.action === "SELL" && l.c.right === "P")!.c;
    const held = (await positionsAtTws()).find((p) => p.secType === "OPT" && p.right === "P" && p.strike === shortPut.strike && p.position < 0)!;
    const assigned = (await t.stack.simControl("/fault", { name: "assignEarly", conId: held.conId })) as { settled: { outcome: string; stockShares: number; execIds: string[] } };
    expect(assigned.settled).toMatchObject({ outcome: "assigned", stockShares: 100 });

    // Booked on the trade, paired with its stock, flagged early; the trade stays open.
    await waitUntil("the assignment to be booked", async () => (await trade(tradeId)).leg_ends?.some((l) => l.outcome === "assigned") === true, 20_000, 300);
    const booked = await trade(tradeId);
    expect(booked.state).toBe("open");
    expect(booked.leg_ends!.filter((l) => l.outcome !== null)).toEqual([expect.objectContaining({ action: "SELL", contract: expect.objectContaining({ strike: shortPut.strike, right: "P" }), outcome: "assigned", early: true })]);
    expect(booked.fills.filter((f) => f.settlement).map((f) => f.exec_id).sort()).toEqual([...assigned.settled.execIds].sort());
    const settlementRows = (await t.audit()).filter((r) => r.action === "option_settlement").map(details);
    expect(settlementRows).toEqual([expect.objectContaining({ trade_id: tradeId, early: true, strike: shortPut.strike })]);
    await waitUntil("the stock alert", async () => (await t.audit()).some((r) => r.action === "assignment_stock"), 20_000);
    const positions = await t.mcp.tool<{ positions: { symbol: string; sec_type: string; quantity: number; worst_case_loss?: number | null }[] }>("get_positions", {});
    expect(positions.structured.positions.find((p) => p.sec_type === "STK")).toMatchObject({ symbol: "QQQ", quantity: 100, worst_case_loss: expect.any(Number) });
    const status = await t.mcp.tool<{ breakers: { name: string; tripped: boolean }[] }>("get_safety_status", {});
    expect(status.structured.breakers.find((b) => b.name === "assignment")?.tripped).toBe(false);
    await expectLevel(t);

    // The three legs left close as one combo; the assigned put is not in it.
    const closed = await t.mcp.tool<{ success: boolean; close_order_id: number | null }>("close_position", { trade_id: tradeId });
    expect(closed.isError, closed.text).toBe(false);
    await waitOrderStatus(t.mcp, closed.structured.close_order_id!, ["Filled"]);
    await waitUntil("the trade to close", async () => (await trade(tradeId)).state === "closed", 20_000, 300);
    const done = await trade(tradeId);
    const premium = done.fills.filter((f) => f.sec_type === "OPT").reduce((sum, f) => sum + (f.side === "SLD" ? 1 : -1) * f.shares * f.price * 100 - (f.commission ?? 0), 0);
    expect(cents(done.realized_pnl)).toBe(cents(premium));
    // TWS now holds the 100 shares only: every option leg is gone, none was opened the other way.
    expect((await positionsAtTws()).map((p) => [p.secType, p.position])).toEqual([["STK", 100]]);
    await expectLevel(t);
    expect((await t.simState()).protocolWarnings).toEqual([]);
  });
});
