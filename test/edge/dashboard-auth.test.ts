// The dashboard's login, session cookie and CSRF rules inside workerd, through the real Worker:
// the cookie is a signed expiry (never the token), /api/* takes the bearer token or a session,
// and a state-changing call made with the cookie needs this origin and the session's CSRF token.
import { SELF } from "cloudflare:test";
import { generateSignedCookie } from "hono/cookie";
import { describe, expect, it } from "vitest";
import { csrfTokenFor, HOST_SESSION_COOKIE, newSessionValue, SESSION_COOKIE, sessionExpiry, sessionKey } from "../../edge/auth/session-cookie";

const ORIGIN = "https://edge.test";
const ADMIN = "test-admin-token";

async function login(token = ADMIN, origin = ORIGIN): Promise<Response> {
  return SELF.fetch(`${ORIGIN}/dashboard/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin },
    body: new URLSearchParams({ token }).toString(),
  });
}

/** Logs in and returns the Cookie header value and the page's CSRF token. */
async function session(): Promise<{ cookie: string; csrf: string }> {
  const res = await login();
  const setCookie = res.headers.get("set-cookie") ?? "";
  const cookie = setCookie.split(";")[0]!;
  const page = await (await SELF.fetch(`${ORIGIN}/dashboard`, { headers: { cookie } })).text();
  const csrf = /<meta name="csrf-token" content="([0-9a-f]{64})">/.exec(page)?.[1] ?? "";
  return { cookie, csrf };
}

function postStop(headers: Record<string, string>, on = true): Promise<Response> {
  return SELF.fetch(`${ORIGIN}/api/emergency-stop`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ on, reason: "dashboard auth test" }),
  });
}

describe("dashboard login", () => {
  it("serves the login form under a strict CSP without a session", async () => {
    const res = await SELF.fetch(`${ORIGIN}/dashboard`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<form method="post" action="/dashboard/login">');
    expect(html).not.toContain("csrf-token");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
  });

  it("refuses a wrong token with 401 and sets no cookie", async () => {
    const res = await login("not-the-admin-token");
    expect(res.status).toBe(401);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await res.text()).toContain("That admin token is not valid.");
  });

  it("refuses a login posted from another origin (login CSRF)", async () => {
    const res = await login(ADMIN, "https://evil.test");
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("sets an HttpOnly, SameSite=Strict, Secure session cookie that does not hold the token", async () => {
    const res = await login();
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/dashboard");
    const setCookie = res.headers.get("set-cookie") ?? "";
    expect(setCookie.startsWith(`${HOST_SESSION_COOKIE}=`)).toBe(true);
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Strict");
    expect(setCookie).toContain("Secure");
    expect(setCookie).toMatch(/Max-Age=43200/);
    expect(setCookie).not.toContain(ADMIN);
    const value = decodeURIComponent(setCookie.split(";")[0]!.slice(HOST_SESSION_COOKIE.length + 1));
    expect(sessionExpiry(value.slice(0, value.lastIndexOf(".")))).toBeGreaterThan(Date.now());
  });

  it("omits Secure over plain http (wrangler dev on loopback)", async () => {
    const res = await SELF.fetch("http://127.0.0.1:8787/dashboard/login", {
      method: "POST", redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://127.0.0.1:8787" },
      body: new URLSearchParams({ token: ADMIN }).toString(),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("set-cookie")).not.toContain("Secure");
  });

  it("serves the page with its CSRF token and the script as a separate route", async () => {
    const { cookie, csrf } = await session();
    expect(csrf).toMatch(/^[0-9a-f]{64}$/);
    const js = await SELF.fetch(`${ORIGIN}/dashboard/app.js`);
    expect(js.headers.get("content-type")).toContain("text/javascript");
    expect(await js.text()).toContain("textContent");
    const page = await (await SELF.fetch(`${ORIGIN}/dashboard`, { headers: { cookie } })).text();
    expect(page).toContain('<script src="/dashboard/app.js" defer></script>');
    expect(page).not.toMatch(/<script>(?!<)/);
  });

  it("logout clears the cookie", async () => {
    const res = await SELF.fetch(`${ORIGIN}/dashboard/logout`, { method: "POST", redirect: "manual", headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(303);
    expect(res.headers.get("set-cookie")).toMatch(new RegExp(`^${HOST_SESSION_COOKIE}=;.*Max-Age=0`));
  });
});

describe("/api/* with the session cookie", () => {
  it("reads with the cookie alone", async () => {
    const { cookie } = await session();
    const res = await SELF.fetch(`${ORIGIN}/api/audit`, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(await res.json()).toHaveProperty("rows");
  });

  it("refuses a state change without the CSRF header, with a wrong one, or from another origin", async () => {
    const { cookie, csrf } = await session();
    const noToken = await postStop({ cookie, origin: ORIGIN });
    expect(noToken.status).toBe(403);
    expect(await noToken.json()).toEqual({ error: "missing or wrong x-csrf-token header for this session" });
    expect((await postStop({ cookie, origin: ORIGIN, "x-csrf-token": "0".repeat(64) })).status).toBe(403);
    const crossSite = await postStop({ cookie, origin: "https://evil.test", "x-csrf-token": csrf });
    expect(crossSite.status).toBe(403);
    expect(await crossSite.json()).toEqual({ error: "cross-origin request refused" });
    // No Origin and no Sec-Fetch-Site: cannot prove same origin.
    expect((await postStop({ cookie, "x-csrf-token": csrf })).status).toBe(403);
    // Nothing changed: the audit log holds no emergency stop.
    const audit = (await (await SELF.fetch(`${ORIGIN}/api/audit`, { headers: { cookie } })).json()) as { rows: { action: string }[] };
    expect(audit.rows.filter((r) => r.action.startsWith("emergency_stop"))).toEqual([]);
  });

  it("accepts a same-origin state change carrying the session's CSRF token", async () => {
    const { cookie, csrf } = await session();
    const res = await postStop({ cookie, origin: ORIGIN, "x-csrf-token": csrf });
    expect(res.status).toBe(200);
    const viaFetchMetadata = await postStop({ cookie, "sec-fetch-site": "same-origin", "x-csrf-token": csrf }, false);
    expect(viaFetchMetadata.status).toBe(200);
  });

  it("does not accept one session's CSRF token for another session", async () => {
    const first = await session();
    const second = await session();
    expect(first.csrf).not.toBe(second.csrf);
    expect((await postStop({ cookie: second.cookie, origin: ORIGIN, "x-csrf-token": first.csrf })).status).toBe(403);
  });

  it("refuses a tampered, foreign-keyed, expired or never-opened cookie with 401", async () => {
    const { cookie } = await session();
    const [name, value] = [cookie.slice(0, cookie.indexOf("=")), decodeURIComponent(cookie.slice(cookie.indexOf("=") + 1))];
    const sessionValue = value.slice(0, value.lastIndexOf("."));
    const signature = value.slice(value.lastIndexOf(".") + 1);
    // Extend the expiry but keep the old signature.
    const extended = sessionValue.replace(/^v1\.\d+/, `v1.${Date.now() + 10 * 86_400_000}`);
    const tampered = `${name}=${encodeURIComponent(`${extended}.${signature}`)}`;
    expect((await SELF.fetch(`${ORIGIN}/api/audit`, { headers: { cookie: tampered } })).status).toBe(401);

    const foreign = (await generateSignedCookie(SESSION_COOKIE, newSessionValue(), await sessionKey("some-other-admin-token"), { prefix: "host" })).split(";")[0]!;
    expect((await SELF.fetch(`${ORIGIN}/api/audit`, { headers: { cookie: foreign } })).status).toBe(401);

    const expiredValue = newSessionValue(Date.now() - 13 * 3600_000);
    const expired = (await generateSignedCookie(SESSION_COOKIE, expiredValue, await sessionKey(ADMIN), { prefix: "host" })).split(";")[0]!;
    expect((await SELF.fetch(`${ORIGIN}/api/audit`, { headers: { cookie: expired } })).status).toBe(401);
    // The same construction of the logged-in session's own value is accepted, so the refusals
    // above are about the signature and the expiry, not the way the cookie was built.
    const rebuilt = (await generateSignedCookie(SESSION_COOKIE, sessionValue, await sessionKey(ADMIN), { prefix: "host" })).split(";")[0]!;
    expect((await SELF.fetch(`${ORIGIN}/api/audit`, { headers: { cookie: rebuilt } })).status).toBe(200);
    // A well-signed, unexpired value that no login opened is refused: the Durable Object does not hold it.
    const neverOpened = (await generateSignedCookie(SESSION_COOKIE, newSessionValue(), await sessionKey(ADMIN), { prefix: "host" })).split(";")[0]!;
    expect((await SELF.fetch(`${ORIGIN}/api/audit`, { headers: { cookie: neverOpened } })).status).toBe(401);
  });

  it("judges a request with an Authorization header by that header alone", async () => {
    const { cookie } = await session();
    expect((await SELF.fetch(`${ORIGIN}/api/audit`, { headers: { cookie, authorization: "Bearer test-mcp-token" } })).status).toBe(401);
    expect((await SELF.fetch(`${ORIGIN}/api/audit`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
    expect((await SELF.fetch(`${ORIGIN}/api/audit`)).status).toBe(401);
  });

  it("refuses a cross-origin WebSocket upgrade of /api/live made with the cookie", async () => {
    const { cookie } = await session();
    const res = await SELF.fetch(`${ORIGIN}/api/live`, { headers: { cookie, upgrade: "websocket", origin: "https://evil.test" } });
    expect(res.status).toBe(403);
  });

  it("opens the live socket with the cookie from this origin, and it reports the next change", async () => {
    const { cookie, csrf } = await session();
    const res = await SELF.fetch(`${ORIGIN}/api/live`, { headers: { cookie, upgrade: "websocket", origin: ORIGIN } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    const changed = new Promise<{ type: string; seq: number }>((resolve) => ws.addEventListener("message", (e) => resolve(JSON.parse(e.data as string)), { once: true }));
    expect((await postStop({ cookie, origin: ORIGIN, "x-csrf-token": csrf }, false)).status).toBe(200);
    const message = await changed;
    expect(message.type).toBe("changed");
    expect(message.seq).toBeGreaterThan(0);
    ws.close(1000, "done");
  });

  it("derives the CSRF token from the session, keyed by the admin token", async () => {
    const value = newSessionValue();
    expect(await csrfTokenFor(ADMIN, value)).toBe(await csrfTokenFor(ADMIN, value));
    expect(await csrfTokenFor(ADMIN, value)).not.toBe(await csrfTokenFor("other-token", value));
    expect(sessionExpiry("v1.123.abc")).toBeNull();
    expect(sessionExpiry(newSessionValue(Date.now() - 13 * 3600_000))).toBeNull();
  });
});
