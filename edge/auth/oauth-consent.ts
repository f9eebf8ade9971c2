// The OAuth authorization page: the account owner's consent. The owner is the dashboard's admin,
// so consent needs a live dashboard session or the ADMIN_TOKEN typed here, judged by the same
// login gate (lockout per address, audited) — one secret to guard, one lockout, and logging in
// here also opens the dashboard session that the approval links need. The owner grants `read`
// and/or `trade`; the provider keeps the request server-side, bound to this browser by a cookie,
// and the form carries only a one-time handle.
import { AuthorizationError, CimdFetchError, type AuthRequest, type ConsentDescription, type OAuthHelpers } from "@cloudflare/workers-oauth-provider";
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import type { Env } from "../http/env";
import { clientAddress } from "../http/client-address";
import { askLoginGate } from "./login-client";
import { isAdminToken, newSession, readSession, setSessionCookie } from "./session-cookie";
import { SCOPES, type Scope } from "../mcp/mcp-scopes";
import { auditOAuth } from "../http/account-stub";
import { OWNER, type McpProps } from "./oauth";
import { refuseForeignForm } from "../http/origin-guard";

const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const escape = (value: string) => value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

const SCOPE_WORDS: Record<Scope, string> = {
  read: "read: account, positions, orders, quotes, safety status, audit (no orders)",
  trade: "trade: also place, close and cancel orders (every hard limit still applies)",
};

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escape(title)}</title>
<link rel="stylesheet" href="/dashboard/styles.css"></head>
<body class="login"><main>${body}</main></body></html>`;
}

function consentPage(details: ConsentDescription, handle: string, loggedIn: boolean): string {
  const name = escape(details.clientName);
  const origin = details.clientDomain ? `Published by <strong>${escape(details.clientDomain)}</strong>.` : "This app registered itself; its name is not verified.";
  const requested = new Set(details.scope);
  const boxes = SCOPES.map((s) => `<p><input type="checkbox" id="scope-${s}" name="scope" value="${s}"${requested.has(s) || (requested.size === 0 && s === "read") ? " checked" : ""}> <label for="scope-${s}">${escape(SCOPE_WORDS[s])}</label></p>`).join("\n");
  return page(`Allow ${details.clientName} to use your IBKR account?`, `
<h1>Allow <span id="client-name">${name}</span> to use your IBKR account?</h1>
<p>${origin} Access will be sent to <strong id="redirect-host">${escape(details.redirectHost)}</strong>.</p>
${details.redirectIsLoopback ? "<p class=\"error\"><strong>This sends access to an app on your computer.</strong> Continue only if you just started signing in from it.</p>" : ""}
<form method="post" action="/oauth/authorize">
<input type="hidden" name="handle" value="${escape(handle)}">
<fieldset><legend>What this app may do</legend>
${boxes}
</fieldset>
${loggedIn ? "<p>You are logged in to the dashboard.</p>" : `<p><label for="token">Admin token (the dashboard's)</label>
<input id="token" name="token" type="password" autocomplete="current-password" required></p>`}
<p><button type="submit" name="decision" value="approve" id="approve">Allow</button>
<button type="submit" name="decision" value="deny" id="deny" formnovalidate>Deny</button></p>
</form>
<p class="hint">You can revoke this later in the dashboard (Connected apps).</p>`);
}

/** Forbids framing; the form may post here and follow the redirect to the client only. */
function pageHeaders(base: Headers, redirectUri: string | null): Headers {
  const headers = new Headers(base);
  let formTarget = "";
  try {
    if (redirectUri) formTarget = ` ${new URL(redirectUri).origin}`;
  } catch {
    // no target beyond this origin
  }
  headers.set("content-type", "text/html; charset=utf-8");
  headers.set("cache-control", "no-store");
  headers.set("content-security-policy", `default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'${formTarget}; frame-ancestors 'none'; base-uri 'none'`);
  headers.set("x-frame-options", "DENY");
  headers.set("referrer-policy", "no-referrer");
  return headers;
}

function errorPage(status: number, message: string): Response {
  return new Response(page("Authorization refused", `<h1>Authorization refused</h1><p id="oauth-error" role="alert" class="error">${escape(message)}</p><p>Nothing was granted. Start again from your app.</p>`), {
    status, headers: pageHeaders(new Headers(), null),
  });
}

type C = Context<{ Bindings: Env & { OAUTH_PROVIDER: OAuthHelpers } }>;

/** An error the person caused (bad client, redirect URI, expired or replayed form): audited, shown here. */
async function refuse(c: C, error: unknown, stage: string): Promise<Response> {
  if (error instanceof AuthorizationError || error instanceof CimdFetchError) {
    const message = error instanceof AuthorizationError ? error.description : `the app's metadata document could not be fetched (${error.reason})`;
    await auditOAuth(c.env, "oauth_authorize_refused", { stage, client: clientAddress(c.req.raw.headers), error: error instanceof AuthorizationError ? error.code : "cimd_fetch_failed", message });
    // Only a request whose client and exact redirect URI were validated may go back to it.
    if (error instanceof AuthorizationError && error.redirectTo) return c.redirect(error.redirectTo, 302);
    return errorPage(400, message);
  }
  throw error;
}

