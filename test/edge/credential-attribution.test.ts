// Issue 24, item 4, through the real Worker (SELF), the OAuth provider and the account object with
// a fake bridge: every order names the credential that placed, modified, closed or cancelled it —
// an OAuth app by client id and name, or the static MCP_TOKEN — in the tool_call audit rows and on
// the trade (the dashboard's trades), and the owner filters the audit and the trades by it.
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { condorOrder, Edge, FakeBridge, fillOrder, ironCondor } from "./harness";
import { ADMIN, audit, callTool, grant, ORIGIN, type Grant } from "./oauth-flow";

const STATIC = "test-mcp-token";
let bridge: FakeBridge;
let alpha: Grant;

const state = async (query = ""): Promise<any> => (await SELF.fetch(`${ORIGIN}/api/state${query}`, { headers: ADMIN })).json();
const actsOf = (s: any, tradeId: string) => (s.trades.find((t: any) => t.trade_id === tradeId)?.acts ?? []).map((a: any) => [a.act, a.by.kind, a.by.id, a.by.name]);

beforeAll(async () => {
  bridge = await FakeBridge.connect(new Edge("sim"), { account: 100_000 });
  alpha = await grant(["read", "trade"], "Agent Alpha");
});

describe("every order names its credential", () => {
  it("placed, modified, closed and cancelled: the OAuth app (id and name) or the static token, on the trade and in the audit; filterable", async () => {
    const placed = (await callTool(alpha.access, "place_order", condorOrder({}, 100))).result.structuredContent;
    expect(placed.status, placed.message).toBe("Submitted");
    const modified = (await callTool(STATIC, "modify_order", { trade_id: placed.trade_id, limit_price: -1.05, max_risk: 400 })).result.structuredContent;
    expect(modified.success, modified.message).toBe(true);
    await fillOrder(bridge, placed.trade_id, placed.order_id, ironCondor("AAPL", 100), false, [1.05, 0.5, 1.0, 0.5]);
    const closed = (await callTool(alpha.access, "close_position", { trade_id: placed.trade_id })).result.structuredContent;
    expect(closed.success, closed.message).toBe(true);
    const second = (await callTool(STATIC, "place_order", condorOrder({}, 130))).result.structuredContent;
    expect(second.status, second.message).toBe("Submitted");
    const cancelled = (await callTool(alpha.access, "cancel_order", { trade_id: second.trade_id })).result.structuredContent;
    expect(cancelled.success, cancelled.message).toBe(true);
    const third = (await callTool(STATIC, "place_order", condorOrder({}, 160))).result.structuredContent;
    expect(third.status, third.message).toBe("Submitted");

    const app = ["oauth", alpha.clientId, "Agent Alpha"];
    const token = ["static", "MCP_TOKEN", "static MCP_TOKEN"];
    const s = await state();
    expect(actsOf(s, placed.trade_id)).toEqual([["placed", ...app], ["modified", ...token], ["closed", ...app]]);
    expect(actsOf(s, second.trade_id)).toEqual([["placed", ...token], ["cancelled", ...app]]);
    expect(actsOf(s, third.trade_id)).toEqual([["placed", ...token]]);
    expect(s.trades.find((t: any) => t.trade_id === placed.trade_id).acts[0].by.grant_id).toBe(alpha.grantId);

    // The audit's tool_call rows carry it too, and the owner filters by it.
    const calls = await audit({ action: "tool_call", credential: alpha.clientId });
    expect(calls.map((r) => r.details.tool)).toEqual(["place_order", "close_position", "cancel_order"]);
    expect(calls.every((r) => r.details.credential.id === alpha.clientId && r.details.credential.name === "Agent Alpha")).toBe(true);
    const byToken = await audit({ action: "tool_call", credential: "MCP_TOKEN" });
    expect(byToken.map((r) => r.details.tool)).toEqual(["modify_order", "place_order", "place_order"]);
    // The trades too: those the credential placed, modified, closed or cancelled.
    expect((await state(`?credential=${encodeURIComponent(alpha.clientId)}`)).trades.map((t: any) => t.trade_id).sort()).toEqual([placed.trade_id, second.trade_id].sort());
    expect((await state("?credential=MCP_TOKEN")).trades.map((t: any) => t.trade_id).sort()).toEqual([placed.trade_id, second.trade_id, third.trade_id].sort());
    expect((await state("?credential=no-such-client")).trades).toEqual([]);
  });

  it("a caller cannot name itself another credential: a forged credential header is replaced by the Worker's", async () => {
    const forged = encodeURIComponent(JSON.stringify({ kind: "oauth", id: "someone-else", name: "Someone Else", grant_id: null }));
    const res = await SELF.fetch(`${ORIGIN}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${STATIC}`, "x-ibkr-mcp-credential": forged },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "cancel_order", arguments: { order_id: 999_999 } } }),
    });
    expect(res.status).toBe(200);
    const last = (await audit({ action: "tool_call" })).at(-1)!;
    expect(last.details.tool).toBe("cancel_order");
    expect(last.details.credential).toMatchObject({ kind: "static", id: "MCP_TOKEN" });
  });
});
