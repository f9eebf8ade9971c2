// Issue 24, item 8, through the real Worker and account object in workerd: an S256 challenge
// shorter than RFC 7636's 43 characters is refused; a registration listing any redirect URI this
// edge would never send a code to is refused whole; the dashboard session cookie is a __Host-
// cookie over https; and the bridge's hello signature covers every field of the hello.
import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Hello, TwsHealth } from "../../shared/protocol";
import { signHello, type UnsignedHello } from "../support/bridge-test-key";
import { ACCOUNT_ID, Edge, waitFor } from "./harness";
import { ADMIN_TOKEN, audit, authorizeUrl, clientMetadata, ORIGIN, pkce, register, registerRequest, REDIRECT } from "./oauth-flow";

const clientKeys = async () => (await env.OAUTH_KV.list({ prefix: "client:" })).keys.length;

describe("PKCE S256 challenges", () => {
  it("a challenge shorter than 43 characters is refused at the consent page (audited); 43 base64url characters pass", async () => {
    const clientId = await register();
    const { challenge } = await pkce();
    expect(challenge).toHaveLength(43);
    for (const short of [challenge.slice(0, 42), "abc", "x".repeat(10)]) {
      const res = await SELF.fetch(authorizeUrl(clientId, short), { redirect: "manual" });
      expect(res.status, `challenge of ${short.length} characters`).toBe(400);
      expect(res.headers.get("location")).toBeNull();
      expect(await res.text()).toContain("43");
    }
    const refused = (await audit("oauth_authorize_refused")).filter((r) => r.details.client_id === clientId);
    expect(refused.length).toBeGreaterThanOrEqual(3);
    expect(refused.at(-1)!.details).toMatchObject({ error: "invalid_request" });
    // Longer, or outside base64url, is no S256 value either.
    expect((await SELF.fetch(authorizeUrl(clientId, `${challenge}A`), { redirect: "manual" })).status).toBe(400);
    expect((await SELF.fetch(authorizeUrl(clientId, `${challenge.slice(0, 42)}+`), { redirect: "manual" })).status).toBe(400);
    expect((await SELF.fetch(authorizeUrl(clientId, challenge), { redirect: "manual" })).status).toBe(200);
  });
});

describe("client registration", () => {
  it("a registration that lists any unusable redirect URI is refused whole (400), stores no client and is audited", async () => {
    const cases: Array<[string, string[]]> = [
      ["remote http next to a loopback one", [REDIRECT, "http://evil.example/cb"]],
      ["a private-use scheme next to https", ["https://agent.example/cb", "cursor://anysphere.cursor-mcp/oauth/callback"]],
      ["a fragment", ["https://agent.example/cb", "https://agent.example/cb#x"]],
      ["userinfo", [REDIRECT, "https://user:pw@agent.example/cb"]],
      ["not a URL", [REDIRECT, "not a url"]],
    ];
    for (const [label, redirects] of cases) {
      const before = await clientKeys();
      const res = await registerRequest(clientMetadata("Mixed Redirects", redirects));
      expect(res.status, label).toBe(400);
      const body = (await res.json()) as { error: string; error_description: string };
      expect(body.error, label).toBe("invalid_redirect_uri");
      expect(await clientKeys(), label).toBe(before);
    }
    const refused = await audit("oauth_registration_refused");
    expect(refused.at(-1)!.details).toMatchObject({ status: 400, error: "invalid_redirect_uri" });
    // Every listed URI usable (https and loopback http): registered.
    const ok = await registerRequest(clientMetadata("Good Redirects", ["https://agent.example/cb", REDIRECT, "http://localhost:9/cb", "http://[::1]:9/cb"]));
    expect(ok.status).toBe(201);
  });
});

