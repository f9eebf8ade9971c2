// The Worker's side of the login lockout and of the dashboard sessions: both live in the account's
// Durable Object (the one place that counts failures and holds sessions), reached on paths the
// Worker never forwards from outside.
import type { LoginAttempt, LoginGateAnswer } from "./login-gate";
import type { SessionRequest } from "./dashboard-sessions";

/** Paths the Worker never forwards from outside, so only this code reaches them. */
export const LOGIN_GATE_PATH = "/internal/login-gate";
export const SESSION_PATH = "/internal/dashboard-session";

export interface LoginGateEnv {
  ACCOUNT: DurableObjectNamespace;
  IBKR_ACCOUNT_ID: string;
}

async function ask<T>(env: LoginGateEnv, path: string, body: unknown): Promise<T> {
  const stub = env.ACCOUNT.get(env.ACCOUNT.idFromName(env.IBKR_ACCOUNT_ID || "default"));
  const res = await stub.fetch(`https://account${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path} answered ${res.status}`);
  return (await res.json()) as T;
}

/** One login attempt, judged and recorded by the Durable Object in one turn. */
export function askLoginGate(env: LoginGateEnv, attempt: LoginAttempt): Promise<LoginGateAnswer> {
  return ask(env, LOGIN_GATE_PATH, attempt);
}

/** Whether a session is live (`check`), or ends it (`end`). */
export async function askSession(env: LoginGateEnv, request: SessionRequest): Promise<boolean> {
  return (await ask<{ live: boolean }>(env, SESSION_PATH, request)).live;
}
