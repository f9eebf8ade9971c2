// Where the MCP layer's time goes, measured in Node (V8, as in workerd, whose clock inside a
// request does not move): building the server, and answering tools/list, ping and a trivial
// tools/call per request, through the same wiring as edge/mcp/mcp-http.ts for both protocol eras
// (2025-11-25: a JSON transport per request; 2026-07-28: the SDK's createMcpHandler), plus the
// body's parse-and-scrub. `npx tsx test/bench/mcp-micro.ts`. Typechecked with the edge
// (edge/tsconfig.json), whose code it imports.
import { createMcpHandler, isLegacyRequest, WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/server";
import { buildMcpServer, type McpEra } from "../../edge/mcp/mcp-server";
import type { DeskContext } from "../../edge/store/desk-context";
import { redactedJsonBody, redactJsonRequest } from "../../edge/http/redact";

const ctx = { settings: { readOnly: false }, sql: { exec: () => ({ toArray: () => [] }) } } as unknown as DeskContext;
const SECRETS = ["a-test-token-of-some-length", "another-secret-value-here", "the-admin-token-value"];
const META = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientInfo": { name: "micro", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

function body(era: McpEra, method: string, params: Record<string, unknown>) {
  return { jsonrpc: "2.0", id: 1, method, params: era === "modern" ? { ...params, _meta: META } : params };
}
function req(era: McpEra, method: string, params: Record<string, unknown>): Request {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  if (era === "modern") Object.assign(headers, { "mcp-protocol-version": "2026-07-28", "mcp-method": method, ...(typeof params.name === "string" ? { "mcp-name": params.name } : {}) });
  return new Request("http://x/mcp", { method: "POST", headers, body: JSON.stringify(body(era, method, params)) });
}

const modern = createMcpHandler(() => buildMcpServer(ctx, { trade: true, origin: "" }, "modern"), { legacy: "reject" });

/** One request as edge/mcp/mcp-http.ts answers it, from the parsed body on. */
async function answer(era: McpEra, method: string, params: Record<string, unknown>): Promise<string> {
  const request = req(era, method, params);
  const parsedBody = body(era, method, params);
  if (!(await isLegacyRequest(request, parsedBody))) return (await modern.fetch(request, { parsedBody })).text();
  const server = buildMcpServer(ctx, { trade: true, origin: "" }, "legacy");
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  return (await transport.handleRequest(request, { parsedBody })).text();
}

async function per(name: string, n: number, op: () => Promise<unknown>) {
  for (let i = 0; i < 100; i++) await op();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await op();
  console.log(`${name}: ${(((performance.now() - t0) / n) * 1000).toFixed(0)} µs`);
}

const order = { symbol: "SPY", strategy: "IRON_CONDOR", legs: [{ action: "SELL", quantity: 1, price: 1, contract: { symbol: "SPY", expiry: "2026-12-18", strike: 560, right: "P" } }], max_risk: 400, capital_required: 400, metadata: { note: "x".repeat(200) } };
await per("scrub a body, old (parse, scrub, re-serialise, new Request)", 2000, async () => {
  const r = await redactJsonRequest(req("legacy", "tools/call", { name: "place_order", arguments: order }), SECRETS);
  await r.text();
});
await per("scrub a body, now (parse once, scrub the value)", 2000, async () => redactedJsonBody(req("legacy", "tools/call", { name: "place_order", arguments: order }), SECRETS));
await per("build server", 1000, async () => buildMcpServer(ctx));
for (const era of ["legacy", "modern"] as const) {
  if (era === "legacy") await per(`${era}: ping`, 1000, () => answer(era, "ping", {}));
  await per(`${era}: tools/list`, 1000, () => answer(era, "tools/list", {}));
  await per(`${era}: tools/call get_account (no data)`, 1000, () => answer(era, "tools/call", { name: "get_account", arguments: {} }));
  await per(`${era}: tools/call health_check (no data)`, 1000, () => answer(era, "tools/call", { name: "health_check", arguments: {} }));
}
