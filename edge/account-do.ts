// The Durable Object of one IBKR account: the single decision point and its SQLite state.
// Serves MCP (Streamable HTTP: stateless, or a session when the client can confirm orders by
// elicitation — edge/mcp/mcp-http.ts), the bridge WebSocket
// and the dashboard live socket (hibernation API), and the admin API.
import { DurableObject } from "cloudflare:workers";
import { Event, Hello, PROTOCOL_VERSION, Response as BridgeResponse } from "../shared/protocol";
import { handleAdmin } from "./dashboard/admin-api";
import { appendAudit } from "./audit/audit";
import { auditUnauthenticated, writeClosedFloodWindows } from "./audit/audit-flood";
import { applyEvent, lastEventSeq, storeEventSeq } from "./ledger/bridge-events";
import { HELLO_TIMEOUT_MS, importPinnedKey, newChallenge, verifyHello, type PinnedKey } from "./link/bridge-identity";
import { BridgeLink, type BridgeAttachment } from "./link/bridge-link";
import { MAX_BRIDGE_FRAME_CHARS, MAX_UNPROVEN_FRAME_CHARS, MAX_UNPROVEN_SOCKETS, MAX_UNPROVEN_SOCKETS_PER_CLIENT, unprovenSockets, victimOfCap } from "./link/bridge-sockets";
import { clientAddress, UNKNOWN_CLIENT } from "./http/client-address";
import { checkBreakers } from "./safety/breakers";
import { sessionSocketTag } from "./auth/dashboard-sessions";
import { DASHBOARD_SESSION_HEADER } from "./auth/session-cookie";
import type { DeskContext, Settings } from "./store/desk-context";
import { forgetKvReads, setKv } from "./store/kv";
import { handleInternal } from "./auth/internal-routes";
import type { Env } from "./http/env";
import { McpHttp } from "./mcp/mcp-http";
import { buildMcpServer } from "./mcp/mcp-server";
import { checkGrant, mcpAccess } from "./auth/oauth-grants";
import { expireApprovals } from "./desk/order-desk";
import { needsReconcile, reconcile } from "./ledger/reconcile";
import { hasPendingModifies } from "./ledger/pending-modify";
import { redact, redactedJsonBody, redactJsonRequest, secretsOf } from "./http/redact";
import { emergencyStopFrame, twsHealth, truthy } from "./safety/safety-state";
import { COLUMN_MIGRATIONS, SCHEMA } from "./store/schema";
import { advanceTestClock, startTestClock, TEST_CLOCK_ROUTE, testClockSetting } from "./dashboard/test-clock";

const PING_EVERY_MS = 10_000;
const DEAD_LINK_MS = 30_000;
/** The longest wait between re-checks of an order reconciliation could not settle. */
const RECHECK_MAX_MS = 5 * 60_000;

