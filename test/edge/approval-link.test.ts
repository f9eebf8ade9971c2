// "Confirm every order" for clients that cannot elicit, through the real Worker (SELF) and the
// account's Durable Object with a fake bridge: place_order answers awaiting_confirmation with a
// one-time link; the link needs the dashboard login, shows the read-back, and approving re-runs
// every check and sends; a used, expired, unknown or forged link changes nothing and is audited.
import { SELF } from "cloudflare:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { beforeAll, describe, expect, it } from "vitest";
import { bodyText, condorOrder, Edge, FakeBridge } from "./harness";

const ORIGIN = "https://edge.test";
const ADMIN = { authorization: "Bearer test-admin-token" };
const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: "Bearer test-mcp-token" };

let bridge: FakeBridge;
let edge: Edge;
let cookie = "";

async function admin(path: string, body?: unknown): Promise<any> {
  const res = await SELF.fetch(`${ORIGIN}${path}`, body === undefined ? { headers: ADMIN } : { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify(body) });
  return res.json();
}
async function placeOrder(center: number, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await SELF.fetch(`${ORIGIN}/mcp`, { method: "POST", headers: MCP_HEADERS, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "place_order", arguments: condorOrder(extra, center) } }) });
  const body = (await res.json()) as any;
  return body.result.structuredContent;
}
async function tradeState(tradeId: string): Promise<string> {
  const res = await SELF.fetch(`${ORIGIN}/mcp`, { method: "POST", headers: MCP_HEADERS, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "list_trades", arguments: {} } }) });
  return ((await res.json()) as any).result.structuredContent.trades.find((t: any) => t.trade_id === tradeId).state;
}
/** The link's one-time code: after `#` in the link (issue 24: never in a path). */
const codeOf = (url: string) => new URL(url).hash.slice(1);
/** What the page's script does with the link: posts its code to /approve/open. */
async function open(url: string, withCookie = true): Promise<Response> {
  return SELF.fetch(`${ORIGIN}/approve/open`, { method: "POST", headers: { ...(withCookie ? { cookie } : {}), origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: codeOf(url) }) });
}
async function decide(url: string, decision: string, csrf: string | null): Promise<Response> {
  const form = new URLSearchParams({ token: codeOf(url), decision });
  if (csrf !== null) form.set("csrf", csrf);
  return SELF.fetch(`${ORIGIN}/approve/decide`, { method: "POST", redirect: "manual", headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" }, body: form });
}
const csrfOf = (html: string) => /name="csrf" value="([0-9a-f]{64})"/.exec(html)![1]!;
async function audit(action: string): Promise<Array<Record<string, unknown>>> {
  return ((await admin(`/api/audit?limit=1000&action=${action}`)).rows as Array<{ details_json: string }>).map((r) => JSON.parse(r.details_json));
}

beforeAll(async () => {
  edge = new Edge("sim"); // the Worker's own account object
  bridge = await FakeBridge.connect(edge, { account: 100_000 });
  const login = await SELF.fetch(`${ORIGIN}/dashboard/login`, { method: "POST", redirect: "manual", headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: "test-admin-token" }) });
  expect(login.status).toBe(303);
  cookie = login.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
});

