// The dashboard's login form, seen from the Durable Object: every failed attempt is counted and
// audited (never the text that was typed), and after LOGIN_FAILURES_BEFORE_LOCK failures within
// LOGIN_WINDOW_MS the form refuses every attempt until the window has passed. The bearer-token
// API is not affected, so a locked form cannot keep an admin from the kill switch.
import type { DeskContext } from "./desk-context";

export const LOGIN_WINDOW_MS = 15 * 60_000;
export const LOGIN_FAILURES_BEFORE_LOCK = 10;

export interface LoginGateAnswer {
  locked: boolean;
  retry_after_s: number;
  failures_in_window: number;
}

export type LoginPhase = "check" | "failed" | "succeeded";

function state(ctx: DeskContext, nowMs: number): LoginGateAnswer {
  ctx.sql.exec("DELETE FROM login_failures WHERE at_ms <= ?", nowMs - LOGIN_WINDOW_MS);
  const rows = ctx.sql.exec<{ at_ms: number }>("SELECT at_ms FROM login_failures ORDER BY at_ms").toArray();
  const locked = rows.length >= LOGIN_FAILURES_BEFORE_LOCK;
  // Unlocks when the failure that completed the count leaves the window.
  const unlockAt = locked ? (rows[rows.length - LOGIN_FAILURES_BEFORE_LOCK]!.at_ms + LOGIN_WINDOW_MS) : nowMs;
  return { locked, retry_after_s: Math.max(0, Math.ceil((unlockAt - nowMs) / 1000)), failures_in_window: rows.length };
}

export function loginGate(ctx: DeskContext, phase: LoginPhase, client: string | null): LoginGateAnswer {
  const nowMs = ctx.now().getTime();
  if (phase === "check") return state(ctx, nowMs);
  if (phase === "succeeded") {
    ctx.audit("admin", "dashboard_login", { client });
    return state(ctx, nowMs);
  }
  ctx.sql.exec("INSERT INTO login_failures (at_ms) VALUES (?)", nowMs);
  const after = state(ctx, nowMs);
  ctx.audit("dashboard", "dashboard_login_failed", { client, failures_in_window: after.failures_in_window });
  if (after.failures_in_window === LOGIN_FAILURES_BEFORE_LOCK)
    ctx.audit("dashboard", "dashboard_login_locked", { client, minutes: LOGIN_WINDOW_MS / 60_000, failures: LOGIN_FAILURES_BEFORE_LOCK });
  return after;
}
