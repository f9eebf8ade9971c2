// State survives a restart of the Durable Object: the emergency stop and the audit chain are
// read back from SQLite, not from memory. Own file, so its storage holds no forged rows.
import { SELF, env, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";

const ADMIN = { authorization: "Bearer test-admin-token", "content-type": "application/json" };

function stub() {
  return env.ACCOUNT.get(env.ACCOUNT.idFromName("sim"));
}

async function setStop(on: boolean, reason: string): Promise<number> {
  const res = await SELF.fetch("https://edge.test/api/emergency-stop", { method: "POST", headers: ADMIN, body: JSON.stringify({ on, reason }) });
  await res.json();
  return res.status;
}

describe("restart", () => {
  it("keeps the emergency stop across a Durable Object restart", async () => {
    expect(await setStop(true, "persist me")).toBe(200);
    await evictDurableObject(stub());
    const res = await SELF.fetch("https://edge.test/mcp", {
      method: "POST",
      headers: { authorization: "Bearer test-mcp-token", "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "get_safety_status", arguments: {} } }),
    });
    const body = (await res.json()) as { result: { structuredContent: { emergency_stop: { on: boolean; reason: string } } } };
    expect(body.result.structuredContent.emergency_stop).toMatchObject({ on: true, reason: "persist me" });
    const verify = (await (await SELF.fetch("https://edge.test/api/audit/verify", { headers: ADMIN })).json()) as { ok: boolean; rows: number };
    expect(verify).toEqual({ ok: true, rows: 1 });
  });
});
