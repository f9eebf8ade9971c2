// A third-party MCP client against the running system: the MCP Inspector's CLI (as the README
// shows it) lists the tools of `wrangler dev` and calls one, with the bearer token as a header.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type TestStack, startTestStack } from "./harness";

const run = promisify(execFile);
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack("inspector");
});
afterAll(async () => {
  await t?.stop();
});

async function inspector(...args: string[]): Promise<unknown> {
  const { stdout } = await run(join(ROOT, "node_modules", ".bin", "mcp-inspector"), ["--cli", t.stack.mcpUrl, "--transport", "http", "--header", `Authorization: Bearer ${t.secrets.MCP_TOKEN}`, ...args], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH ?? ""}` },
    timeout: 60_000,
  });
  return JSON.parse(stdout);
}

describe("MCP Inspector CLI", () => {
  it("lists every tool with its schemas and annotations", async () => {
    const listed = (await inspector("--method", "tools/list")) as { tools: { name: string; outputSchema?: unknown; annotations?: { readOnlyHint?: boolean } }[] };
    const names = listed.tools.map((tool) => tool.name).sort();
    expect(names).toEqual(
      ["cancel_order", "close_position", "get_account", "get_option_chain", "get_order_status", "get_positions", "get_price_history", "get_quote", "get_safety_status", "health_check", "list_trades", "modify_order", "place_order", "preview_order"].sort(),
    );
    expect(listed.tools.every((tool) => tool.outputSchema !== undefined)).toBe(true);
    expect(listed.tools.find((tool) => tool.name === "place_order")?.annotations?.readOnlyHint).toBe(false);
    expect(listed.tools.find((tool) => tool.name === "get_account")?.annotations?.readOnlyHint).toBe(true);
  });

  it("calls get_account and gets the simulator's paper account", async () => {
    const answer = (await inspector("--method", "tools/call", "--tool-name", "get_account")) as { structuredContent?: { account_id?: string; net_liquidation?: number }; isError?: boolean };
    expect(answer.isError ?? false).toBe(false);
    expect(answer.structuredContent?.account_id).toMatch(/^DU/);
    expect(answer.structuredContent?.net_liquidation).toBeGreaterThan(0);
  });

  it("is refused without the token", async () => {
    await expect(run(join(ROOT, "node_modules", ".bin", "mcp-inspector"), ["--cli", t.stack.mcpUrl, "--transport", "http", "--method", "tools/list"], { cwd: ROOT, timeout: 60_000 })).rejects.toThrow(/401|Unauthorized/);
  });
});