describe("confirm every order without elicitation", () => {
  it("the setting is an audited admin act shown in the state", async () => {
    expect((await SELF.fetch(`${ORIGIN}/api/confirm-every-order`, { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify({ on: true }) })).status).toBe(400);
    expect(await admin("/api/confirm-every-order", { on: true, reason: "claude.ai cannot ask me", by: "owner" })).toEqual({ confirm_every_order: true });
    expect((await admin("/api/state")).confirm_every_order).toBe(true);
    expect((await audit("confirm_every_order_on")).at(-1)).toMatchObject({ by: "owner", reason: "claude.ai cannot ask me" });
  });

  it("place_order waits with a one-time link; the logged-in person approves; the order is sent once", async () => {
    const placed = await placeOrder(100);
    expect(placed).toMatchObject({ success: true, status: "awaiting_confirmation", order_id: null });
    expect(placed.confirmation_url).toMatch(/^https:\/\/edge\.test\/approve#[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(placed.confirmation_expires_at) - edge.now().getTime()).toBeGreaterThan(9 * 60_000);
    expect(Date.parse(placed.confirmation_expires_at) - edge.now().getTime()).toBeLessThanOrEqual(10 * 60_000);
    expect(bridge.sent("place")).toHaveLength(0);
    expect(await tradeState(placed.trade_id)).toBe("pending_approval");
    // One waiting list: the dashboard shows it too.
    expect((await admin("/api/state")).pending_approvals.map((p: any) => p.trade_id)).toContain(placed.trade_id);

    // Not logged in: the login form, sending the person back here.
    const anonymous = await open(placed.confirmation_url, false);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).toContain('name="next" value="/approve"');

    const page = await open(placed.confirmation_url);
    expect(page.status).toBe(200);
    const html = await page.text();
    for (const line of ["SELL 1 AAPL", "Net limit: 1.00 credit", "Worst-case loss (computed from the legs): $400.00", "Max gain: $100.00", "Breakevens: 94.00, 106.00"]) expect(html).toContain(line);

    expect((await decide(placed.confirmation_url, "approve", null)).status).toBe(403);
    const foreign = await SELF.fetch(`${ORIGIN}/approve/decide`, { method: "POST", headers: { cookie, origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: codeOf(placed.confirmation_url), decision: "approve", csrf: csrfOf(html) }) });
    expect(foreign.status).toBe(403);
    expect((await audit("form_origin_refused")).at(-1)).toMatchObject({ form: "approval_link", origin: "https://evil.example" });
    expect(bridge.sent("place")).toHaveLength(0);
    const approved = await decide(placed.confirmation_url, "approve", csrfOf(html));
    expect(approved.status).toBe(200);
    expect(await approved.text()).toContain("Approved and sent");
    expect(bridge.sent("place")).toHaveLength(1);
    expect(await tradeState(placed.trade_id)).toBe("working");

    // Replayed: refused, nothing sent again, audited.
    const replay = await decide(placed.confirmation_url, "approve", csrfOf(html));
    expect(replay.status).toBe(410);
    expect(await replay.text()).toContain("already used");
    expect(bridge.sent("place")).toHaveLength(1);
    expect((await audit("approval_link_refused")).at(-1)).toMatchObject({ reason: "used", trade_id: placed.trade_id });
    // The token itself never lands in the audit.
    const jsonl = await bodyText(await SELF.fetch(`${ORIGIN}/api/audit/export`, { headers: ADMIN }));
    expect(jsonl).not.toContain(codeOf(placed.confirmation_url));
  });

  it("a replay with the same idempotency_key says it still waits, without handing out the link again", async () => {
    const first = await placeOrder(250, { idempotency_key: "confirm-replay-1" });
    expect(first.status).toBe("awaiting_confirmation");
    const again = await placeOrder(250, { idempotency_key: "confirm-replay-1" });
    expect(again).toMatchObject({ trade_id: first.trade_id, status: "awaiting_confirmation" });
    expect(again.confirmation_url).toBeUndefined();
    const stored = await edge.inside((sql) => sql.exec<{ answer_json: string }>("SELECT answer_json FROM idempotency WHERE key = ?", "place:confirm-replay-1").toArray()[0]!.answer_json);
    expect(stored).not.toContain(codeOf(first.confirmation_url));
    // Decline it so its risk does not count in the tests below.
    const html = await (await open(first.confirmation_url)).text();
    await decide(first.confirmation_url, "reject", csrfOf(html));
  });

  it("declining sends nothing and releases the risk", async () => {
    const placed = await placeOrder(130);
    const html = await (await open(placed.confirmation_url)).text();
    const declined = await decide(placed.confirmation_url, "reject", csrfOf(html));
    expect(await declined.text()).toContain("Declined: nothing was sent");
    expect(await tradeState(placed.trade_id)).toBe("rejected");
    expect(bridge.sent("place")).toHaveLength(1);
  });

  it("an expired link changes nothing and is audited; the trade expires", async () => {
    const placed = await placeOrder(160);
    await edge.inside((sql) => sql.exec("UPDATE approval_links SET expires_ms = ? WHERE trade_id = ?", edge.now().getTime() - 1, placed.trade_id));
    const res = await open(placed.confirmation_url);
    expect(res.status).toBe(410);
    expect(await res.text()).toContain("expired");
    expect((await audit("approval_link_refused")).at(-1)).toMatchObject({ reason: "expired", trade_id: placed.trade_id });
    expect(bridge.sent("place")).toHaveLength(1);
    // Withdraw it, so its reserved risk (against the daily loss room too) does not count in the tests below.
    const withdrawn = await SELF.fetch(`${ORIGIN}/mcp`, { method: "POST", headers: MCP_HEADERS, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "cancel_order", arguments: { trade_id: placed.trade_id } } }) });
    expect(((await withdrawn.json()) as any).result.structuredContent.status).toBe("Cancelled");
  });

  it("an unknown or malformed link is refused and audited", async () => {
    for (const code of ["A".repeat(43), "not-a-token"]) {
      const res = await open(`${ORIGIN}/approve#${code}`);
      expect(res.status).toBe(404);
      expect(await res.text()).toContain("not valid");
    }
    expect((await audit("approval_link_refused")).filter((r) => r.reason === "unknown").length).toBeGreaterThanOrEqual(2);
  });

  it("approving re-runs every check: an emergency stop set meanwhile refuses it and nothing is sent", async () => {
    const placed = await placeOrder(190);
    const html = await (await open(placed.confirmation_url)).text();
    await admin("/api/emergency-stop", { on: true, reason: "halt" });
    const res = await decide(placed.confirmation_url, "approve", csrfOf(html));
    expect(await res.text()).toContain("re-check refused");
    expect(bridge.sent("place")).toHaveLength(1);
    expect(await tradeState(placed.trade_id)).toBe("rejected");
    await admin("/api/emergency-stop", { on: false, reason: "resume" });
  });

  it("with the setting off, the order goes out without waiting", async () => {
    await admin("/api/confirm-every-order", { on: false, reason: "at my desk", by: "owner" });
    // Let a minute pass for the order-rate limit (5 per minute) the tests above used up.
    await edge.inside((sql) => sql.exec("UPDATE order_times SET at_ms = at_ms - 120000"));
    const placed = await placeOrder(220);
    expect(placed.status, JSON.stringify(placed.violations)).toBe("Submitted");
    expect(placed.confirmation_url).toBeUndefined();
    expect(bridge.sent("place")).toHaveLength(2);
  });
});

