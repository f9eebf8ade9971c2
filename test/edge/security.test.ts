// Security of the edge through the real Worker in workerd: no route answers without its own
// secret (every route × no token, wrong tokens, near-miss tokens, tokens in the wrong place, each
// other route's token, route-confusion paths); no token is echoed in any answer or audit row; the
// dashboard cookie's flags and the CSRF refusals of every state-changing /api route; limits that no
// input can raise; and oversized bodies refused before they reach the Durable Object.
import { SELF } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FUZZ_SEED, mutate, mutation } from "../shared/fuzz-mutations";
import { LIMITS, MAX_TRADE_RISK } from "../../shared/limits";
import { bodyText, condorOrder, Edge, FakeBridge, futureExpiry } from "./harness";

const ORIGIN = "https://edge.test";
const TOKENS = { mcp: "test-mcp-token", bridge: "test-bridge-token", admin: "test-admin-token" } as const;
const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

/** Every answer (status, headers, body) the Worker gave in this file, searched for tokens at the end. */
const seen: Array<{ request: string; answer: string }> = [];
async function hit(path: string, init: RequestInit = {}): Promise<Response> {
  const res = await SELF.fetch(`${ORIGIN}${path}`, { redirect: "manual", ...init });
  const headers = [...res.headers].filter(([k]) => k !== "set-cookie").map(([k, v]) => `${k}: ${v}`).join("\n");
  if (res.webSocket) {
    res.webSocket.accept();
    res.webSocket.close(1000, "security test");
    seen.push({ request: path, answer: `${res.status}\n${headers}` });
    return res;
  }
  const text = await bodyText(res);
  seen.push({ request: path, answer: `${res.status}\n${headers}\n${text}` });
  return new Response(text, { status: res.status, headers: res.headers });
}

const admin = { authorization: `Bearer ${TOKENS.admin}` };
const auditRows = async (): Promise<Array<{ seq: number; action: string; details_json: string }>> =>
  ((await (await hit("/api/audit?limit=1000", { headers: admin })).json()) as { rows: Array<{ seq: number; action: string; details_json: string }> }).rows;
const lastSeq = async () => (await auditRows()).reduce((m, r) => Math.max(m, r.seq), 0);

