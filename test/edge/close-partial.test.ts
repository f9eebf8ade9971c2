// close_position on a trade whose opening order is partly filled and still working, inside workerd
// with a fake bridge: the rest is cancelled first and the close covers exactly what filled; if the
// rest fills in the race, the close covers all of it; if TWS does not confirm the cancel, nothing is
// closed and the agent is told to try again — never a close sized to a guess.
import { describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { Edge, execution, FakeBridge, ironCondor, placeTwoLots, waitFor } from "./harness";

/** Two lots at a $3.00 credit each (worst case 2 × $200), one lot filled, the rest working. */
async function partlyFilled(edge: Edge, bridge: FakeBridge) {
  const { placed } = await placeTwoLots(edge);
  for (const leg of ironCondor("AAPL", 100, 1)) await bridge.event("execution", execution(placed.trade_id, placed.order_id, leg, leg.action === "BUY" ? "BOT" : "SLD", leg.action === "SELL" ? 2 : 0.5, crypto.randomUUID()));
  await bridge.orderStatus(placed.trade_id, placed.order_id, "Submitted", 1, 1);
  const trade = (await edge.call("list_trades", {})).structuredContent.trades.find((t: any) => t.trade_id === placed.trade_id);
  expect(trade).toMatchObject({ state: "working" });
  return { tradeId: placed.trade_id as string, orderId: placed.order_id as number };
}

const quantities = (bridge: FakeBridge) => (bridge.sent("close").at(-1)!.params.legs as Leg[]).map((l) => l.quantity);

describe("closing a partly filled opening order that still works", () => {
  it("cancels the rest, waits for TWS to confirm, then closes exactly what filled", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const { tradeId, orderId } = await partlyFilled(edge, bridge);
    // TWS confirms the cancel a moment after it is asked.
    bridge.handlers.cancel = (p) => {
      setTimeout(() => void bridge.orderStatus(tradeId, p.order_id, "Cancelled", 1, 1), 300);
      return { order_id: p.order_id, status: "Submitted" };
    };
    const closed = await edge.call("close_position", { trade_id: tradeId });
    expect(closed.isError, JSON.stringify(closed.structuredContent)).toBeFalsy();
    expect(bridge.sent("cancel").map((r) => r.params.order_id)).toEqual([orderId]);
    expect(quantities(bridge)).toEqual([1, 1, 1, 1]);
    expect((await edge.audit("close_cancels_rest")).map((r) => JSON.parse(r.details_json))).toEqual([expect.objectContaining({ trade_id: tradeId, filled: 1, remaining: 1 })]);
    bridge.close();
  });

  it("closes all of it when the rest filled before the cancel took", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const { tradeId } = await partlyFilled(edge, bridge);
    bridge.handlers.cancel = (p) => {
      setTimeout(async () => {
        for (const leg of ironCondor("AAPL", 100, 1)) await bridge.event("execution", execution(tradeId, p.order_id, leg, leg.action === "BUY" ? "BOT" : "SLD", leg.action === "SELL" ? 2 : 0.5, crypto.randomUUID()));
        await bridge.orderStatus(tradeId, p.order_id, "Filled", 2, 0);
      }, 200);
      return { order_id: p.order_id, status: "Submitted" };
    };
    const closed = await edge.call("close_position", { trade_id: tradeId });
    expect(closed.isError, JSON.stringify(closed.structuredContent)).toBeFalsy();
    expect(quantities(bridge)).toEqual([2, 2, 2, 2]);
    bridge.close();
  });

  it("sends no close while TWS has not confirmed the cancel, and says to try again", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const { tradeId } = await partlyFilled(edge, bridge);
    bridge.handlers.cancel = (p) => ({ order_id: p.order_id, status: "Submitted" });
    const refused = await edge.call("close_position", { trade_id: tradeId });
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent.violations[0]).toMatchObject({ check: "opening_order_working" });
    expect(refused.structuredContent.message).toMatch(/cancel of the rest was sent but TWS has not confirmed it within 8 s/);
    expect(bridge.sent("close")).toEqual([]);
    // Confirmed later: the next close goes, sized to what filled.
    await bridge.orderStatus(tradeId, bridge.sent("cancel")[0]!.params.order_id, "Cancelled", 1, 1);
    const closed = await edge.call("close_position", { trade_id: tradeId });
    expect(closed.isError, JSON.stringify(closed.structuredContent)).toBeFalsy();
    expect(quantities(bridge)).toEqual([1, 1, 1, 1]);
    await waitFor(async () => (await edge.call("list_trades", {})).structuredContent.trades.find((t: any) => t.trade_id === tradeId).state === "closing", "closing");
    bridge.close();
  }, 20_000);

  it("a cancel the bridge refuses leaves the trade working and sends no close", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const { tradeId } = await partlyFilled(edge, bridge);
    bridge.handlers.cancel = () => ({ error: { code: "tws_error", message: "TWS error 10148: OrderId that needs to be cancelled cannot be cancelled" } });
    const refused = await edge.call("close_position", { trade_id: tradeId });
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent.message).toMatch(/cancelling the rest failed: .*10148/);
    expect(bridge.sent("close")).toEqual([]);
    expect((await edge.call("list_trades", {})).structuredContent.trades.find((t: any) => t.trade_id === tradeId).state).toBe("working");
    bridge.close();
  });

  it("two close_position calls overlapping the wait send one close of what filled; the other is refused", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const { tradeId } = await partlyFilled(edge, bridge);
    let confirmed = false;
    bridge.handlers.cancel = (p) => {
      if (!confirmed) setTimeout(() => void bridge.orderStatus(tradeId, p.order_id, "Cancelled", 1, 1), 400);
      confirmed = true;
      return { order_id: p.order_id, status: "Submitted" };
    };
    const [a, b] = await Promise.all([edge.call("close_position", { trade_id: tradeId }), edge.call("close_position", { trade_id: tradeId })]);
    expect([a, b].filter((r) => !r.isError)).toHaveLength(1);
    expect(bridge.sent("close")).toHaveLength(1);
    expect((bridge.sent("close")[0]!.params.legs as Leg[]).map((l) => l.quantity)).toEqual([1, 1, 1, 1]);
    bridge.close();
  });
});
