// MCP server of one account: built fresh per request (stateless transport cannot be reused).
// Only tools that answer from persisted state are registered so far; every order tool is
// still missing, so nothing here can send an order.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { LIMITS } from "../shared/limits";

export interface SafetySnapshot {
  account_id: string;
  emergency_stop: boolean;
  breaker_tripped: boolean;
  bridge_connected: boolean;
}

export function buildMcpServer(snapshot: () => SafetySnapshot): McpServer {
  const server = new McpServer({ name: "ibkr-mcp", version: "0.1.0" });
  server.registerTool(
    "get_safety_status",
    {
      description: "Hard limits, emergency stop and breaker state of this account.",
      inputSchema: z.strictObject({}),
      outputSchema: z.object({
        account_id: z.string(),
        limits: z.record(z.string(), z.number()),
        emergency_stop: z.boolean(),
        breaker_tripped: z.boolean(),
        bridge_connected: z.boolean(),
      }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
    },
    async () => {
      const s = snapshot();
      const out = { ...s, limits: { ...LIMITS } as Record<string, number> };
      return { content: [{ type: "text", text: JSON.stringify(out) }], structuredContent: out };
    },
  );
  return server;
}
