// The dashboard's session cookie and CSRF token, and the /api/* gate that accepts either the
// bearer ADMIN_TOKEN or a valid session. The cookie holds a signed expiry and nonce, never the
// token: its HMAC-SHA256 key is derived from ADMIN_TOKEN, so rotating the token ends every
// session. A signature alone is not enough: the session must also be live in the account's
// Durable Object (edge/auth/dashboard-sessions.ts), so logout and "log out everywhere" end it at once.
import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { getSignedCookie, setSignedCookie, deleteCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { sameSecret } from "./same-secret";
import { clientAddress } from "../http/client-address";
import { SESSION_TTL_SECONDS } from "./dashboard-sessions";
import { askSession, type LoginGateEnv } from "./login-client";

export const SESSION_COOKIE = "ibkr_dashboard";
/**
 * Over https the cookie is `__Host-ibkr_dashboard`: the browser then accepts it only Secure, for
 * Path=/ and without a Domain, so no sibling subdomain or plain-http page can plant or shadow it.
 * Plain http (wrangler dev on loopback) cannot hold a Secure cookie and keeps the bare name.
 */
export const HOST_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;
const cookiePrefix = (c: Context) => (isHttps(c) ? ("host" as const) : undefined);
export const CSRF_HEADER = "x-csrf-token";
/** Set by the Worker alone on a live-socket upgrade made with a session (see edge/index.ts). */
export const DASHBOARD_SESSION_HEADER = "x-ibkr-dashboard-session";
const SESSION_KEY_LABEL = "ibkr-mcp/dashboard-session/v1";
const CSRF_LABEL = "ibkr-mcp/dashboard-csrf/v1";
const SAFE_METHOD = /^(GET|HEAD|OPTIONS)$/;

const encoder = new TextEncoder();

async function hmac(key: string, message: string): Promise<ArrayBuffer> {
  const cryptoKey = await crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message));
}

function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The cookie-signing key: HMAC(ADMIN_TOKEN, label), so the token itself never signs or travels. */
export async function sessionKey(adminToken: string): Promise<string> {
  return hex(await hmac(adminToken, SESSION_KEY_LABEL));
}

/** A session's value before signing: `v1.<expiry ms>.<random nonce>`. */
export function newSessionValue(now = Date.now(), ttlSeconds = SESSION_TTL_SECONDS): string {
  const nonce = hex(crypto.getRandomValues(new Uint8Array(16)).buffer as ArrayBuffer);
  return `v1.${now + ttlSeconds * 1000}.${nonce}`;
}

/** Expiry (ms) of a verified session value, or null when malformed or expired. */
export function sessionExpiry(value: string, now = Date.now()): number | null {
  const match = /^v1\.(\d{13,})\.[0-9a-f]{32}$/.exec(value);
  if (!match) return null;
  const expiresAt = Number(match[1]);
  return expiresAt > now ? expiresAt : null;
}

/** The per-session CSRF token the page sends back in the x-csrf-token header. */
export async function csrfTokenFor(adminToken: string, sessionValue: string): Promise<string> {
  return hex(await hmac(await sessionKey(adminToken), `${CSRF_LABEL}|${sessionValue}`));
}

export async function verifyCsrfToken(adminToken: string, sessionValue: string, token: string | undefined): Promise<boolean> {
  if (!token || !/^[0-9a-f]{64}$/.test(token)) return false;
  return sameSecret(token, await csrfTokenFor(adminToken, sessionValue));
}

/** What the Durable Object stores for a session: the SHA-256 of its value, never the value. */
export async function sessionIdHash(sessionValue: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(sessionValue)));
}

export type SessionEnv = { ADMIN_TOKEN: string } & LoginGateEnv;

export function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:";
}

/** The session value from a cookie whose signature and expiry hold (not yet checked as live). */
export async function readSignedSession(c: Context, adminToken: string | undefined): Promise<string | null> {
  if (!adminToken) return null;
  const value = await getSignedCookie(c, await sessionKey(adminToken), SESSION_COOKIE, cookiePrefix(c));
  if (typeof value !== "string") return null;
  return sessionExpiry(value) === null ? null : value;
}

/**
 * The request's live session: signed, unexpired and still held by the Durable Object (not logged
 * out). Fails closed: when the object cannot be asked, there is no session.
 */
