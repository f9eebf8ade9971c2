// A real MCP client (the SDK's Client over Streamable HTTP) for the end-to-end tests, with a
// helper that returns a tool's structured result and fails loudly on a protocol error.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

export interface ToolAnswer<T = Record<string, unknown>> {
  isError: boolean;
  structured: T;
  text: string;
}

export async function connectMcp(url: string, token: string, name = "e2e-agent"): Promise<Client & { tool: <T = Record<string, unknown>>(name: string, args?: Record<string, unknown>) => Promise<ToolAnswer<T>> }> {
  const client = new Client({ name, version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  await client.connect(transport);
  return Object.assign(client, {
    async tool<T>(tool: string, args: Record<string, unknown> = {}): Promise<ToolAnswer<T>> {
      const result = await client.callTool({ name: tool, arguments: args });
      const content = (result.content ?? []) as { type: string; text?: string }[];
      return {
        isError: result.isError === true,
        structured: (result.structuredContent ?? {}) as T,
        text: content.map((c) => c.text ?? "").join("\n"),
      };
    },
  });
}
