// OAuth 2.1 on the hosted URL, by @cloudflare/workers-oauth-provider (not hand-written): RFC 8414
// server metadata, RFC 9728 protected-resource metadata and the 401 challenge on /mcp, dynamic
// client registration, client ID metadata documents, PKCE (S256 only), RFC 8707 resource binding
// (every grant and token is bound to this edge's /mcp), refresh-token rotation and revocation.
// Grants and tokens live in the OAUTH_KV namespace, which holds only hashes of tokens and props
// encrypted under a key wrapped by the token. The static MCP_TOKEN keeps working for clients that
// can send a header (full scopes). Every grant, refresh, revocation and refused token is audited
// in the account's Durable Object (never a token, a code or a client secret); the rows a caller
// without credentials can cause are bounded there (edge/audit/audit-flood.ts), and so are client
// registrations (edge/auth/registration-gate.ts: 429 with Retry-After over the limit).
import { getOAuthApi, insufficientScope, OAuthProvider, type OAuthHelpers, type OAuthProviderOptions } from "@cloudflare/workers-oauth-provider";
import type { Env } from "../http/env";
import { accountStub, auditOAuth } from "../http/account-stub";
import { clientAddress } from "../http/client-address";
import { edgeOrigin } from "../http/origin-guard";
import { encodeCredential, MCP_CREDENTIAL_HEADER, oauthCredential, STATIC_CREDENTIAL, type Credential } from "../ledger/credential";
import { MCP_GRANT_HEADER, MCP_SCOPES_HEADER, SCOPES, canRead, canTrade, parseScopes, scopeForTool, type Scope } from "../mcp/mcp-scopes";
import { refuseRedirectUris } from "./redirect-uris";
import { sameSecret } from "./same-secret";
import { REFRESH_RETRY_WINDOW_MS, REFRESH_TOKEN_PATH, type RefreshRequest, type RefreshVerdict } from "./refresh-tokens";
import { REGISTRATION_DONE_PATH, REGISTRATION_GATE_PATH, registrationRefusal, type RegistrationAnswer } from "./registration-gate";

export const AUTHORIZE_PATH = "/oauth/authorize";
export const TOKEN_PATH = "/oauth/token";
export const REGISTER_PATH = "/oauth/register";
/** The one person who can grant access: the account's owner (the dashboard's admin). */
export const OWNER = "owner";
export const OAUTH_GRANT_USE_PATH = "/internal/oauth-grant-use";
/** Access tokens are short; a refresh token rotates on every use and dies after 30 idle days. */
const ACCESS_TOKEN_TTL_S = 60 * 60;
const REFRESH_TOKEN_TTL_S = 30 * 24 * 60 * 60;
/** Token-request bodies the Worker peeks at for the audit are small; larger ones are not read here. */
const MAX_PEEK_BYTES = 64 * 1024;

/**
 * What an API call carries in ctx.props: which credential and what it may do; grants made since
 * issue 24 also carry the app's client id and name (older ones: looked up by client id).
 */
export interface McpProps { kind: "static" | "oauth"; scopes: Scope[]; client_id?: string; client_name?: string }

/** Takes one of the caller's registration slots in the account's Durable Object, or says when to come back. */
async function registrationSlot(env: Pick<Env, "ACCOUNT" | "IBKR_ACCOUNT_ID">, client: string): Promise<RegistrationAnswer> {
  const res = await accountStub(env).fetch(`https://account${REGISTRATION_GATE_PATH}`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ client }),
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`registration check failed (${res.status})`);
  }
  return (await res.json()) as RegistrationAnswer;
}

/** Records a registered client against its slot; answers the never-granted clients to delete from KV. */
async function registrationDone(env: Pick<Env, "ACCOUNT" | "IBKR_ACCOUNT_ID">, body: unknown): Promise<{ evict: string[] }> {
  const res = await accountStub(env).fetch(`https://account${REGISTRATION_DONE_PATH}`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`registration record failed (${res.status})`);
  }
  return (await res.json()) as { evict: string[] };
}

/** The JSON-RPC tool calls in a body (one message or a batch); empty when it is not JSON-RPC. */
function toolCalls(body: unknown): string[] {
  const messages = Array.isArray(body) ? body : [body];
  return messages.flatMap((m) => {
    const message = m as { method?: unknown; params?: { name?: unknown } } | null;
    return message?.method === "tools/call" && typeof message.params?.name === "string" ? [message.params.name] : [];
  });
}

