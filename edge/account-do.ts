// The Durable Object of one IBKR account: the single decision point and its SQLite state.
// Serves MCP (Streamable HTTP: stateless, or a session when the client can confirm orders by
// elicitation — edge/mcp-http.ts), the bridge WebSocket
// and the dashboard live socket (hibernation API), and the admin API.
import { DurableObject } from "cloudflare:workers";
import { Event, Hello, PROTOCOL_VERSION, Response as BridgeResponse } from "../shared/protocol";
import { handleAdmin } from "./admin-api";
import { appendAudit } from "./audit";
import { applyEvent, lastEventSeq, storeEventSeq } from "./bridge-events";
import { BridgeLink, type BridgeAttachment } from "./bridge-link";
import { checkBreakers } from "./breakers";
import { sessionSocketTag } from "./dashboard-sessions";
import { DASHBOARD_SESSION_HEADER } from "./dashboard/session";
import type { DeskContext } from "./desk-context";
import { setKv } from "./kv";
import { handleInternal } from "./internal-routes";
import { McpHttp } from "./mcp-http";
import { buildMcpServer } from "./mcp-server";
import { checkGrant, mcpAccess } from "./oauth-grants";
import { expireApprovals } from "./order-desk";
import { reconcile } from "./reconcile";
import { redact, redactJsonRequest, secretsOf } from "./redact";
import { twsHealth, truthy, type Settings } from "./safety-state";
import { COLUMN_MIGRATIONS, SCHEMA } from "./schema";

export interface Env {
  ACCOUNT: DurableObjectNamespace<AccountDO>;
  IBKR_ACCOUNT_ID: string;
  MCP_TOKEN: string;
  BRIDGE_TOKEN: string;
  ADMIN_TOKEN: string;
  /** Initial shadow mode; afterwards the persisted per-account setting (admin API) decides. */
  SHADOW_MODE?: string;
  /** "true" registers no write tool at all. */
  READ_ONLY?: string;
  /** Comma-separated underlyings; when set, only these may be traded (it can only narrow). */
  ALLOWED_SYMBOLS?: string;
  /** OAuth grants, clients and token hashes (edge/oauth.ts; @cloudflare/workers-oauth-provider). */
  OAUTH_KV: KVNamespace;
  /** This edge's public origin (https://…) when it differs from the request's, e.g. behind a proxy. */
  PUBLIC_ORIGIN?: string;
  /** Comma-separated extra browser origins allowed on /mcp (edge/origin-guard.ts). */
  ALLOWED_ORIGINS?: string;
}

const PING_EVERY_MS = 10_000;
const DEAD_LINK_MS = 30_000;

