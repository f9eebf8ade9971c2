// The dashboard's "Connected apps": every OAuth grant of the account's owner (client name, scopes,
// granted at, last used) and its revocation. Runs in the Worker behind the admin gate (bearer
// ADMIN_TOKEN or a dashboard session with CSRF), because grants live in OAUTH_KV; the last use and
// the audit row come from the account's Durable Object. A revoked grant's tokens fail at once.
import type { OAuthHelpers } from "@cloudflare/workers-oauth-provider";
import { Hono } from "hono";
import { z } from "zod";
import type { Env } from "../http/env";
import { accountStub, auditOAuth } from "../http/account-stub";
import { OAUTH_GRANT_USE_PATH, OWNER } from "./oauth";

const MAX_GRANTS_LISTED = 1000;
const GrantId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "grant id must be letters, digits, - or _");
const RevokeBody = z.strictObject({ reason: z.string().trim().min(1, "reason must be a non-empty string").max(500), by: z.string().trim().min(1).max(80).optional() });

type Bindings = Env & { OAUTH_PROVIDER: OAuthHelpers };
export const oauthAdmin = new Hono<{ Bindings: Bindings }>();

oauthAdmin.get("/api/oauth/grants", async (c) => {
  const oauth = c.env.OAUTH_PROVIDER;
  const res = await accountStub(c.env).fetch(`https://account${OAUTH_GRANT_USE_PATH}`, { method: "POST" });
  const uses = (await res.json()) as Record<string, { last_used: string; uses: number }>;
  const grants = [];
  let cursor: string | undefined;
  do {
    const page = await oauth.listUserGrants(OWNER, { limit: 100, ...(cursor ? { cursor } : {}) });
    for (const g of page.items) {
      const metadata = (g.metadata ?? {}) as { client_name?: string };
      grants.push({
        grant_id: g.id, client_id: g.clientId, client_name: metadata.client_name ?? g.clientId, scopes: g.scope,
        granted_at: new Date(g.createdAt * 1000).toISOString(), expires_at: g.expiresAt ? new Date(g.expiresAt * 1000).toISOString() : null,
        last_used: uses[g.id]?.last_used ?? null, uses: uses[g.id]?.uses ?? 0,
      });
    }
    cursor = page.cursor;
  } while (cursor && grants.length < MAX_GRANTS_LISTED);
  grants.sort((a, b) => b.granted_at.localeCompare(a.granted_at));
  return c.json({ grants });
});

oauthAdmin.post("/api/oauth/grants/:id/revoke", async (c) => {
  const id = GrantId.safeParse(c.req.param("id"));
  if (!id.success) return c.json({ error: id.error.issues[0]!.message }, 400);
  const body = RevokeBody.safeParse(await c.req.json().catch(() => undefined));
  if (!body.success) return c.json({ error: `${body.error.issues[0]?.path.join(".") || "body"}: ${body.error.issues[0]?.message ?? "invalid"}` }, 400);
  const oauth = c.env.OAUTH_PROVIDER;
  const grant = (await oauth.listUserGrants(OWNER, { limit: 1000 })).items.find((g) => g.id === id.data);
  if (!grant) return c.json({ error: `No grant ${id.data}` }, 404);
  await oauth.revokeGrant(id.data, OWNER);
  await auditOAuth(c.env, "oauth_grant_revoked", { grant_id: id.data, client_id: grant.clientId, scopes: grant.scope, by: body.data.by ?? "admin", reason: body.data.reason });
  return c.json({ revoked: id.data });
});
