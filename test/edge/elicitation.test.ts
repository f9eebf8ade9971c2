// MCP elicitation for place_order inside workerd: real MCP SDK clients (declaring elicitation or
// not) talk Streamable HTTP to the account's Durable Object, a fake bridge on a real WebSocket
// seeds account data and answers quote/place. The person's answer comes from the client's
// ElicitRequest handler.
import { runInDurableObject, SELF } from "cloudflare:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema, type ElicitRequest, type ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { describe, expect, it } from "vitest";
import { condorOrder, Edge, FakeBridge, futureExpiry } from "./harness";

type Person = (request: ElicitRequest["params"]) => ElicitResult | Promise<ElicitResult>;

interface Connected { client: Client; transport: StreamableHTTPClientTransport; asked: string[]; sessionHeaders: Array<string | null> }

/** An SDK client straight to this test's Durable Object; `person` answers elicitations (omit it: no capability). */
async function connect(edge: Edge, person?: Person): Promise<Connected> {
  const asked: string[] = [];
  const sessionHeaders: Array<string | null> = [];
  const client = new Client(
    { name: "elicitation-test", version: "1.0.0" },
    { capabilities: person ? { elicitation: {} } : {}, jsonSchemaValidator: new CfWorkerJsonSchemaValidator() },
  );
  if (person)
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params.message);
      return person(request.params);
    });
  const transport = new StreamableHTTPClientTransport(new URL("https://edge.test/mcp"), {
    fetch: async (input, init) => {
      const res = await edge.stub().fetch(input as string, init);
      sessionHeaders.push(res.headers.get("mcp-session-id"));
      return res;
    },
  });
  await client.connect(transport);
  return { client, transport, asked, sessionHeaders };
}

async function place(c: Connected, args: Record<string, unknown>) {
  return (await c.client.callTool({ name: "place_order", arguments: args })) as { isError?: boolean; structuredContent: any };
}

const confirm: Person = () => ({ action: "accept", content: { confirm: true } });

