// Audit rows anyone can cause without credentials are bounded (edge/audit/audit-flood.ts), and so are
// OAuth client registrations (edge/auth/registration-gate.ts), through the real Worker (SELF) into the
// real account Durable Object: a flood from one address writes the bound and then one summary
// with the exact count, another address has its own budget, the ceiling holds across many
// addresses, owner/admin/trading rows are written throughout, and the chain verifies.
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { AccountDO } from "../../edge/account-do";
import { appendAudit } from "../../edge/audit/audit";
import {
  auditUnauthenticated, FLOOD_WINDOW_MS, OVERFLOW_ADDRESS, ROWS_PER_CAUSE_AND_ADDRESS, ROWS_PER_WINDOW, TRACKED_PER_WINDOW, writeClosedFloodWindows,
} from "../../edge/audit/audit-flood";
import type { DeskContext } from "../../edge/store/desk-context";
import { REGISTRATION_WINDOW_MS, REGISTRATIONS_PER_ADDRESS } from "../../edge/auth/registration-gate";
import { condorOrder } from "./harness";
import { account, ADMIN, inAccount, lastSeq, MCP_HEADERS, ORIGIN, REDIRECT } from "./oauth-flow";


type Row = { seq: number; actor: string; action: string; details: Record<string, any> };


async function rowsAfter(seq: number): Promise<Row[]> {
  const res = await SELF.fetch(`${ORIGIN}/api/audit?limit=1000&after=${seq}`, { headers: ADMIN });
  const body = (await res.json()) as { rows: Array<{ seq: number; actor: string; action: string; details_json: string }> };
  return body.rows.map((r) => ({ seq: r.seq, actor: r.actor, action: r.action, details: JSON.parse(r.details_json) }));
}
async function verified(): Promise<void> {
  expect(await (await SELF.fetch(`${ORIGIN}/api/audit/verify`, { headers: ADMIN })).json()).toMatchObject({ ok: true });
}
/** Lets the open window end: its counts now belong to a closed window. */
const closeWindow = () => inAccount((sql) => void sql.exec("UPDATE audit_flood SET window_start_ms = window_start_ms - ?", FLOOD_WINDOW_MS));