/**
 * /mcp with a valid credential: refuse a call outside the token's scopes with 403
 * insufficient_scope (so the client can step up), then forward to the Durable Object with the
 * Worker's own scope and grant headers.
 */
export async function forwardMcp(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const { auth: maybeAuth, props } = ctx as ExecutionContext & { props?: McpProps; auth?: { token: string; audience: string; scope: string[]; clientId?: string } };
  // The provider calls this only after it validated a token; without one, nothing passes.
  if (!maybeAuth) return Response.json({ error: "unauthenticated" }, { status: 401 });
  const auth = maybeAuth;
  const scopes = props?.kind === "static" ? new Set<Scope>(SCOPES) : parseScopes(auth.scope.join(" "));
  // The grant id is the token's middle part (userId:grantId:secret); never the secret.
  const grantId = props?.kind === "static" ? null : (auth.token.split(":")[1] ?? null);
  if (!canRead(scopes)) {
    await auditOAuth(env, "mcp_token_refused", { reason: "no usable scope", client_id: auth.clientId ?? null, client: clientAddress(request.headers) });
    return insufficientScope(auth, ["read"], "this token grants no scope this server knows");
  }
  let forwarded = request;
  if (request.method === "POST" && !canTrade(scopes)) {
    // Already read whole and bounded by the Worker (edge/http/bounded-body.ts).
    const text = await request.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: the transport answers it with its own parse error.
    }
    const needsTrade = toolCalls(body).filter((name) => scopeForTool(name) === "trade");
    if (needsTrade.length > 0) {
      await auditOAuth(env, "mcp_scope_refused", { tools: needsTrade, scopes: [...scopes], client_id: auth.clientId ?? null, grant_id: grantId });
      return insufficientScope(auth, ["read", "trade"], `${needsTrade.join(", ")} needs the trade scope`);
    }
    forwarded = new Request(request, { body: text });
  }
  const headers = new Headers(forwarded.headers);
  headers.set(MCP_SCOPES_HEADER, [...scopes].join(" "));
  headers.delete(MCP_GRANT_HEADER);
  if (grantId) headers.set(MCP_GRANT_HEADER, grantId);
  headers.set(MCP_CREDENTIAL_HEADER, encodeCredential(await credentialFor(env, props, auth.clientId ?? null, grantId)));
  const res = await accountStub(env).fetch(new Request(forwarded, { headers }));
  return new Response(res.body, res);
}

/** Who the token belongs to: the static token, or the OAuth app by client id and registered name. */
async function credentialFor(env: Env, props: McpProps | undefined, clientId: string | null, grantId: string | null): Promise<Credential> {
  if (props?.kind === "static" || !clientId) return STATIC_CREDENTIAL;
  let name = props?.client_name ?? null;
  if (name === null) {
    // A grant from before names were kept in its props: one KV read for the client's registration.
    const helpers = (env as Env & { OAUTH_PROVIDER?: OAuthHelpers }).OAUTH_PROVIDER;
    name = (await helpers?.lookupClient(clientId).catch(() => null))?.clientName ?? null;
  }
  return oauthCredential(clientId, name, grantId);
}

/**
 * The static MCP_TOKEN, compared in constant time: full scopes, bound to this edge's /mcp. The
 * provider asks this only for a token that is not of its own `a:b:c` shape, so MCP_TOKEN must
 * contain no ':' (the generated ones are base64).
 */
async function staticToken(resource: string, input: { token: string; env: Env }) {
  const expected = input.env.MCP_TOKEN;
  if (!expected || !sameSecret(input.token, expected)) return null;
  return { props: { kind: "static", scopes: [...SCOPES] } satisfies McpProps, audience: resource };
}

