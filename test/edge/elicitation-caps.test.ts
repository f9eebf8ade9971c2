// Elicitation sessions are capped per client address, per credential and in all, and a full cap
// closes an idle session of whoever holds the most instead of refusing the newcomer: one client
// that opens sessions and never answers costs only its own, never another client's.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_SESSIONS, MAX_SESSIONS_PER_CLIENT, MAX_SESSIONS_PER_CREDENTIAL } from "../../edge/mcp/mcp-http";
import { Edge } from "./harness";

interface Caller { ip: string; token?: string }

const headersOf = (caller: Caller) => ({
  "content-type": "application/json", accept: "application/json, text/event-stream", "cf-connecting-ip": caller.ip,
  authorization: `Bearer ${caller.token ?? "test-mcp-token"}`,
});

async function initialize(edge: Edge, caller: Caller): Promise<{ status: number; id: string | null }> {
  const res = await edge.stub().fetch("https://edge.test/mcp", {
    method: "POST", headers: headersOf(caller),
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: { elicitation: {} }, clientInfo: { name: "never-answers", version: "1" } } }),
  });
  await res.text();
  return { status: res.status, id: res.headers.get("mcp-session-id") };
}

async function listTools(edge: Edge, caller: Caller, sessionId: string): Promise<number> {
  const res = await edge.stub().fetch("https://edge.test/mcp", {
    method: "POST", headers: { ...headersOf(caller), "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} }),
  });
  await res.text();
  return res.status;
}

const sessionCount = (edge: Edge) => runInDurableObject(edge.stub(), async (o: any) => o.mcp.sessionCount as number);

describe("elicitation session caps", () => {
  it("120 initialize calls from one client cost only its own sessions: another client still gets one", async () => {
    const edge = new Edge();
    const flood: Caller = { ip: "198.51.100.7" };
    const ids: string[] = [];
    for (let i = 0; i < MAX_SESSIONS + 20; i++) {
      const opened = await initialize(edge, flood);
      expect(opened.status, `initialize ${i}`).toBe(200);
      ids.push(opened.id!);
    }
    expect(await sessionCount(edge)).toBe(MAX_SESSIONS_PER_CLIENT);
    // The flood's newest sessions work; its oldest were closed to make room for them.
    expect(await listTools(edge, flood, ids[ids.length - 1]!)).toBe(200);
    expect(await listTools(edge, flood, ids[0]!)).toBe(404);

    const other: Caller = { ip: "203.0.113.5" };
    const mine = await initialize(edge, other);
    expect(mine.status).toBe(200);
    expect(await listTools(edge, other, mine.id!)).toBe(200);
    // The flood goes on, and the quiet client's session survives it.
    for (let i = 0; i < 30; i++) expect((await initialize(edge, flood)).status).toBe(200);
    expect(await listTools(edge, other, mine.id!)).toBe(200);
  });

  it("a full credential or global cap closes the heaviest holder's idlest session, not a quiet client's", async () => {
    const edge = new Edge();
    const quiet: Caller = { ip: "192.0.2.10" };
    const mine = await initialize(edge, quiet);
    // Six addresses with one token: 60 sessions asked, the token holds at most 50.
    for (let a = 0; a < 6; a++) for (let i = 0; i < MAX_SESSIONS_PER_CLIENT; i++) expect((await initialize(edge, { ip: `198.51.100.${a + 1}` })).status).toBe(200);
    expect(await sessionCount(edge)).toBe(MAX_SESSIONS_PER_CREDENTIAL);
    expect(await listTools(edge, quiet, mine.id!)).toBe(200);
    // Two more credentials fill the global cap; the quiet client's one session is still not the one closed.
    for (const token of ["second-credential", "third-credential"])
      for (let a = 0; a < 6; a++) for (let i = 0; i < MAX_SESSIONS_PER_CLIENT; i++) expect((await initialize(edge, { ip: `198.51.${a + 1}.9`, token })).status).toBe(200);
    expect(await sessionCount(edge)).toBe(MAX_SESSIONS);
    expect(await listTools(edge, quiet, mine.id!)).toBe(200);
  }, 60_000);

  it("a session answers only the credential that opened it", async () => {
    const edge = new Edge();
    const opened = await initialize(edge, { ip: "192.0.2.20" });
    expect(await listTools(edge, { ip: "192.0.2.20", token: "someone-else" }, opened.id!)).toBe(404);
    expect(await listTools(edge, { ip: "192.0.2.99" }, opened.id!)).toBe(200);
  });
});