async function callTool(name: string, args: unknown, extraQuery = ""): Promise<any> {
  const res = await hit(`/mcp${extraQuery}`, {
    method: "POST",
    headers: { ...MCP_HEADERS, authorization: `Bearer ${TOKENS.mcp}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: args } }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as any).result;
}

// ---- the route table -------------------------------------------------------------------------

type Owner = "mcp" | "bridge" | "admin";
interface Route { name: string; owner: Owner; path: string; init: () => RequestInit; ok: number[] }
const jsonPost = (body: unknown) => () => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const upgrade = () => ({ headers: { upgrade: "websocket" } });
const ROUTES: Route[] = [
  { name: "POST /mcp", owner: "mcp", path: "/mcp", init: () => ({ method: "POST", headers: MCP_HEADERS, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }) }), ok: [200] },
  { name: "GET /mcp", owner: "mcp", path: "/mcp", init: () => ({}), ok: [405] },
  { name: "DELETE /mcp", owner: "mcp", path: "/mcp", init: () => ({ method: "DELETE" }), ok: [405] },
  { name: "GET /bridge (upgrade)", owner: "bridge", path: "/bridge", init: upgrade, ok: [101] },
  { name: "GET /api/state", owner: "admin", path: "/api/state", init: () => ({}), ok: [200] },
  { name: "GET /api/health", owner: "admin", path: "/api/health", init: () => ({}), ok: [200] },
  { name: "GET /api/audit", owner: "admin", path: "/api/audit?after=0&limit=5", init: () => ({}), ok: [200] },
  { name: "GET /api/audit/export", owner: "admin", path: "/api/audit/export", init: () => ({}), ok: [200] },
  { name: "GET /api/audit/verify", owner: "admin", path: "/api/audit/verify", init: () => ({}), ok: [200] },
  { name: "GET /api/live (upgrade)", owner: "admin", path: "/api/live", init: upgrade, ok: [101] },
  { name: "POST /api/emergency-stop", owner: "admin", path: "/api/emergency-stop", init: jsonPost({ on: false, reason: "security table" }), ok: [200] },
  { name: "POST /api/breakers/reset", owner: "admin", path: "/api/breakers/reset", init: jsonPost({ breaker: "drawdown", reason: "security table" }), ok: [200, 409] },
  { name: "POST /api/shadow-mode", owner: "admin", path: "/api/shadow-mode", init: jsonPost({ on: false, reason: "security table" }), ok: [200] },
  { name: "POST /api/approvals/:id", owner: "admin", path: "/api/approvals/IRON_CONDOR_AAPL_20251119_103045", init: jsonPost({ decision: "reject", reason: "security table" }), ok: [404] },
  { name: "POST /api/cancel-all", owner: "admin", path: "/api/cancel-all", init: jsonPost({ reason: "security table" }), ok: [200, 409] },
  { name: "POST /api/trades/close", owner: "admin", path: "/api/trades/close", init: jsonPost({ trade_id: "IRON_CONDOR_AAPL_20251119_103045", reason: "security table" }), ok: [409] },
  { name: "GET /api/unknown", owner: "admin", path: "/api/unknown", init: () => ({}), ok: [404] },
];

/** Credentials that must never pass a route unless they are its own token. */
/** `malformed` ones are not a bearer header hono can read: it answers 400 (invalid_request), still no entry. */
function wrongCredentials(owner: Owner): Array<{ label: string; headers: Record<string, string>; query?: string; malformed?: true }> {
  const own = TOKENS[owner];
  const others = (Object.keys(TOKENS) as Owner[]).filter((k) => k !== owner);
  return [
    { label: "no token", headers: {} },
    { label: "wrong token", headers: { authorization: "Bearer not-the-token" } },
    { label: "empty bearer", headers: { authorization: "Bearer " }, malformed: true },
    ...others.map((o) => ({ label: `${o} token`, headers: { authorization: `Bearer ${TOKENS[o]}` } })),
    { label: "own token minus its last character", headers: { authorization: `Bearer ${own.slice(0, -1)}` } },
    { label: "own token plus a character", headers: { authorization: `Bearer ${own}x` } },
    { label: "own token upper-cased", headers: { authorization: `Bearer ${own.toUpperCase()}` } },
    { label: "own token as Basic", headers: { authorization: `Basic ${btoa(`${own}:`)}` }, malformed: true },
    { label: "own token without a scheme", headers: { authorization: own }, malformed: true },
    { label: "own token in a query string", headers: {}, query: `token=${own}&access_token=${own}` },
    { label: "own token in x-api-key", headers: { "x-api-key": own } },
    { label: "own token as a cookie", headers: { cookie: `ibkr_dashboard=${own}; token=${own}` } },
    { label: "two bearer tokens, the wrong one first", headers: { authorization: `Bearer ${TOKENS[others[0]!]}, Bearer ${own}` }, malformed: true },
  ];
}

function withQuery(path: string, query?: string): string {
  if (!query) return path;
  return `${path}${path.includes("?") ? "&" : "?"}${query}`;
}

describe("no route answers without its own secret", () => {
  for (const route of ROUTES) {
    it(`${route.name}: refuses every wrong credential, accepts its own`, async () => {
      const before = await lastSeq();
      for (const cred of wrongCredentials(route.owner)) {
        const init = route.init();
        const res = await hit(withQuery(route.path, cred.query), { ...init, headers: { ...(init.headers as Record<string, string>), ...cred.headers } });
        expect(cred.malformed ? [400, 401, 403] : [401, 403], `${route.name} with ${cred.label} answered ${res.status}`).toContain(res.status);
      }
      // Nothing refused reached the object: no audit row appeared but the refusal's own (issue 13:
      // a refused bearer token on /mcp is audited, never the token).
      const after = (await auditRows()).filter((r) => r.seq > before);
      expect(after.map((r) => r.action).filter((a) => a !== "mcp_token_refused")).toEqual([]);
      if (route.owner !== "mcp") expect(after).toEqual([]);
      const init = route.init();
      const own = await hit(route.path, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${TOKENS[route.owner]}` } });
      expect(route.ok, `${route.name} with its own token answered ${own.status}`).toContain(own.status);
    });
  }

  it("route-confusion paths never answer 2xx or upgrade without the admin/MCP/bridge token of the real route", async () => {
    const paths = ["/api/state/", "/API/state", "/%61pi/state", "//api/state", "/api//state", "/api/%2e%2e/mcp", "/api/./state", "/mcp/", "/MCP", "/%6dcp", "/bridge/", "/Bridge", "/api", "/api/", "/api%2fstate", "/dashboard/../api/state", "/dashboard/api/state", "/api/%zz", "/%zz/api/state", "/mcp%zz", "/api/state%00", "/api/state?%zz"];
    for (const path of paths)
      for (const cred of [{}, { authorization: `Bearer ${TOKENS.mcp}` }, { authorization: `Bearer ${TOKENS.bridge}` }]) {
        for (const init of [{ headers: cred }, { method: "POST", headers: { ...cred, ...MCP_HEADERS }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }) }, { headers: { ...cred, upgrade: "websocket" } }]) {
          const res = await hit(path, init);
          const leaked = (res.status >= 200 && res.status < 300) || res.status === 101;
          // The MCP token may reach /mcp itself when the URL parser normalises the path to it.
          const normalisedToMcp = new URL(`${ORIGIN}${path}`).pathname === "/mcp" && (cred as { authorization?: string }).authorization === `Bearer ${TOKENS.mcp}`;
          if (!normalisedToMcp) expect(leaked, `${init.method ?? "GET"} ${path} with ${JSON.stringify(cred)} answered ${res.status}`).toBe(false);
        }
      }
  });

  it("JSON answers of /mcp and /api carry nosniff and no-referrer headers, errors included", async () => {
    for (const [path, init] of [
      ["/api/state", { headers: admin }],
      ["/api/nope", { headers: admin }],
      ["/api/state", {}],
      ["/mcp", { method: "POST", headers: { ...MCP_HEADERS, authorization: `Bearer ${TOKENS.mcp}` }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }) }],
      ["/mcp", { method: "POST", headers: MCP_HEADERS, body: "{}" }],
    ] as const) {
      const res = await hit(path, init as RequestInit);
      expect(res.headers.get("x-content-type-options"), `${path} ${res.status}`).toBe("nosniff");
      expect(res.headers.get("referrer-policy"), `${path} ${res.status}`).toBe("no-referrer");
    }
  });

  it("the dashboard page without a session is the login form only: no CSRF token, no account data", async () => {
    for (const cred of [{}, { authorization: `Bearer ${TOKENS.mcp}` }, { authorization: `Bearer ${TOKENS.bridge}` }, { authorization: `Bearer ${TOKENS.admin}` }]) {
      const res = await hit("/dashboard", { headers: cred });
      const html = await res.text();
      expect(html).toContain('action="/dashboard/login"');
      expect(html).not.toContain("csrf-token");
      expect(html).not.toMatch(/net_liquidation|emergency_stop|IRON_CONDOR/);
    }
  });

  it("the dashboard session cookie opens neither /mcp nor /bridge", async () => {
    const { cookie } = await session();
    expect([401, 403]).toContain((await hit("/mcp", { method: "POST", headers: { ...MCP_HEADERS, cookie, origin: ORIGIN }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }) })).status);
    expect([401, 403]).toContain((await hit("/bridge", { headers: { cookie, upgrade: "websocket", origin: ORIGIN } })).status);
  });

  it("the login form refuses the MCP and bridge tokens and near misses of the admin token", async () => {
    for (const token of [TOKENS.mcp, TOKENS.bridge, TOKENS.admin.slice(0, -1), `${TOKENS.admin} `, TOKENS.admin.toUpperCase(), ""]) {
      const res = await hit("/dashboard/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN }, body: new URLSearchParams({ token }).toString() });
      expect(res.status, `login with ${JSON.stringify(token)}`).toBe(401);
      expect(res.headers.get("set-cookie")).toBeNull();
    }
  });
});

