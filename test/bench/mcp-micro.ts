// Where the MCP layer's time goes, measured in Node (V8, as in workerd, whose clock inside a
// request does not move): building the server, connecting a transport, and answering tools/list,
// ping and a trivial tools/call, per request. `npx tsx test/bench/mcp-micro.ts`. Typechecked with
// the edge (edge/tsconfig.json), whose code it imports.
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { buildMcpServer } from "../../edge/mcp/mcp-server";
import type { DeskContext } from "../../edge/store/desk-context";

const ctx = { settings: { readOnly: false }, sql: { exec: () => ({ toArray: () => [] }) } } as unknown as DeskContext;
const req = (method: string, params: unknown) => new Request("http://x/mcp", { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });

async function per(name: string, n: number, op: () => Promise<unknown>) {
  for (let i = 0; i < 50; i++) await op();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await op();
  console.log(`${name}: ${(((performance.now() - t0) / n) * 1000).toFixed(0)} µs`);
}
await per("build server", 300, async () => buildMcpServer(ctx));
await per("build + connect transport", 300, async () => {
  const s = buildMcpServer(ctx);
  await s.connect(new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true }));
});
await per("build + connect + tools/list", 300, async () => {
  const s = buildMcpServer(ctx);
  const t = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await s.connect(t);
  await (await t.handleRequest(req("tools/list", {}))).text();
});
await per("build + connect + ping", 300, async () => {
  const s = buildMcpServer(ctx);
  const t = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await s.connect(t);
  await (await t.handleRequest(req("ping", {}))).text();
});
await per("build + connect + tools/call get_account (no data)", 300, async () => {
  const s = buildMcpServer(ctx);
  const t = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await s.connect(t);
  await (await t.handleRequest(req("tools/call", { name: "get_account", arguments: {} }))).text();
});