function providerOptions(origin: string, defaultHandler: ExportedHandler<Env>, apiHandler: ExportedHandler<Env>): OAuthProviderOptions<Env> {
  const resource = `${origin}/mcp`;
  return {
    apiRoute: "/mcp",
    apiHandler: apiHandler as OAuthProviderOptions<Env>["apiHandler"],
    defaultHandler,
    authorizeEndpoint: AUTHORIZE_PATH,
    tokenEndpoint: TOKEN_PATH,
    clientRegistrationEndpoint: REGISTER_PATH,
    scopesSupported: [...SCOPES],
    // Clients ask for both; the owner's consent page decides (it may grant read only).
    requiredScopes: [...SCOPES],
    resourceMetadata: { resource, resource_name: "IBKR MCP (hard safety limits)" },
    accessTokenTTL: ACCESS_TOKEN_TTL_S,
    refreshTokenTTL: REFRESH_TOKEN_TTL_S,
    refreshTokenIdleTTL: REFRESH_TOKEN_TTL_S,
    // Needs the global_fetch_strictly_public compatibility flag (wrangler.toml), so a client's
    // metadata URL can never make the Worker fetch a private address.
    clientIdMetadataDocumentEnabled: true,
    resolveExternalToken: (input) => staticToken(resource, input),
    // A 4xx is the caller's (an expired or revoked token, a replayed code): handleWithAudit writes
    // each one to the audit log with its reason, so the library's default console line per refusal
    // only repeated it (half of the test log). A 5xx is ours and stays in the Worker's log.
    onError: ({ status, code, description, internal }) => {
      if (status >= 500) console.error(`OAuth error response: ${status} ${code} - ${description} (${internal.category}: ${internal.reason})`);
    },
  };
}

const providers = new Map<string, OAuthProvider<Env>>();

/** One provider per origin (the resource URL is the origin's /mcp), built on first use. */
export function oauthProvider(origin: string, defaultHandler: ExportedHandler<Env>, apiHandler: ExportedHandler<Env>): OAuthProvider<Env> {
  let provider = providers.get(origin);
  if (!provider) {
    provider = new OAuthProvider<Env>(providerOptions(origin, defaultHandler, apiHandler));
    providers.set(origin, provider);
  }
  return provider;
}

const unused: ExportedHandler<Env> = { fetch: () => new Response("not found", { status: 404 }) };

/** The provider's helpers (grants, clients) outside its own dispatch, for this request's origin. */
export function oauthHelpers(env: Env, request: Request): OAuthHelpers {
  return getOAuthApi(providerOptions(edgeOrigin(env, request), unused, unused), env);
}

/** What the audit keeps of a token-endpoint request: its kind and client, never a token, code, verifier or secret. */
async function tokenRequestFacts(request: Request): Promise<{ grant_type: string | null; client_id: string | null; token_type_hint: string | null } | null> {
  if (request.method !== "POST") return null;
  const length = Number(request.headers.get("content-length") ?? "0");
  if (length > MAX_PEEK_BYTES) return null;
  try {
    const form = await request.clone().formData();
    const text = (key: string) => (typeof form.get(key) === "string" ? (form.get(key) as string).slice(0, 200) : null);
    let clientId = text("client_id");
    const basic = /^Basic\s+(.+)$/i.exec(request.headers.get("authorization") ?? "");
    if (!clientId && basic) {
      try {
        clientId = decodeURIComponent(atob(basic[1]!).split(":")[0] ?? "").slice(0, 200) || null;
      } catch {
        clientId = "(malformed Basic header)";
      }
    }
    return { grant_type: text("grant_type"), client_id: clientId, token_type_hint: text("token_type_hint") };
  } catch {
    return null;
  }
}

/** Asks the account object's record of spent refresh tokens (edge/auth/refresh-tokens.ts). */
async function refreshRecord(env: Pick<Env, "ACCOUNT" | "IBKR_ACCOUNT_ID">, body: RefreshRequest): Promise<RefreshVerdict> {
  const res = await accountStub(env).fetch(`https://account${REFRESH_TOKEN_PATH}`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`refresh record failed (${res.status})`);
  }
  return (await res.json()) as RefreshVerdict;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A provider token (`userId:grantId:secret`) as its grant and hash; the token itself goes no further. */
async function tokenIdentity(token: unknown): Promise<{ userId: string; grantId: string; hash: string } | null> {
  if (typeof token !== "string" || token.length > 1_000) return null;
  const [userId, grantId, secret, ...rest] = token.split(":");
  if (rest.length || !userId || !secret || !grantId || !/^[A-Za-z0-9_-]{1,128}$/.test(grantId)) return null;
  return { userId, grantId, hash: await sha256Hex(token) };
}

/** A credential field of a token request, by identity (bodies over MAX_PEEK_BYTES are not read here). */
async function presentedToken(request: Request, field: "refresh_token" | "code" | "token"): Promise<{ userId: string; grantId: string; hash: string } | null> {
  if (Number(request.headers.get("content-length") ?? "0") > MAX_PEEK_BYTES) return null;
  const form = await request.clone().formData().catch(() => null);
  return tokenIdentity(form?.get(field));
}

