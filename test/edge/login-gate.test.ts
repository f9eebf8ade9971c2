// Failed dashboard logins are counted and audited by the Durable Object, never with what was
// typed; ten within fifteen minutes lock the form (429, Retry-After) even for the right token,
// while the bearer-token API keeps working, and the lock lifts when the window has passed.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LOGIN_FAILURES_BEFORE_LOCK, LOGIN_WINDOW_MS } from "../../edge/auth/login-gate";

const ORIGIN = "https://edge.test";
const ADMIN = "test-admin-token";
const ADMIN_HEADERS = { authorization: `Bearer ${ADMIN}` };

function login(token: string): Promise<Response> {
  return SELF.fetch(`${ORIGIN}/dashboard/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, "cf-connecting-ip": "203.0.113.9" },
    body: new URLSearchParams({ token }).toString(),
  });
}

async function audit(action: string): Promise<{ actor: string; details_json: string }[]> {
  const res = await SELF.fetch(`${ORIGIN}/api/audit?limit=1000&action=${action}`, { headers: ADMIN_HEADERS });
  return ((await res.json()) as { rows: { actor: string; details_json: string }[] }).rows;
}

// One scenario in order: the object's storage lives for the whole file, so steps build on each other.
describe("dashboard login lockout", () => {
  it("never forwards the internal gate path from outside, audits logins without the typed text, locks after ten failures", async () => {
    for (const path of ["/internal/login-gate", "/api/../internal/login-gate", "/dashboard/../internal/login-gate"]) {
      const res = await SELF.fetch(`${ORIGIN}${path}`, { method: "POST", headers: { ...ADMIN_HEADERS, "content-type": "application/json" }, body: JSON.stringify({ phase: "failed" }) });
      expect(res.status, path).toBeGreaterThanOrEqual(400);
    }
    expect(await audit("dashboard_login_failed")).toHaveLength(0);

    // Nine failures do not lock the form; a good login is audited.
    for (let i = 1; i < LOGIN_FAILURES_BEFORE_LOCK; i++) expect((await login(`guess-number-${i}-secret`)).status, `attempt ${i}`).toBe(401);
    expect((await login(ADMIN)).status).toBe(303);
    expect(await audit("dashboard_login")).toHaveLength(1);
    expect(await audit("dashboard_login_locked")).toHaveLength(0);

    // The tenth failure locks it.
    expect((await login(`guess-number-${LOGIN_FAILURES_BEFORE_LOCK}-secret`)).status).toBe(401);
    const failures = await audit("dashboard_login_failed");
    expect(failures).toHaveLength(LOGIN_FAILURES_BEFORE_LOCK);
    expect(failures.map((r) => JSON.parse(r.details_json).failures_in_window)).toEqual(Array.from({ length: LOGIN_FAILURES_BEFORE_LOCK }, (_, i) => i + 1));
    expect(JSON.parse(failures[0]!.details_json).client).toBe("203.0.113.9");
    expect(failures.some((r) => r.details_json.includes("guess-number"))).toBe(false);
    expect(await audit("dashboard_login_locked")).toHaveLength(1);

    // Locked: even the right token is refused, with the time to wait, and nothing more is counted.
    const locked = await login(ADMIN);
    expect(locked.status).toBe(429);
    expect(locked.headers.get("set-cookie")).toBeNull();
    const retryAfter = Number(locked.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(LOGIN_WINDOW_MS / 1000 - 60);
    expect(retryAfter).toBeLessThanOrEqual(LOGIN_WINDOW_MS / 1000);
    expect(await audit("dashboard_login_failed")).toHaveLength(LOGIN_FAILURES_BEFORE_LOCK);

    // The bearer-token API is not behind the form: the kill switch stays reachable.
    const stop = await SELF.fetch(`${ORIGIN}/api/emergency-stop`, { method: "POST", headers: { ...ADMIN_HEADERS, "content-type": "application/json" }, body: JSON.stringify({ on: true, reason: "lockout test" }) });
    expect(stop.status).toBe(200);
  });
});
