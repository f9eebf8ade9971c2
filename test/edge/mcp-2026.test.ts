// MCP 2026-07-28 against the account's Durable Object inside workerd: the official v2 SDK client
// (pinned to the revision, or negotiating), and raw JSON-RPC where a test sends what a well-behaved
// client never would (a forged answer, another order's state, a tampered or expired state). A fake
// bridge on a real WebSocket answers quote/place. 2025-11-25 clients: elicitation.test.ts and
// mcp.test.ts (the v1 SDK client), the 2025 era of the v2 client below.
import { runInDurableObject } from "cloudflare:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import { MCP_CREDENTIAL_HEADER, encodeCredential, oauthCredential } from "../../edge/ledger/credential";
import { MCP_SCOPES_HEADER } from "../../edge/mcp/mcp-scopes";
import { condorOrder, Edge, FakeBridge } from "./harness";

const MODERN = "2026-07-28";
const TOOLS = ["cancel_order", "close_position", "get_account", "get_option_chain", "get_order_status", "get_positions", "get_price_history", "get_quote", "get_safety_status", "health_check", "list_trades", "modify_order", "place_order", "preview_order"];

type Answer = { action: "accept"; content: { confirm: boolean } } | { action: "decline" } | { action: "cancel" };

interface Connected { client: Client; asked: string[]; sessionHeaders: Array<string | null> }

/** A v2 SDK client straight to the test's Durable Object; `person` answers elicitations (omit it: no capability). */
async function connect(edge: Edge, opts: { person?: () => Answer; negotiation?: "pin" | "auto" | "legacy" } = {}): Promise<Connected> {
  const asked: string[] = [];
  const sessionHeaders: Array<string | null> = [];
  const negotiation = opts.negotiation ?? "pin";
  const client = new Client(
    { name: "mcp-2026-test", version: "1.0.0" },
    {
      capabilities: opts.person ? { elicitation: {} } : {},
      ...(negotiation === "legacy" ? {} : { versionNegotiation: { mode: negotiation === "pin" ? { pin: MODERN } : "auto" } }),
    },
  );
  if (opts.person) {
    const person = opts.person;
    client.setRequestHandler("elicitation/create", async (request) => {
      asked.push((request.params as { message: string }).message);
      return person();
    });
  }
  const transport = new StreamableHTTPClientTransport(new URL("https://edge.test/mcp"), {
    fetch: async (input, init) => {
      const res = await edge.stub().fetch(input as string, init);
      sessionHeaders.push(res.headers.get("mcp-session-id"));
      return res;
    },
  });
  await client.connect(transport);
  return { client, asked, sessionHeaders };
}

async function place(c: Connected, args: Record<string, unknown>) {
  return (await c.client.callTool({ name: "place_order", arguments: args })) as { isError?: boolean; structuredContent: any };
}

let rpcId = 0;
const envelope = (capabilities: Record<string, unknown>) => ({
  "io.modelcontextprotocol/protocolVersion": MODERN,
  "io.modelcontextprotocol/clientInfo": { name: "raw-2026", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": capabilities,
});

/** One raw 2026-07-28 request, with the standard headers the revision requires. */
async function raw(edge: Edge, method: string, params: Record<string, unknown>, opts: { headers?: Record<string, string>; capabilities?: Record<string, unknown> } = {}): Promise<{ status: number; body: any }> {
  const res = await edge.stub().fetch("https://edge.test/mcp", {
    method: "POST",
    headers: {
      "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": MODERN, "mcp-method": method,
      ...(typeof params.name === "string" ? { "mcp-name": params.name } : {}), ...opts.headers,
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params: { ...params, _meta: envelope(opts.capabilities ?? { elicitation: {} }) } }),
  });
  return { status: res.status, body: await res.json() };
}

/** Round one of a place_order from a client that can elicit: the question and its state. */
async function askedFor(edge: Edge, args: Record<string, unknown>, headers?: Record<string, string>): Promise<{ message: string; state: string }> {
  const first = await raw(edge, "tools/call", { name: "place_order", arguments: args }, { headers });
  expect(first.body.result.resultType).toBe("input_required");
  const request = first.body.result.inputRequests.confirm;
  expect(request.method).toBe("elicitation/create");
  return { message: request.params.message, state: first.body.result.requestState };
}

