// Issue 24, item 1, through the real Worker and the account's Durable Object (real SQLite): a
// holder of the bridge token alone, or anyone with no credential at all, cannot grow the object's
// storage past a fixed bound. Frames are bounded before they are parsed and never quoted; a
// refused socket is not heard again; `bridge_refused` is bounded per address; unproven sockets
// are capped per address and in all, and the real bridge still gets in; the storage used is shown
// in get_safety_status and the dashboard's state.
import { runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AccountDO } from "../../edge/account-do";
import { ROWS_PER_CAUSE_AND_ADDRESS, ROWS_PER_WINDOW } from "../../edge/audit/audit-flood";
import type { DeskContext } from "../../edge/store/desk-context";
import { MAX_UNPROVEN_SOCKETS, MAX_UNPROVEN_SOCKETS_PER_CLIENT } from "../../edge/link/bridge-sockets";
import { STORAGE_ALERT_BYTES, STORAGE_LIMIT_BYTES } from "../../edge/store/storage-figure";
import { ACCOUNT_ID, Edge, FakeBridge, waitFor } from "./harness";
import { account, ADMIN, audit, authorizeUrl, cookiesOf, inAccount, lastSeq, MCP_HEADERS, ORIGIN, pkce, REDIRECT, register } from "./oauth-flow";

const BRIDGE_AUTH = { authorization: "Bearer test-bridge-token" };
/** What a whole flood of every kind below may add to the object's SQLite file, at most. */
const FLOOD_STORAGE_BOUND = 2 * 1024 * 1024;

const databaseSize = () => inAccount((_sql, state) => state.storage.sql.databaseSize);

interface RawSocket { ws: WebSocket; frames: any[]; closed: Promise<number> }
async function bridgeSocket(address: string): Promise<RawSocket | number> {
  const res = await SELF.fetch(`${ORIGIN}/bridge`, { headers: { upgrade: "websocket", ...BRIDGE_AUTH, "cf-connecting-ip": address } });
  if (!res.webSocket) {
    await res.body?.cancel();
    return res.status;
  }
  const ws = res.webSocket;
  ws.accept();
  const frames: any[] = [];
  ws.addEventListener("message", (e) => frames.push(JSON.parse(e.data as string)));
  const closed = new Promise<number>((r) => ws.addEventListener("close", (e) => r(e.code)));
  return { ws, frames, closed };
}
async function opened(address: string): Promise<RawSocket> {
  const socket = await bridgeSocket(address);
  if (typeof socket === "number") throw new Error(`upgrade from ${address} answered ${socket}`);
  await waitFor(async () => socket.frames.some((f) => f.type === "challenge"), "challenge");
  return socket;
}
const quietClose = (s: RawSocket) => {
  try {
    s.ws.close(1000, "test done");
  } catch {
    // closed by the edge
  }
};
const hello = (fields: Record<string, unknown> = {}) => JSON.stringify({
  v: 1, type: "hello", bridge_version: "0.1.0", bridge_id: "bridge-flood-0001", account_id: ACCOUNT_ID, mode: "sim", last_seq: 0, signature: "c2ln",
  tws: { state: "connected", since: new Date().toISOString(), last_error: null, server_version: 193 }, ...fields,
});
const refusedSince = async (seq: number) => (await audit("bridge_refused")).filter((r) => r.seq > seq);

