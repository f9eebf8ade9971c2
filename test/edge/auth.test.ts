// Auth of every route through the Worker: no token, a wrong token, and each other route's token
// are refused; only the route's own token passes. The account comes from configuration.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { bodyText } from "./harness";

const TOKENS = { mcp: "test-mcp-token", bridge: "test-bridge-token", admin: "test-admin-token" } as const;

function request(route: "mcp" | "bridge" | "api" | "live", token: string | null): Promise<Response> {
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  if (route === "mcp")
    return SELF.fetch("https://edge.test/mcp", {
      method: "POST",
      headers: { ...headers, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
  if (route === "bridge") return SELF.fetch("https://edge.test/bridge", { headers: { ...headers, upgrade: "websocket" } });
  if (route === "live") return SELF.fetch("https://edge.test/api/live", { headers: { ...headers, upgrade: "websocket" } });
  return SELF.fetch("https://edge.test/api/state", { headers });
}

const OWN: Record<"mcp" | "bridge" | "api" | "live", keyof typeof TOKENS> = { mcp: "mcp", bridge: "bridge", api: "admin", live: "admin" };

describe("auth on every route", () => {
  for (const route of ["mcp", "bridge", "api", "live"] as const) {
    it(`${route}: refuses no token, a wrong token and the other routes' tokens; accepts its own`, async () => {
      const refusals = [null, "not-the-token", ...Object.entries(TOKENS).filter(([k]) => k !== OWN[route]).map(([, v]) => v)];
      for (const token of refusals) {
        const res = await request(route, token);
        expect(res.status, `${route} with ${token}`).toBe(401);
        expect(res.headers.get("www-authenticate"), route).toContain("Bearer");
        await res.text();
      }
      const ok = await request(route, TOKENS[OWN[route]]);
      expect(ok.status).toBe(route === "bridge" || route === "live" ? 101 : 200);
      if (ok.webSocket) {
        ok.webSocket.accept();
        ok.webSocket.close(1000, "done");
      } else await ok.text();
    });
  }

  it("the live socket hears {type: changed, seq} after every audit append", async () => {
    const res = await request("live", TOKENS.admin);
    const ws = res.webSocket!;
    ws.accept();
    const message = new Promise<unknown>((r) => ws.addEventListener("message", (e) => r(JSON.parse(e.data as string)), { once: true }));
    const stop = await SELF.fetch("https://edge.test/api/shadow-mode", {
      method: "POST",
      headers: { authorization: `Bearer ${TOKENS.admin}`, "content-type": "application/json" },
      body: JSON.stringify({ on: false, reason: "live test" }),
    });
    await stop.json();
    const audit = (await (await SELF.fetch("https://edge.test/api/audit?action=shadow_mode_off", { headers: { authorization: `Bearer ${TOKENS.admin}` } })).json()) as { rows: Array<{ seq: number }> };
    expect(await message).toEqual({ type: "changed", seq: audit.rows[0]!.seq });
    ws.close(1000, "done");
  });

  it("no token ever lands in the audit trail", async () => {
    const res = await SELF.fetch("https://edge.test/mcp", {
      method: "POST",
      headers: { authorization: `Bearer ${TOKENS.mcp}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "place_order", arguments: {
        symbol: "AAPL", strategy: "leak", max_risk: 1, capital_required: 1, metadata: { note: `token ${TOKENS.mcp} ${TOKENS.admin} ${TOKENS.bridge}` },
        legs: [{ action: "BUY", quantity: 1, price: 0.01, contract: { symbol: "AAPL", sec_type: "STK" } }],
      } } }),
    });
    await res.json();
    const jsonl = await bodyText(await SELF.fetch("https://edge.test/api/audit/export", { headers: { authorization: `Bearer ${TOKENS.admin}` } }));
    expect(jsonl).toContain("[redacted]");
    for (const token of Object.values(TOKENS)) expect(jsonl).not.toContain(token);
  });
});