describe("place_order with MCP elicitation", () => {
  it("asks the person with a read-back before the order goes out (after TWS said how the legs settle), and sends it once after a yes", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    let seenByBridgeWhenAsked: string[] | null = null;
    const c = await connect(edge, (params) => {
      seenByBridgeWhenAsked = bridge.requests.map((r) => r.op).filter((op) => op === "quote" || op === "place");
      expect(params.requestedSchema).toMatchObject({ type: "object", properties: { confirm: { type: "boolean" } }, required: ["confirm"] });
      return { action: "accept", content: { confirm: true } };
    });
    expect(c.transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const placed = await place(c, condorOrder({ idempotency_key: "confirm-1" }));
    expect(placed.isError).toBeFalsy();
    expect(placed.structuredContent).toMatchObject({ success: true, status: "Submitted" });
    expect(bridge.sent("place")).toHaveLength(1);
    // The person was asked before the order went to the bridge. The figure read back depends on
    // how the legs settle (issue 23), so this symbol's first order asked TWS that first (a quote
    // carries the contract details); the collar is the bridge's own fresh quote after the answer.
    expect(seenByBridgeWhenAsked).toEqual(["quote"]);
    expect(c.asked).toHaveLength(1);
    const message = c.asked[0]!;
    const expiry = futureExpiry();
    expect(message).toContain(`SELL 1 AAPL ${expiry} 95P @ 1.00`);
    expect(message).toContain(`BUY 1 AAPL ${expiry} 90P @ 0.50`);
    expect(message).toContain(`SELL 1 AAPL ${expiry} 105C @ 1.00`);
    expect(message).toContain(`BUY 1 AAPL ${expiry} 110C @ 0.50`);
    expect(message).toContain("Net limit: 1.00 credit");
    expect(message).toContain("Worst-case loss (computed from the legs): $400.00");
    expect(message).toContain("Max gain: $100.00");
    expect(message).toContain("94.00, 106.00");
    expect((await edge.audit("confirmed_in_client")).length).toBe(1);
    await c.client.close();
    bridge.close();
  });

  it("refuses a declined order: person_declined, nothing reserved or sent, audited, and a replay returns the refusal", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const c = await connect(edge, () => ({ action: "decline" }));
    const order = condorOrder({ idempotency_key: "decline-1" });
    const refused = await place(c, order);
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent.violations).toEqual([expect.objectContaining({ check: "person_declined" })]);
    expect(refused.structuredContent.status).toBe("Refused");
    expect(bridge.sent("place")).toHaveLength(0);
    // Only the quote that told how the legs settle, for the figure read back (issue 23).
    expect(bridge.sent("quote")).toHaveLength(1);
    expect(await edge.inside((sql) => sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM trades").one().n)).toBe(0);
    const audit = await edge.audit("declined_in_client");
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.details_json)).toMatchObject({ outcome: "declined", symbol: "AAPL" });
    // Same key again: the stored refusal, without asking the person again.
    const again = await place(c, order);
    expect(again.structuredContent.violations[0].check).toBe("person_declined");
    expect(c.asked).toHaveLength(1);
    expect(bridge.sent("place")).toHaveLength(0);
    await c.client.close();
    bridge.close();
  });

  it("treats confirm=false and a dismissed question as a decline, and an error from the client as unreachable", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const answers: Person[] = [
      () => ({ action: "accept", content: { confirm: false } }),
      () => ({ action: "cancel" }),
      () => {
        throw new Error("the person closed the window");
      },
    ];
    const c = await connect(edge, (p) => answers.shift()!(p));
    const first = await place(c, condorOrder());
    expect(first.structuredContent.violations[0].check).toBe("person_declined");
    const second = await place(c, condorOrder());
    expect(second.structuredContent.violations[0].check).toBe("person_declined");
    const third = await place(c, condorOrder());
    expect(third.isError).toBe(true);
    expect(third.structuredContent.violations[0].check).toBe("person_unreachable");
    expect(bridge.sent("place")).toHaveLength(0);
    expect((await edge.audit("unanswered_in_client")).length).toBe(1);
    expect((await edge.audit("declined_in_client")).map((r) => JSON.parse(r.details_json).outcome)).toEqual(["not_confirmed", "cancelled"]);
    await c.client.close();
    bridge.close();
  });

  it("places as before for a client without elicitation: no question, no session", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const c = await connect(edge);
    const placed = await place(c, condorOrder());
    expect(placed.isError).toBeFalsy();
    expect(placed.structuredContent.status).toBe("Submitted");
    expect(bridge.sent("place")).toHaveLength(1);
    expect(c.transport.sessionId).toBeUndefined();
    expect(c.sessionHeaders.length).toBeGreaterThan(0);
    expect(c.sessionHeaders.every((h) => h === null)).toBe(true);
    expect(await edge.audit("confirmation_requested")).toHaveLength(0);
    await c.client.close();
    bridge.close();
  });

  it("answers an unknown session with 404 (through the Worker), GET with 405, and forgets a deleted session", async () => {
    const res = await SELF.fetch("https://edge.test/mcp", {
      method: "POST",
      headers: { authorization: "Bearer test-mcp-token", "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": crypto.randomUUID(), "mcp-protocol-version": "2025-06-18" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32001);

    const edge = new Edge();
    const c = await connect(edge, confirm);
    const sessionId = c.transport.sessionId!;
    const headers = { "mcp-session-id": sessionId, "mcp-protocol-version": c.transport.protocolVersion ?? "2025-06-18" };
    expect((await edge.stub().fetch("https://edge.test/mcp", { headers: { ...headers, accept: "text/event-stream" } })).status).toBe(405);
    expect((await c.client.listTools()).tools.length).toBe(14);
    await c.transport.terminateSession();
    const after = await edge.stub().fetch("https://edge.test/mcp", {
      method: "POST",
      headers: { ...headers, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list", params: {} }),
    });
    expect(after.status).toBe(404);
    await c.client.close();
  });

  it("carries the question through the Worker (bearer auth, streamed answer) to a client", async () => {
    // The Worker's account object is shared with other files, so nothing here depends on its state:
    // the question comes before any check, and a decline refuses before any is run. A long call's
    // figure (its premium) does not depend on how it settles, so it is read back with no bridge.
    const asked: string[] = [];
    const client = new Client({ name: "via-worker", version: "1.0.0" }, { capabilities: { elicitation: {} }, jsonSchemaValidator: new CfWorkerJsonSchemaValidator() });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params.message);
      return { action: "decline" };
    });
    const transport = new StreamableHTTPClientTransport(new URL("https://edge.test/mcp"), {
      fetch: (input, init) => SELF.fetch(input as string, init),
      requestInit: { headers: { authorization: "Bearer test-mcp-token" } },
    });
    await client.connect(transport);
    expect(transport.sessionId).toBeTruthy();
    const longCall = { symbol: "SPY", strategy: "long call", legs: [{ action: "BUY", quantity: 1, price: 3, contract: { symbol: "SPY", expiry: futureExpiry(), strike: 100, right: "C" } }], max_risk: 300, capital_required: 300 };
    const refused = (await client.callTool({ name: "place_order", arguments: longCall })) as { isError?: boolean; structuredContent: any };
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent.violations.map((v: { check: string }) => v.check)).toEqual(["person_declined"]);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain("SPY long call");
    await transport.terminateSession();
    await client.close();
  });

  it("closes sessions idle for 30 minutes (the caps per client and credential: elicitation-caps.test.ts)", async () => {
    const edge = new Edge();
    const initialize = async (): Promise<Response> => {
      const res = await edge.stub().fetch("https://edge.test/mcp", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: { elicitation: {} }, clientInfo: { name: "raw", version: "1" } } }),
      });
      await res.text();
      return res;
    };
    const listTools = (sessionId: string) => edge.stub().fetch("https://edge.test/mcp", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} }),
    });
    // Lets time pass for the sessions (the object keeps them in memory only).
    const age = (ms: number, which?: string) => runInDurableObject(edge.stub(), async (o: any) => {
      for (const [id, session] of o.mcp.sessions) if (!which || id === which) session.lastUsed -= ms;
      return o.mcp.sessionCount as number;
    });

    const first = (await initialize()).headers.get("mcp-session-id")!;
    expect(first).toBeTruthy();
    const idle = await listTools(first);
    expect(idle.status).toBe(200);
    await idle.text();
    await age(31 * 60_000);
    const expired = await listTools(first);
    expect(expired.status).toBe(404);
    await expired.text();
    expect(await age(0)).toBe(0);
  });

  it("routes each person's answer to their own order when two sessions are confirming at once", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const pending: Array<{ symbol: string; release: (r: ElicitResult) => void }> = [];
    let bothAsked!: () => void;
    const asked = new Promise<void>((r) => (bothAsked = r));
    const waitingPerson = (symbol: string): Person => (params) =>
      new Promise<ElicitResult>((release) => {
        expect(params.message).toContain(`${symbol} iron condor`);
        pending.push({ symbol, release });
        if (pending.length === 2) bothAsked();
      });
    const a = await connect(edge, waitingPerson("AAPL"));
    const m = await connect(edge, waitingPerson("MSFT"));
    expect(a.transport.sessionId).not.toBe(m.transport.sessionId);
    const placingA = place(a, condorOrder({}, 100, "AAPL"));
    const placingM = place(m, condorOrder({}, 100, "MSFT"));
    await asked;
    expect(bridge.sent("place")).toHaveLength(0);
    // MSFT's person declines first, then AAPL's confirms.
    pending.find((p) => p.symbol === "MSFT")!.release({ action: "decline" });
    pending.find((p) => p.symbol === "AAPL")!.release({ action: "accept", content: { confirm: true } });
    const [placedA, placedM] = await Promise.all([placingA, placingM]);
    expect(placedA.structuredContent).toMatchObject({ success: true, status: "Submitted" });
    expect(placedM.structuredContent.violations[0].check).toBe("person_declined");
    expect(bridge.sent("place").map((r) => r.params.symbol)).toEqual(["AAPL"]);
    expect(a.asked).toHaveLength(1);
    expect(m.asked).toHaveLength(1);
    await a.client.close();
    await m.client.close();
    bridge.close();
  });
});
