// What a stolen credential can and cannot do (the README's security section), through the real
// Worker in workerd: the sentences that no other file's test already holds. Each `it` names its
// sentence; the README points at this file or at the file that holds the rest.
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { condorOrder, Edge, FakeBridge, waitFor } from "./harness";
import { ADMIN, callTool, grant, inAccount, mcp, ORIGIN, refresh } from "./oauth-flow";

const MCP_TOKEN = "test-mcp-token";
let bridge: FakeBridge;

beforeAll(async () => {
  bridge = await FakeBridge.connect(new Edge("sim"), { account: 100_000 });
});

describe("a stolen bridge token (without the bridge's key)", () => {
  it("opens a socket but hears only its challenge: no request, no account data, even while an order goes out", async () => {
    const res = await SELF.fetch(`${ORIGIN}/bridge`, { headers: { upgrade: "websocket", authorization: "Bearer test-bridge-token" } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    const frames: any[] = [];
    ws.addEventListener("message", (e) => frames.push(JSON.parse(e.data as string)));
    await waitFor(async () => frames.length > 0, "challenge");
    const placed = await callTool(MCP_TOKEN, "place_order", condorOrder({}, 100));
    expect(placed.result.structuredContent.status).toBe("Submitted");
    expect(bridge.sent("place")).toHaveLength(1);
    await callTool(MCP_TOKEN, "get_account", {});
    expect(frames.map((f) => f.type)).toEqual(["challenge"]);
    ws.close(1000, "done");
  });
});

describe("a stolen MCP token", () => {
  it("cannot approve or reject orders, nor switch off a gate or reset a breaker: every such route refuses it and nothing changes", async () => {
    await SELF.fetch(`${ORIGIN}/api/confirm-every-order`, { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify({ on: true, reason: "owner wants to see each order" }) });
    const waiting = (await callTool(MCP_TOKEN, "place_order", condorOrder({}, 130))).result.structuredContent;
    expect(waiting.status).toBe("awaiting_confirmation");
    const asAgent = { authorization: `Bearer ${MCP_TOKEN}`, "content-type": "application/json" };
    const attempts: Array<[string, unknown]> = [
      [`/api/approvals/${waiting.trade_id}`, { decision: "approve", reason: "self-approved" }],
      ["/api/confirm-every-order", { on: false, reason: "agent" }],
      ["/api/shadow-mode", { on: false, reason: "agent" }],
      ["/api/emergency-stop", { on: false, reason: "agent" }],
      ["/api/breakers/reset", { breaker: "drawdown", reason: "agent" }],
    ];
    for (const [path, body] of attempts) {
      const res = await SELF.fetch(`${ORIGIN}${path}`, { method: "POST", headers: asAgent, body: JSON.stringify(body) });
      expect(res.status, path).toBe(401);
    }
    // The approval link's decision needs the dashboard session: the MCP token is no session.
    const link = await SELF.fetch(`${ORIGIN}/approve/decide`, {
      method: "POST", headers: { authorization: `Bearer ${MCP_TOKEN}`, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: new URL(waiting.confirmation_url).hash.slice(1), decision: "approve" }),
    });
    expect(link.status).toBe(401);
    const s = (await (await SELF.fetch(`${ORIGIN}/api/state`, { headers: ADMIN })).json()) as any;
    expect(s.confirm_every_order).toBe(true);
    expect(s.trades.find((t: any) => t.trade_id === waiting.trade_id).state).toBe("pending_approval");
    expect(bridge.sent("place").some((r) => r.params.trade_id === waiting.trade_id)).toBe(false);
    await SELF.fetch(`${ORIGIN}/api/confirm-every-order`, { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify({ on: false, reason: "done" }) });
  });
});

describe("a stolen OAuth refresh token", () => {
  it("cannot widen its grant: a read grant refreshed asking for trade gets read only, and place_order stays refused (403)", async () => {
    const g = await grant(["read"]);
    const res = await SELF.fetch(`${ORIGIN}/oauth/token`, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: g.refresh, client_id: g.clientId, scope: "read trade" }),
    });
    expect(res.status).toBe(200);
    const next = (await res.json()) as { access_token: string; scope: string };
    expect(next.scope).toBe("read");
    expect((await callTool(next.access_token, "place_order", condorOrder({}, 160))).status).toBe(403);
    // Asking for trade alone: none of it was granted.
    const only = await refresh(g, g.refresh);
    expect(only.status).toBe(200); // the one retry of the spent token, within its window
    const tradeOnly = await SELF.fetch(`${ORIGIN}/oauth/token`, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: ((await only.json()) as { refresh_token: string }).refresh_token, client_id: g.clientId, scope: "trade" }),
    });
    expect(tradeOnly.status).toBe(400);
    expect(((await tradeOnly.json()) as { error: string }).error).toBe("invalid_scope");
  });
});

describe("a stolen admin token", () => {
  it("cannot erase or rewrite the audit log: no route deletes or edits a row, every attempt leaves the chain whole", async () => {
    const before = await inAccount((sql) => sql.exec<{ n: number; last: string }>("SELECT COUNT(*) AS n, MAX(hash) AS last FROM audit").one());
    const tries: Array<[string, string]> = [["DELETE", "/api/audit"], ["POST", "/api/audit"], ["PUT", "/api/audit"], ["PATCH", "/api/audit"], ["DELETE", "/api/audit/1"], ["POST", "/api/audit/1"], ["POST", "/api/audit/import"], ["POST", "/api/audit/reset"]];
    for (const [method, path] of tries) {
      const res = await SELF.fetch(`${ORIGIN}${path}`, { method, headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify({ seq: 1, details_json: "{}" }) });
      expect([404, 405], `${method} ${path}`).toContain(res.status);
    }
    const after = await inAccount((sql) => sql.exec<{ n: number; first: string }>("SELECT COUNT(*) AS n FROM audit").one());
    expect(after.n).toBeGreaterThanOrEqual(before.n);
    expect(await (await SELF.fetch(`${ORIGIN}/api/audit/verify`, { headers: ADMIN })).json()).toMatchObject({ ok: true });
    // And it is no MCP credential: it places nothing.
    expect((await mcp("test-admin-token", "tools/list")).status).toBe(401);
  });
});