describe("the dashboard session cookie", () => {
  it("is a __Host- cookie over https (Secure, Path=/, no Domain); a cookie of the same value without the prefix is no session", async () => {
    const login = await SELF.fetch(`${ORIGIN}/dashboard/login`, {
      method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN }, body: new URLSearchParams({ token: ADMIN_TOKEN }),
    });
    expect(login.status).toBe(303);
    const setCookie = login.headers.get("set-cookie") ?? "";
    expect(setCookie.startsWith("__Host-ibkr_dashboard=")).toBe(true);
    expect(setCookie).toContain("Secure");
    expect(setCookie).toContain("Path=/");
    expect(setCookie).not.toMatch(/Domain=/i);
    const pair = setCookie.split(";")[0]!;
    const page = await SELF.fetch(`${ORIGIN}/dashboard`, { headers: { cookie: pair } });
    expect(await page.text()).toContain("csrf-token");
    // The same signed value under the unprefixed name (what a sibling subdomain could set): no session.
    const unprefixed = pair.replace(/^__Host-/, "");
    const anonymous = await SELF.fetch(`${ORIGIN}/dashboard`, { headers: { cookie: unprefixed } });
    expect(await anonymous.text()).not.toContain("csrf-token");
    expect((await SELF.fetch(`${ORIGIN}/api/state`, { headers: { cookie: unprefixed } })).status).toBe(401);
  });
});

describe("the bridge's hello signature", () => {
  const base = (): UnsignedHello & { tws: UnsignedHello["tws"] & { session: string | null } } => ({
    bridge_version: "0.1.0", bridge_id: "bridge-hello-fields-01", account_id: ACCOUNT_ID, mode: "sim", last_seq: 0,
    tws: { state: "connected", since: "2026-12-01T14:30:00.000Z", last_error: null, server_version: 193, session: "tws-1" },
  });
  /** One change per field of the hello and of its TWS health, made after signing. */
  const mutations: Record<string, (h: any) => void> = {
    bridge_version: (h) => (h.bridge_version = "9.9.9"),
    bridge_id: (h) => (h.bridge_id = "bridge-hello-fields-02"),
    account_id: (h) => (h.account_id = `${ACCOUNT_ID}x`),
    mode: (h) => (h.mode = "live_tws"),
    last_seq: (h) => (h.last_seq = 5),
    "tws.state": (h) => (h.tws.state = "down"),
    "tws.since": (h) => (h.tws.since = "2020-01-01T00:00:00.000Z"),
    "tws.last_error": (h) => (h.tws.last_error = "forged"),
    "tws.server_version": (h) => (h.tws.server_version = 100),
    "tws.session": (h) => (h.tws.session = "tws-forged"),
  };

  it("names every field of the schema (a new field cannot go unsigned unnoticed)", () => {
    const fields = [
      ...Object.keys(Hello.shape).filter((k) => !["v", "type", "signature", "tws"].includes(k)),
      ...Object.keys(TwsHealth.shape).map((k) => `tws.${k}`),
    ];
    expect(Object.keys(mutations).sort()).toEqual(fields.sort());
  });

  async function sendHello(edge: Edge, change?: (h: any) => void): Promise<{ types: string[]; code: number | null }> {
    const res = await edge.stub().fetch("https://edge.test/bridge", { headers: { upgrade: "websocket" } });
    const ws = res.webSocket!;
    ws.accept();
    const frames: any[] = [];
    ws.addEventListener("message", (e) => frames.push(JSON.parse(e.data as string)));
    const closed = new Promise<number>((r) => ws.addEventListener("close", (e) => r(e.code)));
    const challenge = await waitFor(async () => frames.find((f) => f.type === "challenge"), "challenge");
    const hello = (await signHello(challenge, base())) as Record<string, any>;
    change?.(hello);
    ws.send(JSON.stringify(hello));
    const code = await Promise.race([closed, waitFor(async () => frames.some((f) => f.type === "welcome"), "welcome", 3_000).then(() => null, () => -1)]);
    try {
      ws.close(1000, "done");
    } catch {
      // closed by the edge
    }
    return { types: frames.map((f) => f.type), code };
  }

  it("a hello changed in any field after signing is refused (1008, no welcome); the unchanged one is welcomed", async () => {
    const edge = new Edge();
    expect((await sendHello(edge)).types).toContain("welcome");
    for (const [field, change] of Object.entries(mutations)) {
      const fresh = new Edge();
      const { types, code } = await sendHello(fresh, change);
      expect(types, field).not.toContain("welcome");
      expect(code, field).toBe(1008);
    }
  });
});
