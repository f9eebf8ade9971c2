// OAuth 2.1 on the hosted URL, through the real Worker in workerd (SELF): discovery, dynamic
// registration, the owner's consent page (admin login), PKCE S256, code exchange, scopes on
// tools/list and tools/call (insufficient_scope for a read-only token), refresh rotation,
// revocation (from the client and from the dashboard), and the refusals of bad input — each
// audited, never with a token.
import { env, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { bodyText } from "./harness";
import { WRITE_TOOLS } from "../../edge/mcp/mcp-scopes";
import { Edge } from "./harness";
import { ADMIN_TOKEN, audit, authorizeUrl, consent, cookiesOf, exchange, grant, MCP_HEADERS, mcp, ORIGIN, pkce, REDIRECT, register } from "./oauth-flow";

async function toolNames(token: string): Promise<string[]> {
  const res = await mcp(token, "tools/list");
  expect(res.status).toBe(200);
  return ((await res.json()) as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name);
}

async function exportAudit(): Promise<string> {
  return bodyText(await SELF.fetch(`${ORIGIN}/api/audit/export`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
}

describe("OAuth discovery", () => {
  it("publishes RFC 9728 resource metadata and RFC 8414 server metadata, and challenges /mcp with resource_metadata", async () => {
    const unauth = await SELF.fetch(`${ORIGIN}/mcp`, { method: "POST", headers: MCP_HEADERS, body: "{}" });
    expect(unauth.status).toBe(401);
    expect(unauth.headers.get("www-authenticate")).toContain(`resource_metadata="${ORIGIN}/.well-known/oauth-protected-resource/mcp"`);
    const prm = (await (await SELF.fetch(`${ORIGIN}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
    expect(prm.resource).toBe(`${ORIGIN}/mcp`);
    expect(prm.authorization_servers).toEqual([ORIGIN]);
    expect(prm.scopes_supported).toEqual(["read", "trade"]);
    const as = (await (await SELF.fetch(`${ORIGIN}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(as.authorization_endpoint).toBe(`${ORIGIN}/oauth/authorize`);
    expect(as.token_endpoint).toBe(`${ORIGIN}/oauth/token`);
    expect(as.registration_endpoint).toBe(`${ORIGIN}/oauth/register`);
    expect(as.code_challenge_methods_supported).toEqual(["S256"]);
    expect(as.client_id_metadata_document_supported).toBe(true);
  });
});

describe("OAuth grant, scopes, refresh and revocation", () => {
  it("a read+trade grant lists and calls the write tools; the grant, exchange and use are audited", async () => {
    const g = await grant(["read", "trade"]);
    expect(g.scope.split(" ").sort()).toEqual(["read", "trade"]);
    expect(await toolNames(g.access)).toEqual(expect.arrayContaining(["place_order", "cancel_order", "close_position", "get_account"]));
    const grants = await audit("oauth_grant");
    expect(grants.at(-1)!.details).toMatchObject({ client_id: g.clientId, client_name: "Test Agent", scopes: ["read", "trade"], redirect_host: "127.0.0.1:33418" });
    expect((await audit("oauth_token_issued")).some((r) => r.details.client_id === g.clientId)).toBe(true);
  });

  it("a read-only grant cannot see place_order, and calling it answers 403 insufficient_scope (step-up)", async () => {
    const g = await grant(["read"]);
    expect(g.scope).toBe("read");
    const names = await toolNames(g.access);
    expect(names).toContain("get_positions");
    for (const write of ["place_order", "close_position", "cancel_order"]) expect(names).not.toContain(write);
    const res = await mcp(g.access, "tools/call", { name: "place_order", arguments: {} });
    expect(res.status).toBe(403);
    const challenge = res.headers.get("www-authenticate")!;
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="read trade"');
    expect(challenge).toContain(`resource_metadata="${ORIGIN}/.well-known/oauth-protected-resource/mcp"`);
    expect((await audit("mcp_scope_refused")).at(-1)!.details).toMatchObject({ tools: ["place_order"], scopes: ["read"] });
    // A read tool still works with it.
    const read = await mcp(g.access, "tools/call", { name: "get_safety_status", arguments: {} });
    expect(read.status).toBe(200);
  });

  it("refresh rotates the refresh token; revocation ends the grant and the next call is 401 (audited)", async () => {
    const g = await grant(["read"]);
    const refreshed = await exchange({ grant_type: "refresh_token", refresh_token: g.refresh, client_id: g.clientId });
    expect(refreshed.status).toBe(200);
    const next = (await refreshed.json()) as { access_token: string; refresh_token: string };
    expect(next.refresh_token).not.toBe(g.refresh);
    expect(await toolNames(next.access_token)).toContain("get_account");
    expect((await audit("oauth_token_refreshed")).some((r) => r.details.client_id === g.clientId)).toBe(true);

    const revoke = await exchange({ token: next.refresh_token, token_type_hint: "refresh_token", client_id: g.clientId });
    expect(revoke.status).toBe(200);
    expect((await audit("oauth_token_revoked")).some((r) => r.details.client_id === g.clientId)).toBe(true);
    const after = await mcp(next.access_token, "tools/list");
    expect(after.status).toBe(401);
    expect(after.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect((await audit("mcp_token_refused")).length).toBeGreaterThan(0);
    const jsonl = await exportAudit();
    for (const secret of [g.access, g.refresh, next.access_token, next.refresh_token]) expect(jsonl).not.toContain(secret.split(":")[2]!);
  });

  it("the dashboard lists a granted client with scopes, granted at and last used, and revokes it", async () => {
    const g = await grant(["read", "trade"]);
    await toolNames(g.access);
    const list = (await (await SELF.fetch(`${ORIGIN}/api/oauth/grants`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { grants: Array<Record<string, any>> };
    const mine = list.grants.find((x) => x.client_id === g.clientId)!;
    expect(mine).toMatchObject({ client_name: "Test Agent", scopes: ["read", "trade"], uses: 1 });
    expect(Date.parse(mine.granted_at)).toBeGreaterThan(Date.now() - 60_000);
    // Last use is the account object's clock (pinned in this project), granted_at the Worker's.
    const account = new Edge("sim");
    await account.syncClock();
    expect(Date.parse(mine.last_used)).toBeGreaterThan(account.now().getTime() - 60_000);
    expect(Date.parse(mine.last_used)).toBeLessThanOrEqual(account.now().getTime());
    // An OAuth token is not an admin credential (hono's bearerAuth answers 400 to its ':' characters).
    expect([400, 401]).toContain((await SELF.fetch(`${ORIGIN}/api/oauth/grants`, { headers: { authorization: `Bearer ${g.access}` } })).status);
    const noReason = await SELF.fetch(`${ORIGIN}/api/oauth/grants/${mine.grant_id}/revoke`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: "{}" });
    expect(noReason.status).toBe(400);
    const revoke = await SELF.fetch(`${ORIGIN}/api/oauth/grants/${mine.grant_id}/revoke`, {
      method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ reason: "lost laptop", by: "owner" }),
    });
    expect(revoke.status).toBe(200);
    expect((await mcp(g.access, "tools/list")).status).toBe(401);
    expect((await exchange({ grant_type: "refresh_token", refresh_token: g.refresh, client_id: g.clientId })).status).toBe(400);
    expect((await audit("oauth_grant_revoked")).at(-1)!.details).toMatchObject({ grant_id: mine.grant_id, reason: "lost laptop", by: "owner" });
    // The account object refuses the grant itself, whatever a KV replica elsewhere may still hold.
    const direct = await env.ACCOUNT.get(env.ACCOUNT.idFromName("sim")).fetch(`${ORIGIN}/mcp`, {
      method: "POST", headers: { ...MCP_HEADERS, "x-ibkr-mcp-scopes": "read trade", "x-ibkr-mcp-grant": mine.grant_id },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    expect(direct.status).toBe(401);
    expect(direct.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect((await audit("mcp_token_refused")).some((r) => r.details.reason === "grant revoked" && r.details.grant_id === mine.grant_id)).toBe(true);
  });

  it("every tool that is not read-only needs the trade scope (a new write tool cannot slip past read tokens)", async () => {
    const res = await mcp("test-mcp-token", "tools/list");
    const tools = ((await res.json()) as { result: { tools: Array<{ name: string; annotations?: { readOnlyHint?: boolean } }> } }).result.tools;
    const writes = tools.filter((x) => x.annotations?.readOnlyHint !== true).map((x) => x.name);
    expect(writes.length).toBeGreaterThan(0);
    for (const name of writes) expect(WRITE_TOOLS.has(name), `${name} is not read-only but is not in WRITE_TOOLS`).toBe(true);
    const g = await grant(["read"]);
    const readable = await toolNames(g.access);
    for (const name of writes) expect(readable).not.toContain(name);
  });

  it("the static MCP_TOKEN keeps full scopes", async () => {
    expect(await toolNames("test-mcp-token")).toContain("place_order");
  });
});

describe("what a refused credential leaves behind", () => {
  afterEach(() => vi.restoreAllMocks());

  it("an expired, revoked or garbage token is an audit row, not a console line per refusal", async () => {
    const warn = vi.spyOn(console, "warn");
    const error = vi.spyOn(console, "error");
    const before = (await audit("mcp_token_refused")).length;
    const refused = await mcp("user:grant:not-a-real-secret", "tools/list");
    expect(refused.status).toBe(401);
    await refused.body?.cancel();
    const bad = await exchange({ grant_type: "refresh_token", refresh_token: "user:grant:nothing", client_id: "nobody" });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.status).toBeLessThan(500);
    await bad.body?.cancel();
    expect((await audit("mcp_token_refused")).length).toBe(before + 1);
    expect((await audit("oauth_token_refused")).some((r) => r.details.client_id === "nobody")).toBe(true);
    const printed = [...warn.mock.calls, ...error.mock.calls].map((args) => args.join(" "));
    expect(printed.filter((line) => line.includes("OAuth error response"))).toEqual([]);
  });
});

describe("bad input changes nothing and is audited", () => {
  it("a replayed code and a wrong verifier are refused (invalid_grant), audited without the code", async () => {
    const clientId = await register();
    const { verifier, challenge } = await pkce();
    const approved = await consent(clientId, challenge, ["read"]);
    const code = new URL(approved.headers.get("location")!).searchParams.get("code")!;
    const wrong = await exchange({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: `${verifier}x`, resource: `${ORIGIN}/mcp` });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: string }).error).toBe("invalid_grant");
    const first = await exchange({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier, resource: `${ORIGIN}/mcp` });
    // The provider may burn the code on a wrong verifier (then this is 400 too); either way a replay fails.
    await first.body?.cancel();
    const replay = await exchange({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier, resource: `${ORIGIN}/mcp` });
    expect(replay.status).toBe(400);
    const refused = (await audit("oauth_token_refused")).filter((r) => r.details.client_id === clientId);
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(refused)).not.toContain(code.split(":").at(-1)!);
    expect(JSON.stringify(refused)).not.toContain(verifier);
  });

  it("an unregistered redirect URI is shown an error (never redirected to) and audited", async () => {
    const clientId = await register();
    const { challenge } = await pkce();
    const res = await SELF.fetch(authorizeUrl(clientId, challenge, { redirect_uri: "https://evil.example/cb" }), { redirect: "manual" });
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect(await res.text()).toContain("Authorization refused");
    expect((await audit("oauth_authorize_refused")).some((r) => r.details.stage === "request")).toBe(true);
  });

  it("a request without PKCE, or with plain PKCE, is refused", async () => {
    const clientId = await register();
    const noPkce = new URL(authorizeUrl(clientId, "x"));
    noPkce.searchParams.delete("code_challenge");
    noPkce.searchParams.delete("code_challenge_method");
    const res = await SELF.fetch(noPkce, { redirect: "manual" });
    expect([302, 400]).toContain(res.status);
    if (res.status === 302) expect(res.headers.get("location")).toContain("error=invalid_request");
    const plain = await SELF.fetch(authorizeUrl(clientId, "a".repeat(43), { code_challenge_method: "plain" }), { redirect: "manual" });
    expect([302, 400]).toContain(plain.status);
    if (plain.status === 302) expect(plain.headers.get("location")).toContain("error=invalid_request");
  });

  it("a wrong admin token on the consent page grants nothing and counts as a failed login", async () => {
    const clientId = await register();
    const { challenge } = await pkce();
    const before = (await audit("dashboard_login_failed")).length;
    const res = await consent(clientId, challenge, ["read", "trade"], "not-the-admin-token");
    expect(res.status).toBe(401);
    expect(res.headers.get("location")).toBeNull();
    expect((await audit("dashboard_login_failed")).length).toBe(before + 1);
    const list = (await (await SELF.fetch(`${ORIGIN}/api/oauth/grants`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { grants: Array<{ client_id: string }> };
    expect(list.grants.some((x) => x.client_id === clientId)).toBe(false);
  });

  it("a consent form posted from a foreign Origin is refused (403), audited, and grants nothing", async () => {
    const clientId = await register();
    const { challenge } = await pkce();
    const page = await SELF.fetch(authorizeUrl(clientId, challenge));
    const handle = /name="handle" value="([^"]+)"/.exec(await page.text())![1]!;
    const post = (origin: string, site?: string) => SELF.fetch(`${ORIGIN}/oauth/authorize`, {
      method: "POST", redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin, cookie: cookiesOf(page), ...(site ? { "sec-fetch-site": site } : {}) },
      body: new URLSearchParams({ handle, decision: "approve", token: ADMIN_TOKEN, scope: "read" }),
    });
    const foreign = await post("https://evil.example");
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get("location")).toBeNull();
    expect((await audit("form_origin_refused")).at(-1)!.details).toMatchObject({ form: "consent", origin: "https://evil.example" });
    // A browser hides the origin as `null` (no-referrer): Sec-Fetch-Site still tells.
    expect((await post("null", "cross-site")).status).toBe(403);
    // Nothing changed: the same form still works from this origin (as Chromium sends it from our page).
    expect((await post("null", "same-origin")).status).toBe(302);
  });

  it("a consent form replayed (same handle) is refused", async () => {
    const clientId = await register();
    const { challenge } = await pkce();
    const page = await SELF.fetch(authorizeUrl(clientId, challenge));
    const html = await page.text();
    const handle = /name="handle" value="([^"]+)"/.exec(html)![1]!;
    const submit = () => SELF.fetch(`${ORIGIN}/oauth/authorize`, {
      method: "POST", redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, cookie: cookiesOf(page) },
      body: new URLSearchParams({ handle, decision: "approve", token: ADMIN_TOKEN, scope: "read" }),
    });
    expect((await submit()).status).toBe(302);
    const again = await submit();
    expect(again.status).toBe(400);
    expect(again.headers.get("location")).toBeNull();
  });
});

describe("MCP transport hygiene", () => {
  it("a foreign Origin gets 403 before authentication (audited); this edge's own origin and none pass", async () => {
    const foreign = await mcp("test-mcp-token", "tools/list", {}, { origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect((await audit("mcp_origin_refused")).at(-1)!.details).toMatchObject({ origin: "https://evil.example" });
    const noToken = await SELF.fetch(`${ORIGIN}/mcp`, { method: "POST", headers: { ...MCP_HEADERS, origin: "http://localhost:6274" }, body: "{}" });
    expect(noToken.status).toBe(403);
    expect((await mcp("test-mcp-token", "tools/list", {}, { origin: ORIGIN })).status).toBe(200);
    expect((await mcp("test-mcp-token", "tools/list")).status).toBe(200);
  });

  it("an unsupported MCP-Protocol-Version header is answered 400", async () => {
    const res = await mcp("test-mcp-token", "tools/list", {}, { "mcp-protocol-version": "1999-01-01" });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain("Unsupported protocol version");
    expect((await mcp("test-mcp-token", "tools/list", {}, { "mcp-protocol-version": "2025-06-18" })).status).toBe(200);
  });

  it("a caller cannot forge the Worker's scope header to widen a read-only token", async () => {
    const g = await grant(["read"]);
    const names = await (async () => {
      const res = await mcp(g.access, "tools/list", {}, { "x-ibkr-mcp-scopes": "read trade" });
      return ((await res.json()) as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name);
    })();
    expect(names).not.toContain("place_order");
  });
});