// ---- the dashboard session: cookie flags and CSRF ---------------------------------------------

async function session(): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const res = await hit("/dashboard/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN }, body: new URLSearchParams({ token: TOKENS.admin }).toString() });
  expect(res.status).toBe(303);
  const setCookie = res.headers.get("set-cookie") ?? "";
  const cookie = setCookie.split(";")[0]!;
  const page = await (await hit("/dashboard", { headers: { cookie } })).text();
  const csrf = /<meta name="csrf-token" content="([0-9a-f]{64})">/.exec(page)?.[1] ?? "";
  expect(csrf).toMatch(/^[0-9a-f]{64}$/);
  return { cookie, csrf, setCookie };
}

describe("the dashboard session", () => {
  it("sets a host-only HttpOnly, SameSite=Strict, Secure cookie on Path=/ that does not hold the token; logout clears it the same way", async () => {
    const { setCookie } = await session();
    const attributes = setCookie.split(";").slice(1).map((a) => a.trim().toLowerCase());
    expect(attributes).toContain("httponly");
    expect(attributes).toContain("samesite=strict");
    expect(attributes).toContain("secure");
    expect(attributes).toContain("path=/");
    expect(attributes.some((a) => a.startsWith("domain="))).toBe(false);
    for (const token of Object.values(TOKENS)) expect(setCookie).not.toContain(token);
    const out = await hit("/dashboard/logout", { method: "POST", headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" } });
    const cleared = (out.headers.get("set-cookie") ?? "").toLowerCase();
    expect(cleared).toMatch(/max-age=0/);
    expect(cleared).toContain("httponly");
    expect(cleared).toContain("samesite=strict");
  });

  const STATE_CHANGING = ROUTES.filter((r) => r.owner === "admin" && r.init().method === "POST");

  it("refuses every state-changing /api call made with the cookie from another site or without the CSRF token, and nothing changes", async () => {
    const { cookie, csrf } = await session();
    const before = await lastSeq();
    const stateBefore = await (await hit("/api/state", { headers: admin })).json();
    const attempts: Array<{ label: string; headers: Record<string, string>; contentType?: string }> = [
      { label: "evil Origin with the CSRF token", headers: { origin: "https://evil.test", "x-csrf-token": csrf } },
      { label: "Origin null with the CSRF token", headers: { origin: "null", "x-csrf-token": csrf } },
      { label: "look-alike Origin", headers: { origin: "https://edge.test.evil.test", "x-csrf-token": csrf } },
      { label: "http Origin of the same host", headers: { origin: "http://edge.test", "x-csrf-token": csrf } },
      { label: "same Origin without the CSRF token", headers: { origin: ORIGIN } },
      { label: "same Origin with an empty CSRF token", headers: { origin: ORIGIN, "x-csrf-token": "" } },
      { label: "same Origin with a wrong CSRF token", headers: { origin: ORIGIN, "x-csrf-token": csrf.replace(/^./, (c) => (c === "0" ? "1" : "0")) } },
      { label: "Sec-Fetch-Site cross-site, no Origin", headers: { "sec-fetch-site": "cross-site", "x-csrf-token": csrf } },
      { label: "Sec-Fetch-Site same-site (a sibling subdomain), no Origin", headers: { "sec-fetch-site": "same-site", "x-csrf-token": csrf } },
      { label: "neither Origin nor Sec-Fetch-Site", headers: { "x-csrf-token": csrf } },
      { label: "a form post from another site", headers: { origin: "https://evil.test" }, contentType: "application/x-www-form-urlencoded" },
      { label: "a text/plain post from another site", headers: { origin: "https://evil.test" }, contentType: "text/plain" },
    ];
    for (const route of STATE_CHANGING)
      for (const attempt of attempts) {
        const init = route.init();
        const res = await hit(route.path, { ...init, headers: { "content-type": attempt.contentType ?? "application/json", cookie, ...attempt.headers } });
        expect(res.status, `${route.name} with ${attempt.label} answered ${res.status}`).toBe(403);
      }
    expect(await lastSeq()).toBe(before);
    const stateAfter = await (await hit("/api/state", { headers: admin })).json();
    expect(stateAfter.emergency_stop).toEqual(stateBefore.emergency_stop);
    expect(stateAfter.shadow_mode).toBe(stateBefore.shadow_mode);
    // Control: the same cookie, this origin and its CSRF token do pass.
    const ok = await hit("/api/shadow-mode", { method: "POST", headers: { "content-type": "application/json", cookie, origin: ORIGIN, "x-csrf-token": csrf }, body: JSON.stringify({ on: false, reason: "csrf control" }) });
    expect(ok.status).toBe(200);
  });
});

// ---- limits that no input can raise -----------------------------------------------------------

const expiry = futureExpiry();
/** One long call at $6.00: worst-case loss $600, above MAX_TRADE_RISK. */
const sixHundredOrder = (extra: Record<string, unknown> = {}) => ({
  symbol: "AAPL", strategy: "long call", max_risk: 600, capital_required: 600,
  legs: [{ action: "BUY", quantity: 1, price: 6, contract: { symbol: "AAPL", expiry, strike: 100, right: "C" } }], ...extra,
});

describe("limits cannot be raised by any input", () => {
  it("every route and tool refuses or ignores limit-naming input; afterwards the limits are the code's and a $600 order is refused", async () => {
    // The account's own object (the Worker routes IBKR_ACCOUNT_ID "sim"), fed by a fake bridge.
    const edge = new Edge("sim");
    const bridge = await FakeBridge.connect(edge, { account: 100_000 });
    const raise = { max_trade_risk: 1e9, MAX_TRADE_RISK: 1e9, daily_loss_limit: 1e9, limits: { MAX_TRADE_RISK: 1e9, MAX_CONCENTRATION: 1 } };

    // MCP tools: extra keys are refused by the strict schemas; metadata is only data.
    for (const tool of ["place_order", "preview_order"]) {
      const refused = await callTool(tool, sixHundredOrder(raise));
      expect(refused.isError, tool).toBe(true);
    }
    for (const tool of ["get_safety_status", "health_check", "get_account", "list_trades", "cancel_order", "close_position"]) {
      const res = await callTool(tool, raise);
      expect(res.isError, `${tool} took limit-naming arguments`).toBe(true);
    }
    const withMetadata = await callTool("place_order", sixHundredOrder({ metadata: raise }));
    expect(withMetadata.isError).toBe(true);
    expect(withMetadata.structuredContent.violations.map((v: { check: string }) => v.check)).toContain("max_trade_risk");
    // Query strings and headers on /mcp.
    const viaQuery = await callTool("place_order", sixHundredOrder(), "?max_trade_risk=1000000000&MAX_TRADE_RISK=1e9&limits=%7B%7D");
    expect(viaQuery.isError).toBe(true);

    // Admin API: limit fields in every body are refused (strict bodies), and there is no limits route.
    for (const route of ROUTES.filter((r) => r.owner === "admin" && r.init().method === "POST")) {
      const body = JSON.parse(String(route.init().body));
      const res = await hit(`${route.path}?max_trade_risk=1e9`, { method: "POST", headers: { ...admin, "content-type": "application/json" }, body: JSON.stringify({ ...body, ...raise }) });
      expect(res.status, `${route.name} with limit fields answered ${res.status}`).toBe(400);
    }
    for (const method of ["GET", "POST", "PUT", "PATCH"]) {
      const res = await hit("/api/limits", { method, headers: { ...admin, "content-type": "application/json" }, ...(method === "GET" ? {} : { body: JSON.stringify(raise) }) });
      expect(res.status, `${method} /api/limits`).toBe(404);
    }
    await hit("/api/state?max_trade_risk=1e9&MAX_TRADE_RISK=1e9", { headers: { ...admin, "x-max-trade-risk": "1e9" } });

    // The limits are still exactly the constants, everywhere they are reported.
    const status = await callTool("get_safety_status", {});
    for (const [name, value] of Object.entries(LIMITS)) expect(status.structuredContent.hard_limits[name], name).toBe(value);
    const state = (await (await hit("/api/state", { headers: admin })).json()) as { limits: Array<{ name: string; limit: number }> };
    const tradeLimit = state.limits.find((l) => /trade/i.test(l.name));
    expect(tradeLimit?.limit).toBe(MAX_TRADE_RISK);
    const resource = await hit("/mcp", { method: "POST", headers: { ...MCP_HEADERS, authorization: `Bearer ${TOKENS.mcp}` }, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "resources/read", params: { uri: "ibkr://limits" } }) });
    expect(JSON.parse(((await resource.json()) as any).result.contents[0].text)).toEqual({ ...LIMITS });

    // A $600-risk order is refused by the per-trade limit, by how much, and never reaches the bridge...
    const refused = await callTool("place_order", sixHundredOrder());
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent.violations).toEqual([expect.objectContaining({ check: "max_trade_risk", value: 600, limit: MAX_TRADE_RISK })]);
    expect(bridge.sent("place")).toEqual([]);
    // ...while a $400 one in the same state goes out: the refusal is the limit, not a broken rig.
    const placed = await callTool("place_order", condorOrder());
    expect(placed.isError, JSON.stringify(placed.structuredContent)).toBeFalsy();
    expect(bridge.sent("place")).toHaveLength(1);
    bridge.close();
  });
});

