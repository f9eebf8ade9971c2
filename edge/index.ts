// The Worker: authenticates and routes /mcp, /bridge, /api and /dashboard to the account's Durable
// Object. The account comes from configuration, never from the request. /mcp sits behind the OAuth
// provider (edge/auth/oauth.ts: OAuth tokens, or the static MCP_TOKEN) and the Origin check
// (edge/http/origin-guard.ts); /oauth/authorize is the owner's consent page (edge/auth/oauth-consent.ts).
import { Hono, type Context } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { secureHeaders } from "hono/secure-headers";
import type { Env } from "./http/env";
import { approvals } from "./dashboard/approval-page";
import { boundedBody } from "./http/bounded-body";
import { MCP_CREDENTIAL_HEADER } from "./ledger/credential";
import { MCP_GRANT_HEADER, MCP_SCOPES_HEADER } from "./mcp/mcp-scopes";
import { forwardMcp, handleWithAudit, oauthProvider } from "./auth/oauth";
import { accountStub } from "./http/account-stub";
import { oauthAdmin } from "./auth/oauth-admin";
import { consent } from "./auth/oauth-consent";
import { edgeOrigin, refuseForeignOrigin } from "./http/origin-guard";
import { dashboard } from "./dashboard/routes";
import { adminAuth, DASHBOARD_SESSION_HEADER } from "./auth/session-cookie";
export { AccountDO } from "./account-do";

const MAX_BODY_BYTES = 64 * 1024;
const app = new Hono<{ Bindings: Env }>();
// The dashboard's live socket (admin token, or the dashboard's session cookie from this origin).
// Registered before the /api/* middleware: a 101 response carrying a WebSocket has immutable headers.
// A socket opened with a session cookie carries the session's hash, so logout can close it; the
// header is the Worker's own (a caller's copy is dropped).
app.get("/api/live", adminAuth(), (c) => {
  const headers = new Headers(c.req.raw.headers);
  headers.delete(DASHBOARD_SESSION_HEADER);
  const session = c.get("dashboardSession");
  if (session) headers.set(DASHBOARD_SESSION_HEADER, session);
  return accountStub(c.env).fetch(new Request(c.req.raw, { headers }));
});
// Not on /bridge: a 101 response carrying a WebSocket has immutable headers.
app.use("/api/*", secureHeaders());

// /mcp after the provider accepted the caller's token (OAuth, or the static MCP_TOKEN compared in
// constant time): the body is read whole and bounded, the scopes are checked, and the Worker's own
// scope header goes to the Durable Object (a caller's copy is dropped there).
const mcp = new Hono<{ Bindings: Env }>();
mcp.use("/mcp", secureHeaders());
mcp.use("/mcp", boundedBody(MAX_BODY_BYTES));
mcp.all("/mcp", (c) => forwardMcp(c.req.raw, c.env, c.executionCtx as unknown as ExecutionContext));
// Reached only when the provider did not route /mcp to `mcp` (it never does): refuse.
app.all("/mcp", (c) => c.json({ error: "unauthenticated" }, 401));

// Bridge token only, checked before the upgrade reaches the Durable Object.
app.use("/bridge", async (c, next) => bearerAuth({ token: c.env.BRIDGE_TOKEN })(c as unknown as Context, next));
// A 101 response carries the socket; it must be returned as-is, not copied.
app.get("/bridge", (c) => accountStub(c.env).fetch(c.req.raw));

// Admin token or the dashboard's session cookie (with CSRF checks): a bridge or MCP token must
// never reach the admin API.
app.use("/api/*", adminAuth());
app.use("/api/*", boundedBody(MAX_BODY_BYTES));
// Connected apps (OAuth grants live in OAUTH_KV, which the Worker holds).
app.route("/", oauthAdmin as unknown as Hono<{ Bindings: Env }>);
app.all("/api/*", async (c) => {
  const res = await accountStub(c.env).fetch(c.req.raw);
  return new Response(res.body, res);
});

// The human's page: login form, session cookie, strict CSP (edge/dashboard/).
app.route("/dashboard", dashboard);
app.route("/oauth", consent as unknown as Hono<{ Bindings: Env }>);
// One-time approval links of "confirm every order" (needs the dashboard login).
app.route("/approve", approvals);

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    // The provider routes /mcp by prefix: everything under it gets the same guard.
    if (url.pathname === "/mcp" || url.pathname.startsWith("/mcp/")) {
      const refused = await refuseForeignOrigin(env, request);
      if (refused) return refused;
      // Only the Worker sets these, after authentication.
      if (request.headers.has(MCP_SCOPES_HEADER) || request.headers.has(MCP_GRANT_HEADER) || request.headers.has(MCP_CREDENTIAL_HEADER)) {
        const headers = new Headers(request.headers);
        headers.delete(MCP_SCOPES_HEADER);
        headers.delete(MCP_GRANT_HEADER);
        headers.delete(MCP_CREDENTIAL_HEADER);
        request = new Request(request, { headers });
      }
    }
    let res = await handleWithAudit(oauthProvider(edgeOrigin(env, request), app, mcp), request, env, ctx, url);
    if (url.pathname === "/mcp" && res.status === 401 && !request.headers.has("authorization")) {
      // RFC 6750 puts no error code in a challenge to a request without credentials; say in the
      // body what a person reading a client's error needs to know.
      await res.body?.cancel();
      const headers = new Headers(res.headers);
      headers.set("content-type", "application/json");
      res = new Response(JSON.stringify({ error: "Unauthorized", error_description: "this MCP endpoint needs a bearer token: OAuth (see WWW-Authenticate) or the static MCP_TOKEN" }), { status: 401, headers });
    }
    if (res.status === 101 || (res.headers.has("x-content-type-options") && res.headers.has("referrer-policy"))) return res;
    // The provider's own answers (401 challenges, metadata, tokens) get the same two headers as ours.
    const out = new Response(res.body, res);
    if (!out.headers.has("x-content-type-options")) out.headers.set("x-content-type-options", "nosniff");
    if (!out.headers.has("referrer-policy")) out.headers.set("referrer-policy", "no-referrer");
    return out;
  },
} satisfies ExportedHandler<Env>;
