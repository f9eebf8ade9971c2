// The login form's side of the lockout: the Worker asks the account's Durable Object (the one
// place that counts failures) before checking a token, and tells it how the attempt went.
import type { LoginGateAnswer, LoginPhase } from "../login-gate";

/** A path the Worker never forwards from outside, so only this code reaches it. */
export const LOGIN_GATE_PATH = "/internal/login-gate";

export interface LoginGateEnv {
  ACCOUNT: DurableObjectNamespace;
  IBKR_ACCOUNT_ID: string;
}

export async function askLoginGate(env: LoginGateEnv, phase: LoginPhase, client: string | null): Promise<LoginGateAnswer> {
  const stub = env.ACCOUNT.get(env.ACCOUNT.idFromName(env.IBKR_ACCOUNT_ID || "default"));
  const res = await stub.fetch(`https://account${LOGIN_GATE_PATH}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ phase, client }) });
  if (!res.ok) throw new Error(`login gate answered ${res.status}`);
  return (await res.json()) as LoginGateAnswer;
}