export class AccountDO extends DurableObject<Env> {
  private readonly link: BridgeLink;
  private readonly desk: DeskContext;
  /** MCP over HTTP: stateless, or in-memory sessions for clients that can confirm orders (lost on eviction). */
  private readonly mcp: McpHttp;
  private readonly secrets: string[];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      for (const stmt of SCHEMA) ctx.storage.sql.exec(stmt);
      for (const stmt of COLUMN_MIGRATIONS) {
        try {
          ctx.storage.sql.exec(stmt);
        } catch (error) {
          if (!/duplicate column/i.test((error as Error).message)) throw error;
        }
      }
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
      now: () => new Date(),
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
    this.mcp = new McpHttp((request) => buildMcpServer(this.desk, mcpAccess(request)));
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
    if (url.pathname === "/mcp") return this.handleMcp(request);
    if (url.pathname === "/bridge") return this.acceptSocket(request, "bridge");
    if (url.pathname === "/api/live") return this.acceptSocket(request, "dashboard");
    // Admin bodies are scrubbed of the tokens where they enter (reasons, names).
    if (url.pathname.startsWith("/api/")) return handleAdmin(this.desk, await redactJsonRequest(request, this.secrets), url);
    // Reached only from the Worker's own login and session code: the Worker forwards no outside path here.
    const internal = await handleInternal(this.desk, request, url);
    if (internal) return internal;
    return new Response("not found", { status: 404 });
  }

  // Hibernation API: the socket outlives this instance; its hello state lives in the attachment.
  private acceptSocket(request: Request, tag: "bridge" | "dashboard"): Response {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("expected websocket", { status: 426 });
    const pair = new WebSocketPair();
    // A dashboard socket opened with a session cookie is tagged with it, so logout closes it.
    const session = tag === "dashboard" ? request.headers.get(DASHBOARD_SESSION_HEADER) : null;
    this.ctx.acceptWebSocket(pair[1], session && /^[0-9a-f]{64}$/.test(session) ? [tag, "session", sessionSocketTag(session)] : [tag]);
    if (tag === "bridge") pair[1].serializeAttachment({ hello: false } satisfies BridgeAttachment);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /** The reconciliation under way, so a burst of late answers starts one, not many. */
  private reconciling: Promise<unknown> | null = null;

  private reconcileOnce(): void {
    this.reconciling ??= reconcile(this.desk).finally(() => (this.reconciling = null));
  }

  private isBridge(ws: WebSocket): boolean {
    return this.ctx.getTags(ws).includes("bridge");
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (!this.isBridge(ws)) return; // dashboards only listen
    let frame: { type?: unknown; t?: unknown } & Record<string, unknown>;
    try {
      frame = JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message));
    } catch {
      ws.close(1003, "frames must be JSON");
      return;
    }
    const attachment = ws.deserializeAttachment() as BridgeAttachment | null;
    // A replaced link's late frames are stale: its successor owns the account now.
    if (attachment?.replaced) return;
    if (!attachment?.hello) return this.onHello(ws, frame);
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
        return;
      default:
        this.audit("bridge", "bridge_frame_invalid", { type: String(frame?.type) });
    }
  }

  private onHello(ws: WebSocket, frame: unknown): void {
    // The first frame must be hello for this account; anything else closes the link.
    const hello = Hello.safeParse(frame);
    if (!hello.success || hello.data.account_id !== this.env.IBKR_ACCOUNT_ID) {
      this.audit("bridge", "bridge_refused", {
        reason: hello.success ? `hello for account ${hello.data.account_id}, this edge serves ${this.env.IBKR_ACCOUNT_ID}` : "first frame was not a valid hello",
      });
      ws.close(1008, "first frame must be a hello for this account");
      return;
    }
    const h = hello.data;
    // One bridge per account: the newest authenticated bridge replaces any older link.
    const replaced = this.ctx.getWebSockets("bridge").filter((other) => other !== ws);
    for (const other of replaced) {
      other.serializeAttachment({ ...((other.deserializeAttachment() as BridgeAttachment | null) ?? { hello: false }), replaced: true });
      this.link.failSocket(other, "the bridge link was replaced by a newer bridge before answering");
      other.close(1000, "replaced by a newer bridge");
    }
    const lastSeq = lastEventSeq(this.ctx.storage.sql, h.bridge_id);
    const before = twsHealth(this.ctx.storage.sql);
    setKv(this.ctx.storage.sql, "tws_health", h.tws);
    this.audit("bridge", replaced.length > 0 ? "bridge_replaced" : "bridge_connected", {
      bridge_id: h.bridge_id, bridge_version: h.bridge_version, mode: h.mode, replaced: replaced.length, tws: h.tws.state, tws_before: before?.state ?? null, last_event_seq: lastSeq,
    });
    ws.serializeAttachment({ hello: true, bridge_id: h.bridge_id, bridge_version: h.bridge_version, mode: h.mode, since: new Date().toISOString(), last_frame_ms: Date.now() } satisfies BridgeAttachment);
    sendFrame(ws, JSON.stringify({ v: PROTOCOL_VERSION, type: "welcome", last_event_seq: lastSeq }));
    void this.ctx.storage.setAlarm(Date.now() + PING_EVERY_MS);
    this.reconciling = reconcile(this.desk).finally(() => (this.reconciling = null));
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
    const last = lastEventSeq(sql, bridgeId);
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
        storeEventSeq(sql, bridgeId, event.seq);
      });
    } catch (error) {
      this.audit("edge", "event_failed", { seq: event.seq, event: event.event, message: (error as Error).message });
      this.closeBridge(ws, "event could not be stored; reconnect and resend");
      return;
    }
    sendFrame(ws, JSON.stringify({ v: PROTOCOL_VERSION, type: "ack", seq: event.seq }));
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

  /** While a bridge is connected: ping it every 10 s, drop it after 30 s of silence, expire approvals. */
  override async alarm(): Promise<void> {
    expireApprovals(this.desk);
    const ws = this.link.socket();
    if (!ws) return;
    const a = ws.deserializeAttachment() as BridgeAttachment;
    if (Date.now() - (a.last_frame_ms ?? 0) > DEAD_LINK_MS) {
      // A half-open link looks connected forever; the bridge reconnects when it notices.
      this.closeBridge(ws, `silent for more than ${DEAD_LINK_MS / 1000} s`);
      return;
    }
    try {
      ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "ping", t: Date.now() }));
    } catch {
      // The close handler records the loss.
    }
    await this.ctx.storage.setAlarm(Date.now() + PING_EVERY_MS);
  }

  /** Tool arguments (reasons, strategy, metadata) are scrubbed of the tokens before any tool sees them. */
  private async handleMcp(request: Request): Promise<Response> {
    const revoked = checkGrant(this.desk, request);
    if (revoked) {
      await request.arrayBuffer().catch(() => undefined);
      return revoked;
    }
    return this.mcp.handle(await redactJsonRequest(request, this.secrets));
  }
}

/** A frame to a socket that closed meanwhile is dropped, not thrown: the peer reconnects and resends. */
function sendFrame(ws: WebSocket, text: string): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(text);
}

function hasUnconfirmedOrders(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM orders WHERE status = 'Unknown' LIMIT 1").toArray().length > 0;
}
