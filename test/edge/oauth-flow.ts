// An OAuth client's steps against the real Worker in workerd (SELF), for the tests of issue 24:
// dynamic registration, the owner's consent page, PKCE S256, code exchange, refresh and
// revocation, plus the audit and the account object's SQLite as the owner sees them.
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { expect } from "vitest";
import type { AccountDO } from "../../edge/account-do";

export const ORIGIN = "https://edge.test";
export const ADMIN_TOKEN = "test-admin-token";
export const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
export const REDIRECT = "http://127.0.0.1:33418/callback";
export const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

export function b64url(bytes: ArrayBuffer | Uint8Array): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
export async function pkce(): Promise<{ verifier: string; challenge: string }> {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  return { verifier, challenge: b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))) };
}

let addresses = 0;
/** A fresh client address per registration unless one is given (registrations are limited per address). */
export const nextAddress = () => `198.19.${Math.floor(++addresses / 250)}.${(addresses % 250) + 1}`;

export function registerRequest(body: Record<string, unknown>, address = nextAddress()): Promise<Response> {
  return SELF.fetch(`${ORIGIN}/oauth/register`, {
    method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": address }, body: JSON.stringify(body),
  });
}
export const clientMetadata = (name = "Test Agent", redirects = [REDIRECT]) => ({
  client_name: name, redirect_uris: redirects, token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"], response_types: ["code"],
});

/** The name each client made by register() registered with: its consent page must show it. */
const registeredNames = new Map<string, string>();

export async function register(name = "Test Agent", address?: string): Promise<string> {
  const res = await registerRequest(clientMetadata(name), address);
  expect(res.status, await res.clone().text()).toBe(201);
  const clientId = ((await res.json()) as { client_id: string }).client_id;
  registeredNames.set(clientId, name);
  return clientId;
}

export function authorizeUrl(clientId: string, challenge: string, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: REDIRECT, scope: "read trade", state: "st-1", code_challenge: challenge, code_challenge_method: "S256", resource: `${ORIGIN}/mcp`, ...extra });
  return `${ORIGIN}/oauth/authorize?${q}`;
}

export const cookiesOf = (res: Response) => res.headers.getSetCookie().map((c) => c.split(";")[0]!).join("; ");

/**
 * Opens the consent page, which must name the app (as it registered through register()), and
 * submits it as the owner with `token` typed (the admin token unless a test types another);
 * returns the redirect.
 */
export async function consent(clientId: string, challenge: string, scopes: string[], token = ADMIN_TOKEN): Promise<Response> {
  const page = await SELF.fetch(authorizeUrl(clientId, challenge));
  expect(page.status).toBe(200);
  const html = await page.text();
  const name = registeredNames.get(clientId);
  if (name !== undefined) expect(html).toContain(name);
  const handle = /name="handle" value="([^"]+)"/.exec(html)![1]!;
  const form = new URLSearchParams({ handle, decision: "approve", token });
  for (const s of scopes) form.append("scope", s);
  return SELF.fetch(`${ORIGIN}/oauth/authorize`, {
    method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, cookie: cookiesOf(page) }, body: form,
  });
}

export function exchange(body: Record<string, string>, address?: string): Promise<Response> {
  return SELF.fetch(`${ORIGIN}/oauth/token`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...(address ? { "cf-connecting-ip": address } : {}) }, body: new URLSearchParams(body),
  });
}

export interface Grant { clientId: string; access: string; refresh: string; grantId: string; code: string; verifier: string; scope: string }

/** Registers, consents (redirected to REDIRECT with the request's state) and exchanges the code: a working grant. */
export async function grant(scopes: string[] = ["read", "trade"], name = "Test Agent"): Promise<Grant> {
  const clientId = await register(name);
  const { verifier, challenge } = await pkce();
  const approved = await consent(clientId, challenge, scopes);
  expect(approved.status).toBe(302);
  const location = new URL(approved.headers.get("location")!);
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
  expect(location.searchParams.get("state")).toBe("st-1");
  const code = location.searchParams.get("code")!;
  const res = await exchange({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier, resource: `${ORIGIN}/mcp` });
  expect(res.status).toBe(200);
  const tokens = (await res.json()) as { access_token: string; refresh_token: string; scope: string };
  return { clientId, access: tokens.access_token, refresh: tokens.refresh_token, grantId: tokens.access_token.split(":")[1]!, code, verifier, scope: tokens.scope };
}

export function refresh(g: { clientId: string }, token: string): Promise<Response> {
  return exchange({ grant_type: "refresh_token", refresh_token: token, client_id: g.clientId });
}

export function mcp(token: string, method: string, params: unknown = {}, headers: Record<string, string> = {}): Promise<Response> {
  return SELF.fetch(`${ORIGIN}/mcp`, { method: "POST", headers: { ...MCP_HEADERS, authorization: `Bearer ${token}`, ...headers }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
}

export async function callTool(token: string, name: string, args: unknown): Promise<{ status: number; result: any }> {
  const res = await mcp(token, "tools/call", { name, arguments: args });
  const status = res.status;
  const body = (await res.json().catch(() => null)) as { result?: any } | null;
  return { status, result: body?.result ?? null };
}

export interface AuditEntry { seq: number; actor: string; action: string; details: Record<string, any> }

export async function audit(query: string | Record<string, string> = {}): Promise<AuditEntry[]> {
  const q = new URLSearchParams({ limit: "1000", ...(typeof query === "string" ? { action: query } : query) });
  const res = await SELF.fetch(`${ORIGIN}/api/audit?${q}`, { headers: ADMIN });
  expect(res.status).toBe(200);
  return ((await res.json()) as { rows: Array<{ seq: number; actor: string; action: string; details_json: string }> }).rows.map((r) => ({ seq: r.seq, actor: r.actor, action: r.action, details: JSON.parse(r.details_json) }));
}

/** The Worker's own account object (IBKR_ACCOUNT_ID), where /mcp, /bridge and the OAuth audit go. */
export const account = () => env.ACCOUNT.get(env.ACCOUNT.idFromName(env.IBKR_ACCOUNT_ID));
export const inAccount = <T>(fn: (sql: SqlStorage, state: DurableObjectState) => T) => runInDurableObject(account(), async (_o: AccountDO, state) => fn(state.storage.sql, state));
/** The last audit row's seq, read in the account object's own SQLite. */
export const lastSeq = () => inAccount((sql) => sql.exec<{ n: number }>("SELECT COALESCE(MAX(seq), 0) AS n FROM audit").one().n);
