// The account Durable Object's side of OAuth: what a forwarded /mcp call may do (the Worker's
// scope header), when each grant was last used (for the dashboard's "Connected apps"), which
// grants the owner revoked, and the audit rows the Worker sends for OAuth events. Grants and
// tokens themselves live in OAUTH_KV.
import { z } from "zod";
import { auditUnauthenticated, isUnauthenticated } from "../audit/audit-flood";
import { clientAddress, UNKNOWN_CLIENT } from "../http/client-address";
import { credentialOf, MCP_CREDENTIAL_HEADER } from "../ledger/credential";
import { markRegistrationGranted } from "./registration-gate";
import type { DeskContext } from "../store/desk-context";
import { MCP_GRANT_HEADER, MCP_SCOPES_HEADER, canTrade, parseScopes } from "../mcp/mcp-scopes";
import type { McpAccess } from "../mcp/mcp-server";

const GRANT_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The scopes the Worker set for this call. The Worker always sets the header on a forwarded /mcp
 * call (and drops a caller's copy); a request without it comes from inside (tests that talk to
 * the object directly), with the static token's full access.
 */
export function mcpAccess(request: Request): McpAccess {
  const header = request.headers.get(MCP_SCOPES_HEADER);
  // The Worker forwards the caller's own request, so its URL is the edge's public one.
  const origin = new URL(request.url).origin;
  return { trade: header === null ? true : canTrade(parseScopes(header)), origin, credential: credentialOf(request.headers.get(MCP_CREDENTIAL_HEADER)) };
}

/**
 * Records the grant's use, or answers 401 when the owner revoked it: KV (where the provider keeps
 * tokens) is eventually consistent across locations, this object is not, so a revoked app is
 * refused on its next call wherever it calls from.
 */
export function checkGrant(ctx: DeskContext, request: Request): Response | null {
  const grant = request.headers.get(MCP_GRANT_HEADER);
  if (!grant || !GRANT_ID.test(grant)) return null;
  if (ctx.sql.exec("SELECT 1 FROM oauth_revoked_grants WHERE grant_id = ?", grant).toArray().length > 0) {
    // A revoked token keeps being sent by whoever holds it: bounded like any refused token.
    const client = clientAddress(request.headers);
    auditUnauthenticated(ctx, "oauth", "mcp_token_refused", client, { reason: "grant revoked", grant_id: grant, client });
    const metadata = `${new URL(request.url).origin}/.well-known/oauth-protected-resource/mcp`;
    return Response.json({ error: "invalid_token", error_description: "this app's access was revoked by the account owner" }, {
      status: 401, headers: { "www-authenticate": `Bearer realm="OAuth", error="invalid_token", error_description="access revoked", resource_metadata="${metadata}"` },
    });
  }
  ctx.sql.exec(
    "INSERT INTO oauth_grant_use (grant_id, last_used_ms, uses) VALUES (?, ?, 1) ON CONFLICT(grant_id) DO UPDATE SET last_used_ms = excluded.last_used_ms, uses = uses + 1",
    grant, ctx.now().getTime(),
  );
  return null;
}

export function grantUses(ctx: DeskContext): Record<string, { last_used: string; uses: number }> {
  const out: Record<string, { last_used: string; uses: number }> = {};
  for (const row of ctx.sql.exec<{ grant_id: string; last_used_ms: number; uses: number }>("SELECT grant_id, last_used_ms, uses FROM oauth_grant_use").toArray())
    out[row.grant_id] = { last_used: new Date(row.last_used_ms).toISOString(), uses: row.uses };
  return out;
}

/** OAuth events the Worker may append: a fixed list, so this path cannot forge other rows. */
const OAUTH_ACTIONS = [
  "oauth_grant", "oauth_consent_denied", "oauth_authorize_refused", "oauth_token_issued", "oauth_token_refreshed",
  "oauth_token_refused", "oauth_token_revoked", "oauth_revocation_refused", "oauth_client_registered",
  "oauth_registration_refused", "oauth_grant_revoked", "mcp_token_refused", "mcp_scope_refused", "mcp_origin_refused", "form_origin_refused",
  "oauth_token_refresh_retried", "oauth_grant_revoked_by_provider",
] as const;
export const OAuthAuditRequest = z.strictObject({ action: z.enum(OAUTH_ACTIONS), details: z.record(z.string(), z.unknown()) });

/** The row's seq, or null when it was one that anyone can cause and its bound was reached (edge/audit/audit-flood.ts). */
export function appendOAuthAudit(ctx: DeskContext, body: z.infer<typeof OAuthAuditRequest>): number | null {
  const grantId = body.details.grant_id;
  // The owner's revocation (dashboard) and the provider's own (RFC 7009, a replayed code): the
  // Worker posts both only after the grant left KV, and this record is what /mcp checks at once.
  if ((body.action === "oauth_grant_revoked" || body.action === "oauth_grant_revoked_by_provider") && typeof grantId === "string" && GRANT_ID.test(grantId))
    ctx.sql.exec("INSERT OR IGNORE INTO oauth_revoked_grants (grant_id, revoked_ms) VALUES (?, ?)", grantId, ctx.now().getTime());
  // A Deny on the consent page needs no login, so it is not known to be the owner's.
  const actor = body.action === "oauth_grant" || body.action === "oauth_grant_revoked" ? "owner" : "oauth";
  // A granted client is never deleted for want of a grant (edge/auth/registration-gate.ts).
  if (body.action === "oauth_grant" && typeof body.details.client_id === "string") markRegistrationGranted(ctx, body.details.client_id);
  if (isUnauthenticated(body.action)) {
    // The Worker puts the caller's address bucket in `client` (edge/http/client-address.ts).
    const client = typeof body.details.client === "string" && body.details.client.length > 0 && body.details.client.length <= 64 ? body.details.client : UNKNOWN_CLIENT;
    return auditUnauthenticated(ctx, actor, body.action, client, body.details);
  }
  return ctx.audit(actor, body.action, body.details);
}
