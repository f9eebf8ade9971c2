// Issue 24, item 2, through the real Worker (SELF), @cloudflare/workers-oauth-provider 1.2.3 and
// the account's Durable Object: a refresh token is spent once. The provider keeps the previous
// token valid until its replacement is used, so an attacker holding R0 who never uses R2 could
// refresh with R0 forever while the owner's app got invalid_grant. Now: one retry of a spent token
// within REFRESH_RETRY_WINDOW_MS (a client that lost the answer); any further use of a spent or
// superseded token revokes the grant — in KV and in the object's revocation record — audited.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_REFRESH_TOKENS_PER_GRANT, REFRESH_RETRY_WINDOW_MS } from "../../edge/auth/refresh-tokens";
import { audit, grant, inAccount, mcp, refresh, type Grant } from "./oauth-flow";

async function tokens(res: Response): Promise<{ access_token: string; refresh_token: string }> {
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { access_token: string; refresh_token: string };
}
async function refused(res: Response): Promise<string> {
  expect(res.status).toBe(400);
  return ((await res.json()) as { error: string }).error;
}
const revokedInObject = (grantId: string) => inAccount((sql) => sql.exec("SELECT 1 FROM oauth_revoked_grants WHERE grant_id = ?", grantId).toArray().length > 0);
const grantInKv = async (g: Grant) => (await env.OAUTH_KV.get(`grant:owner:${g.grantId}`)) !== null;
const listStatus = async (access: string) => (await mcp(access, "tools/list")).status;

async function expectRevoked(g: Grant, accessTokens: string[], refreshTokens: string[]): Promise<void> {
  expect(await revokedInObject(g.grantId)).toBe(true);
  expect(await grantInKv(g)).toBe(false);
  for (const access of accessTokens) expect(await listStatus(access)).toBe(401);
  for (const token of refreshTokens) expect(await refused(await refresh(g, token))).toBe("invalid_grant");
  const rows = (await audit("oauth_refresh_token_reused")).filter((r) => r.details.grant_id === g.grantId);
  expect(rows).toHaveLength(1);
  expect(rows[0]!.details).toMatchObject({ grant_id: g.grantId, client_id: g.clientId });
  // Never a token, not even its hash's neighbour: the audit holds ids only.
  const text = JSON.stringify(rows);
  for (const token of [...accessTokens, ...refreshTokens]) expect(text).not.toContain(token.split(":")[2]!);
}

describe("refresh-token reuse", () => {
  it("a plain chain of refreshes keeps working, and the object keeps a bounded record per grant", async () => {
    const g = await grant(["read"]);
    let current = g.refresh;
    let access = g.access;
    for (let i = 0; i < MAX_REFRESH_TOKENS_PER_GRANT + 4; i++) {
      const next = await tokens(await refresh(g, current));
      current = next.refresh_token;
      access = next.access_token;
    }
    expect(await listStatus(access)).toBe(200);
    const rows = await inAccount((sql) => sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM oauth_refresh_tokens WHERE grant_id = ?", g.grantId).one().n);
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThanOrEqual(MAX_REFRESH_TOKENS_PER_GRANT);
    expect(await revokedInObject(g.grantId)).toBe(false);
  });

  it("R0 → R1; R0 again within the window is the one retry; R0 a third time revokes the grant and every token of it", async () => {
    const g = await grant(["read", "trade"]);
    const first = await tokens(await refresh(g, g.refresh));
    const retry = await tokens(await refresh(g, g.refresh));
    expect(retry.refresh_token).not.toBe(first.refresh_token);
    expect(await listStatus(retry.access_token)).toBe(200);
    expect(await refused(await refresh(g, g.refresh))).toBe("invalid_grant");
    await expectRevoked(g, [g.access, first.access_token, retry.access_token], [retry.refresh_token, first.refresh_token]);
  });

  it("a spent token used after the retry window revokes the grant at once", async () => {
    const g = await grant(["read"]);
    const first = await tokens(await refresh(g, g.refresh));
    // Let the window pass: the spend is recorded as older than the retry window.
    await inAccount((sql) => sql.exec("UPDATE oauth_refresh_tokens SET spent_ms = spent_ms - ? WHERE grant_id = ? AND spent_ms IS NOT NULL", REFRESH_RETRY_WINDOW_MS + 1_000, g.grantId));
    expect(await refused(await refresh(g, g.refresh))).toBe("invalid_grant");
    await expectRevoked(g, [first.access_token], [first.refresh_token]);
  });

  it("the owner's app presenting its R1 after an attacker's reuse of R0 revokes the grant: the attacker's pair dies with it", async () => {
    const g = await grant(["read", "trade"]);
    const owners = await tokens(await refresh(g, g.refresh));
    // The attacker, holding a copy of R0, refreshes within the window: the provider rotates past R1.
    const attackers = await tokens(await refresh(g, g.refresh));
    expect(await listStatus(attackers.access_token)).toBe(200);
    // The owner's app refreshes with the R1 it was given: superseded, so somebody else used R0.
    expect(await refused(await refresh(g, owners.refresh_token))).toBe("invalid_grant");
    await expectRevoked(g, [attackers.access_token, owners.access_token], [attackers.refresh_token]);
  });

  it("three refreshes racing with one token: the third is caught after the provider answered, its pair withheld, and the grant revoked", async () => {
    const g = await grant(["read"]);
    const answers = await Promise.all([refresh(g, g.refresh), refresh(g, g.refresh), refresh(g, g.refresh)]);
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 400).length).toBeGreaterThanOrEqual(1);
    const issued = await Promise.all(answers.filter((r) => r.ok).map((r) => r.json() as Promise<{ access_token: string; refresh_token: string }>));
    for (const r of answers.filter((a) => !a.ok)) expect(((await r.json()) as { error: string }).error).toBe("invalid_grant");
    await expectRevoked(g, [g.access, ...issued.map((t) => t.access_token)], issued.map((t) => t.refresh_token));
  });

  it("R0 → R1 → R2, then R0 again within the window ends the grant: its replacement was used, so this is no retry", async () => {
    const g = await grant(["read"]);
    const first = await tokens(await refresh(g, g.refresh));
    const second = await tokens(await refresh(g, first.refresh_token));
    expect(await refused(await refresh(g, g.refresh))).toBe("invalid_grant");
    await expectRevoked(g, [second.access_token], [second.refresh_token]);
  });
});