// ---- fuzzed admin bodies ------------------------------------------------------------------------

describe("fuzzed admin API bodies", () => {
  it("every state-changing /api route answers hostile and near-valid bodies with a specific error or a valid answer, never a 5xx", async () => {
    const posts = ROUTES.filter((r) => r.owner === "admin" && r.init().method === "POST");
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: posts.length - 1 }),
        fc.oneof(
          fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
          fc.string({ maxLength: 100 }),
          fc.array(mutation, { minLength: 1, maxLength: 3 }).map((m) => JSON.stringify(mutate({ on: true, breaker: "drawdown", decision: "approve", reason: "fuzz", by: "fuzzer", cancel_orders: false }, m))),
        ),
        async (i, body) => {
          const route = posts[i]!;
          const res = await hit(route.path, { method: "POST", headers: { ...admin, "content-type": "application/json" }, body });
          expect(res.status, `${route.name} ${body.slice(0, 200)}`).toBeLessThan(500);
          if (res.status !== 200) {
            refused++;
            const answer = (await res.json()) as { error?: unknown };
            expect(typeof answer.error, `${route.name} ${res.status} without {error}`).toBe("string");
            expect(String(answer.error).length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 300, seed: FUZZ_SEED + 300, endOnFailure: true },
    );
    expect(refused).toBeGreaterThan(200);
    expect(await (await hit("/api/audit/verify", { headers: admin })).json()).toMatchObject({ ok: true });
    const status = await callTool("get_safety_status", {});
    for (const [name, value] of Object.entries(LIMITS)) expect(status.structuredContent.hard_limits[name], name).toBe(value);
  }, 60_000);
});