export async function readSession(c: Context, env: SessionEnv): Promise<{ value: string; idHash: string } | null> {
  const value = await readSignedSession(c, env.ADMIN_TOKEN);
  if (value === null) return null;
  const idHash = await sessionIdHash(value);
  const live = await askSession(env, { op: "check", id_hash: idHash }).catch(() => false);
  return live ? { value, idHash } : null;
}

/** A new session's value, its hash for the Durable Object and its expiry. */
export async function newSession(): Promise<{ value: string; idHash: string; expiresMs: number }> {
  const value = newSessionValue();
  return { value, idHash: await sessionIdHash(value), expiresMs: sessionExpiry(value)! };
}

export async function setSessionCookie(c: Context, adminToken: string, value: string): Promise<void> {
  await setSignedCookie(c, SESSION_COOKIE, value, await sessionKey(adminToken), {
    path: "/",
    httpOnly: true,
    sameSite: "Strict",
    secure: isHttps(c),
    maxAge: SESSION_TTL_SECONDS,
    ...(cookiePrefix(c) ? { prefix: "host" as const } : {}),
  });
}

/** Logout: the Durable Object forgets the session (so a copied cookie dies too), then the cookie goes. */
export async function endSession(c: Context, env: SessionEnv): Promise<boolean> {
  const value = await readSignedSession(c, env.ADMIN_TOKEN);
  deleteCookie(c, SESSION_COOKIE, { path: "/", httpOnly: true, sameSite: "Strict", secure: isHttps(c), ...(cookiePrefix(c) ? { prefix: "host" as const } : {}) });
  if (value === null) return true;
  return askSession(env, { op: "end", id_hash: await sessionIdHash(value), client: clientAddress(c.req.raw.headers) }).then(() => true, () => false);
}

/** Constant-time check of a submitted admin token (the login form). */
export async function isAdminToken(candidate: string, adminToken: string | undefined): Promise<boolean> {
  if (!adminToken || candidate.length === 0) return false;
  return sameSecret(candidate, adminToken);
}

/** Same-origin by Origin header, or by Sec-Fetch-Site when a browser omits Origin. */
function sameOrigin(c: Context): boolean {
  const origin = c.req.header("origin");
  if (origin !== undefined) return origin === new URL(c.req.url).origin;
  return c.req.header("sec-fetch-site") === "same-origin";
}

const forbidden = (c: Context, error: string) => c.json({ error }, 403);

/**
 * The /api/* gate. A request with an Authorization header is judged by it alone (bearer
 * ADMIN_TOKEN, constant time). Otherwise a valid session cookie admits it; a state-changing
 * call made with the cookie must also come from this origin (hono's csrf plus our own Origin
 * check, since hono's only covers form content types) and carry the session's CSRF token. The
 * live WebSocket upgrade, a GET, must come from this origin too (no cross-site socket hijack).
 *
 * @example app.use("/api/*", adminAuth());
 */
export function adminAuth(): MiddlewareHandler<{ Bindings: SessionEnv; Variables: { dashboardSession?: string } }> {
  const formCsrf = csrf();
  return async (c, next) => {
    const bearer = bearerAuth({ token: c.env.ADMIN_TOKEN });
    if (c.req.header("authorization") !== undefined) return bearer(c as unknown as Context, next);
    const session = await readSession(c as unknown as Context, c.env);
    // No live session either: answer as bearerAuth does (401 with WWW-Authenticate).
    if (session === null) return bearer(c as unknown as Context, next);
    c.set("dashboardSession", session.idHash);
    const isUpgrade = c.req.header("upgrade")?.toLowerCase() === "websocket";
    if (SAFE_METHOD.test(c.req.method) && !isUpgrade) return next();
    if (!sameOrigin(c as unknown as Context)) return forbidden(c as unknown as Context, "cross-origin request refused");
    if (isUpgrade) return next();
    if (!(await verifyCsrfToken(c.env.ADMIN_TOKEN, session.value, c.req.header(CSRF_HEADER)))) {
      return forbidden(c as unknown as Context, `missing or wrong ${CSRF_HEADER} header for this session`);
    }
    return formCsrf(c as unknown as Context, next);
  };
}