function badToken(address: string, i: number): Promise<Response> {
  return SELF.fetch(`${ORIGIN}/mcp`, {
    method: "POST", headers: { ...MCP_HEADERS, authorization: `Bearer not:a:token-${i}`, "cf-connecting-ip": address },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
  });
}
function badCode(address: string, i: number): Promise<Response> {
  return SELF.fetch(`${ORIGIN}/oauth/token`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": address },
    body: new URLSearchParams({ grant_type: "authorization_code", code: `u:g:guess-${i}`, client_id: "no-such-client", redirect_uri: REDIRECT, code_verifier: "x".repeat(43) }),
  });
}
function register(address: string): Promise<Response> {
  return SELF.fetch(`${ORIGIN}/oauth/register`, {
    method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": address },
    body: JSON.stringify({ client_name: "Flood", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"], response_types: ["code"] }),
  });
}

beforeEach(async () => {
  // One account object serves the whole file: each test starts with no counts (rows stay).
  await inAccount((sql) => {
    sql.exec("DELETE FROM audit_flood");
    sql.exec("DELETE FROM oauth_registrations");
  });
});

describe("refused tokens", () => {
  it("a flood from one address writes the bound, then one summary row with the exact count; same 401s throughout", async () => {
    const from = await lastSeq();
    const flood = 50;
    for (let i = 0; i < flood; i++) {
      const res = await badToken("203.0.113.1", i);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
      await res.body?.cancel();
    }
    const written = (await rowsAfter(from)).filter((r) => r.action === "mcp_token_refused");
    expect(written).toHaveLength(ROWS_PER_CAUSE_AND_ADDRESS);
    expect(written.every((r) => r.details.client === "203.0.113.1")).toBe(true);
    expect(written.at(-1)!.details.audit_bound_reached).toBe("this cause and address");
    expect((await rowsAfter(from)).filter((r) => r.action === "audit_suppressed")).toEqual([]);

    await closeWindow();
    // The next request of any kind writes the closed window's summary, once.
    await rowsAfter(from);
    await rowsAfter(from);
    const summaries = (await rowsAfter(from)).filter((r) => r.action === "audit_suppressed");
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.details).toMatchObject({
      suppressed: flood - ROWS_PER_CAUSE_AND_ADDRESS, addresses: 1, addresses_exact: true,
      by_action: { mcp_token_refused: { rows: flood - ROWS_PER_CAUSE_AND_ADDRESS, addresses: 1 } },
    });
    await expect(inAccount((sql) => sql.exec("SELECT * FROM audit_flood").toArray())).resolves.toEqual([]);

    // A new window, a new budget.
    await (await badToken("203.0.113.1", 99)).body?.cancel();
    expect((await rowsAfter(summaries[0]!.seq)).filter((r) => r.action === "mcp_token_refused")).toHaveLength(1);
    await verified();
  });

  it("the count is written before the next allowed row of a later window", async () => {
    const from = await lastSeq();
    for (let i = 0; i < ROWS_PER_CAUSE_AND_ADDRESS + 3; i++) await (await badCode("203.0.113.2", i)).body?.cancel();
    await closeWindow();
    // Straight into the object's OAuth audit path: no other request runs first.
    await (await badCode("203.0.113.2", 1000)).body?.cancel();
    const rows = (await rowsAfter(from)).filter((r) => r.action === "audit_suppressed" || r.action === "oauth_token_refused");
    expect(rows.map((r) => r.action)).toEqual([...Array<string>(ROWS_PER_CAUSE_AND_ADDRESS).fill("oauth_token_refused"), "audit_suppressed", "oauth_token_refused"]);
    expect(rows.at(-2)!.details).toMatchObject({ suppressed: 3, addresses: 1, by_action: { oauth_token_refused: { rows: 3, addresses: 1 } } });
    await verified();
  });

  it("a second address has its own budget", async () => {
    const from = await lastSeq();
    for (let i = 0; i < 25; i++) {
      await (await badToken("203.0.113.3", i)).body?.cancel();
      await (await badToken("2001:db8:1:2::7", i)).body?.cancel();
    }
    const written = (await rowsAfter(from)).filter((r) => r.action === "mcp_token_refused");
    expect(written.filter((r) => r.details.client === "203.0.113.3")).toHaveLength(ROWS_PER_CAUSE_AND_ADDRESS);
    expect(written.filter((r) => r.details.client === "2001:db8:1:2::/64")).toHaveLength(ROWS_PER_CAUSE_AND_ADDRESS);
    await closeWindow();
    const summary = (await rowsAfter(from)).find((r) => r.action === "audit_suppressed")!;
    expect(summary.details).toMatchObject({ suppressed: 10, addresses: 2, by_action: { mcp_token_refused: { rows: 10, addresses: 2 } } });
    await verified();
  });
});

describe("every cause on the allowlist", () => {
  const causes: Array<{ action: string; status: number; send: (address: string, i: number) => Promise<Response> }> = [
    { action: "mcp_origin_refused", status: 403, send: (address) => SELF.fetch(`${ORIGIN}/mcp`, { method: "POST", headers: { ...MCP_HEADERS, origin: "https://evil.example", "cf-connecting-ip": address }, body: "{}" }) },
    { action: "form_origin_refused", status: 403, send: (address) => SELF.fetch(`${ORIGIN}/oauth/authorize`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example", "cf-connecting-ip": address }, body: "decision=approve" }) },
    { action: "oauth_authorize_refused", status: 400, send: (address, i) => SELF.fetch(`${ORIGIN}/oauth/authorize?response_type=code&client_id=nobody-${i}&redirect_uri=${encodeURIComponent(REDIRECT)}&code_challenge=${"a".repeat(43)}&code_challenge_method=S256`, { headers: { "cf-connecting-ip": address } }) },
    { action: "oauth_revocation_refused", status: 401, send: (address, i) => SELF.fetch(`${ORIGIN}/oauth/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": address }, body: new URLSearchParams({ token: `u:g:t-${i}`, client_id: "no-such-client" }) }) },
  ];
  for (const cause of causes)
    it(`${cause.action}: the same answer every time, at most ${ROWS_PER_CAUSE_AND_ADDRESS} rows per address`, async () => {
      const from = await lastSeq();
      for (let i = 0; i < ROWS_PER_CAUSE_AND_ADDRESS + 5; i++) {
        const res = await cause.send("203.0.113.77", i);
        expect(res.status).toBe(cause.status);
        await res.body?.cancel();
      }
      expect((await rowsAfter(from)).filter((r) => r.action === cause.action)).toHaveLength(ROWS_PER_CAUSE_AND_ADDRESS);
      await closeWindow();
      expect((await rowsAfter(from)).find((r) => r.action === "audit_suppressed")!.details.by_action).toEqual({ [cause.action]: { rows: 5, addresses: 1 } });
      await verified();
    });

  it("failed logins beyond the ceiling are counted, not written, and the lockout still counts them all", async () => {
    const from = await lastSeq();
    for (let a = 0; a < ROWS_PER_WINDOW / ROWS_PER_CAUSE_AND_ADDRESS; a++)
      for (let i = 0; i < ROWS_PER_CAUSE_AND_ADDRESS; i++) await (await badToken(`198.51.100.${100 + a}`, i)).body?.cancel();
    const address = "203.0.113.88";
    for (let i = 0; i < 3; i++) {
      const res = await SELF.fetch(`${ORIGIN}/dashboard/login`, {
        method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, "cf-connecting-ip": address },
        body: new URLSearchParams({ token: `wrong-${i}-xxxxxxxxxxxx` }).toString(),
      });
      expect(res.status).toBe(401);
      await res.body?.cancel();
    }
    expect((await rowsAfter(from)).filter((r) => r.action === "dashboard_login_failed")).toEqual([]);
    expect(await inAccount((sql) => sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM login_failures_by_client WHERE client = ?", address).one().n)).toBe(3);
    await closeWindow();
    expect((await rowsAfter(from)).find((r) => r.action === "audit_suppressed")!.details.by_action).toEqual({ dashboard_login_failed: { rows: 3, addresses: 1 } });
    await verified();
  });
});

describe("the ceiling across addresses", () => {
  it("holds over many addresses and causes, while owner, admin and trading rows are all written", async () => {
    const from = await lastSeq();
    const addresses = 30;
    const each = 5;
    for (let a = 0; a < addresses; a++)
      for (let i = 0; i < each; i++) {
        const res = a % 2 === 0 ? await badToken(`198.51.100.${a}`, i) : await badCode(`198.51.100.${a}`, i);
        expect(res.status).toBe(401);
        await res.body?.cancel();
      }
    const bounded = (await rowsAfter(from)).filter((r) => r.action === "mcp_token_refused" || r.action === "oauth_token_refused");
    expect(bounded).toHaveLength(ROWS_PER_WINDOW);
    expect(bounded.at(-1)!.details.audit_bound_reached).toBe("all addresses");

    // While the ceiling holds: the admin's stop, the agent's order (refused: no bridge) and the
    // owner's login are written, and one more refused token is not.
    const mark = await lastSeq();
    const stop = await SELF.fetch(`${ORIGIN}/api/emergency-stop`, { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify({ on: true, reason: "flood drill" }) });
    expect(stop.status).toBe(200);
    await SELF.fetch(`${ORIGIN}/api/emergency-stop`, { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify({ on: false, reason: "flood drill over" }) });
    const order = await SELF.fetch(`${ORIGIN}/mcp`, {
      method: "POST", headers: { ...MCP_HEADERS, authorization: "Bearer test-mcp-token" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "place_order", arguments: condorOrder() } }),
    });
    expect(order.status).toBe(200);
    const login = await SELF.fetch(`${ORIGIN}/dashboard/login`, {
      method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, "cf-connecting-ip": "203.0.113.200" },
      body: new URLSearchParams({ token: "test-admin-token" }).toString(),
    });
    expect(login.status).toBe(303);
    // A registration needs no credential either: it goes through (201) but its row is counted, not
    // written, once the ceiling is reached (issue 24: the clients it stores are bounded instead).
    expect((await register("203.0.113.201")).status).toBe(201);
    await (await badToken("192.0.2.1", 1)).body?.cancel();
    const during = (await rowsAfter(mark)).map((r) => r.action);
    expect(during).toEqual(expect.arrayContaining(["emergency_stop_set", "emergency_stop_cleared", "tool_call", "order_refused", "dashboard_login"]));
    expect(during).not.toContain("mcp_token_refused");
    expect(during).not.toContain("oauth_client_registered");

    await closeWindow();
    const summary = (await rowsAfter(from)).find((r) => r.action === "audit_suppressed")!;
    // 100 rows fill addresses 0..19; addresses 20..29 (five of each cause) are counted, and the registration.
    expect(summary.details).toMatchObject({
      suppressed: addresses * each - ROWS_PER_WINDOW + 2, addresses: 12, addresses_exact: true,
      by_action: { mcp_token_refused: { rows: 26, addresses: 6 }, oauth_token_refused: { rows: 25, addresses: 5 }, oauth_client_registered: { rows: 1, addresses: 1 } },
    });
    await verified();
  });

  it("the counting table stays bounded: past TRACKED_PER_WINDOW pairs, addresses are counted together, and every event is counted", async () => {
    const total = TRACKED_PER_WINDOW + 150;
    const summary = await runInDurableObject(account(), async (_o: AccountDO, state) => {
      const sql = state.storage.sql;
      let clock = Date.now();
      const written: string[] = [];
      const ctx = {
        sql, now: () => new Date(clock),
        audit: (actor: string, action: string, details: unknown) => (written.push(action), appendAudit(sql, actor, action, details).seq),
      } as unknown as DeskContext;
      for (let i = 0; i < total; i++) auditUnauthenticated(ctx, "oauth", "mcp_origin_refused", `10.${(i >> 8) & 255}.${i & 255}.1`, { origin: "https://evil.example" });
      const tracked = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM audit_flood").one().n;
      const overflow = sql.exec<{ suppressed: number }>("SELECT suppressed FROM audit_flood WHERE client = ?", OVERFLOW_ADDRESS).one().suppressed;
      clock += FLOOD_WINDOW_MS;
      writeClosedFloodWindows(ctx);
      const left = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM audit_flood").one().n;
      const row = sql.exec<{ details_json: string }>("SELECT details_json FROM audit WHERE action = 'audit_suppressed' ORDER BY seq DESC LIMIT 1").one();
      return { tracked, overflow, left, written: written.filter((a) => a === "mcp_origin_refused").length, details: JSON.parse(row.details_json) };
    });
    expect(summary.written).toBe(ROWS_PER_WINDOW);
    expect(summary.tracked).toBe(TRACKED_PER_WINDOW + 1);
    expect(summary.overflow).toBe(total - TRACKED_PER_WINDOW);
    expect(summary.left).toBe(0);
    expect(summary.details).toMatchObject({ suppressed: total - ROWS_PER_WINDOW, addresses_exact: false, addresses: TRACKED_PER_WINDOW - ROWS_PER_WINDOW + 1 });
    await verified();
  });
});

describe("client registration", () => {
  it(`${REGISTRATIONS_PER_ADDRESS} an hour per address, then 429 with Retry-After; another address still registers`, async () => {
    const from = await lastSeq();
    const statuses: number[] = [];
    let refused: Response | null = null;
    for (let i = 0; i < REGISTRATIONS_PER_ADDRESS + 3; i++) {
      const res = await register("203.0.113.50");
      statuses.push(res.status);
      if (res.status === 429) refused = res;
      else await res.body?.cancel();
    }
    expect(statuses).toEqual([...Array<number>(REGISTRATIONS_PER_ADDRESS).fill(201), 429, 429, 429]);
    const retry = Number(refused!.headers.get("retry-after"));
    expect(retry).toBeGreaterThan(REGISTRATION_WINDOW_MS / 1000 - 60);
    expect(retry).toBeLessThanOrEqual(REGISTRATION_WINDOW_MS / 1000);
    expect(await refused!.json()).toMatchObject({ error: "temporarily_unavailable", error_description: expect.stringContaining("from this address") });
    expect((await register("203.0.113.51")).status).toBe(201);

    const rows = await rowsAfter(from);
    expect(rows.filter((r) => r.action === "oauth_client_registered" && r.details.client === "203.0.113.50")).toHaveLength(REGISTRATIONS_PER_ADDRESS);
    expect(rows.filter((r) => r.action === "oauth_registration_refused").map((r) => r.details)).toEqual(
      Array.from({ length: 3 }, () => expect.objectContaining({ client: "203.0.113.50", status: 429, limit: "address" })),
    );
    // An hour later the address registers again.
    await inAccount((sql) => void sql.exec("UPDATE oauth_registrations SET at_ms = at_ms - ?", REGISTRATION_WINDOW_MS));
    expect((await register("203.0.113.50")).status).toBe(201);
    await verified();
  });

  // No cap for all addresses together any more (issue 24, item 5): a handful of addresses could
  // lock the owner out. Storage is bounded instead: registration-lockout.test.ts.
});
