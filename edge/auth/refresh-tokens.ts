// Refresh-token reuse detection, on the account's Durable Object (issue 24). The OAuth provider
// (@cloudflare/workers-oauth-provider 1.2.3) rotates a refresh token on every use but keeps "the
// immediately previous token valid until its replacement is first used" (its README): using R0
// again after R0 → R1 yields R2 and leaves R0 as the previous token again, so whoever holds a copy
// of R0 and never uses R2 can refresh with R0 forever, while the owner's app gets invalid_grant
// for its R1. The provider's token-exchange callback cannot tell which token was presented, so the
// Worker asks this object before and after each refresh, by the token's SHA-256 (never the token):
// - a token is spent when a refresh with it succeeds; its one retry (a client that lost the
//   answer) is allowed within REFRESH_RETRY_WINDOW_MS while what the first use issued is unused,
//   and supersedes it;
// - any other use of a spent token, or any use of a superseded one, revokes the grant: here at
//   once (oauth_revoked_grants, which /mcp checks on every call) and in KV by the Worker; audited
//   as oauth_refresh_token_reused.
// Only hashes of tokens the provider accepted are stored, at most MAX_REFRESH_TOKENS_PER_GRANT per
// grant, and grants exist only by the owner's consent: a caller without a token writes nothing.
import { z } from "zod";
import type { DeskContext } from "../store/desk-context";

/** A client that lost a refresh answer may present the spent token once more within this time. */
export const REFRESH_RETRY_WINDOW_MS = 60_000;
/** Token hashes remembered per grant (the newest ones); a grant rotates one per refresh. */
export const MAX_REFRESH_TOKENS_PER_GRANT = 8;
/** Refresh tokens lapse after 30 idle days (edge/auth/oauth.ts); records older than that are dropped. */
const RECORD_TTL_MS = 31 * 24 * 60 * 60_000;
export const REFRESH_TOKEN_PATH = "/internal/oauth-refresh";

const GrantId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);
const TokenHash = z.string().regex(/^[0-9a-f]{64}$/);
const Who = { client_id: z.string().max(300).nullable(), client: z.string().min(1).max(64) };
export const RefreshRequest = z.discriminatedUnion("op", [
  z.strictObject({ op: z.literal("check"), grant_id: GrantId, token_hash: TokenHash, ...Who }),
  z.strictObject({ op: z.literal("rotated"), grant_id: GrantId, token_hash: TokenHash, new_hash: TokenHash, ...Who }),
]);
export type RefreshRequest = z.infer<typeof RefreshRequest>;
export type RefreshVerdict = { allowed: true; retry: boolean } | { allowed: false; reason: "revoked" | "reused" };

type TokenRow = { token_hash: string; grant_id: string; issued_ms: number; spent_ms: number | null; retries: number; superseded: number };

const isRevoked = (ctx: DeskContext, grantId: string) => ctx.sql.exec("SELECT 1 FROM oauth_revoked_grants WHERE grant_id = ?", grantId).toArray().length > 0;
const rowOf = (ctx: DeskContext, hash: string) => ctx.sql.exec<TokenRow>("SELECT token_hash, grant_id, issued_ms, spent_ms, retries, superseded FROM oauth_refresh_tokens WHERE token_hash = ?", hash).toArray()[0];

/** Revokes the grant in this object and audits why; the Worker then revokes it in KV. */
function revokeForReuse(ctx: DeskContext, req: RefreshRequest, row: TokenRow, how: string): RefreshVerdict {
  const nowMs = ctx.now().getTime();
  ctx.sql.exec("INSERT OR IGNORE INTO oauth_revoked_grants (grant_id, revoked_ms) VALUES (?, ?)", req.grant_id, nowMs);
  ctx.sql.exec("DELETE FROM oauth_refresh_tokens WHERE grant_id = ?", req.grant_id);
  ctx.audit("oauth", "oauth_refresh_token_reused", {
    grant_id: req.grant_id, client_id: req.client_id, client: req.client, how,
    spent_at: row.spent_ms === null ? null : new Date(row.spent_ms).toISOString(), retry_window_s: REFRESH_RETRY_WINDOW_MS / 1000,
    action: "grant revoked: every access and refresh token of it stops working; the app must be connected again",
  });
  return { allowed: false, reason: "reused" };
}

