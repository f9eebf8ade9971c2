// A replayed place_order or close_position (same idempotency_key, same arguments) answers the
// trade's CURRENT state from the ledger — an admin's rejection, an expiry, an Unknown order since
// reconciled, a fill — with the first decision's risk figures, and never places anything again.
import { describe, expect, it } from "vitest";
import { condorOrder, Edge, FakeBridge, fillOrder, ironCondor, waitFor, reconciled } from "./harness";

async function shadowEdge() {
  const edge = new Edge();
  const bridge = await FakeBridge.connect(edge);
  expect((await edge.admin("/api/shadow-mode", { on: true, reason: "probation" })).status).toBe(200);
  return { edge, bridge };
}

describe("idempotent replays report the trade's current state", () => {
  it("a shadow-mode order rejected by an admin replays as Rejected, not PendingApproval", async () => {
    const { edge, bridge } = await shadowEdge();
    const order = condorOrder({ idempotency_key: "shadow-replay-1" });
    const first = await edge.call("place_order", order);
    expect(first.structuredContent).toMatchObject({ success: true, status: "PendingApproval", order_id: null, computed_max_risk: 400 });
    const tradeId = first.structuredContent.trade_id;
    expect((await edge.admin(`/api/approvals/${tradeId}`, { decision: "reject", reason: "not today" })).status).toBe(200);

    const replay = await edge.call("place_order", order);
    expect(replay.isError).toBe(true);
    expect(replay.structuredContent).toMatchObject({ success: false, trade_id: tradeId, status: "Rejected", order_id: null, computed_max_risk: 400, max_gain: 100, net_premium: first.structuredContent.net_premium });
    expect(replay.structuredContent.message).toContain("rejected");
    expect((await edge.call("list_trades", {})).structuredContent.trades).toHaveLength(1);
    expect(bridge.sent("place")).toHaveLength(0);
    bridge.close();
  });

  it("an approved one replays with its order id and status; an expired one as Cancelled", async () => {
    const { edge, bridge } = await shadowEdge();
    const approvedOrder = condorOrder({ idempotency_key: "shadow-replay-2" });
    const first = await edge.call("place_order", approvedOrder);
    const approved = await edge.admin(`/api/approvals/${first.structuredContent.trade_id}`, { decision: "approve", reason: "fine" });
    expect(approved.status).toBe(200);
    const replay = await edge.call("place_order", approvedOrder);
    expect(replay.structuredContent).toMatchObject({ success: true, status: "Submitted", order_id: approved.body.order_id });
    expect(replay.isError).toBeFalsy();

    const expiringOrder = condorOrder({ idempotency_key: "shadow-replay-3" }, 130);
    const queued = await edge.call("place_order", expiringOrder);
    await edge.inside((sql) => sql.exec("UPDATE trades SET expires_at = ? WHERE trade_id = ?", new Date(edge.now().getTime() - 1000).toISOString(), queued.structuredContent.trade_id));
    const expired = await edge.call("place_order", expiringOrder);
    expect(expired.structuredContent).toMatchObject({ success: false, status: "Cancelled", trade_id: queued.structuredContent.trade_id });
    expect(expired.structuredContent.message).toContain("expired");
    expect(bridge.sent("place")).toHaveLength(1);
    bridge.close();
  });

  it("an order left Unknown by a lost link replays as what reconciliation found: adopted (Submitted) or never reached TWS (Cancelled)", async () => {
    const edge = new Edge();
    const first = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    first.handlers.place = () => new Promise(() => undefined);
    const adoptedOrder = condorOrder({ idempotency_key: "unknown-replay-1" }, 100);
    const lostOrder = condorOrder({ idempotency_key: "unknown-replay-2" }, 130);
    const pending = [edge.call("place_order", adoptedOrder), edge.call("place_order", lostOrder)];
    await waitFor(async () => first.sent("place").length === 2, "both held place requests");
    first.close();
    const [adopted, lost] = await Promise.all(pending);
    expect(adopted!.structuredContent.status).toBe("Unknown");
    expect(lost!.structuredContent.status).toBe("Unknown");
    // Before reconciliation a replay still says Unknown.
    expect((await edge.call("place_order", adoptedOrder)).structuredContent.status).toBe("Unknown");

    const second = new FakeBridge(edge);
    second.handlers.open_orders = () => [
      { order_id: 555, perm_id: 7, order_ref: adopted!.structuredContent.trade_id, symbol: "AAPL", sec_type: "BAG", action: "BUY", quantity: 1, order_type: "LMT", limit_price: -1, status: "Submitted", filled: 0, remaining: 1 },
    ];
    await second.open();
    await reconciled(edge, 2);

    const adoptedReplay = await edge.call("place_order", adoptedOrder);
    expect(adoptedReplay.isError).toBeFalsy();
    expect(adoptedReplay.structuredContent).toMatchObject({ success: true, status: "Submitted", order_id: 555, computed_max_risk: 400 });
    const lostReplay = await edge.call("place_order", lostOrder);
    expect(lostReplay.isError).toBe(true);
    expect(lostReplay.structuredContent).toMatchObject({ success: false, status: "Cancelled", order_id: null });
    expect(lostReplay.structuredContent.message).toContain("never reached it");
    expect(second.sent("place")).toHaveLength(0);
    second.close();
  });

  it("a replayed close reports the close order's current status", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const placed = (await edge.call("place_order", condorOrder())).structuredContent;
    await fillOrder(bridge, placed.trade_id, placed.order_id, ironCondor(), false, [1, 0.5, 1, 0.5]);
    const close = { trade_id: placed.trade_id, idempotency_key: "close-replay-1" };
    const first = await edge.call("close_position", close);
    expect(first.structuredContent).toMatchObject({ success: true, status: "Submitted" });
    const closeId = first.structuredContent.close_order_id;
    await fillOrder(bridge, `${placed.trade_id}_CLOSE`, closeId, ironCondor(), true, [0.5, 0.25, 0.5, 0.25]);
    const replay = await edge.call("close_position", close);
    expect(replay.structuredContent).toMatchObject({ success: true, status: "Filled", close_order_id: closeId });
    expect(bridge.sent("close")).toHaveLength(1);
    bridge.close();
  });
});
