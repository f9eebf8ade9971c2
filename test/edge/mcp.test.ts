// Edge tests inside workerd: auth on /mcp and real MCP JSON-RPC requests to the Durable Object.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import packageJson from "../../package.json";

const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

async function rpc(method: string, params: unknown, token = "test-mcp-token") {
  return SELF.fetch("https://edge.test/mcp", {
    method: "POST",
    headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
}

describe("/mcp auth", () => {
  it("refuses a missing token with 401 and WWW-Authenticate", async () => {
    const res = await SELF.fetch("https://edge.test/mcp", { method: "POST", headers: MCP_HEADERS, body: "{}" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
  });
  it("refuses the bridge token on /mcp", async () => {
    const res = await rpc("tools/list", {}, "test-bridge-token");
    expect(res.status).toBe(401);
  });
  it("answers GET /mcp with 405", async () => {
    const res = await SELF.fetch("https://edge.test/mcp", { headers: { authorization: "Bearer test-mcp-token" } });
    expect(res.status).toBe(405);
  });
});

describe("MCP tools", () => {
  it("lists get_safety_status with schemas and annotations", async () => {
    const res = await rpc("tools/list", {});
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: { tools: Array<{ name: string; outputSchema?: unknown; annotations?: { readOnlyHint?: boolean } }> } };
    const tool = body.result.tools.find((t) => t.name === "get_safety_status");
    expect(tool?.outputSchema).toBeDefined();
    expect(tool?.annotations?.readOnlyHint).toBe(true);
  });
  it("get_safety_status reports the hard limits and no bridge", async () => {
    const res = await rpc("tools/call", { name: "get_safety_status", arguments: {} });
    const body = (await res.json()) as { result: { structuredContent: { account_id: string; hard_limits: Record<string, number>; bridge_connected: boolean; emergency_stop: { on: boolean } } } };
    expect(body.result.structuredContent.account_id).toBe("sim");
    expect(body.result.structuredContent.bridge_connected).toBe(false);
    expect(body.result.structuredContent.emergency_stop.on).toBe(false);
    expect(body.result.structuredContent.hard_limits.MAX_TRADE_RISK).toBe(500);
  });
});

describe("the MCP SDK client", () => {
  it("connects through the Worker with a bearer token, lists tools and calls one", async () => {
    const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
    const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
    const client = new Client({ name: "edge-test", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL("https://edge.test/mcp"), {
      fetch: (input, init) => SELF.fetch(input as string, init),
      requestInit: { headers: { authorization: "Bearer test-mcp-token" } },
    });
    await client.connect(transport);
    // The server says the package's version (one source: package.json), not a second copy.
    expect(client.getServerVersion()).toMatchObject({ name: "ibkr-mcp", version: packageJson.version });
    const { tools } = await client.listTools();
    expect(tools.length).toBe(14);
    const result = await client.callTool({ name: "health_check", arguments: {} });
    expect((result.structuredContent as { ready_to_trade: boolean }).ready_to_trade).toBe(false);
    await client.close();
  });
});