describe("fuzzed admin paths and queries", () => {
  it("approval ids and audit query strings of any shape get a specific 4xx or a valid answer, never a 5xx", async () => {
    const segment = fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom("..", "%2e%2e", "IRON_CONDOR_AAPL_20251119_103045%00", "a/b", "\u0000", "%", "%zz", "__proto__", "x".repeat(3_000)));
    await fc.assert(
      fc.asyncProperty(segment, fc.boolean(), async (id, raw) => {
        const res = await hit(`/api/approvals/${raw ? id : encodeURIComponent(id)}`, { method: "POST", headers: { ...admin, "content-type": "application/json" }, body: JSON.stringify({ decision: "approve", reason: "fuzz" }) });
        expect(res.status, id.slice(0, 80)).toBeLessThan(500);
        expect(res.status).not.toBe(200); // no trade waits for approval here
      }),
      { numRuns: 150, seed: FUZZ_SEED + 310, endOnFailure: true },
    );
    const value = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("-1", "1e309", "NaN", "0x10", "1001", "2.5", "", "9007199254740993"));
    await fc.assert(
      fc.asyncProperty(fc.record({ after: value, limit: value, action: value, actor: value }, { requiredKeys: [] }), async (query) => {
        const res = await hit(`/api/audit?${new URLSearchParams(query as Record<string, string>).toString()}`, { headers: admin });
        expect(res.status).toBeLessThan(500);
        const body = (await res.json()) as { rows?: unknown[]; error?: string };
        expect(res.status === 200 ? Array.isArray(body.rows) : typeof body.error === "string").toBe(true);
      }),
      { numRuns: 150, seed: FUZZ_SEED + 311, endOnFailure: true },
    );
  }, 60_000);
});

