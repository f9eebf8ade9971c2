// The benchmark's MCP client: raw JSON-RPC POSTs over Node's keep-alive fetch, the same client as
// the floors (no SDK client cost in a figure). Used by `npm run bench` and its tools.
import type { TestStack } from "../e2e/harness";

/** The two protocol revisions the edge serves, measured side by side. */
export const ERAS = ["2025-11-25", "2026-07-28"] as const;
export type Era = (typeof ERAS)[number];

/**
 * A raw MCP JSON-RPC client as a client of either revision sends it: 2025-11-25 stateless after
 * its initialize (the protocol-version header, no session); 2026-07-28 with the per-request
 * `_meta` envelope and the standard headers.
 */
export function rawMcp(t: Pick<TestStack, "stack" | "secrets">, era: Era = "2025-11-25") {
  let id = 0;
  const envelope = { "io.modelcontextprotocol/protocolVersion": era, "io.modelcontextprotocol/clientInfo": { name: "bench", version: "1" }, "io.modelcontextprotocol/clientCapabilities": {} };
  const post = async (method: string, params: Record<string, unknown>) => {
    const modern = era === "2026-07-28";
    const res = await fetch(t.stack.mcpUrl, {
      method: "POST",
      headers: {
        authorization: `Bearer ${t.secrets.MCP_TOKEN}`, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": era,
        ...(modern ? { "mcp-method": method, ...(typeof params.name === "string" ? { "mcp-name": params.name } : {}) } : {}),
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: modern ? { ...params, _meta: envelope } : params }),
    });
    const body = (await res.json()) as { result?: { isError?: boolean; content?: { text: string }[]; structuredContent?: Record<string, unknown> }; error?: { message: string } };
    if (body.error) throw new Error(`${method} (${era}): ${body.error.message}`);
    return body.result!;
  };
  return {
    list: () => post("tools/list", {}),
    async tool(name: string, args: Record<string, unknown> = {}) {
      const result = await post("tools/call", { name, arguments: args });
      if (result.isError) throw new Error(`${name} (${era}): ${result.content?.[0]?.text ?? "error"}`);
      return result;
    },
  };
}