/**
 * Whether the provider holds the grant: its KV record, under the key its own revokeGrant deletes
 * (`grant:<user>:<grant>`; test/edge/provider-revocations.test.ts reads the same key).
 */
async function grantHeld(env: Env, who: { userId: string; grantId: string }): Promise<boolean> {
  return (await env.OAUTH_KV.get(`grant:${who.userId}:${who.grantId}`)) !== null;
}

/** Why the provider revoked a grant by itself, by the token request that made it. */
const PROVIDER_REVOCATION_CAUSES: Record<string, string> = {
  revocation: "refresh token revoked by the client (RFC 7009)",
  authorization_code: "authorization code used twice",
  refresh_token: "refresh refused as invalid_grant by the provider",
};

/** Refuses a refresh of a reused token or a revoked grant, after revoking the grant in KV too. */
async function refuseRefresh(helpers: OAuthHelpers, env: Env, who: { userId: string; grantId: string }, verdict: Extract<RefreshVerdict, { allowed: false }>, audit: Record<string, unknown>): Promise<Response> {
  // The object already refuses the grant on /mcp; KV (where the provider looks) follows here.
  await helpers.revokeGrant(who.grantId, who.userId).catch(() => undefined);
  const description = verdict.reason === "reused"
    ? "this refresh token was already used: the grant is revoked; connect the app again"
    : "this grant was revoked by the account owner";
  await auditOAuth(env, "oauth_token_refused", { ...audit, grant_type: "refresh_token", status: 400, error: "invalid_grant", error_description: description, grant_id: who.grantId });
  return Response.json({ error: "invalid_grant", error_description: description }, { status: 400, headers: { "cache-control": "no-store", pragma: "no-cache" } });
}

/** A bearer token the provider refused on /mcp, with the reason its challenge gives (never the token). */
async function auditRefusedMcpToken(env: Env, request: Request, res: Response): Promise<void> {
  const challenge = res.headers.get("www-authenticate") ?? "";
  await auditOAuth(env, "mcp_token_refused", { client: clientAddress(request.headers), reason: /error_description="([^"]*)"/.exec(challenge)?.[1] ?? /error="([^"]*)"/.exec(challenge)?.[1] ?? "invalid token" });
}

async function oauthError(res: Response): Promise<{ error: string | null; error_description: string | null }> {
  const body = (await res.clone().json().catch(() => null)) as { error?: unknown; error_description?: unknown } | null;
  return { error: typeof body?.error === "string" ? body.error : null, error_description: typeof body?.error_description === "string" ? body.error_description.slice(0, 300) : null };
}

/**
 * Runs the provider and audits what it decided: token issue, refresh, revocation and their
 * refusals (a replayed code, a wrong verifier, a used refresh token), client registration, and a
 * refused bearer token on /mcp. Awaited before the answer goes out.
 */