describe("bridge sockets that never prove the key", () => {
  it("a refused socket's later frames are dropped unheard: one bridge_refused row however many follow", async () => {
    const mark = await lastSeq();
    const socket = await opened("203.0.113.10");
    // All at once, as an attacker ignoring the close would: the edge has them queued before it closes.
    for (let i = 0; i < 50; i++) socket.ws.send(hello({ bridge_id: `bridge-flood-${String(i).padStart(4, "0")}` }));
    expect(await socket.closed).toBe(1008);
    await new Promise((r) => setTimeout(r, 200));
    const rows = await refusedSince(mark);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.details.client).toBe("203.0.113.10");
  });

  it("bounds every field (ids ≤ 64 characters) and frames before parsing, and never quotes what the caller sent", async () => {
    const cases: Array<[string, string]> = [
      ["a 900 KB account id", hello({ account_id: "A".repeat(900_000) })],
      ["a 65-character account id", hello({ account_id: "B".repeat(65) })],
      ["a 65-character bridge id", hello({ bridge_id: `bridge-${"c".repeat(58)}` })],
      ["a 65-character version", hello({ bridge_version: "d".repeat(65) })],
      ["a 10 KB frame of padding", hello({ padding: "e".repeat(10_000) })],
    ];
    for (const [i, [label, frame]] of cases.entries()) {
      const address = `203.0.113.${20 + i}`;
      const mark = await lastSeq();
      const socket = await opened(address);
      socket.ws.send(frame);
      expect(await socket.closed, label).toBe(1008);
      await new Promise((r) => setTimeout(r, 100));
      const rows = await refusedSince(mark);
      expect(rows, label).toHaveLength(1);
      const text = JSON.stringify(rows[0]!.details);
      expect(text.length, label).toBeLessThan(600);
      for (const sent of ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "cccccccccccccccccccccccccccc", "dddddddddddddddddddddddddddd", "eeeeeeeeeeeeeeeeeeeeeeeeeeee"]) expect(text, label).not.toContain(sent);
    }
  });

  it("bridge_refused is bounded per address like every row a caller without the key can cause", async () => {
    const address = "203.0.113.40";
    const mark = await lastSeq();
    for (let i = 0; i < ROWS_PER_CAUSE_AND_ADDRESS + 8; i++) {
      const socket = await opened(address);
      socket.ws.send(hello({ account_id: "another-account" }));
      await socket.closed;
    }
    await new Promise((r) => setTimeout(r, 100));
    const rows = await refusedSince(mark);
    expect(rows).toHaveLength(ROWS_PER_CAUSE_AND_ADDRESS);
    expect(rows.every((r) => r.details.client === address)).toBe(true);
    expect(rows.at(-1)!.details.audit_bound_reached).toBe("this cause and address");
  });

  it("caps unproven sockets per address (upgrade refused) and in all (the busiest address's oldest goes); the real bridge still gets in", async () => {
    const held: RawSocket[] = [];
    for (let i = 0; i < MAX_UNPROVEN_SOCKETS_PER_CLIENT; i++) held.push(await opened("203.0.113.50"));
    expect(await bridgeSocket("203.0.113.50")).toBe(429);
    // Many addresses together fill the object-wide cap and go past it: nobody new is refused for it.
    for (let i = 0; i < MAX_UNPROVEN_SOCKETS + 4; i++) held.push(await opened(`203.0.114.${Math.floor(i / 2)}`));
    const live = await inAccount((_sql, state) => state.getWebSockets("bridge").filter((ws) => (ws.deserializeAttachment() as { hello?: boolean; refused?: boolean } | null)?.hello !== true && (ws.deserializeAttachment() as { refused?: boolean } | null)?.refused !== true).length);
    expect(live).toBeLessThanOrEqual(MAX_UNPROVEN_SOCKETS);
    // The real bridge (its own address) connects and proves itself in the middle of it.
    const edge = new Edge(ACCOUNT_ID);
    const bridge = await FakeBridge.connect(edge);
    expect((await edge.admin("/api/health")).body.bridge.connected).toBe(true);
    bridge.close();
    for (const s of held) quietClose(s);
  });
});