/** The verdict on a spent or superseded token presented again (null: not a reuse). */
function reuseOf(ctx: DeskContext, req: RefreshRequest, row: TokenRow): RefreshVerdict | null {
  if (row.superseded) return revokeForReuse(ctx, req, row, "a refresh token superseded by a retry of its parent was presented");
  if (row.spent_ms === null) return null;
  // A client retrying never received what the first use issued; if that was used, this is someone else.
  const childUsed = ctx.sql.exec("SELECT 1 FROM oauth_refresh_tokens WHERE parent_hash = ? AND spent_ms IS NOT NULL LIMIT 1", row.token_hash).toArray().length > 0;
  if (childUsed) return revokeForReuse(ctx, req, row, "a spent refresh token was presented after its replacement was used");
  if (row.retries === 0 && ctx.now().getTime() - row.spent_ms <= REFRESH_RETRY_WINDOW_MS) return null;
  return revokeForReuse(ctx, req, row, row.retries > 0 ? "a spent refresh token was presented after its one retry" : "a spent refresh token was presented after the retry window");
}

/** Before the provider runs: refuse a revoked grant, revoke on reuse, else let it try. Synchronous. */
export function checkRefresh(ctx: DeskContext, req: Extract<RefreshRequest, { op: "check" }>): RefreshVerdict {
  if (isRevoked(ctx, req.grant_id)) return { allowed: false, reason: "revoked" };
  const row = rowOf(ctx, req.token_hash);
  if (!row || row.grant_id !== req.grant_id) return { allowed: true, retry: false };
  return reuseOf(ctx, req, row) ?? { allowed: true, retry: row.spent_ms !== null };
}

/**
 * After the provider answered a refresh with new tokens: spends the presented token (or takes its
 * one retry) and records the new one, in one synchronous turn. Two refreshes racing past the
 * check both land here, so the third use of a token is caught even then; the Worker withholds the
 * new tokens when this answers not allowed.
 */
export function recordRotation(ctx: DeskContext, req: Extract<RefreshRequest, { op: "rotated" }>): RefreshVerdict {
  if (isRevoked(ctx, req.grant_id)) return { allowed: false, reason: "revoked" };
  const nowMs = ctx.now().getTime();
  const row = rowOf(ctx, req.token_hash);
  let retry = false;
  if (!row) {
    ctx.sql.exec("INSERT INTO oauth_refresh_tokens (token_hash, grant_id, issued_ms, spent_ms, retries, superseded, parent_hash) VALUES (?, ?, ?, ?, 0, 0, NULL)", req.token_hash, req.grant_id, nowMs, nowMs);
  } else {
    const reused = reuseOf(ctx, req, row);
    if (reused) return reused;
    if (row.spent_ms === null) ctx.sql.exec("UPDATE oauth_refresh_tokens SET spent_ms = ? WHERE token_hash = ?", nowMs, req.token_hash);
    else {
      // The one retry: what the first use issued was never received by the client, so it is dead.
      retry = true;
      ctx.sql.exec("UPDATE oauth_refresh_tokens SET retries = retries + 1 WHERE token_hash = ?", req.token_hash);
      ctx.sql.exec("UPDATE oauth_refresh_tokens SET superseded = 1 WHERE parent_hash = ?", req.token_hash);
    }
  }
  ctx.sql.exec("INSERT OR IGNORE INTO oauth_refresh_tokens (token_hash, grant_id, issued_ms, spent_ms, retries, superseded, parent_hash) VALUES (?, ?, ?, NULL, 0, 0, ?)", req.new_hash, req.grant_id, nowMs, req.token_hash);
  // Bounded: the grant's newest records, and none older than a refresh token can live.
  ctx.sql.exec(
    "DELETE FROM oauth_refresh_tokens WHERE grant_id = ? AND token_hash NOT IN (SELECT token_hash FROM oauth_refresh_tokens WHERE grant_id = ? ORDER BY issued_ms DESC, rowid DESC LIMIT ?)",
    req.grant_id, req.grant_id, MAX_REFRESH_TOKENS_PER_GRANT,
  );
  ctx.sql.exec("DELETE FROM oauth_refresh_tokens WHERE issued_ms < ?", nowMs - RECORD_TTL_MS);
  return { allowed: true, retry };
}
