// Issue 24, item 6, through the real Worker and the provider: a grant the provider revokes by
// itself — a client revoking its refresh token (RFC 7009), a replayed authorization code — is
// revoked in the account object's immediate record too, not only in KV. KV is eventually
// consistent across locations; the tests stand in for a replica that has not heard yet by putting
// the grant's KV records back after the provider deleted them: the object still refuses.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { audit, consent, exchange, grant, inAccount, mcp, ORIGIN, pkce, REDIRECT, register, type Grant } from "./oauth-flow";

/** Every KV record of a grant (the grant and its tokens), to put back later. */
async function snapshot(grantId: string): Promise<Array<[string, string]>> {
  const keys = [...(await env.OAUTH_KV.list({ prefix: `grant:owner:${grantId}` })).keys, ...(await env.OAUTH_KV.list({ prefix: `token:owner:${grantId}:` })).keys];
  return Promise.all(keys.map(async (k) => [k.name, (await env.OAUTH_KV.get(k.name))!] as [string, string]));
}
const restore = (records: Array<[string, string]>) => Promise.all(records.map(([k, v]) => env.OAUTH_KV.put(k, v)));
const revokedInObject = (grantId: string) => inAccount((sql) => sql.exec("SELECT 1 FROM oauth_revoked_grants WHERE grant_id = ?", grantId).toArray().length > 0);

async function expectRefusedByObject(g: Pick<Grant, "grantId" | "access">, stale: Array<[string, string]>): Promise<void> {
  expect(await revokedInObject(g.grantId)).toBe(true);
  // A replica that still holds the grant: the provider would let the token through; the object does not.
  await restore(stale);
  const res = await mcp(g.access, "tools/list");
  expect(res.status).toBe(401);
  expect(((await res.json()) as { error_description?: string }).error_description).toMatch(/revoked/);
}

describe("revocations the provider makes by itself", () => {
  it("a client revoking its refresh token (RFC 7009) revokes the grant in the object too, audited", async () => {
    const g = await grant(["read"]);
    expect((await mcp(g.access, "tools/list")).status).toBe(200);
    const stale = await snapshot(g.grantId);
    const res = await exchange({ token: g.refresh, token_type_hint: "refresh_token", client_id: g.clientId });
    expect(res.status).toBe(200);
    expect((await env.OAUTH_KV.get(`grant:owner:${g.grantId}`))).toBeNull();
    await expectRefusedByObject(g, stale);
    const rows = (await audit("oauth_grant_revoked_by_provider")).filter((r) => r.details.grant_id === g.grantId);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.details).toMatchObject({ client_id: g.clientId, cause: "refresh token revoked by the client (RFC 7009)" });
  });

  it("a replayed authorization code revokes the grant in the object too, audited", async () => {
    const clientId = await register();
    const { verifier, challenge } = await pkce();
    const approved = await consent(clientId, challenge, ["read"]);
    const code = new URL(approved.headers.get("location")!).searchParams.get("code")!;
    const body = { grant_type: "authorization_code", code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier, resource: `${ORIGIN}/mcp` };
    const first = await exchange(body);
    expect(first.status).toBe(200);
    const access = ((await first.json()) as { access_token: string }).access_token;
    const grantId = access.split(":")[1]!;
    const stale = await snapshot(grantId);
    expect((await exchange(body)).status).toBe(400);
    expect(await env.OAUTH_KV.get(`grant:owner:${grantId}`)).toBeNull();
    await expectRefusedByObject({ grantId, access }, stale);
    expect((await audit("oauth_grant_revoked_by_provider")).some((r) => r.details.grant_id === grantId && r.details.cause === "authorization code used twice")).toBe(true);
  });

  it("revoking an access token, or a token the provider does not hold, records no grant revocation", async () => {
    const g = await grant(["read"]);
    expect((await exchange({ token: g.access, token_type_hint: "access_token", client_id: g.clientId })).status).toBe(200);
    expect((await exchange({ token: `owner:${g.grantId}:not-the-secret`, token_type_hint: "refresh_token", client_id: g.clientId })).status).toBe(200);
    expect(await revokedInObject(g.grantId)).toBe(false);
    expect((await audit("oauth_grant_revoked_by_provider")).some((r) => r.details.grant_id === g.grantId)).toBe(false);
    // The refresh token still works: the grant stands.
    expect((await exchange({ grant_type: "refresh_token", refresh_token: g.refresh, client_id: g.clientId })).status).toBe(200);
  });
});