export const consent = new Hono<{ Bindings: Env & { OAUTH_PROVIDER: OAuthHelpers } }>();
consent.use("*", bodyLimit({ maxSize: 4 * 1024 }));
// The form posts only from this origin (the handle's cookie binding is the second lock).
consent.use("*", refuseForeignForm("consent") as unknown as MiddlewareHandler);
consent.use("*", csrf());

consent.get("/authorize", async (c) => {
  const oauth = c.env.OAUTH_PROVIDER;
  let request: AuthRequest;
  let details: ConsentDescription;
  try {
    request = await oauth.parseAuthRequest(c.req.raw);
    details = await oauth.describeConsent(request);
  } catch (error) {
    return refuse(c, error, "request");
  }
  // OAuth 2.1: PKCE for every client, confidential ones too (the provider allows only S256).
  if (!request.codeChallenge) {
    await auditOAuth(c.env, "oauth_authorize_refused", { stage: "request", client: clientAddress(c.req.raw.headers), client_id: request.clientId, error: "invalid_request", message: "PKCE code_challenge is required" });
    return errorPage(400, "PKCE is required: the request has no code_challenge (S256)");
  }
  // RFC 7636 §4.2: an S256 challenge is the base64url of a SHA-256, exactly 43 characters. A
  // shorter one was not made from a verifier of enough entropy (or not by S256 at all).
  if (!S256_CHALLENGE.test(request.codeChallenge)) {
    await auditOAuth(c.env, "oauth_authorize_refused", { stage: "request", client: clientAddress(c.req.raw.headers), client_id: request.clientId, error: "invalid_request", message: `code_challenge is ${request.codeChallenge.length} characters, not an S256 value` });
    return errorPage(400, `PKCE code_challenge must be an S256 value: 43 base64url characters (RFC 7636), not ${Math.min(request.codeChallenge.length, 999)}`);
  }
  const transaction = await oauth.beginConsent(request);
  const session = await readSession(c as unknown as Context, c.env);
  return new Response(consentPage(details, transaction.handle, session !== null), { status: 200, headers: pageHeaders(transaction.headers, request.redirectUri) });
});

consent.post("/authorize", async (c) => {
  const oauth = c.env.OAUTH_PROVIDER;
  const form = await c.req.raw.clone().formData().catch(() => null);
  if (!form) return errorPage(400, "the form could not be read");
  const handle = typeof form.get("handle") === "string" ? (form.get("handle") as string) : "";
  const client = clientAddress(c.req.raw.headers);
  if (form.get("decision") !== "approve") {
    try {
      const denied = await oauth.denyConsent(c.req.raw, handle, { description: "the account owner declined" });
      await auditOAuth(c.env, "oauth_consent_denied", { client, client_id: denied.request.clientId });
      return new Response(null, { status: 302, headers: denied.headers });
    } catch (error) {
      return refuse(c, error, "deny");
    }
  }
  const scopes = SCOPES.filter((s) => form.getAll("scope").includes(s));
  if (scopes.length === 0) return errorPage(400, "choose at least one scope (read, trade), or deny");

  // The owner: a live dashboard session, or the admin token through the login gate.
  const cookieHeaders = new Headers();
  if ((await readSession(c as unknown as Context, c.env)) === null) {
    const typed = typeof form.get("token") === "string" ? (form.get("token") as string) : "";
    const tokenOk = await isAdminToken(typed, c.env.ADMIN_TOKEN);
    const session = await newSession();
    const gate = await askLoginGate(c.env, { client, token_ok: tokenOk, session: tokenOk ? { id_hash: session.idHash, expires_ms: session.expiresMs } : null }).catch(() => null);
    if (gate === null) return errorPage(503, "the login gate is unavailable; nothing was granted");
    if (gate.outcome === "locked") return errorPage(429, `too many failed logins from your address: locked for ${Math.ceil(gate.retry_after_s / 60)} more minute(s)`);
    if (gate.outcome !== "admitted") return errorPage(401, "that admin token is not valid: go back and try again");
    await setSessionCookie(c as unknown as Context, c.env.ADMIN_TOKEN, session.value);
    const setCookie = c.res.headers.get("set-cookie");
    if (setCookie) cookieHeaders.append("set-cookie", setCookie);
  }
  try {
    const approved = await oauth.approveConsent(c.req.raw, handle, { scope: scopes });
    const client_name = (await oauth.lookupClient(approved.request.clientId).catch(() => null))?.clientName ?? approved.request.clientId;
    const grantedAt = new Date().toISOString();
    const { redirectTo } = await oauth.completeAuthorization({
      request: approved.request, userId: OWNER, scope: scopes,
      metadata: { client_name: client_name.slice(0, 200), granted_at: grantedAt },
      props: { kind: "oauth", scopes, client_id: approved.request.clientId, client_name: client_name.slice(0, 100) } satisfies McpProps,
    });
    await auditOAuth(c.env, "oauth_grant", { client, client_id: approved.request.clientId, client_name: client_name.slice(0, 200), scopes, redirect_host: new URL(approved.request.redirectUri).host, resource: approved.request.resource ?? null });
    const headers = new Headers(approved.headers);
    for (const cookie of cookieHeaders.getSetCookie()) headers.append("set-cookie", cookie);
    headers.set("location", redirectTo);
    return new Response(null, { status: 302, headers });
  } catch (error) {
    return refuse(c, error, "approve");
  }
});
