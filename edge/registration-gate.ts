// OAuth dynamic client registration, bounded: each registration is a KV write that anyone can
// cause, so at most REGISTRATIONS_PER_ADDRESS per client address and REGISTRATIONS_PER_HOUR in all
// reach the provider within a sliding hour; beyond that the Worker answers 429 with Retry-After.
// The provider (@cloudflare/workers-oauth-provider 1.2) has no rate limit of its own, and its
// clientRegistrationCallback gets no env (so it cannot reach this object) and can set no
// Retry-After, so the Worker asks here before it hands the request to the provider. Every attempt
// that is let through counts, whatever the provider then answers. The check and the count happen
// in one synchronous turn, so parallel registrations cannot all pass one free slot.
import { z } from "zod";
import { auditUnauthenticated } from "./audit-flood";
import type { DeskContext } from "./desk-context";

export const REGISTRATION_WINDOW_MS = 60 * 60_000;
export const REGISTRATIONS_PER_ADDRESS = 10;
export const REGISTRATIONS_PER_HOUR = 50;
export const REGISTRATION_GATE_PATH = "/internal/oauth-registration";

export const RegistrationAttempt = z.strictObject({ client: z.string().min(1).max(64) });

export type RegistrationAnswer = { allowed: true } | { allowed: false; retry_after_s: number; limit: "address" | "all" };

/** When the oldest of the last `bound` registrations (at_ms ascending) leaves the window. */
function retryAfter(times: number[], bound: number, nowMs: number): number {
  const opener = times[times.length - bound]!;
  return Math.max(1, Math.ceil((opener + REGISTRATION_WINDOW_MS - nowMs) / 1000));
}

export function registrationAttempt(ctx: DeskContext, { client }: z.infer<typeof RegistrationAttempt>): RegistrationAnswer {
  const nowMs = ctx.now().getTime();
  // Pruned on every attempt; only let-through attempts are stored, so the table holds at most REGISTRATIONS_PER_HOUR rows.
  ctx.sql.exec("DELETE FROM oauth_registrations WHERE at_ms <= ?", nowMs - REGISTRATION_WINDOW_MS);
  const all = ctx.sql.exec<{ at_ms: number }>("SELECT at_ms FROM oauth_registrations ORDER BY at_ms").toArray().map((r) => r.at_ms);
  const mine = ctx.sql.exec<{ at_ms: number }>("SELECT at_ms FROM oauth_registrations WHERE client = ? ORDER BY at_ms", client).toArray().map((r) => r.at_ms);
  let answer: RegistrationAnswer = { allowed: true };
  if (mine.length >= REGISTRATIONS_PER_ADDRESS) answer = { allowed: false, retry_after_s: retryAfter(mine, REGISTRATIONS_PER_ADDRESS, nowMs), limit: "address" };
  else if (all.length >= REGISTRATIONS_PER_HOUR) answer = { allowed: false, retry_after_s: retryAfter(all, REGISTRATIONS_PER_HOUR, nowMs), limit: "all" };
  if (answer.allowed) {
    ctx.sql.exec("INSERT INTO oauth_registrations (client, at_ms) VALUES (?, ?)", client, nowMs);
    return answer;
  }
  auditUnauthenticated(ctx, "oauth", "oauth_registration_refused", client, {
    client, status: 429, error: "temporarily_unavailable", limit: answer.limit, retry_after_s: answer.retry_after_s,
  });
  return answer;
}

/** The 429 the Worker sends for a registration over the limit. */
export function registrationRefusal(answer: Extract<RegistrationAnswer, { allowed: false }>): Response {
  const who = answer.limit === "address" ? `from this address (at most ${REGISTRATIONS_PER_ADDRESS} an hour)` : `on this server (at most ${REGISTRATIONS_PER_HOUR} an hour)`;
  return Response.json(
    { error: "temporarily_unavailable", error_description: `too many client registrations ${who}; try again in ${answer.retry_after_s} s` },
    { status: 429, headers: { "retry-after": String(answer.retry_after_s), "cache-control": "no-store" } },
  );
}