describe("storage under a flood", () => {
  it("a flood through every unauthenticated route and the bridge route grows storage by at most a fixed bound; the same flood again adds nothing", async () => {
    const publicClient = await register("Flood Target");
    const addresses = Array.from({ length: 30 }, (_, i) => `192.0.2.${i + 1}`);
    const post = (path: string, address: string, init: RequestInit) => SELF.fetch(`${ORIGIN}${path}`, { method: "POST", ...init, headers: { ...(init.headers as Record<string, string>), "cf-connecting-ip": address } }).then((r) => r.body?.cancel());
    const form = (body: Record<string, string>) => ({ headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(body) });
    const registration = (redirects: string[]) => ({ headers: { "content-type": "application/json" }, body: JSON.stringify({ client_name: "Flood", redirect_uris: redirects, token_endpoint_auth_method: "none", grant_types: ["authorization_code"], response_types: ["code"] }) });

    async function flood(): Promise<void> {
      for (const a of addresses) {
        await Promise.all([
          post("/mcp", a, { headers: { ...MCP_HEADERS, authorization: `Bearer u:g:${crypto.randomUUID()}` }, body: "{}" }),
          post("/mcp", a, { headers: { ...MCP_HEADERS, authorization: "Bearer test-mcp-token", origin: "https://evil.example" }, body: "{}" }),
          post("/mcp", a, { headers: MCP_HEADERS, body: "{}" }),
          post("/oauth/token", a, form({ grant_type: "authorization_code", code: `u:g:${crypto.randomUUID()}`, client_id: publicClient, redirect_uri: REDIRECT, code_verifier: "v".repeat(43) })),
          post("/oauth/token", a, form({ grant_type: "refresh_token", refresh_token: `owner:${crypto.randomUUID()}:x`, client_id: publicClient })),
          post("/oauth/token", a, form({ token: `owner:${crypto.randomUUID()}:x`, token_type_hint: "refresh_token", client_id: publicClient })),
          post("/oauth/register", a, registration([REDIRECT])),
          post("/oauth/register", a, registration(["http://evil.example/cb"])),
          SELF.fetch(authorizeUrl(`no-such-client-${a}`, "c".repeat(43)), { headers: { "cf-connecting-ip": a } }).then((r) => r.body?.cancel()),
          ...Array.from({ length: 11 }, () => post("/dashboard/login", a, { headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN }, body: new URLSearchParams({ token: "wrong" }) })),
          SELF.fetch(`${ORIGIN}/api/state`, { headers: { "cf-connecting-ip": a } }).then((r) => r.body?.cancel()),
          SELF.fetch(`${ORIGIN}/bridge`, { headers: { upgrade: "websocket", "cf-connecting-ip": a } }).then((r) => r.body?.cancel()),
          SELF.fetch(`${ORIGIN}/approve/${"t".repeat(43)}`, { headers: { "cf-connecting-ip": a } }).then((r) => r.body?.cancel()),
        ]);
      }
      // The consent page's Deny needs no login (it grants nothing): each one is a row anyone can cause.
      for (let i = 0; i < 30; i++) {
        const page = await SELF.fetch(authorizeUrl(publicClient, (await pkce()).challenge), { headers: { "cf-connecting-ip": "192.0.2.200" } });
        const handle = /name="handle" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
        await post("/oauth/authorize", "192.0.2.200", { redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, cookie: cookiesOf(page) }, body: new URLSearchParams({ handle, decision: "deny" }) });
      }
      // The bridge token alone: 40 hellos of 900 KB on one socket, then junk after a refusal on more.
      const big = await opened("192.0.2.201");
      for (let i = 0; i < 40; i++) {
        try {
          big.ws.send(hello({ account_id: `${i}${"A".repeat(900_000)}` }));
        } catch {
          break; // the edge closed it
        }
      }
      await big.closed;
      for (const a of addresses.slice(0, 10)) {
        const s = await opened(a);
        for (let i = 0; i < 20; i++) s.ws.send(hello({ account_id: "other-account" }));
        await s.closed;
      }
    }

    const before = await databaseSize();
    const rowsBefore = await inAccount((sql) => sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM audit").one().n);
    await flood();
    await new Promise((r) => setTimeout(r, 300));
    const afterFirst = await databaseSize();
    await flood();
    await new Promise((r) => setTimeout(r, 300));
    const afterSecond = await databaseSize();
    const rowsAfter = await inAccount((sql) => sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM audit").one().n);

    expect(afterFirst - before, `first flood grew storage by ${afterFirst - before} bytes`).toBeLessThanOrEqual(FLOOD_STORAGE_BOUND);
    // Every bound was reached by the first flood: the second, as large, finds no room.
    expect(afterSecond - afterFirst, `second flood grew storage by ${afterSecond - afterFirst} bytes`).toBeLessThanOrEqual(8 * 1024);
    // Rows that anyone can cause: the hour's bound plus the few that always stand (registrations let through).
    expect(rowsAfter - rowsBefore).toBeLessThanOrEqual(ROWS_PER_WINDOW + 60);
    // And the agent's audit resource stays small.
    const read = await SELF.fetch(`${ORIGIN}/mcp`, { method: "POST", headers: { ...MCP_HEADERS, authorization: "Bearer test-mcp-token" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "resources/read", params: { uri: "ibkr://audit/recent" } }) });
    expect((await read.text()).length).toBeLessThan(200_000);
    const verified = await (await SELF.fetch(`${ORIGIN}/api/audit/verify`, { headers: ADMIN })).json();
    expect(verified).toMatchObject({ ok: true });
  }, 180_000);
});

