// The dashboard's login form, seen from the Durable Object: failed attempts are counted per
// client address (edge/http/client-address.ts) and audited within the bound of edge/audit/audit-flood.ts
// (never the text that was typed); after LOGIN_FAILURES_BEFORE_LOCK failures within
// LOGIN_WINDOW_MS from one address the form refuses every attempt from it until the window has passed. The Worker checks the token first and sends
// one attempt; the lock check, the record of a failure and the start of a session happen here in
// ONE synchronous turn, so parallel guesses cannot all pass the check before the first is counted.
// The bearer-token API is not affected, so a locked form cannot keep an admin from the kill switch.
import { z } from "zod";
import { auditUnauthenticated, OVERFLOW_ADDRESS } from "../audit/audit-flood";
import { NewSession, startDashboardSession } from "./dashboard-sessions";
import type { DeskContext } from "../store/desk-context";

export const LOGIN_WINDOW_MS = 15 * 60_000;
export const LOGIN_FAILURES_BEFORE_LOCK = 10;
export const TRACKED_LOGIN_ADDRESSES = 1_000;

export interface LoginGateAnswer {
  /** locked: refused unread, this address is locked out; failed: counted; admitted: its session is recorded. */
  outcome: "locked" | "failed" | "admitted";
  /** How long this address stays locked (0 when it is not). */
  retry_after_s: number;
  failures_in_window: number;
}

export const LoginAttempt = z.strictObject({
  client: z.string().min(1).max(64),
  /** The Worker's constant-time verdict on the typed token. */
  token_ok: z.boolean(),
  /** The session to open when the token is right and the address is not locked. */
  session: NewSession.nullable(),
});
export type LoginAttempt = z.infer<typeof LoginAttempt>;

function state(ctx: DeskContext, client: string, nowMs: number): { locked: boolean; retry_after_s: number; failures_in_window: number } {
  ctx.sql.exec("DELETE FROM login_failures_by_client WHERE at_ms <= ?", nowMs - LOGIN_WINDOW_MS);
  const rows = ctx.sql.exec<{ at_ms: number }>("SELECT at_ms FROM login_failures_by_client WHERE client = ? ORDER BY at_ms", client).toArray();
  const locked = rows.length >= LOGIN_FAILURES_BEFORE_LOCK;
  // Unlocks when the failure that completed the count leaves the window.
  const unlockAt = locked ? rows[rows.length - LOGIN_FAILURES_BEFORE_LOCK]!.at_ms + LOGIN_WINDOW_MS : nowMs;
  return { locked, retry_after_s: Math.max(0, Math.ceil((unlockAt - nowMs) / 1000)), failures_in_window: rows.length };
}

/**
 * The bucket an address is counted in: its own while fewer than TRACKED_LOGIN_ADDRESSES addresses
 * failed within the window, else one bucket shared by all later ones — so a flood from many
 * addresses keeps the table bounded. Sharing can only lock sooner, never later: during such a
 * flood a new address's form may be locked; the bearer-token API (and the kill switch) is not.
 */
function bucketOf(ctx: DeskContext, client: string): string {
  if (ctx.sql.exec("SELECT 1 FROM login_failures_by_client WHERE client = ? LIMIT 1", client).toArray().length > 0) return client;
  const tracked = ctx.sql.exec<{ n: number }>("SELECT COUNT(DISTINCT client) AS n FROM login_failures_by_client").one().n;
  return tracked >= TRACKED_LOGIN_ADDRESSES ? OVERFLOW_ADDRESS : client;
}

/** Judges one login attempt; synchronous from the lock check to the write. */
export function loginAttempt(ctx: DeskContext, attempt: LoginAttempt): LoginGateAnswer {
  const nowMs = ctx.now().getTime();
  ctx.sql.exec("DELETE FROM login_failures_by_client WHERE at_ms <= ?", nowMs - LOGIN_WINDOW_MS);
  const client = bucketOf(ctx, attempt.client);
  const before = state(ctx, client, nowMs);
  // Locked: refused whatever was typed, and not counted (the window does not slide forward).
  if (before.locked) return { outcome: "locked", retry_after_s: before.retry_after_s, failures_in_window: before.failures_in_window };
  if (!attempt.token_ok || !attempt.session) {
    ctx.sql.exec("INSERT INTO login_failures_by_client (client, at_ms) VALUES (?, ?)", client, nowMs);
    const after = state(ctx, client, nowMs);
    // Anyone can fail a login: the rows are bounded across addresses (edge/audit/audit-flood.ts); the lockout's own count is not.
    auditUnauthenticated(ctx, "dashboard", "dashboard_login_failed", attempt.client, { client: attempt.client, counted_as: client, failures_in_window: after.failures_in_window });
    if (after.failures_in_window === LOGIN_FAILURES_BEFORE_LOCK)
      auditUnauthenticated(ctx, "dashboard", "dashboard_login_locked", attempt.client, { client: attempt.client, counted_as: client, minutes: LOGIN_WINDOW_MS / 60_000, failures: LOGIN_FAILURES_BEFORE_LOCK });
    return { outcome: "failed", retry_after_s: after.retry_after_s, failures_in_window: after.failures_in_window };
  }
  startDashboardSession(ctx, attempt.session, attempt.client);
  ctx.audit("admin", "dashboard_login", { client: attempt.client });
  return { outcome: "admitted", retry_after_s: 0, failures_in_window: before.failures_in_window };
}

/** The owner's way back into a locked form (bearer-token API): forgets every counted failure. */
export function clearLoginLockout(ctx: DeskContext, by: string, reason: string): number {
  const cleared = ctx.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM login_failures_by_client").toArray()[0]?.n ?? 0;
  ctx.sql.exec("DELETE FROM login_failures_by_client");
  ctx.audit("admin", "dashboard_login_lockout_cleared", { by, reason, failures_cleared: cleared });
  return cleared;
}
