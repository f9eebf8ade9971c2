// A tool's zod schema whose JSON Schema is computed once per isolate. The MCP SDK builds a fresh
// server for every request here (edge/mcp/mcp-http.ts), and a fresh server converts the zod schemas it
// is given on every tools/list (all 14 tools, both directions) and, for the result's projection, the
// called tool's output schema on every tools/call; converting is most of a read's time in the MCP
// layer. This is the SDK's own seam for it (a Standard Schema's `~standard.jsonSchema` provider):
// validation stays zod's, only the conversion's result is kept.
import type { StandardSchemaWithJSON } from "@modelcontextprotocol/server";
import type { z } from "zod";

type Converter = StandardSchemaWithJSON["~standard"]["jsonSchema"];

/**
 * The schema, converting to JSON Schema once per target and direction.
 * @example server.registerTool("get_account", { inputSchema: jsonSchemaOnce(GetAccountInput), … }, handler)
 */
export function jsonSchemaOnce<S extends z.ZodType>(schema: S): StandardSchemaWithJSON<z.input<S>, z.output<S>> {
  const standard = (schema as unknown as StandardSchemaWithJSON<z.input<S>, z.output<S>>)["~standard"];
  const kept = new Map<string, Record<string, unknown>>();
  const once = (io: "input" | "output"): Converter["input"] => (options) => {
    const key = `${io} ${options.target}`;
    let json = kept.get(key);
    if (!json) {
      json = standard.jsonSchema[io](options);
      // The SDK reads what it is handed; frozen, a later writer would throw instead of changing
      // what every other request of this isolate lists.
      kept.set(key, deepFreeze(json));
    }
    return json;
  };
  return {
    "~standard": {
      version: 1,
      vendor: standard.vendor,
      validate: (value, options) => standard.validate(value, options),
      jsonSchema: { input: once("input"), output: once("output") },
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