describe("the storage figure", () => {
  it("get_safety_status and the dashboard's state give the database size, the alert threshold and the platform limit", async () => {
    const status = await SELF.fetch(`${ORIGIN}/mcp`, { method: "POST", headers: { ...MCP_HEADERS, authorization: "Bearer test-mcp-token" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "get_safety_status", arguments: {} } }) });
    const storage = ((await status.json()) as any).result.structuredContent.storage;
    const size = await databaseSize();
    expect(storage).toMatchObject({ alert_at_bytes: STORAGE_ALERT_BYTES, limit_bytes: STORAGE_LIMIT_BYTES, alert: false });
    expect(Math.abs(storage.database_bytes - size)).toBeLessThanOrEqual(64 * 1024);
    const state = (await (await SELF.fetch(`${ORIGIN}/api/state`, { headers: ADMIN })).json()) as any;
    expect(state.storage).toMatchObject({ alert_at_bytes: STORAGE_ALERT_BYTES, alert: false });
  });

  it("says so, in words, from the alert threshold on", async () => {
    const { storageStatus } = await import("../../edge/store/storage-figure");
    expect(storageStatus(STORAGE_ALERT_BYTES - 1)).toMatchObject({ alert: false, message: null });
    const full = storageStatus(STORAGE_ALERT_BYTES + 500_000_000);
    expect(full.alert).toBe(true);
    expect(full.message).toMatch(/1\.50 GB of the 10\.00 GB/);
  });
});

describe("per-address tracking tables", () => {
  it("failed logins from more addresses than TRACKED_LOGIN_ADDRESSES are counted in one shared bucket, so the table stays bounded", async () => {
    const { loginAttempt, TRACKED_LOGIN_ADDRESSES } = await import("../../edge/auth/login-gate");
    const { OVERFLOW_ADDRESS } = await import("../../edge/audit/audit-flood");
    const distinct = await runInDurableObject(account(), async (instance: AccountDO, state) => {
      const desk = (instance as unknown as { desk: DeskContext }).desk;
      state.storage.sql.exec("DELETE FROM login_failures_by_client");
      for (let i = 0; i < TRACKED_LOGIN_ADDRESSES + 200; i++) loginAttempt(desk, { client: `100.64.${Math.floor(i / 250)}.${i % 250}`, token_ok: false, session: null });
      return state.storage.sql.exec<{ n: number; overflow: number }>("SELECT COUNT(DISTINCT client) AS n, SUM(client = ?) AS overflow FROM login_failures_by_client", OVERFLOW_ADDRESS).one();
    });
    expect(distinct.n).toBeLessThanOrEqual(TRACKED_LOGIN_ADDRESSES + 1);
    // The shared bucket stops counting once it is locked: it holds the lock's count, no more.
    expect(distinct.overflow).toBeGreaterThan(0);
    expect(distinct.overflow).toBeLessThanOrEqual(10);
  });
});
