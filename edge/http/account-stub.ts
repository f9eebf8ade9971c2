// The Worker's way into the account's Durable Object: the stub of the one object of the configured
// account, and an audit row appended there from the Worker (OAuth events, a refused Origin or form),
// which the Worker awaits before it answers. The object serves OAUTH_AUDIT_PATH to the Worker's own
// code only (auth/internal-routes.ts): the Worker forwards no outside path under /internal/.
import type { Env } from "./env";

/** The Durable Object's internal path for an OAuth audit row (the Worker forwards no outside path there). */
export const OAUTH_AUDIT_PATH = "/internal/oauth-audit";

export function accountStub(env: Pick<Env, "ACCOUNT" | "IBKR_ACCOUNT_ID">) {
  return env.ACCOUNT.get(env.ACCOUNT.idFromName(env.IBKR_ACCOUNT_ID || "default"));
}

/** Appends an OAuth event to the account's audit chain; the Worker awaits it before answering. */
export async function auditOAuth(env: Pick<Env, "ACCOUNT" | "IBKR_ACCOUNT_ID">, action: string, details: Record<string, unknown>): Promise<void> {
  const res = await accountStub(env).fetch(`https://account${OAUTH_AUDIT_PATH}`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ action, details }),
  });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`audit of ${action} failed (${res.status})`);
}
