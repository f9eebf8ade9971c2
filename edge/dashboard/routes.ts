// The /dashboard routes of the Worker: the login form, the page, its script and stylesheet, all
// under a strict Content-Security-Policy (scripts and styles from this origin only, no inline
// code, no framing). The page reads and acts through /api/* with the session cookie.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import { secureHeaders } from "hono/secure-headers";
import { APP_JS } from "./app-js";
import { CHARTS_JS } from "./charts-js";
import { clientAddress } from "../http/client-address";
import { askLoginGate } from "../auth/login-client";
import { dashboardPage, LOGIN_NEXT, loginPage } from "./page";
import { csrfTokenFor, endSession, isAdminToken, newSession, readSession, setSessionCookie, type SessionEnv } from "../auth/session-cookie";
import { STYLES_CSS } from "./styles";

type Bindings = SessionEnv;

export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'"],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
};

const NO_STORE = { "cache-control": "no-store" };

export const dashboard = new Hono<{ Bindings: Bindings }>();

dashboard.use("*", secureHeaders({ contentSecurityPolicy: CONTENT_SECURITY_POLICY, referrerPolicy: "no-referrer", xFrameOptions: "DENY" }));
// Login and logout are form posts: refuse them from another origin (login CSRF included).
dashboard.use("*", csrf());
dashboard.use("*", bodyLimit({ maxSize: 4 * 1024 }));

dashboard.get("/", async (c) => {
  const session = await readSession(c, c.env);
  if (session === null) return c.html(loginPage(false), 200, NO_STORE);
  return c.html(dashboardPage(await csrfTokenFor(c.env.ADMIN_TOKEN, session.value)), 200, NO_STORE);
});

dashboard.post("/login", async (c) => {
  const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  const token = typeof form.token === "string" ? form.token : "";
  // Back to the approval link that sent the person here, and nowhere else.
  const next = typeof form.next === "string" && LOGIN_NEXT.test(form.next) ? form.next : undefined;
  const tokenOk = await isAdminToken(token, c.env.ADMIN_TOKEN);
  const session = await newSession();
  // One call: the Durable Object checks the lock, counts a failure or records the session in one
  // turn. Fail closed: a login that cannot be counted is not admitted.
  const gate = await askLoginGate(c.env, {
    client: clientAddress(c.req.raw.headers),
    token_ok: tokenOk,
    session: tokenOk ? { id_hash: session.idHash, expires_ms: session.expiresMs } : null,
  }).catch(() => null);
  if (gate === null) return c.text("The login form is unavailable right now; the bearer-token API still works", 503, NO_STORE);
  if (gate.outcome === "locked")
    return c.text(`Too many failed logins from your address: the form is locked for ${Math.ceil(gate.retry_after_s / 60)} more minute(s). The bearer-token API still works.`, 429, { ...NO_STORE, "retry-after": String(gate.retry_after_s) });
  if (gate.outcome !== "admitted") return c.html(loginPage(true, next), 401, NO_STORE);
  await setSessionCookie(c, c.env.ADMIN_TOKEN, session.value);
  return c.redirect(next ?? "/dashboard", 303);
});

dashboard.post("/logout", async (c) => {
  if (!(await endSession(c, c.env)))
    return c.text("The cookie is removed from this browser, but the server could not end the session: use \"Log out everywhere\" or the bearer-token API (POST /api/sessions/end-all)", 503, NO_STORE);
  return c.redirect("/dashboard", 303);
});

dashboard.get("/app.js", (c) => c.body(APP_JS, 200, { "content-type": "text/javascript; charset=utf-8", ...NO_STORE }));
dashboard.get("/charts.js", (c) => c.body(CHARTS_JS, 200, { "content-type": "text/javascript; charset=utf-8", ...NO_STORE }));
dashboard.get("/styles.css", (c) => c.body(STYLES_CSS, 200, { "content-type": "text/css; charset=utf-8", ...NO_STORE }));
