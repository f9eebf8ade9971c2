// Dashboard sessions live in the account's Durable Object: logout ends that session at once and
// "log out everywhere" ends every one, so a cookie copied before either fails afterwards for
// reading the state, exporting the audit and setting the emergency stop. Real cookies through the
// real Worker (SELF); the object's storage lives for the whole file.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { bodyText } from "./harness";
import { DASHBOARD_SESSION_HEADER, sessionIdHash } from "../../edge/auth/session-cookie";

const ORIGIN = "https://edge.test";
const ADMIN = "test-admin-token";
const BEARER = { authorization: `Bearer ${ADMIN}` };

interface Session { cookie: string; csrf: string }

async function login(ip = "192.0.2.50"): Promise<Session> {
  const res = await SELF.fetch(`${ORIGIN}/dashboard/login`, {
    method: "POST", redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, "cf-connecting-ip": ip },
    body: new URLSearchParams({ token: ADMIN }).toString(),
  });
  expect(res.status).toBe(303);
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0]!;
  const page = await (await SELF.fetch(`${ORIGIN}/dashboard`, { headers: { cookie } })).text();
  const csrf = /<meta name="csrf-token" content="([0-9a-f]{64})">/.exec(page)?.[1] ?? "";
  expect(csrf).toMatch(/^[0-9a-f]{64}$/);
  return { cookie, csrf };
}

