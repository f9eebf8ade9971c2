// A token pasted into any text a person or agent writes (an emergency-stop reason, a breaker reset
// or approval reason, a strategy, metadata) is scrubbed where it enters, so it never comes back
// from get_safety_status, list_trades, the dashboard's state or the audit, and never reaches the
// bridge (which writes circuit_breaker.log and the trade logs from what the edge sends).
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { redact, REDACTED, secretsOf } from "../../edge/http/redact";
import { bodyText, condorOrder, Edge, FakeBridge } from "./harness";

const TOKENS = [env.MCP_TOKEN, env.BRIDGE_TOKEN, env.ADMIN_TOKEN] as string[];
const noToken = (what: string, value: unknown) => {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  for (const token of TOKENS) expect(text.includes(token), `${what} holds ${token}`).toBe(false);
};

describe("redaction everywhere", () => {
  it("an emergency-stop reason with the tokens pasted in comes back scrubbed everywhere and reaches the bridge scrubbed", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const reason = `pasted by mistake: ${env.ADMIN_TOKEN} and ${env.MCP_TOKEN}`;
    const set = await edge.admin("/api/emergency-stop", { on: true, reason, by: `ops ${env.BRIDGE_TOKEN}` });
    expect(set.status).toBe(200);
    noToken("the admin answer", set.body);

    const status = await edge.call("get_safety_status", {});
    noToken("get_safety_status", status);
    expect(status.structuredContent.emergency_stop.reason).toBe(`pasted by mistake: ${REDACTED} and ${REDACTED}`);
    noToken("/api/state", (await edge.admin("/api/state")).body);
    noToken("the audit", await edge.audit());
    noToken("the audit export", await bodyText(await edge.stub().fetch("https://edge.test/api/audit/export")));
    const logs = bridge.sent("write_log");
    expect(logs.map((l) => l.params.kind)).toContain("circuit_breaker");
    noToken("the bridge's write_log frames", logs);
    bridge.close();
  });

  it("a token in a strategy, metadata or an approval reason is scrubbed before the ledger, the views and the bridge", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const placed = await edge.call("place_order", condorOrder({ strategy: `ic ${env.MCP_TOKEN}`, metadata: { note: `key ${env.ADMIN_TOKEN}`, [env.BRIDGE_TOKEN!]: 1 } }));
    expect(placed.isError).toBeFalsy();
    noToken("the place_order answer", placed);
    noToken("the bridge's place frame", bridge.sent("place"));
    const stored = await edge.inside((sql) => sql.exec("SELECT strategy, metadata_json FROM trades").toArray());
    noToken("the trades table", stored);
    expect(JSON.stringify(stored)).toContain(REDACTED);
    noToken("list_trades", await edge.call("list_trades", {}));

    expect((await edge.admin("/api/shadow-mode", { on: true, reason: "probation" })).status).toBe(200);
    const queued = await edge.call("place_order", condorOrder({}, 130));
    const rejected = await edge.admin(`/api/approvals/${queued.structuredContent.trade_id}`, { decision: "reject", reason: `no, ${env.ADMIN_TOKEN}` });
    expect(rejected.status).toBe(200);
    const reset = await edge.admin("/api/breakers/reset", { breaker: "consecutive_losses", reason: `reset ${env.MCP_TOKEN}` });
    expect(reset.status).toBe(200);
    noToken("the audit", await edge.audit());
    noToken("the bridge's frames", bridge.requests);
    bridge.close();
  });

  it("scrubs strings at any depth, keys included, and leaves short or absent secrets alone", () => {
    const secrets = secretsOf({ MCP_TOKEN: "abcdefgh-mcp", BRIDGE_TOKEN: "short", ADMIN_TOKEN: undefined });
    expect(secrets).toEqual(["abcdefgh-mcp"]);
    expect(redact({ a: [{ "k abcdefgh-mcp": "x abcdefgh-mcp y" }], n: 1, b: null }, secrets)).toEqual({ a: [{ [`k ${REDACTED}`]: `x ${REDACTED} y` }], n: 1, b: null });
    expect(redact("short stays", secrets)).toBe("short stays");
  });
});