// ---- oversized bodies -------------------------------------------------------------------------

describe("oversized bodies are refused before parsing", () => {
  const big = "x".repeat(2 * 1024 * 1024);
  const stream = (bytes: number) => new ReadableStream<Uint8Array>({
    start(controller) {
      const chunk = new TextEncoder().encode("y".repeat(64 * 1024));
      for (let sent = 0; sent < bytes; sent += chunk.length) controller.enqueue(chunk);
      controller.close();
    },
  });

  it("a 2 MB POST to /mcp, every state-changing /api route and the login form gets 413, and the object records nothing", async () => {
    const before = await lastSeq();
    const mcpBody = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "place_order", arguments: { ...condorOrder(), metadata: { pad: big } } } });
    expect((await hit("/mcp", { method: "POST", headers: { ...MCP_HEADERS, authorization: `Bearer ${TOKENS.mcp}` }, body: mcpBody })).status).toBe(413);
    // Without a content-length (streamed): counted while read, still refused.
    expect((await hit("/mcp", { method: "POST", headers: { ...MCP_HEADERS, authorization: `Bearer ${TOKENS.mcp}` }, body: stream(2 * 1024 * 1024), duplex: "half" } as RequestInit)).status).toBe(413);
    for (const route of ROUTES.filter((r) => r.owner === "admin" && r.init().method === "POST")) {
      const body = JSON.stringify({ ...JSON.parse(String(route.init().body)), reason: big });
      const res = await hit(route.path, { method: "POST", headers: { ...admin, "content-type": "application/json" }, body });
      expect(res.status, route.name).toBe(413);
      const streamed = await hit(route.path, { method: "POST", headers: { ...admin, "content-type": "application/json" }, body: stream(2 * 1024 * 1024), duplex: "half" } as RequestInit);
      expect(streamed.status, `${route.name} streamed`).toBe(413);
    }
    const login = await hit("/dashboard/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN }, body: `token=${big}` });
    expect(login.status).toBe(413);
    expect(await lastSeq()).toBe(before);
    // And the object still serves.
    expect((await callTool("get_safety_status", {})).isError).toBeFalsy();
    expect(await (await hit("/api/audit/verify", { headers: admin })).json()).toMatchObject({ ok: true });
  });
});

