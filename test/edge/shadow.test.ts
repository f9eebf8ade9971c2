// Shadow mode: a passed order waits as PendingApproval until an admin approves (re-checked, then
// sent) or rejects it, or it expires; its reserved risk counts meanwhile and is released after.
import { describe, expect, it } from "vitest";
import { condorOrder, Edge, FakeBridge } from "./harness";

async function shadowEdge(netLiq = 100_000) {
  const edge = new Edge();
  const bridge = await FakeBridge.connect(edge, { account: netLiq });
  expect((await edge.admin("/api/shadow-mode", { on: true, reason: "new agent on probation", by: "lead" })).status).toBe(200);
  return { edge, bridge };
}

describe("shadow mode", () => {
  it("queues a passed order, shows it, and sends it once approved", async () => {
    const { edge, bridge } = await shadowEdge();
    const placed = await edge.call("place_order", condorOrder());
    expect(placed.structuredContent).toMatchObject({ success: true, status: "PendingApproval", order_id: null });
    expect(bridge.sent("place")).toHaveLength(0);
    const { trade_id } = placed.structuredContent;
    const state = (await edge.admin("/api/state")).body;
    expect(state.shadow_mode).toBe(true);
    expect(state.pending_approvals.map((p: any) => p.trade_id)).toEqual([trade_id]);
    expect((await edge.call("list_trades", {})).structuredContent.trades[0].state).toBe("pending_approval");

    expect((await edge.admin(`/api/approvals/${trade_id}`, { decision: "approve", reason: "" })).status).toBe(400);
    const approved = await edge.admin(`/api/approvals/${trade_id}`, { decision: "approve", reason: "looks right", by: "lead" });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ success: true, trade_id, status: "Submitted" });
    expect(bridge.sent("place")).toHaveLength(1);
    expect((await edge.call("list_trades", {})).structuredContent.trades[0].state).toBe("working");
    expect((await edge.admin(`/api/approvals/${trade_id}`, { decision: "approve", reason: "again" })).status).toBe(409);
  });

  it("pending orders hold their risk; rejecting releases it", async () => {
    const { edge, bridge } = await shadowEdge(2_000); // 30% = $600: one $400 condor
    const first = await edge.call("place_order", condorOrder({}, 100));
    const second = await edge.call("place_order", condorOrder({}, 130));
    expect(second.structuredContent.violations.map((v: any) => v.check)).toEqual(["concentration"]);
    const rejected = await edge.admin(`/api/approvals/${first.structuredContent.trade_id}`, { decision: "reject", reason: "not today" });
    expect(rejected.status).toBe(200);
    expect((await edge.call("place_order", condorOrder({}, 160))).structuredContent.status).toBe("PendingApproval");
    expect(bridge.sent("place")).toHaveLength(0);
  });

  it("approval re-checks: an emergency stop set meanwhile refuses it", async () => {
    const { edge, bridge } = await shadowEdge();
    const placed = await edge.call("place_order", condorOrder());
    await edge.admin("/api/emergency-stop", { on: true, reason: "market halt" });
    const approved = await edge.admin(`/api/approvals/${placed.structuredContent.trade_id}`, { decision: "approve", reason: "ok" });
    expect(approved.status).toBe(409);
    expect(approved.body.violations.map((v: any) => v.check)).toEqual(["emergency_stop"]);
    expect(bridge.sent("place")).toHaveLength(0);
  });

  it("an unanswered approval expires and releases its risk", async () => {
    const { edge } = await shadowEdge();
    const placed = await edge.call("place_order", condorOrder());
    await edge.inside((sql) => sql.exec("UPDATE trades SET expires_at = ?", new Date(edge.now().getTime() - 1000).toISOString()));
    const trades = (await edge.call("list_trades", {})).structuredContent.trades;
    expect(trades[0]).toMatchObject({ trade_id: placed.structuredContent.trade_id, state: "expired" });
    expect(await edge.audit("approval_expired")).toHaveLength(1);
    expect((await edge.admin(`/api/approvals/${placed.structuredContent.trade_id}`, { decision: "approve", reason: "late" })).status).toBe(409);
  });

  it("shadow mode off sends at once again", async () => {
    const { edge, bridge } = await shadowEdge();
    await edge.admin("/api/shadow-mode", { on: false, reason: "probation over" });
    expect((await edge.call("place_order", condorOrder())).structuredContent.status).toBe("Submitted");
    expect(bridge.sent("place")).toHaveLength(1);
  });
});