describe("confirm every order with a client that can elicit", () => {
  // Issue 24: the client's own answer is not the person's. Whatever the client can do, the order
  // waits for the link or the dashboard (edge/desk/confirmation-rule.ts; confirmation-rule.test.ts).
  it("does not ask in the client: the order waits for the person's link like any other, nothing is sent", async () => {
    const own = new Edge();
    const ownBridge = await FakeBridge.connect(own, { account: 100_000 });
    expect((await own.admin("/api/confirm-every-order", { on: true, reason: "test", by: "owner" })).status).toBe(200);
    const client = new Client({ name: "eliciting", version: "1.0.0" }, { capabilities: { elicitation: {} }, jsonSchemaValidator: new CfWorkerJsonSchemaValidator() });
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params.message);
      return { action: "accept", content: { confirm: true } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL("https://edge.test/mcp"), { fetch: (input, init) => own.stub().fetch(input as string, init) }));
    const placed = (await client.callTool({ name: "place_order", arguments: condorOrder({}, 130) })) as { structuredContent: any };
    expect(asked).toHaveLength(0);
    expect(placed.structuredContent.status).toBe("awaiting_confirmation");
    expect(placed.structuredContent.confirmation_url).toMatch(/\/approve/);
    expect(ownBridge.sent("place")).toHaveLength(0);
    await client.close();
    ownBridge.close();
  });
});
