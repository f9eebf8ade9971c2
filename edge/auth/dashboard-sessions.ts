// Dashboard sessions held by the account's Durable Object. The signed cookie names a session; the
// object stores only the SHA-256 of its value, so logout ends that session at once and "log out
// everywhere" ends all of them, and a cookie copied before either is refused afterwards. Live
// dashboard sockets opened with a session are closed with it. A session's lifetime is a duration on
// the machine's clock, the one the Worker signs the cookie's expiry with: never the desk's clock,
// which a test may have moved days ahead (edge/dashboard/test-clock.ts).
import { z } from "zod";
import type { DeskContext } from "../store/desk-context";

/** A working day at the desk; after that the trader logs in again. */
export const SESSION_TTL_SECONDS = 12 * 60 * 60;

/** Live sessions kept per account; the least recently seen one makes room for a new login. */
export const MAX_DASHBOARD_SESSIONS = 20;

export const SessionIdHash = z.string().regex(/^[0-9a-f]{64}$/, "id_hash must be 64 hex digits");
const Client = z.string().min(1).max(64);
export const NewSession = z.strictObject({ id_hash: SessionIdHash, expires_ms: z.number().int().positive() });
export type NewSession = z.infer<typeof NewSession>;
export const SessionRequest = z.discriminatedUnion("op", [
  z.strictObject({ op: z.literal("check"), id_hash: SessionIdHash }),
  z.strictObject({ op: z.literal("end"), id_hash: SessionIdHash, client: Client }),
]);
export type SessionRequest = z.infer<typeof SessionRequest>;

export const sessionSocketTag = (idHash: string): string => `session:${idHash}`;

function sweep(ctx: DeskContext, nowMs: number): void {
  ctx.sql.exec("DELETE FROM dashboard_sessions WHERE expires_ms <= ?", nowMs);
}

/** Records a session that a successful login just opened (called in the login's own synchronous turn). */
export function startDashboardSession(ctx: DeskContext, session: NewSession, client: string): void {
  const nowMs = Date.now();
  sweep(ctx, nowMs);
  const live = ctx.sql.exec<{ id_hash: string }>("SELECT id_hash FROM dashboard_sessions ORDER BY last_seen_ms, created_ms").toArray();
  for (const old of live.slice(0, Math.max(0, live.length - MAX_DASHBOARD_SESSIONS + 1))) {
    endOne(ctx, old.id_hash);
    ctx.audit("system", "dashboard_session_evicted", { reason: `more than ${MAX_DASHBOARD_SESSIONS} live dashboard sessions`, session: old.id_hash.slice(0, 12) });
  }
  // Never longer than the cookie's own lifetime, whatever the caller asked for.
  const expiresMs = Math.min(session.expires_ms, nowMs + SESSION_TTL_SECONDS * 1000);
  ctx.sql.exec(
    "INSERT OR REPLACE INTO dashboard_sessions (id_hash, created_ms, expires_ms, last_seen_ms, client) VALUES (?, ?, ?, ?, ?)",
    session.id_hash, nowMs, expiresMs, nowMs, client,
  );
}

/** True while the session is live (and notes that it was seen). */
export function checkDashboardSession(ctx: DeskContext, idHash: string): boolean {
  const nowMs = Date.now();
  sweep(ctx, nowMs);
  const live = ctx.sql.exec("SELECT 1 FROM dashboard_sessions WHERE id_hash = ?", idHash).toArray().length > 0;
  if (live) ctx.sql.exec("UPDATE dashboard_sessions SET last_seen_ms = ? WHERE id_hash = ?", nowMs, idHash);
  return live;
}

function endOne(ctx: DeskContext, idHash: string): boolean {
  const existed = ctx.sql.exec("SELECT 1 FROM dashboard_sessions WHERE id_hash = ?", idHash).toArray().length > 0;
  ctx.sql.exec("DELETE FROM dashboard_sessions WHERE id_hash = ?", idHash);
  ctx.closeDashboardSockets(sessionSocketTag(idHash), "logged out");
  return existed;
}

/** Logout: ends this one session. */
export function endDashboardSession(ctx: DeskContext, idHash: string, client: string): boolean {
  const ended = endOne(ctx, idHash);
  ctx.audit("admin", "dashboard_logout", { client, session: idHash.slice(0, 12), was_live: ended });
  return ended;
}

/** "Log out everywhere": ends every dashboard session of this account, audited with who and why. */
export function endAllDashboardSessions(ctx: DeskContext, by: string, reason: string): number {
  const all = ctx.sql.exec<{ id_hash: string }>("SELECT id_hash FROM dashboard_sessions").toArray();
  for (const s of all) endOne(ctx, s.id_hash);
  // Sockets of sessions that expired meanwhile too: no socket opened with a cookie outlives this.
  ctx.closeDashboardSockets("session", "every dashboard session was ended");
  ctx.audit("admin", "dashboard_sessions_ended", { by, reason, sessions_ended: all.length });
  return all.length;
}