const yes = { confirm: { action: "accept", content: { confirm: true } } };

describe("MCP 2026-07-28 (v2 SDK)", () => {
  it("a pinned client discovers the server, lists every tool and calls a read tool, with no session", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const c = await connect(edge);
    expect(c.client.getProtocolEra()).toBe("modern");
    expect(c.client.getNegotiatedProtocolVersion()).toBe(MODERN);
    const listed = await c.client.listTools();
    expect(listed.tools.map((t) => t.name).sort()).toEqual(TOOLS);
    expect(listed.tools.every((t) => t.outputSchema !== undefined)).toBe(true);
    const health = (await c.client.callTool({ name: "health_check", arguments: {} })) as { isError?: boolean; structuredContent: any };
    expect(health.isError).toBeFalsy();
    expect(health.structuredContent.bridge.connected).toBe(true);
    const account = (await c.client.callTool({ name: "get_account", arguments: {} })) as { isError?: boolean; structuredContent: any };
    expect(account.structuredContent.account_id).toBeTruthy();
    // Stateless: no response ever carried a session.
    expect(c.sessionHeaders.length).toBeGreaterThan(2);
    expect(c.sessionHeaders.every((h) => h === null)).toBe(true);
    await c.client.close();
    bridge.close();
  });

  it("negotiation lands on 2026-07-28, a v2 client on the 2025 handshake still gets 2025-11-25, and both eras list the same tools", async () => {
    const edge = new Edge();
    const auto = await connect(edge, { negotiation: "auto" });
    const legacy = await connect(edge, { negotiation: "legacy" });
    expect(auto.client.getProtocolEra()).toBe("modern");
    expect(legacy.client.getProtocolEra()).toBe("legacy");
    expect(legacy.client.getNegotiatedProtocolVersion()).toBe("2025-11-25");
    const [modernTools, legacyTools] = [(await auto.client.listTools()).tools, (await legacy.client.listTools()).tools];
    expect(modernTools.map((t) => t.name).sort()).toEqual(TOOLS);
    // One factory behind both eras: the same definitions, schemas and annotations.
    const strip = (tools: typeof modernTools) => tools.map(({ name, description, inputSchema, outputSchema, annotations }) => ({ name, description, inputSchema, outputSchema, annotations }));
    expect(strip(modernTools)).toEqual(strip(legacyTools));
    await auto.client.close();
    await legacy.client.close();
  });

  it("lists no write tool to a credential without the trade scope", async () => {
    const edge = new Edge();
    const listed = await raw(edge, "tools/list", {}, { headers: { [MCP_SCOPES_HEADER]: "read" } });
    const names = (listed.body.result.tools as Array<{ name: string }>).map((t) => t.name);
    expect(names).toContain("get_account");
    expect(names).not.toContain("place_order");
    expect(names).not.toContain("cancel_order");
  });

  it("asks for confirmation as an input-required result, and sends the order once after the yes on the retry", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    let seenByBridgeWhenAsked: string[] | null = null;
    const c = await connect(edge, {
      person: () => {
        seenByBridgeWhenAsked = bridge.requests.map((r) => r.op).filter((op) => op === "quote" || op === "place");
        return { action: "accept", content: { confirm: true } };
      },
    });
    const placed = await place(c, condorOrder({ idempotency_key: "modern-yes-1" }));
    expect(placed.isError).toBeFalsy();
    expect(placed.structuredContent).toMatchObject({ success: true, status: "Submitted" });
    expect(bridge.sent("place")).toHaveLength(1);
    // The read-back's figure needs how the legs settle, so TWS was asked that first; nothing was placed before the yes.
    expect(seenByBridgeWhenAsked).toEqual(["quote"]);
    expect(c.asked).toHaveLength(1);
    expect(c.asked[0]).toContain("Worst-case loss (computed from the legs): $400.00");
    expect(c.asked[0]).toContain("Net limit: 1.00 credit");
    expect(await edge.audit("confirmation_requested")).toHaveLength(1);
    const confirmed = await edge.audit("confirmed_in_client");
    expect(confirmed).toHaveLength(1);
    expect(JSON.parse(confirmed[0]!.details_json).note).toMatch(/not proof that a person/);
    expect(c.sessionHeaders.every((h) => h === null)).toBe(true);
    await c.client.close();
    bridge.close();
  });

  it("refuses on a decline (person_declined), reserves nothing, and a replay of the key returns the refusal without asking again", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const c = await connect(edge, { person: () => ({ action: "decline" }) });
    const order = condorOrder({ idempotency_key: "modern-decline-1" });
    const refused = await place(c, order);
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent.violations).toEqual([expect.objectContaining({ check: "person_declined" })]);
    expect(bridge.sent("place")).toHaveLength(0);
    expect(await edge.inside((sql) => sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM trades").one().n)).toBe(0);
    expect((await edge.audit("declined_in_client")).map((r) => JSON.parse(r.details_json).outcome)).toEqual(["declined"]);
    const again = await place(c, order);
    expect(again.structuredContent.violations[0].check).toBe("person_declined");
    expect(c.asked).toHaveLength(1);
    expect(bridge.sent("place")).toHaveLength(0);
    await c.client.close();
    bridge.close();
  });

  it("places without a question for a 2026-07-28 client that cannot elicit", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const c = await connect(edge);
    const placed = await place(c, condorOrder());
    expect(placed.structuredContent.status).toBe("Submitted");
    expect(await edge.audit("confirmation_requested")).toHaveLength(0);
    await c.client.close();
    bridge.close();
  });

  it("with \"confirm every order\" on, the client's own yes never sends an order: not when asked now, nor carried from before the setting went on", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    // A question asked while the setting was off, answered yes after it went on.
    const carried = await askedFor(edge, condorOrder({}, 100));
    expect((await edge.admin("/api/confirm-every-order", { on: true, reason: "a person approves every order", by: "owner" })).status).toBe(200);
    const late = await raw(edge, "tools/call", { name: "place_order", arguments: condorOrder({}, 100), inputResponses: yes, requestState: carried.state });
    expect(late.body.result.structuredContent).toMatchObject({ success: true, status: "awaiting_confirmation" });
    expect(late.body.result.structuredContent.confirmation_url).toMatch(/\/approve#/);
    // Asked now: no question at all, the order waits for a person.
    const c = await connect(edge, { person: () => ({ action: "accept", content: { confirm: true } }) });
    const placed = await place(c, condorOrder({}, 130));
    expect(placed.structuredContent.status).toBe("awaiting_confirmation");
    expect(c.asked).toHaveLength(0);
    expect(bridge.sent("place")).toHaveLength(0);
    expect(await edge.audit("confirmed_in_client")).toHaveLength(0);
    await c.client.close();
    bridge.close();
  });

  it("never takes an answer that is not to this question, this order and this caller for a yes: it asks again", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const order = condorOrder({}, 100);
    // A yes with no state: the question was never asked.
    const unasked = await raw(edge, "tools/call", { name: "place_order", arguments: order, inputResponses: yes });
    expect(unasked.body.result.resultType).toBe("input_required");
    // Another order's state: its answer was to another read-back.
    const other = await askedFor(edge, condorOrder({}, 130));
    const swapped = await raw(edge, "tools/call", { name: "place_order", arguments: order, inputResponses: yes, requestState: other.state });
    expect(swapped.body.result.resultType).toBe("input_required");
    expect(swapped.body.result.inputRequests.confirm.params.message).toContain("AAPL 2026");
    // The same order asked of another credential: that caller's answer is not this one's.
    const app = { [MCP_CREDENTIAL_HEADER]: encodeCredential(oauthCredential("client-a", "App A", "grant-a")) };
    const theirs = await askedFor(edge, order, app);
    const mine = await raw(edge, "tools/call", { name: "place_order", arguments: order, inputResponses: yes, requestState: theirs.state });
    expect(mine.body.result.resultType).toBe("input_required");
    // Changed arguments with the first arguments' state: asked again.
    const asked = await askedFor(edge, order);
    const bigger = await raw(edge, "tools/call", { name: "place_order", arguments: { ...order, max_risk: 450 }, inputResponses: yes, requestState: asked.state });
    expect(bigger.body.result.resultType).toBe("input_required");
    expect(bridge.sent("place")).toHaveLength(0);
    expect(await edge.audit("confirmed_in_client")).toHaveLength(0);
    // The right state with the right answer does place it.
    const right = await raw(edge, "tools/call", { name: "place_order", arguments: order, inputResponses: yes, requestState: asked.state });
    expect(right.body.result.structuredContent.status).toBe("Submitted");
    expect(bridge.sent("place")).toHaveLength(1);
    bridge.close();
  });

  it("refuses a tampered or expired state before the tool runs (-32602), and nothing is placed", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const order = condorOrder({}, 100);
    const asked = await askedFor(edge, order);
    const [body, mac] = [asked.state.slice(3, asked.state.lastIndexOf(".")), asked.state.slice(asked.state.lastIndexOf(".") + 1)];
    const payload = JSON.parse(atob(body.replaceAll("-", "+").replaceAll("_", "/")));
    const b64url = (bytes: Uint8Array | string) => btoa(typeof bytes === "string" ? bytes : String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    const forgedBody = b64url(JSON.stringify({ ...payload, p: { ...payload.p, args: "0".repeat(64) } }));
    const tampered = await raw(edge, "tools/call", { name: "place_order", arguments: order, inputResponses: yes, requestState: `v1.${forgedBody}.${mac}` });
    expect(tampered.body.error?.code).toBe(-32602);
    // Signed with the account's own key but past its two minutes: expired.
    const keyHex = await edge.inside((sql) => JSON.parse(sql.exec<{ value_json: string }>("SELECT value_json FROM kv WHERE key = 'mcp_request_state_key'").one().value_json) as string);
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(keyHex), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const oldBody = b64url(JSON.stringify({ ...payload, exp: Math.floor(Date.now() / 1000) - 1 }));
    const oldMac = b64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`v1.${oldBody}`))));
    const expired = await raw(edge, "tools/call", { name: "place_order", arguments: order, inputResponses: yes, requestState: `v1.${oldBody}.${oldMac}` });
    expect(expired.body.error?.code).toBe(-32602);
    // The same construction within its time is accepted: the refusals above were for the forgery and the age.
    const freshBody = b64url(JSON.stringify({ ...payload, exp: Math.floor(Date.now() / 1000) + 60 }));
    const freshMac = b64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`v1.${freshBody}`))));
    expect(bridge.sent("place")).toHaveLength(0);
    const fresh = await raw(edge, "tools/call", { name: "place_order", arguments: order, inputResponses: yes, requestState: `v1.${freshBody}.${freshMac}` });
    expect(fresh.body.result.structuredContent.status).toBe("Submitted");
    bridge.close();
  });

  it("acknowledges a subscriptions/listen request honouring nothing (the lists never change) and ends its stream at once", async () => {
    const edge = new Edge();
    const discovered = await raw(edge, "server/discover", {});
    expect(discovered.body.result.capabilities).toMatchObject({ tools: { listChanged: false }, resources: { listChanged: false } });
    const res = await edge.stub().fetch("https://edge.test/mcp", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": MODERN, "mcp-method": "subscriptions/listen" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 42, method: "subscriptions/listen", params: { notifications: { toolsListChanged: true, resourcesListChanged: true }, _meta: envelope({}) } }),
    });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    // The whole stream arrives and ends: an open one would hold the Durable Object awake.
    const frames = [...(await res.text()).matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!));
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatchObject({ method: "notifications/subscriptions/acknowledged", params: { notifications: {} } });
    expect(frames[0].params._meta["io.modelcontextprotocol/subscriptionId"]).toBe(42);
    expect(frames[1]).toMatchObject({ id: 42, result: { resultType: "complete" } });
  });

  it("answers GET /mcp with 405 and keeps no session for a 2026-07-28 client", async () => {
    const edge = new Edge();
    const get = await edge.stub().fetch("https://edge.test/mcp", { headers: { accept: "text/event-stream", "mcp-protocol-version": MODERN } });
    expect(get.status).toBe(405);
    expect((await raw(edge, "tools/list", {})).status).toBe(200);
    expect(await runInDurableObject(edge.stub(), async (o: any) => o.mcp.sessionCount as number)).toBe(0);
  });
});
