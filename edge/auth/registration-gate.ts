// OAuth dynamic client registration, bounded by address and by storage — not by a global count.
// Each registration is a KV write that anyone can cause, so at most REGISTRATIONS_PER_ADDRESS per
// client address (edge/http/client-address.ts) reach the provider within a sliding hour; beyond that
// the Worker answers 429 with Retry-After. There is no cap for all addresses together: one let a
// handful of addresses lock the owner out of connecting a new app for an hour (issue 24). What
// bounds storage instead: a registered client that nobody has granted is kept for at most
// PENDING_CLIENT_TTL_MS, and at most MAX_PENDING_CLIENTS of them; past that, the oldest one of the
// address holding the most is deleted (here and from KV by the Worker). A granted client is never
// deleted, and the owner's lone registration outlasts any flood from addresses that each hold
// more. The provider (@cloudflare/workers-oauth-provider 1.2) has no rate limit of its own, and
// its clientRegistrationCallback gets no env, so the Worker asks here before and after it hands
// the request to the provider. Check and count happen in one synchronous turn.
import { z } from "zod";
import { auditUnauthenticated } from "../audit/audit-flood";
import type { DeskContext } from "../store/desk-context";

export const REGISTRATION_WINDOW_MS = 60 * 60_000;
export const REGISTRATIONS_PER_ADDRESS = 10;
/** Registered clients nobody has granted yet, kept at most; the busiest address's oldest make room. */
export const MAX_PENDING_CLIENTS = 200;
/** A registered client nobody granted within a day is deleted. */
export const PENDING_CLIENT_TTL_MS = 24 * 60 * 60_000;
/** Rows counting attempts the provider refused (no client stored): the oldest go first past this. */
const MAX_ATTEMPT_ROWS = 1_000;
export const REGISTRATION_GATE_PATH = "/internal/oauth-registration";
export const REGISTRATION_DONE_PATH = "/internal/oauth-registration-done";

export const RegistrationAttempt = z.strictObject({ client: z.string().min(1).max(64) });
export const RegistrationDone = z.strictObject({
  client: z.string().min(1).max(64),
  slot: z.number().int().nonnegative(),
  client_id: z.string().min(1).max(300),
  client_name: z.string().max(200).nullable(),
  redirect_hosts: z.array(z.string().max(300)).max(50),
});

export type RegistrationAnswer = { allowed: true; slot: number } | { allowed: false; retry_after_s: number; limit: "address" };

export function registrationAttempt(ctx: DeskContext, { client }: z.infer<typeof RegistrationAttempt>): RegistrationAnswer {
  const nowMs = ctx.now().getTime();
  // Rows that only count attempts leave with the window; a registered client's row stays while it may be deleted.
  ctx.sql.exec("DELETE FROM oauth_registrations WHERE at_ms <= ? AND (client_id IS NULL OR granted = 1)", nowMs - REGISTRATION_WINDOW_MS);
  const mine = ctx.sql.exec<{ at_ms: number }>("SELECT at_ms FROM oauth_registrations WHERE client = ? AND at_ms > ? ORDER BY at_ms", client, nowMs - REGISTRATION_WINDOW_MS).toArray().map((r) => r.at_ms);
  if (mine.length >= REGISTRATIONS_PER_ADDRESS) {
    const opener = mine[mine.length - REGISTRATIONS_PER_ADDRESS]!;
    const answer = { allowed: false as const, retry_after_s: Math.max(1, Math.ceil((opener + REGISTRATION_WINDOW_MS - nowMs) / 1000)), limit: "address" as const };
    auditUnauthenticated(ctx, "oauth", "oauth_registration_refused", client, { client, status: 429, error: "temporarily_unavailable", limit: answer.limit, retry_after_s: answer.retry_after_s });
    return answer;
  }
  ctx.sql.exec("INSERT INTO oauth_registrations (client, at_ms, client_id, granted) VALUES (?, ?, NULL, 0)", client, nowMs);
  const slot = ctx.sql.exec<{ id: number }>("SELECT last_insert_rowid() AS id").one().id;
  const attempts = ctx.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM oauth_registrations WHERE client_id IS NULL").one().n;
  if (attempts > MAX_ATTEMPT_ROWS)
    ctx.sql.exec("DELETE FROM oauth_registrations WHERE rowid IN (SELECT rowid FROM oauth_registrations WHERE client_id IS NULL ORDER BY at_ms LIMIT ?)", attempts - MAX_ATTEMPT_ROWS);
  return { allowed: true, slot };
}