// ---- tokens never echoed ----------------------------------------------------------------------

describe("tokens never appear in answers or audit rows", () => {
  it("a reason or argument holding a token is redacted in the audit, and no error message names a token", async () => {
    // (Not the emergency stop: its answer, /api/state and get_safety_status echo the stop's reason and
    // `by` as typed, so a token pasted there would be shown back — reported as a gap, not tested here.)
    await hit("/api/shadow-mode", { method: "POST", headers: { ...admin, "content-type": "application/json" }, body: JSON.stringify({ on: false, reason: `pasted ${TOKENS.bridge} by mistake`, by: TOKENS.mcp }) });
    await hit("/api/cancel-all", { method: "POST", headers: { ...admin, "content-type": "application/json" }, body: JSON.stringify({ reason: `again ${TOKENS.admin}` }) });
    await callTool("place_order", { ...condorOrder(), strategy: TOKENS.admin, metadata: { t: TOKENS.bridge } });
    await callTool("get_order_status", { order_id: TOKENS.admin });
    await hit(`/api/audit?action=${TOKENS.admin}&actor=${TOKENS.bridge}&after=${TOKENS.mcp}`, { headers: admin });
    await hit(`/api/approvals/${TOKENS.admin}`, { method: "POST", headers: { ...admin, "content-type": "application/json" }, body: JSON.stringify({ decision: "approve", reason: TOKENS.mcp }) });
    const rows = await auditRows();
    for (const row of rows) for (const token of Object.values(TOKENS)) expect(row.details_json, `audit row ${row.seq} ${row.action}`).not.toContain(token);
    expect(rows.some((r) => r.details_json.includes("[redacted]"))).toBe(true);
  });
});

afterAll(async () => {
  // Every answer and header the Worker gave in this file (refusals, errors, pages, exports).
  const exported = await bodyText(await SELF.fetch(`${ORIGIN}/api/audit/export`, { headers: admin }));
  expect(seen.length).toBeGreaterThan(300);
  for (const [name, token] of Object.entries(TOKENS)) {
    const where = seen.find((s) => s.answer.includes(token));
    expect(where === undefined && !exported.includes(token), `the ${name} token appears in the answer to ${where?.request ?? "the audit export"}: ${(where?.answer ?? "").slice(0, 400)}`).toBe(true);
  }
});