export async function handleWithAudit(provider: OAuthProvider<Env>, request: Request, env: Env, ctx: ExecutionContext, url = new URL(request.url)): Promise<Response> {
  if (url.pathname !== TOKEN_PATH && url.pathname !== REGISTER_PATH) {
    // Not a token or registration request (an API call, a page, metadata): nothing to read before
    // the provider answers; only a refused bearer token on /mcp is audited.
    const res = await provider.fetch(request, env, ctx);
    if (url.pathname === "/mcp" && res.status === 401 && request.headers.has("authorization")) await auditRefusedMcpToken(env, request, res);
    return res;
  }
  const client = clientAddress(request.headers);
  const facts = url.pathname === TOKEN_PATH ? await tokenRequestFacts(request) : null;
  let slot: RegistrationAnswer | null = null;
  if (url.pathname === REGISTER_PATH && request.method === "POST") {
    // Over the limit: refused (and its audit row written, bounded) in the Durable Object; no KV write.
    slot = await registrationSlot(env, client);
    if (!slot.allowed) {
      await request.body?.cancel();
      return registrationRefusal(slot);
    }
    // A client's metadata is a few hundred bytes; one too large to check is not registered.
    if (Number(request.headers.get("content-length") ?? "0") > MAX_PEEK_BYTES) {
      await request.body?.cancel();
      return Response.json({ error: "invalid_client_metadata", error_description: `registration body over ${MAX_PEEK_BYTES} bytes` }, { status: 413 });
    }
    const unusable = refuseRedirectUris(await request.clone().json().catch(() => null));
    if (unusable) {
      await request.body?.cancel();
      await auditOAuth(env, "oauth_registration_refused", { client, status: 400, ...(await oauthError(unusable)) });
      return unusable;
    }
  }
  // A refresh: spent and reused tokens are refused before the provider rotates anything.
  const refreshing = url.pathname === TOKEN_PATH && facts?.grant_type === "refresh_token" ? await presentedToken(request, "refresh_token") : null;
  // The grant a revocation or a code names, and whether the provider holds it now: the provider
  // revokes grants by itself (RFC 7009 on a refresh token, a replayed code) in KV only.
  const tokenKind = facts ? facts.grant_type ?? "revocation" : null;
  const named = tokenKind === "revocation" ? await presentedToken(request, "token") : tokenKind === "authorization_code" ? await presentedToken(request, "code") : refreshing;
  const heldBefore = named ? await grantHeld(env, named) : false;
  if (refreshing) {
    const verdict = await refreshRecord(env, { op: "check", grant_id: refreshing.grantId, token_hash: refreshing.hash, client_id: facts?.client_id ?? null, client });
    if (!verdict.allowed) {
      await request.body?.cancel();
      return refuseRefresh(oauthHelpers(env, request), env, refreshing, verdict, { client, client_id: facts?.client_id ?? null });
    }
  }
  let res = await provider.fetch(request, env, ctx);
  if (refreshing && res.ok) {
    // The provider answered with a new pair: record the spend; a reuse that raced past the check is caught here.
    const issued = await tokenIdentity(((await res.clone().json().catch(() => null)) as { refresh_token?: unknown } | null)?.refresh_token);
    const verdict = issued
      ? await refreshRecord(env, { op: "rotated", grant_id: refreshing.grantId, token_hash: refreshing.hash, new_hash: issued.hash, client_id: facts?.client_id ?? null, client })
      : ({ allowed: true, retry: false } as const);
    if (!verdict.allowed) {
      await res.body?.cancel();
      return refuseRefresh(oauthHelpers(env, request), env, refreshing, verdict, { client, client_id: facts?.client_id ?? null });
    }
    if (verdict.retry) await auditOAuth(env, "oauth_token_refresh_retried", { client, client_id: facts?.client_id ?? null, grant_id: refreshing.grantId, retry_window_s: REFRESH_RETRY_WINDOW_MS / 1000 });
  }
  if (named && heldBefore && !(await grantHeld(env, named))) {
    // Revoked by the provider while it answered this request: the object refuses it at once too.
    await auditOAuth(env, "oauth_grant_revoked_by_provider", {
      grant_id: named.grantId, client_id: facts?.client_id ?? null, client, cause: PROVIDER_REVOCATION_CAUSES[tokenKind ?? ""] ?? "revoked by the provider",
    });
  }
  if (url.pathname === TOKEN_PATH && facts) {
    const kind = facts.grant_type ?? (request.method === "POST" ? "revocation" : null);
    if (kind === "revocation") {
      await auditOAuth(env, res.ok ? "oauth_token_revoked" : "oauth_revocation_refused", { client, client_id: facts.client_id, token_type_hint: facts.token_type_hint, ...(res.ok ? {} : await oauthError(res)) });
    } else if (res.ok) {
      await auditOAuth(env, kind === "refresh_token" ? "oauth_token_refreshed" : "oauth_token_issued", { client, client_id: facts.client_id, grant_type: kind });
    } else {
      await auditOAuth(env, "oauth_token_refused", { client, client_id: facts.client_id, grant_type: kind, status: res.status, ...(await oauthError(res)) });
    }
  } else if (url.pathname === REGISTER_PATH && request.method === "POST") {
    const registered = res.ok ? ((await res.clone().json().catch(() => null)) as { client_id?: string; client_name?: string; redirect_uris?: string[] } | null) : null;
    if (registered?.client_id && slot?.allowed) {
      const { evict } = await registrationDone(env, {
        client, slot: slot.slot, client_id: registered.client_id.slice(0, 300), client_name: registered.client_name?.slice(0, 200) ?? null,
        redirect_hosts: (registered.redirect_uris ?? []).slice(0, 50).map((u) => { try { return new URL(u).host.slice(0, 300); } catch { return "?"; } }),
      });
      // Storage stays bounded: never-granted clients past the bound leave KV too.
      const helpers = oauthHelpers(env, request);
      for (const clientId of evict) await helpers.deleteClient(clientId).catch(() => undefined);
    } else if (!res.ok) await auditOAuth(env, "oauth_registration_refused", { client, status: res.status, ...(await oauthError(res)) });
  }
  return res;
}