function logout(s: Session): Promise<Response> {
  return SELF.fetch(`${ORIGIN}/dashboard/logout`, { method: "POST", redirect: "manual", headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded", cookie: s.cookie } });
}

function setStop(s: Session, reason: string): Promise<Response> {
  return SELF.fetch(`${ORIGIN}/api/emergency-stop`, {
    method: "POST", headers: { "content-type": "application/json", origin: ORIGIN, cookie: s.cookie, "x-csrf-token": s.csrf },
    body: JSON.stringify({ on: true, reason }),
  });
}

/** What a copied cookie can still do: read the state, export the audit, set the emergency stop, see the page. */
async function powers(s: Session, reason: string): Promise<{ state: number; exportAudit: number; stop: number; page: boolean }> {
  const state = await SELF.fetch(`${ORIGIN}/api/state`, { headers: { cookie: s.cookie } });
  await state.text();
  const exported = await SELF.fetch(`${ORIGIN}/api/audit/export`, { headers: { cookie: s.cookie } });
  await bodyText(exported);
  const stop = await setStop(s, reason);
  await stop.text();
  const page = await (await SELF.fetch(`${ORIGIN}/dashboard`, { headers: { cookie: s.cookie } })).text();
  return { state: state.status, exportAudit: exported.status, stop: stop.status, page: page.includes("csrf-token") };
}

async function auditRows(action: string): Promise<Array<{ details_json: string }>> {
  return ((await (await SELF.fetch(`${ORIGIN}/api/audit?limit=1000&action=${action}`, { headers: BEARER })).json()) as { rows: Array<{ details_json: string }> }).rows;
}

async function stopReason(): Promise<string | null> {
  return ((await (await SELF.fetch(`${ORIGIN}/api/state`, { headers: BEARER })).json()) as { emergency_stop: { reason: string | null } }).emergency_stop.reason;
}

describe("dashboard sessions held by the Durable Object", () => {
  it("cannot be checked or ended from outside: the Worker never forwards the internal session path", async () => {
    for (const path of ["/internal/dashboard-session", "/api/../internal/dashboard-session", "/dashboard/../internal/dashboard-session"]) {
      const res = await SELF.fetch(`${ORIGIN}${path}`, { method: "POST", headers: { ...BEARER, "content-type": "application/json" }, body: JSON.stringify({ op: "check", id_hash: "a".repeat(64) }) });
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(await res.text(), path).not.toContain("live");
    }
  });

  it("logout ends the session at once: a cookie copied before it reads, exports and stops nothing afterwards", async () => {
    const session = await login();
    const copied = { ...session };
    expect(await powers(copied, "before logout")).toEqual({ state: 200, exportAudit: 200, stop: 200, page: true });

    const out = await logout(session);
    expect(out.status).toBe(303);
    expect(out.headers.get("set-cookie")).toMatch(/Max-Age=0/);
    expect(await powers(copied, "copied cookie after logout")).toEqual({ state: 401, exportAudit: 401, stop: 401, page: false });
    expect(await stopReason()).toBe("before logout");
    expect(await auditRows("dashboard_logout")).toHaveLength(1);
  });

  it("logout ends only its own session", async () => {
    const mine = await login();
    const other = await login("192.0.2.51");
    await logout(mine);
    expect((await powers(other, "other session still works")).state).toBe(200);
    expect((await powers(mine, "ended")).state).toBe(401);
  });

  it("log out everywhere (dashboard, with the cookie and CSRF token) ends every session, audited with who and why", async () => {
    const a = await login();
    const b = await login("192.0.2.52");
    const missingReason = await SELF.fetch(`${ORIGIN}/api/sessions/end-all`, {
      method: "POST", headers: { "content-type": "application/json", origin: ORIGIN, cookie: a.cookie, "x-csrf-token": a.csrf }, body: JSON.stringify({ reason: " " }),
    });
    expect(missingReason.status).toBe(400);
    expect((await powers(b, "still live")).state).toBe(200);
    // Without the CSRF token the cookie cannot do it.
    const noCsrf = await SELF.fetch(`${ORIGIN}/api/sessions/end-all`, {
      method: "POST", headers: { "content-type": "application/json", origin: ORIGIN, cookie: a.cookie }, body: JSON.stringify({ reason: "x" }),
    });
    expect(noCsrf.status).toBe(403);

    const ended = await SELF.fetch(`${ORIGIN}/api/sessions/end-all`, {
      method: "POST", headers: { "content-type": "application/json", origin: ORIGIN, cookie: a.cookie, "x-csrf-token": a.csrf },
      body: JSON.stringify({ reason: "laptop left unlocked", by: "owner" }),
    });
    expect(ended.status).toBe(200);
    expect(((await ended.json()) as { sessions_ended: number }).sessions_ended).toBeGreaterThanOrEqual(2);
    expect(await powers(a, "after everywhere a")).toEqual({ state: 401, exportAudit: 401, stop: 401, page: false });
    expect(await powers(b, "after everywhere b")).toEqual({ state: 401, exportAudit: 401, stop: 401, page: false });
    const rows = await auditRows("dashboard_sessions_ended");
    expect(JSON.parse(rows.at(-1)!.details_json)).toMatchObject({ by: "owner", reason: "laptop left unlocked" });
    // A fresh login works again afterwards.
    expect((await powers(await login(), "fresh login")).state).toBe(200);
  });

  it("log out everywhere by the bearer-token API, and a live socket opened with a session is closed with it", async () => {
    const s = await login();
    const res = await SELF.fetch(`${ORIGIN}/api/live`, { headers: { cookie: s.cookie, upgrade: "websocket", origin: ORIGIN } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
    const ended = await SELF.fetch(`${ORIGIN}/api/sessions/end-all`, { method: "POST", headers: { ...BEARER, "content-type": "application/json" }, body: JSON.stringify({ reason: "rotating", by: "ops" }) });
    expect(ended.status).toBe(200);
    expect(await closed).toBe(4401);
    expect((await powers(s, "after bearer end-all")).state).toBe(401);
  });

  it("a caller cannot tie a socket to a session: the Worker's session header is its own", async () => {
    const s = await login();
    const signed = decodeURIComponent(s.cookie.slice(s.cookie.indexOf("=") + 1));
    const hash = await sessionIdHash(signed.slice(0, signed.lastIndexOf(".")));
    // A bearer upgrade claiming that session's hash gets a socket the session's logout does not touch.
    const res = await SELF.fetch(`${ORIGIN}/api/live`, { headers: { ...BEARER, upgrade: "websocket", [DASHBOARD_SESSION_HEADER]: hash } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    let closedCode: number | null = null;
    ws.addEventListener("close", (e) => {
      closedCode = e.code;
    });
    const sessionSocket = await SELF.fetch(`${ORIGIN}/api/live`, { headers: { cookie: s.cookie, upgrade: "websocket", origin: ORIGIN } });
    const tied = sessionSocket.webSocket!;
    tied.accept();
    const tiedClosed = new Promise<number>((resolve) => tied.addEventListener("close", (e) => resolve(e.code)));
    expect((await logout(s)).status).toBe(303);
    expect(await tiedClosed).toBe(4401);
    await new Promise((r) => setTimeout(r, 100));
    expect(closedCode).toBeNull();
    ws.close(1000, "done");
  });
});

describe("a session's lifetime", () => {
  // Last in the file: it moves the account object's clock, which the rest of the file shares.
  it("is the cookie's, on the machine's clock: the account's (test) clock days ahead of it ends no session", async () => {
    const clock = (ms: number) => SELF.fetch(`${ORIGIN}/api/test/clock`, { method: "POST", headers: { ...BEARER, "content-type": "application/json" }, body: JSON.stringify({ advance_ms: ms }) });
    const at = Date.parse(((await (await clock(0)).json()) as { now: string }).now);
    // Three days ahead of the machine's clock (the pinned start may be behind it).
    const moved = await clock(Math.max(0, Date.now() - at) + 3 * 86_400_000);
    expect(moved.status).toBe(200);
    expect(Date.parse(((await moved.json()) as { now: string }).now)).toBeGreaterThan(Date.now() + 2 * 86_400_000);
    // The Worker signs the cookie with an expiry 12 h from the machine's now; the object checks it.
    const s = await login("192.0.2.77");
    const state = await SELF.fetch(`${ORIGIN}/api/state`, { headers: { cookie: s.cookie } });
    expect(state.status).toBe(200);
    await state.text();
  });
});