type PendingRow = { rowid: number; client: string; at_ms: number; client_id: string };

/**
 * The provider registered a client: record it against its slot (audited, within the bound of
 * edge/audit/audit-flood.ts) and answer which never-granted clients must now be deleted from KV.
 */
export function registrationDone(ctx: DeskContext, done: z.infer<typeof RegistrationDone>): { evict: string[] } {
  const nowMs = ctx.now().getTime();
  const updated = ctx.sql.exec("UPDATE oauth_registrations SET client_id = ? WHERE rowid = ? AND client = ? AND client_id IS NULL", done.client_id, done.slot, done.client).rowsWritten;
  // Its attempt row was pruned meanwhile (the attempt rows' bound): the client still counts.
  if (updated === 0) ctx.sql.exec("INSERT INTO oauth_registrations (client, at_ms, client_id, granted) VALUES (?, ?, ?, 0)", done.client, nowMs, done.client_id);
  auditUnauthenticated(ctx, "oauth", "oauth_client_registered", done.client, { client: done.client, client_id: done.client_id, client_name: done.client_name, redirect_hosts: done.redirect_hosts });
  const evict: PendingRow[] = [];
  const pending = () => ctx.sql.exec<PendingRow>("SELECT rowid, client, at_ms, client_id FROM oauth_registrations WHERE client_id IS NOT NULL AND granted = 0 ORDER BY at_ms").toArray();
  let rows = pending();
  for (const row of rows) if (row.at_ms <= nowMs - PENDING_CLIENT_TTL_MS && row.client_id !== done.client_id) evict.push(row);
  rows = rows.filter((r) => !evict.includes(r));
  while (rows.length > MAX_PENDING_CLIENTS) {
    const held = new Map<string, number>();
    for (const r of rows) held.set(r.client, (held.get(r.client) ?? 0) + 1);
    // The oldest row of the address holding the most (rows are oldest first).
    const most = Math.max(...held.values());
    const victim = rows.find((r) => held.get(r.client) === most)!;
    evict.push(victim);
    rows = rows.filter((r) => r !== victim);
  }
  for (const victim of evict) {
    ctx.sql.exec("DELETE FROM oauth_registrations WHERE rowid = ?", victim.rowid);
    auditUnauthenticated(ctx, "oauth", "oauth_client_evicted", done.client, {
      client: done.client, client_id: victim.client_id, registered_from: victim.client, registered_at: new Date(victim.at_ms).toISOString(),
      why: victim.at_ms <= nowMs - PENDING_CLIENT_TTL_MS ? "never granted within a day" : `more than ${MAX_PENDING_CLIENTS} registered clients were never granted`,
    });
  }
  return { evict: evict.map((v) => v.client_id) };
}

/** The owner granted the client: it is never deleted for want of a grant. */
export function markRegistrationGranted(ctx: DeskContext, clientId: string): void {
  ctx.sql.exec("UPDATE oauth_registrations SET granted = 1 WHERE client_id = ?", clientId);
}

/** The 429 the Worker sends for a registration over the limit. */
export function registrationRefusal(answer: Extract<RegistrationAnswer, { allowed: false }>): Response {
  return Response.json(
    { error: "temporarily_unavailable", error_description: `too many client registrations from this address (at most ${REGISTRATIONS_PER_ADDRESS} an hour); try again in ${answer.retry_after_s} s` },
    { status: 429, headers: { "retry-after": String(answer.retry_after_s), "cache-control": "no-store" } },
  );
}