export class AccountDO extends DurableObject<Env> {
  private readonly link: BridgeLink;
  private readonly desk: DeskContext;
  /** MCP over HTTP: stateless, or in-memory sessions for clients that can confirm orders (lost on eviction). */
  private readonly mcp: McpHttp;
  private readonly secrets: string[];
  /** Tests only (TEST_CLOCK): how far ctx.now() runs from the machine's clock. */
  private readonly movableClock: boolean;
  private clockShiftMs = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const clock = testClockSetting(env);
    this.movableClock = clock.movable;
    ctx.blockConcurrencyWhile(async () => {
      for (const stmt of SCHEMA) ctx.storage.sql.exec(stmt);
      for (const stmt of COLUMN_MIGRATIONS) {
        try {
          ctx.storage.sql.exec(stmt);
        } catch (error) {
          if (!/duplicate column/i.test((error as Error).message)) throw error;
        }
      }
      // Without the test var nothing stored is read: production runs on the machine's clock.
      if (clock.movable) this.clockShiftMs = startTestClock(ctx.storage.sql, clock);
    });
    this.link = new BridgeLink(ctx);
    this.secrets = secretsOf(env);
    const allowed = (env.ALLOWED_SYMBOLS ?? "").split(",").map((s) => s.trim().toUpperCase()).filter(Boolean);
    const settings: Settings = {
      accountId: env.IBKR_ACCOUNT_ID,
      readOnly: truthy(env.READ_ONLY),
      allowedSymbols: allowed.length ? allowed : null,
      shadowDefault: truthy(env.SHADOW_MODE),
    };
    this.desk = {
      sql: ctx.storage.sql,
      link: this.link,
      settings,
      now: this.movableClock ? () => new Date(Date.now() + this.clockShiftMs) : () => new Date(),
      clockShiftMs: () => this.clockShiftMs,
      audit: (actor, action, details) => this.audit(actor, action, details),
      writeLog: (kind, message, details) => {
        if (!this.link.socket()) return;
        // The bridge writes these to files on the trading box: never a token.
        const scrubbed = redact({ message, details }, this.secrets);
        this.link.request("write_log", { kind, at: new Date().toISOString(), ...scrubbed }).catch(() => undefined);
      },
      closeDashboardSockets: (tag, reason) => {
        const sockets = this.ctx.getWebSockets(tag).filter((ws) => !this.isBridge(ws));
        for (const ws of sockets) {
          try {
            ws.close(4401, reason.slice(0, 120));
          } catch {
            // already closing
          }
        }
        return sockets.length;
      },
    };
    this.mcp = new McpHttp((request, era) => buildMcpServer(this.desk, mcpAccess(request), era));
  }

  /** Appends to the audit chain (tokens redacted) and tells every dashboard socket. */
  private audit(actor: string, action: string, details: unknown): number {
    const row = appendAudit(this.ctx.storage.sql, actor, action, redact(details ?? {}, this.secrets));
    const note = JSON.stringify({ type: "changed", seq: row.seq });
    for (const ws of this.ctx.getWebSockets("dashboard")) {
      try {
        ws.send(note);
      } catch {
        // A closing dashboard socket misses one notification; it refetches on reconnect.
      }
    }
    return row.seq;
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    expireApprovals(this.desk);
    checkBreakers(this.desk);
    writeClosedFloodWindows(this.desk);
    if (url.pathname === "/mcp") return this.handleMcp(request);
    if (url.pathname === "/bridge") return this.acceptSocket(request, "bridge");
    if (url.pathname === "/api/live") return this.acceptSocket(request, "dashboard");
    // Admin bodies are scrubbed of the tokens where they enter (reasons, names).
    if (url.pathname.startsWith("/api/")) {
      const scrubbed = await redactJsonRequest(request, this.secrets);
      // Without TEST_CLOCK this falls to handleAdmin's answer to an unknown route.
      if (this.movableClock && url.pathname === TEST_CLOCK_ROUTE && request.method === "POST") {
        return advanceTestClock(this.desk, scrubbed, (shiftMs) => (this.clockShiftMs = shiftMs));
      }
      return handleAdmin(this.desk, scrubbed, url);
    }
    // Reached only from the Worker's own login and session code: the Worker forwards no outside path here.
    const internal = await handleInternal(this.desk, request, url);
    if (internal) return internal;
    return new Response("not found", { status: 404 });
  }

  // Hibernation API: the socket outlives this instance; its hello state lives in the attachment.
  private async acceptSocket(request: Request, tag: "bridge" | "dashboard"): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("expected websocket", { status: 426 });
    const client = clientAddress(request.headers);
    if (tag === "bridge") {
      // Nothing is accepted past the caps: a token holder without the key holds a few sockets at most.
      const unproven = unprovenSockets(this.ctx.getWebSockets("bridge"));
      if (unproven.filter((u) => u.client === client).length >= MAX_UNPROVEN_SOCKETS_PER_CLIENT) {
        auditUnauthenticated(this.desk, "bridge", "bridge_refused", client, { reason: `upgrade refused: ${MAX_UNPROVEN_SOCKETS_PER_CLIENT} sockets from this address have not proven the bridge key yet`, claimed_bridge_id: null, client });
        return new Response(`too many bridge sockets from this address have not proven the bridge key (at most ${MAX_UNPROVEN_SOCKETS_PER_CLIENT})`, { status: 429, headers: { "retry-after": "5" } });
      }
      if (unproven.length >= MAX_UNPROVEN_SOCKETS) {
        const victim = victimOfCap(unproven);
        if (victim) this.refuseBridge(victim.ws, `closed to make room: more than ${MAX_UNPROVEN_SOCKETS} sockets had not proven the bridge key`, null);
      }
    }
    const pair = new WebSocketPair();
    // A dashboard socket opened with a session cookie is tagged with it, so logout closes it.
    const session = tag === "dashboard" ? request.headers.get(DASHBOARD_SESSION_HEADER) : null;
    await this.adoptSocket(pair[1], session && /^[0-9a-f]{64}$/.test(session) ? [tag, "session", sessionSocketTag(session)] : [tag], client);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /**
   * Takes an accepted socket on: a bridge socket is sent a fresh challenge and must prove itself
   * before the alarm's deadline. Public for the deterministic simulation (test/dst/), which hands
   * the object sockets of its own instead of a WebSocketPair.
   */
  async adoptSocket(ws: WebSocket, tags: string[], client: string): Promise<void> {
    this.ctx.acceptWebSocket(ws, tags);
    if (!tags.includes("bridge")) return;
    // The edge speaks first: a fresh challenge the bridge must sign in its hello.
    const challenge = newChallenge(this.env.IBKR_ACCOUNT_ID);
    const now = Date.now();
    ws.serializeAttachment({ hello: false, connection_id: challenge.connection_id, nonce: challenge.nonce, accepted_ms: now, client } satisfies BridgeAttachment);
    ws.send(JSON.stringify(challenge));
    // Closed by the alarm if it has not proven itself by then.
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > now + HELLO_TIMEOUT_MS) await this.ctx.storage.setAlarm(now + HELLO_TIMEOUT_MS);
  }

  private pinned: Promise<PinnedKey> | null = null;
  private pinnedKey(): Promise<PinnedKey> {
    this.pinned ??= importPinnedKey(this.env.BRIDGE_PUBLIC_KEY);
    return this.pinned;
  }

  /** The reconciliation under way, so a burst of late answers starts one, not many. */
  private reconciling: Promise<unknown> | null = null;
  /** Asked for while one ran: what it read may predate the news (TWS re-synced), so run once more. */
  private reconcileAgain = false;

  private reconcileOnce(afterCurrent = false): void {
    if (this.reconciling) {
      this.reconcileAgain ||= afterCurrent;
      return;
    }
    this.startReconcile();
  }

  /** Starts a reconciliation now (a new link always gets its own), then the one asked for meanwhile. */
  private startReconcile(): void {
    const run: Promise<unknown> = reconcile(this.desk).finally(() => {
      if (this.reconciling !== run) return;
      this.reconciling = null;
      if (this.reconcileAgain) {
        this.reconcileAgain = false;
        this.startReconcile();
      }
    });
    this.reconciling = run;
  }

  /** When the alarm may next reconcile for unsettled orders, and the wait after that one (doubling). */
  private recheck = { atMs: 0, waitMs: PING_EVERY_MS };

  /**
   * An order left Unknown (the bridge's own ack timeout answered first, so no late answer comes) or
   * finished unseen while TWS was away is re-checked on the alarm until TWS settles it: at once,
   * then at doubling intervals up to RECHECK_MAX_MS, so an order no reconciliation can settle does
   * not add audit rows on every tick.
   */
  private recheckUnsettled(): void {
    const sql = this.ctx.storage.sql;
    if (!needsReconcile(sql)) {
      this.recheck = { atMs: 0, waitMs: PING_EVERY_MS };
      return;
    }
    // A second of slack: alarms fire about every PING_EVERY_MS, not to the millisecond.
    if (twsHealth(sql)?.state === "down" || Date.now() + 1_000 < this.recheck.atMs) return;
    this.recheck = { atMs: Date.now() + this.recheck.waitMs, waitMs: Math.min(this.recheck.waitMs * 2, RECHECK_MAX_MS) };
    this.reconcileOnce();
  }

  private isBridge(ws: WebSocket): boolean {
    return this.ctx.getTags(ws).includes("bridge");
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (!this.isBridge(ws)) return; // dashboards only listen
    const attachment = ws.deserializeAttachment() as BridgeAttachment | null;
    // A replaced link's late frames are stale: its successor owns the account now. A refused
    // socket is not heard again, whatever its peer keeps sending after the close.
    if (attachment?.replaced || attachment?.refused) return;
    // Bounded before anything reads it: a socket that has not proven the key sends a hello, no more.
    const chars = typeof message === "string" ? message.length : message.byteLength;
    if (!attachment?.hello && chars > MAX_UNPROVEN_FRAME_CHARS) return this.refuseBridge(ws, `first frame over ${MAX_UNPROVEN_FRAME_CHARS} characters: not a hello`, null);
    if (chars > MAX_BRIDGE_FRAME_CHARS) {
      this.audit("bridge", "bridge_frame_invalid", { type: "oversize", chars, limit: MAX_BRIDGE_FRAME_CHARS });
      return this.closeBridge(ws, `frame over ${MAX_BRIDGE_FRAME_CHARS} characters`);
    }
    let frame: { type?: unknown; t?: unknown } & Record<string, unknown>;
    try {
      frame = JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message));
    } catch {
      if (!attachment?.hello) return this.refuseBridge(ws, "frames must be JSON", null, 1003);
      ws.close(1003, "frames must be JSON");
      return;
    }
    if (!attachment?.hello) return this.onHello(ws, attachment, frame);
    // A link accepted before bridges proved a key (an older deployment) must prove one now.
    if (!attachment.key_id) return this.refuseBridge(ws, "link from before bridge identity: reconnect and prove the key", attachment.bridge_id ?? null);
    ws.serializeAttachment({ ...attachment, last_frame_ms: Date.now() });

    // JSON.parse("null") is valid JSON but no frame: it must be refused like any other, not throw.
    switch (frame?.type) {
      case "event":
        return this.onEvent(ws, attachment, frame);
      case "response": {
        const parsed = BridgeResponse.safeParse(frame);
        if (!parsed.success) this.audit("bridge", "bridge_frame_invalid", { type: "response", issue: parsed.error.issues[0]?.message ?? null });
        else if (!this.link.settle(parsed.data)) {
          this.audit("bridge", "late_response", { id: parsed.data.id, ok: parsed.data.ok, code: parsed.data.ok ? null : parsed.data.error.code });
          // A late answer means a timed-out request was still being worked on: if any order is
          // unconfirmed, settle it now rather than at the next reconnect, which may never come.
          if (hasUnconfirmedOrders(this.ctx.storage.sql)) this.reconcileOnce();
        }
        return;
      }
      case "ping":
        sendFrame(ws, JSON.stringify({ v: PROTOCOL_VERSION, type: "pong", t: typeof frame.t === "number" ? frame.t : Date.now() }));
        return;
      case "pong":
        this.link.settlePong(frame.t);
        return;
      default:
        this.audit("bridge", "bridge_frame_invalid", { type: String(frame?.type) });
    }
  }

  /**
   * Refuses a socket that did not prove itself, once: audited within the per-address bound of
   * edge/audit/audit-flood.ts (never its token, signature or any text it sent — `reason` is ours, the
   * claimed id passed its schema), closed, and from now on not heard.
   */
  private refuseBridge(ws: WebSocket, reason: string, claimedBridgeId: string | null, code = 1008): void {
    const a = ws.deserializeAttachment() as BridgeAttachment | null;
    if (a?.refused) return;
    ws.serializeAttachment({ ...(a ?? { hello: false }), refused: true } satisfies BridgeAttachment);
    const client = a?.client ?? UNKNOWN_CLIENT;
    auditUnauthenticated(this.desk, "bridge", "bridge_refused", client, { reason, claimed_bridge_id: claimedBridgeId, client });
    try {
      ws.close(code, reason.slice(0, 120));
    } catch {
      // already closing
    }
  }

  private async onHello(ws: WebSocket, attachment: BridgeAttachment | null, frame: unknown): Promise<void> {
    // A real bridge sends nothing between its hello and the welcome.
    if (attachment?.verifying) return this.refuseBridge(ws, "frame sent before the hello was answered", null);
    // The first frame must be a signed hello for this account; anything else closes the link.
    const hello = Hello.safeParse(frame);
    if (!hello.success || hello.data.account_id !== this.env.IBKR_ACCOUNT_ID) {
      return this.refuseBridge(
        ws,
        hello.success ? `hello for another account than the one this edge serves (${this.env.IBKR_ACCOUNT_ID})` : "first frame was not a valid signed hello",
        hello.success ? hello.data.bridge_id : null,
      );
    }
    const h = hello.data;
    if (!attachment?.connection_id || !attachment.nonce) return this.refuseBridge(ws, "no challenge was issued to this socket", h.bridge_id);
    ws.serializeAttachment({ ...attachment, verifying: true } satisfies BridgeAttachment);
    const pinned = await this.pinnedKey();
    const proven = pinned.ok && (await verifyHello(pinned.key, { account_id: this.env.IBKR_ACCOUNT_ID, connection_id: attachment.connection_id, nonce: attachment.nonce }, h));
    if (ws.readyState !== WebSocket.OPEN) return;
    if (!pinned.ok) return this.refuseBridge(ws, pinned.reason, h.bridge_id);
    if (!proven) return this.refuseBridge(ws, "hello not signed by the bridge key pinned in BRIDGE_PUBLIC_KEY", h.bridge_id);
    // From here on synchronous: the proven bridge takes over in one turn.
    // One bridge per account: the newest proven bridge replaces any older proven link.
    const replaced = this.ctx.getWebSockets("bridge").filter((other) => other !== ws && (other.deserializeAttachment() as BridgeAttachment | null)?.hello === true);
    for (const other of replaced) {
      other.serializeAttachment({ ...((other.deserializeAttachment() as BridgeAttachment | null) ?? { hello: false }), replaced: true });
      this.link.failSocket(other, "the bridge link was replaced by a newer bridge before answering");
      other.close(1000, "replaced by a newer bridge");
    }
    const sql = this.ctx.storage.sql;
    const stream = streamKey(pinned.id, h.bridge_id);
    const stored = lastEventSeq(sql, stream);
    // The bridge drops every event up to the welcome's seq: never tell it more than it numbered,
    // or events the edge never applied would be dropped (resending a few is harmless).
    const lastSeq = Math.min(stored, h.last_seq);
    if (lastSeq < stored) {
      storeEventSeq(sql, stream, lastSeq);
      this.audit("bridge", "event_seq_rewound", { bridge_id: h.bridge_id, stored_seq: stored, bridge_last_seq: h.last_seq });
    }
    const before = twsHealth(sql);
    setKv(sql, "tws_health", h.tws);
    this.audit("bridge", replaced.length > 0 ? "bridge_replaced" : "bridge_connected", {
      bridge_id: h.bridge_id, bridge_version: h.bridge_version, mode: h.mode, replaced: replaced.length, tws: h.tws.state, tws_before: before?.state ?? null, last_event_seq: lastSeq,
    });
    ws.serializeAttachment({ hello: true, key_id: pinned.id, bridge_id: h.bridge_id, bridge_version: h.bridge_version, mode: h.mode, since: new Date().toISOString(), last_frame_ms: Date.now() } satisfies BridgeAttachment);
    sendFrame(ws, JSON.stringify({ v: PROTOCOL_VERSION, type: "welcome", last_event_seq: lastSeq }));
    // Before any request on this link: a stop set while the bridge was away must reach it first.
    sendFrame(ws, emergencyStopFrame(this.ctx.storage.sql));
    this.startReconcile();
    // An earlier alarm (another socket's hello deadline) stays: the alarm pings the link too.
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > Date.now() + PING_EVERY_MS) await this.ctx.storage.setAlarm(Date.now() + PING_EVERY_MS);
  }

  private onEvent(ws: WebSocket, attachment: BridgeAttachment, frame: unknown): void {
    const parsed = Event.safeParse(frame);
    if (!parsed.success) {
      this.audit("bridge", "bridge_frame_invalid", { type: "event", event: (frame as { event?: unknown }).event ?? null, issue: parsed.error.issues[0]?.message ?? null });
      return;
    }
    const event = parsed.data as Event;
    const sql = this.ctx.storage.sql;
    const bridgeId = attachment.bridge_id!;
    // Per proven identity: only a socket that proved the pinned key has a stream to advance.
    const stream = streamKey(attachment.key_id!, bridgeId);
    const last = lastEventSeq(sql, stream);
    if (event.seq <= last) {
      // Already stored (a resend): acknowledge again, change nothing.
      sendFrame(ws, JSON.stringify({ v: PROTOCOL_VERSION, type: "ack", seq: last }));
      return;
    }
    if (event.seq !== last + 1) {
      // Acks are cumulative, so storing past a gap would acknowledge the missing events. Drop the
      // link instead: the bridge reconnects and resends everything after last_event_seq, in order.
      this.audit("bridge", "event_gap", { bridge_id: bridgeId, expected_seq: last + 1, got_seq: event.seq });
      this.closeBridge(ws, `event sequence gap: expected ${last + 1}`);
      return;
    }
    try {
      // All of one event or none of it: a half-applied event would be acked and never resent.
      this.ctx.storage.transactionSync(() => {
        applyEvent(this.desk, event);
        storeEventSeq(sql, stream, event.seq);
      });
    } catch (error) {
      // Its writes were undone: values read or written inside it this turn are no longer stored.
      forgetKvReads();
      this.audit("edge", "event_failed", { seq: event.seq, event: event.event, message: (error as Error).message });
      this.closeBridge(ws, "event could not be stored; reconnect and resend");
      return;
    }
    sendFrame(ws, JSON.stringify({ v: PROTOCOL_VERSION, type: "ack", seq: event.seq }));
    // TWS came back: settle the ledger against what it holds now, as on a link reconnect.
    if (event.event === "tws_resynced") this.reconcileOnce(true);
  }

  /** Drops a bridge link on purpose (the bridge reconnects with backoff). */
  private closeBridge(ws: WebSocket, reason: string): void {
    this.onSocketGone(ws, reason);
    try {
      ws.close(1011, reason.slice(0, 120));
    } catch {
      // already closing
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.onSocketGone(ws, `closed (${code}${reason ? ` ${reason}` : ""})`);
    try {
      ws.close(1000, "closing"); // completes the close handshake, or the peer waits for it
    } catch {
      // already closed
    }
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.onSocketGone(ws, `error (${(error as Error)?.message ?? "unknown"})`);
  }

  private onSocketGone(ws: WebSocket, how: string): void {
    if (!this.isBridge(ws)) return;
    this.link.failSocket(ws, `the bridge link ${how} before answering`);
    const a = ws.deserializeAttachment() as (BridgeAttachment & { replaced?: boolean; gone?: boolean }) | null;
    if (a?.hello && !a.replaced && !a.gone) {
      ws.serializeAttachment({ ...a, gone: true });
      this.audit("bridge", "bridge_disconnected", { bridge_id: a.bridge_id, how });
    }
  }

  /**
   * Closes bridge sockets that did not prove themselves in time; while a bridge is connected,
   * pings it every 10 s and drops it after 30 s of silence; expires approvals.
   */
  override async alarm(): Promise<void> {
    expireApprovals(this.desk);
    writeClosedFloodWindows(this.desk);
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const other of this.ctx.getWebSockets("bridge")) {
      const a = other.deserializeAttachment() as BridgeAttachment | null;
      if (a?.hello || a?.refused || other.readyState !== WebSocket.OPEN) continue;
      const deadline = (a?.accepted_ms ?? 0) + HELLO_TIMEOUT_MS;
      if (deadline <= now) this.refuseBridge(other, `no signed hello within ${HELLO_TIMEOUT_MS / 1000} s`, null);
      else next = Math.min(next, deadline);
    }
    const ws = this.link.socket();
    if (ws) {
      this.recheckUnsettled();
      const a = ws.deserializeAttachment() as BridgeAttachment;
      if (now - (a.last_frame_ms ?? 0) > DEAD_LINK_MS) {
        // A half-open link looks connected forever; the bridge reconnects when it notices.
        this.closeBridge(ws, `silent for more than ${DEAD_LINK_MS / 1000} s`);
      } else {
        try {
          ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "ping", t: now }));
        } catch {
          // The close handler records the loss.
        }
        next = Math.min(next, now + PING_EVERY_MS);
      }
    }
    if (Number.isFinite(next)) await this.ctx.storage.setAlarm(next);
  }

  /** Tool arguments (reasons, strategy, metadata) are scrubbed of the tokens before any tool sees them. */
  private async handleMcp(request: Request): Promise<Response> {
    const revoked = checkGrant(this.desk, request);
    if (revoked) {
      await request.arrayBuffer().catch(() => undefined);
      return revoked;
    }
    const { request: scrubbed, body } = await redactedJsonBody(request, this.secrets);
    return this.mcp.handle(scrubbed, body);
  }
}

/** A frame to a socket that closed meanwhile is dropped, not thrown: the peer reconnects and resends. */
function sendFrame(ws: WebSocket, text: string): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(text);
}

/** Event seqs are kept per proven key and bridge process. */
function streamKey(keyId: string, bridgeId: string): string {
  return `${keyId}:${bridgeId}`;
}

/** An order whose send, or a modify whose answer, was lost: a late answer means TWS can tell now. */
function hasUnconfirmedOrders(sql: SqlStorage): boolean {
  return hasPendingModifies(sql) || sql.exec("SELECT 1 FROM orders WHERE status = 'Unknown' LIMIT 1").toArray().length > 0;
}
