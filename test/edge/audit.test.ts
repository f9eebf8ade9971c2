// Audit chain and admin auth inside workerd: the chain verifies and a changed row is detected.
// Storage is shared by the tests of one file, so the tests here run in order on one chain.
import { SELF, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { bodyText } from "./harness";
import type { AccountDO } from "../../edge/account-do";

const ADMIN = { authorization: "Bearer test-admin-token", "content-type": "application/json" };

function stub() {
  return env.ACCOUNT.get(env.ACCOUNT.idFromName("sim"));
}

// Reads the body so no request is left in flight (eviction waits for in-flight requests).
async function setStop(on: boolean, reason: string): Promise<{ status: number; body: unknown }> {
  const res = await SELF.fetch("https://edge.test/api/emergency-stop", { method: "POST", headers: ADMIN, body: JSON.stringify({ on, reason }) });
  return { status: res.status, body: await res.json() };
}

describe("admin API auth", () => {
  it("refuses the MCP token and the bridge token", async () => {
    for (const token of ["test-mcp-token", "test-bridge-token"]) {
      const res = await SELF.fetch("https://edge.test/api/audit/verify", { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
    }
  });
  it("refuses an emergency stop without a reason", async () => {
    const res = await setStop(true, " ");
    expect(res.status).toBe(400);
  });
});

describe("audit chain", () => {
  it("records admin acts, verifies, and shows the stop in get_safety_status", async () => {
    expect((await setStop(true, "test halt")).status).toBe(200);
    expect((await setStop(false, "test resume")).status).toBe(200);
    const verify = (await (await SELF.fetch("https://edge.test/api/audit/verify", { headers: ADMIN })).json()) as { ok: boolean; rows: number };
    expect(verify).toEqual({ ok: true, rows: 2 });
    const jsonl = await bodyText(await SELF.fetch("https://edge.test/api/audit/export", { headers: ADMIN }));
    const rows = jsonl.trim().split("\n").map((l) => JSON.parse(l) as { action: string; details_json: string });
    expect(rows.map((r) => r.action)).toEqual(["emergency_stop_set", "emergency_stop_cleared"]);
    expect(JSON.parse(rows[0]!.details_json)).toMatchObject({ reason: "test halt", by: "admin" });
  });

  it("detects a changed row", async () => {
    await setStop(true, "first");
    await setStop(false, "second");
    await setStop(true, "third");
    await runInDurableObject(stub(), async (_obj: AccountDO, state) => {
      state.storage.sql.exec("UPDATE audit SET details_json = ? WHERE seq = 2", JSON.stringify({ reason: "forged" }));
    });
    const verify = (await (await SELF.fetch("https://edge.test/api/audit/verify", { headers: ADMIN })).json()) as { ok: boolean; bad_seq: number };
    expect(verify).toEqual({ ok: false, bad_seq: 2, rows: 2 });
  });
});

describe("audit of a trading flow", () => {
  it("records calls, decisions, orders, fills and admin acts before answering; filters by action and actor", async () => {
    const { Edge, FakeBridge, condorOrder, fillOrder, ironCondor } = await import("./harness");
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const placed = (await edge.call("place_order", condorOrder())).structuredContent;
    await edge.call("place_order", condorOrder({ max_risk: 900 }, 130));
    await bridge.orderStatus(placed.trade_id, placed.order_id, "PreSubmitted");
    // The executions fill the order (evidence); the Filled status that follows changes nothing more.
    await fillOrder(bridge, placed.trade_id, placed.order_id, ironCondor(), false, [1, 0.5, 1, 0.5]);
    await edge.admin("/api/emergency-stop", { on: true, reason: "audit test", by: "ops" });
    const actions = (await edge.audit()).map((r) => r.action);
    for (const a of ["bridge_connected", "tool_call", "order_checks_passed", "order_sent", "order_refused", "order_status", "fill", "order_fills_from_executions", "trade_state", "emergency_stop_set"])
      expect(actions, a).toContain(a);
    expect(actions.indexOf("tool_call")).toBeLessThan(actions.indexOf("order_checks_passed"));
    expect(actions.indexOf("order_checks_passed")).toBeLessThan(actions.indexOf("order_sent"));
    const admin = (await edge.admin("/api/audit?actor=admin")).body.rows;
    expect(admin.map((r: { action: string }) => r.action)).toEqual(["emergency_stop_set"]);
    const refused = (await edge.admin("/api/audit?action=order_refused")).body.rows;
    expect(JSON.parse(refused[0].details_json).violations[0].check).toBe("max_trade_risk");
    expect((await edge.admin("/api/audit?limit=0")).status).toBe(400);
    expect((await edge.admin("/api/audit/verify")).body).toMatchObject({ ok: true });
  });
});
