// The Worker: authenticates and routes /mcp (and later /bridge, /api, /dashboard) to the
// account's Durable Object. The account comes from configuration, never from the request.
import { Hono, type Context } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { secureHeaders } from "hono/secure-headers";
import type { Env } from "./account-do";
import { boundedBody } from "./bounded-body";
import { dashboard } from "./dashboard/routes";
import { adminAuth, DASHBOARD_SESSION_HEADER } from "./dashboard/session";
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
app.use("/mcp", secureHeaders());
app.use("/api/*", secureHeaders());

function accountStub(env: Env) {
  return env.ACCOUNT.get(env.ACCOUNT.idFromName(env.IBKR_ACCOUNT_ID || "default"));
}

// bearerAuth compares in constant time and answers 401 with WWW-Authenticate.
// The token is read per request because Worker secrets live on env, not at module load.
app.use("/mcp", async (c, next) => bearerAuth({ token: c.env.MCP_TOKEN })(c as unknown as Context, next));
app.use("/mcp", boundedBody(MAX_BODY_BYTES));
// A Durable Object's response has immutable headers; copy it so secureHeaders can add its own.
app.all("/mcp", async (c) => {
  const res = await accountStub(c.env).fetch(c.req.raw);
  return new Response(res.body, res);
});

// Bridge token only, checked before the upgrade reaches the Durable Object.
app.use("/bridge", async (c, next) => bearerAuth({ token: c.env.BRIDGE_TOKEN })(c as unknown as Context, next));
// A 101 response carries the socket; it must be returned as-is, not copied.
app.get("/bridge", (c) => accountStub(c.env).fetch(c.req.raw));

// Admin token or the dashboard's session cookie (with CSRF checks): a bridge or MCP token must
// never reach the admin API.
app.use("/api/*", adminAuth());
app.use("/api/*", boundedBody(MAX_BODY_BYTES));
app.all("/api/*", async (c) => {
  const res = await accountStub(c.env).fetch(c.req.raw);
  return new Response(res.body, res);
});

// The human's page: login form, session cookie, strict CSP (edge/dashboard/).
app.route("/dashboard", dashboard);

export default app;
