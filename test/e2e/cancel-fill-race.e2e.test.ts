// The cancel-then-fill race end to end (issue 17, case 1, without an attacker): the agent cancels a
// resting combo, TWS (the simulator's fillAfterCancel fault) reports it Cancelled and then the fill
// that raced the cancel. The ledger must end where TWS is: the trade open with its risk counted,
// every execution recorded, and close_position able to flatten it at the simulator.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FaultStack, type PlaceAnswer, startFaultStack, waitUntil } from "./faults";
import { ironCondor, waitOrderStatus } from "./scenario";

let t: FaultStack;

beforeAll(async () => {
  t = await startFaultStack("cancel-fill-race");
});
afterAll(async () => {
  await t?.stop();
});

describe("cancel-then-fill race", () => {
  it("Cancelled then a fill: the trade re-opens with its risk counted, matches TWS, and close_position flattens it", async () => {
    const placed = await t.mcp.tool<PlaceAnswer>("place_order", await ironCondor(t.mcp, "SPY", { width: 3, pricing: "mid" }));
    expect(placed.isError, placed.text).toBe(false);
    const tradeId = placed.structured.trade_id!;
    const orderId = placed.structured.order_id!;
    await waitOrderStatus(t.mcp, orderId, ["Submitted"]);

    await t.stack.simControl("/fault", { name: "fillAfterCancel" });
    const cancelled = await t.mcp.tool<{ success: boolean }>("cancel_order", { trade_id: tradeId });
    expect(cancelled.isError, cancelled.text).toBe(false);
    await waitUntil("the raced fill at the simulator", async () => (await t.simState()).orders.find((o) => o.orderRef === tradeId)?.status === "Filled", 20_000);

    // The ledger follows the evidence, not the Cancelled it heard first.
    await waitUntil("the trade re-opened in the ledger", async () => (await t.adminState()).trades.find((x) => x.trade_id === tradeId)?.state === "open", 20_000, 200);
    const sim = await t.simState();
    const state = await t.adminState();
    const trade = state.trades.find((x) => x.trade_id === tradeId)!;
    expect(trade.orders[0]).toMatchObject({ order_id: orderId, status: "Filled", filled: 1, remaining: 0 });
    const simExecs = sim.executions.filter((e) => e.orderRef === tradeId).map((e) => e.execId).sort();
    expect(trade.fills.map((f) => f.exec_id).sort()).toEqual(expect.arrayContaining(simExecs));
    expect(state.limits.find((l) => l.name === "concentration")!.used).toBeGreaterThan(0);
    expect(sim.positions.filter((p) => p.position !== 0)).toHaveLength(4);

    const closed = await t.mcp.tool<{ success: boolean; close_order_id: number | null }>("close_position", { trade_id: tradeId });
    expect(closed.isError, closed.text).toBe(false);
    await waitUntil("the close filled and the account flat at the simulator", async () => {
      const after = await t.simState();
      return after.orders.find((o) => o.orderRef === `${tradeId}_CLOSE`)?.status === "Filled" && after.positions.every((p) => p.position === 0);
    }, 20_000);
    await waitUntil("the trade closed in the ledger", async () => (await t.adminState()).trades.find((x) => x.trade_id === tradeId)?.state === "closed", 20_000, 200);
  });
});
