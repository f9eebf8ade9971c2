// The login lockout is counted atomically and per client address: 30 parallel wrong logins from
// one address get exactly ten counted failures before the lock (check and record in one Durable
// Object turn), another address is not locked with it, the bearer-token API stays open, and the
// owner can clear the lock. The address is Cloudflare's cf-connecting-ip, bucketed and bounded,
// never x-forwarded-for. Real parallel logins through the real Worker (SELF).
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { clientAddress, UNKNOWN_CLIENT } from "../../edge/http/client-address";
import { LOGIN_FAILURES_BEFORE_LOCK } from "../../edge/auth/login-gate";

const ORIGIN = "https://edge.test";
const ADMIN = "test-admin-token";
const BEARER = { authorization: `Bearer ${ADMIN}` };

function login(token: string, headers: Record<string, string>): Promise<Response> {
  return SELF.fetch(`${ORIGIN}/dashboard/login`, {
    method: "POST", redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, ...headers },
    body: new URLSearchParams({ token }).toString(),
  });
}

async function failures(): Promise<Array<{ client: string; failures_in_window: number }>> {
  const res = await SELF.fetch(`${ORIGIN}/api/audit?limit=1000&action=dashboard_login_failed`, { headers: BEARER });
  return ((await res.json()) as { rows: Array<{ details_json: string }> }).rows.map((r) => JSON.parse(r.details_json));
}

describe("login lockout", () => {
  it("30 parallel wrong logins from one address: exactly ten are counted, the other twenty meet the lock", async () => {
    const attacker = { "cf-connecting-ip": "198.51.100.66" };
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => login(`wrong-guess-${i}-xxxxxxxx`, attacker)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(LOGIN_FAILURES_BEFORE_LOCK);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30 - LOGIN_FAILURES_BEFORE_LOCK);
    const counted = (await failures()).filter((f) => f.client === "198.51.100.66");
    expect(counted.map((f) => f.failures_in_window)).toEqual(Array.from({ length: LOGIN_FAILURES_BEFORE_LOCK }, (_, i) => i + 1));

    // The right token from the locked address is refused too (the lock is not an oracle)...
    expect((await login(ADMIN, attacker)).status).toBe(429);
    // ...but the owner at another address logs in, and the bearer-token API works for anyone holding the token.
    const owner = await login(ADMIN, { "cf-connecting-ip": "203.0.113.20" });
    expect(owner.status).toBe(303);
    expect(owner.headers.get("set-cookie")).toContain("HttpOnly");
    const stop = await SELF.fetch(`${ORIGIN}/api/emergency-stop`, { method: "POST", headers: { ...BEARER, "content-type": "application/json", ...attacker }, body: JSON.stringify({ on: true, reason: "under lockout" }) });
    expect(stop.status).toBe(200);
    expect((await SELF.fetch(`${ORIGIN}/api/state`, { headers: { ...BEARER, ...attacker } })).status).toBe(200);
  });

  it("counts by cf-connecting-ip, never x-forwarded-for, and bounds what reaches the audit", async () => {
    // A caller varying x-forwarded-for stays in one bucket (no cf-connecting-ip here: "unknown").
    for (let i = 0; i < LOGIN_FAILURES_BEFORE_LOCK; i++) expect((await login(`guess-${i}-xxxxxxxx`, { "x-forwarded-for": `10.0.0.${i}` })).status).toBe(401);
    expect((await login(`guess-final-xxxxxxxx`, { "x-forwarded-for": "10.0.0.99" })).status).toBe(429);
    // A value that is not an address is never audited verbatim.
    expect((await login("guess-junk-xxxxxxxx", { "cf-connecting-ip": `<script>alert(1)</script>${"x".repeat(500)}` })).status).toBe(429);
    const clients = new Set((await failures()).map((f) => f.client));
    expect([...clients].some((c) => c.includes("10.0.0") || c.includes("script"))).toBe(false);
    expect(clients.has(UNKNOWN_CLIENT)).toBe(true);
  });

  it("buckets an IPv6 caller by its /64, so rotating the interface id does not reset the count", () => {
    const ip = (v: string) => clientAddress(new Headers({ "cf-connecting-ip": v }));
    expect(ip("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(ip("2001:0db8:0001:0002:ffff:eeee:dddd:cccc")).toBe("2001:db8:1:2::/64");
    expect(ip("::ffff:192.0.2.1")).toBe("0:0:0:0::/64");
    expect(ip(" 192.0.2.7 ")).toBe("192.0.2.7");
    for (const bad of ["", "999.1.1.1", "1.2.3", "2001:db8::1::2", "fe80::1%eth0", "not-an-ip", "1".repeat(100)]) expect(ip(bad), bad).toBe(UNKNOWN_CLIENT);
    expect(clientAddress(new Headers({ "x-forwarded-for": "192.0.2.9" }))).toBe(UNKNOWN_CLIENT);
  });

  it("the owner clears a lockout with the bearer token, audited with who and why", async () => {
    const attacker = { "cf-connecting-ip": "198.51.100.66" };
    expect((await login(ADMIN, attacker)).status).toBe(429);
    const cookieOnly = await SELF.fetch(`${ORIGIN}/api/login-lockout/clear`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ reason: "x" }) });
    expect(cookieOnly.status).toBe(401);
    const cleared = await SELF.fetch(`${ORIGIN}/api/login-lockout/clear`, { method: "POST", headers: { ...BEARER, "content-type": "application/json" }, body: JSON.stringify({ reason: "my own typos", by: "owner" }) });
    expect(cleared.status).toBe(200);
    expect(((await cleared.json()) as { failures_cleared: number }).failures_cleared).toBeGreaterThan(0);
    expect((await login(ADMIN, attacker)).status).toBe(303);
    const rows = ((await (await SELF.fetch(`${ORIGIN}/api/audit?action=dashboard_login_lockout_cleared`, { headers: BEARER })).json()) as { rows: Array<{ details_json: string }> }).rows;
    expect(JSON.parse(rows[0]!.details_json)).toMatchObject({ by: "owner", reason: "my own typos" });
  });
});
