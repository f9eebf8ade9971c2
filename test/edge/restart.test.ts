// State survives a restart of the Durable Object: the emergency stop and the audit chain are
// read back from SQLite, not from memory. Own file, so its storage holds no forged rows.
import { SELF, env, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";

const ADMIN = { authorization: "Bearer test-admin-token", "content-type": "application/json" };

function stub() {
  return env.ACCOUNT.get(env.ACCOUNT.idFromName("sim"));
}

async function setStop(on: boolean, reason: string): Promise<number> {
  const res = await SELF.fetch("https://edge.test/api/emergency-stop", { method: "POST", headers: ADMIN, body: JSON.stringify({ on, reason }) });
  await res.json();
  return res.status;
}

describe("restart", () => {
  it("keeps the emergency stop across a Durable Object restart", async () => {
    expect(await setStop(true, "persist me")).toBe(200);
    await evictDurableObject(stub());
    const res = await SELF.fetch("https://edge.test/mcp", {
      method: "POST",
      headers: { authorization: "Bearer test-mcp-token", "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "get_safety_status", arguments: {} } }),
    });
    const body = (await res.json()) as { result: { structuredContent: { emergency_stop: { on: boolean; reason: string } } } };
    expect(body.result.structuredContent.emergency_stop).toMatchObject({ on: true, reason: "persist me" });
    const verify = (await (await SELF.fetch("https://edge.test/api/audit/verify", { headers: ADMIN })).json()) as { ok: boolean; rows: number };
    expect(verify).toEqual({ ok: true, rows: 1 });
  });
});

describe("restart with a ledger", () => {
  it("keeps trades, approvals, breakers, shadow mode and idempotency answers across a restart", async () => {
    const { Edge, FakeBridge, condorOrder } = await import("./harness");
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const order = condorOrder({ idempotency_key: "restart-test-key-1" });
    const placed = (await edge.call("place_order", order)).structuredContent;
    await bridge.orderStatus(placed.trade_id, placed.order_id, "Filled", 1, 0, -1);
    await edge.admin("/api/shadow-mode", { on: true, reason: "restart test" });
    const queued = (await edge.call("place_order", condorOrder({}, 140))).structuredContent;
    await bridge.event("pnl", { daily: -1000, unrealized: -1000, realized: 0 });

    bridge.close();
    await bridge.closed;
    await evictDurableObject(edge.stub());

    const status = (await edge.call("get_safety_status")).structuredContent;
    expect(status.shadow_mode).toBe(true);
    expect(status.breakers.find((b: { name: string }) => b.name === "daily_loss").tripped).toBe(true);
    expect(status.bridge_connected).toBe(false);
    const trades = Object.fromEntries((await edge.call("list_trades", {})).structuredContent.trades.map((t: { trade_id: string; state: string }) => [t.trade_id, t.state]));
    expect(trades).toEqual({ [placed.trade_id]: "open", [queued.trade_id]: "pending_approval" });

    const again = await FakeBridge.connect(edge);
    // The replay is the first answer brought up to date: the order has filled since.
    const { message: _first, ...firstFigures } = placed;
    expect((await edge.call("place_order", order)).structuredContent).toMatchObject({ ...firstFigures, status: "Filled" });
    expect(again.sent("place")).toHaveLength(0);
    const verify = (await edge.admin("/api/audit/verify")).body;
    expect(verify.ok).toBe(true);
    again.close();
  });
});
