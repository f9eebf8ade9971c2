// Adversarial review of close_position's cancel of a partly filled opening order
// (edge/order-desk.ts cancelRestOfOpening), inside workerd with a fake bridge: calls that overlap
// the wait for TWS's cancel send one close, sized to what filled.
import { describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { condorOrder, execution, FakeBridge, Edge, ironCondor } from "./harness";

describe("close_position twice while the rest of the opening order is being cancelled", () => {
  it("sends one close of what filled; the other call is refused", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const legs = ironCondor("AAPL", 100, 2).map((leg) => ({ ...leg, price: leg.action === "SELL" ? 2.0 : 0.5 }));
    const placed = (await edge.call("place_order", { ...condorOrder(), legs, max_risk: 400, capital_required: 400 })).structuredContent;
    expect(placed.success, placed.message).toBe(true);
    for (const leg of ironCondor("AAPL", 100, 1)) await bridge.event("execution", execution(placed.trade_id, placed.order_id, leg, leg.action === "BUY" ? "BOT" : "SLD", leg.action === "SELL" ? 2 : 0.5, crypto.randomUUID()));
    await bridge.orderStatus(placed.trade_id, placed.order_id, "Submitted", 1, 1);
    let confirmed = false;
    bridge.handlers.cancel = (p) => {
      if (!confirmed) setTimeout(() => void bridge.orderStatus(placed.trade_id, p.order_id, "Cancelled", 1, 1), 400);
      confirmed = true;
      return { order_id: p.order_id, status: "Submitted" };
    };
    const [a, b] = await Promise.all([edge.call("close_position", { trade_id: placed.trade_id }), edge.call("close_position", { trade_id: placed.trade_id })]);
    expect([a, b].filter((r) => !r.isError)).toHaveLength(1);
    expect(bridge.sent("close")).toHaveLength(1);
    expect((bridge.sent("close")[0]!.params.legs as Leg[]).map((l) => l.quantity)).toEqual([1, 1, 1, 1]);
    bridge.close();
  });
});
