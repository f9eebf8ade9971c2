// The Durable Object of one IBKR account: the single decision point and its SQLite state.
// Serves MCP over the SDK's web-standard Streamable HTTP transport in stateless mode.
// The bridge link, order path and audit hashing are not implemented yet.
import { DurableObject } from "cloudflare:workers";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { SCHEMA } from "./schema";
import { buildMcpServer } from "./mcp-server";
import { appendAudit, readAudit, verifyAudit } from "./audit";
import { Hello, PROTOCOL_VERSION } from "../shared/protocol";

export interface Env {
  ACCOUNT: DurableObjectNamespace<AccountDO>;
  IBKR_ACCOUNT_ID: string;
  MCP_TOKEN: string;
  BRIDGE_TOKEN: string;
  ADMIN_TOKEN: string;
}

export class AccountDO extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      for (const stmt of SCHEMA) ctx.storage.sql.exec(stmt);
    });
  }

  private flag(key: string): boolean {
    const row = this.ctx.storage.sql.exec<{ value_json: string }>("SELECT value_json FROM kv WHERE key = ?", key).toArray()[0];
    return row ? JSON.parse(row.value_json) === true : false;
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/mcp") return this.handleMcp(request);
    if (url.pathname === "/bridge") return this.acceptBridge(request);
    if (url.pathname.startsWith("/api/")) return this.handleAdmin(request, url);
    return new Response("not found", { status: 404 });
  }

  // Hibernation API: the socket outlives this instance; its hello state lives in the attachment.
  private acceptBridge(request: Request): Response {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("expected websocket", { status: 426 });
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], ["bridge"]);
    pair[1].serializeAttachment({ hello: false });
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const attachment = ws.deserializeAttachment() as { hello: boolean; bridge_id?: string } | null;
    let frame: unknown;
    try {
      frame = JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message));
    } catch {
      ws.close(1003, "frames must be JSON");
      return;
    }
    if (!attachment?.hello) {
      // The first frame must be hello for this account; anything else closes the link.
      const hello = Hello.safeParse(frame);
      if (!hello.success || hello.data.account_id !== this.env.IBKR_ACCOUNT_ID) {
        ws.close(1008, "first frame must be a hello for this account");
        return;
      }
      // One bridge per account: the newest authenticated bridge replaces any older link.
      const replaced = this.ctx.getWebSockets("bridge").filter((other) => other !== ws);
      for (const other of replaced) other.close(1000, "replaced by a newer bridge");
      const seqRow = this.ctx.storage.sql
        .exec<{ value_json: string }>("SELECT value_json FROM kv WHERE key = ?", `bridge_seq:${hello.data.bridge_id}`)
        .toArray()[0];
      const lastSeq = seqRow ? Number(JSON.parse(seqRow.value_json)) : 0;
      appendAudit(this.ctx.storage.sql, "bridge", replaced.length > 0 ? "bridge_replaced" : "bridge_connected", {
        bridge_id: hello.data.bridge_id, bridge_version: hello.data.bridge_version, mode: hello.data.mode, replaced: replaced.length,
      });
      ws.serializeAttachment({ hello: true, bridge_id: hello.data.bridge_id });
      ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "welcome", last_event_seq: lastSeq }));
      return;
    }
    // Events, responses and reconciliation are not handled yet (see the report).
  }

  private setFlag(key: string, value: boolean): void {
    this.ctx.storage.sql.exec("INSERT INTO kv (key, value_json) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json", key, JSON.stringify(value));
  }

  // Admin acts may only make things safer; each is audited with its reason.
  private async handleAdmin(request: Request, url: URL): Promise<Response> {
    const sql = this.ctx.storage.sql;
    const route = `${request.method} ${url.pathname}`;
    if (route === "POST /api/emergency-stop") {
      const body = (await request.json().catch(() => null)) as { on?: unknown; reason?: unknown } | null;
      if (typeof body?.on !== "boolean" || typeof body.reason !== "string" || body.reason.trim() === "") {
        return Response.json({ error: "body must be {on: boolean, reason: non-empty string}" }, { status: 400 });
      }
      this.setFlag("emergency_stop", body.on);
      appendAudit(sql, "admin", body.on ? "emergency_stop_set" : "emergency_stop_cleared", { reason: body.reason });
      return Response.json({ emergency_stop: body.on });
    }
    if (route === "GET /api/audit") return Response.json({ rows: readAudit(sql, Number(url.searchParams.get("after") ?? 0)) });
    if (route === "GET /api/audit/export") {
      const jsonl = readAudit(sql, 0, 1_000_000).map((r) => JSON.stringify(r)).join("\n");
      return new Response(jsonl, { headers: { "content-type": "application/x-ndjson" } });
    }
    if (route === "GET /api/audit/verify") return Response.json(verifyAudit(sql));
    return Response.json({ error: "not found" }, { status: 404 });
  }

  private async handleMcp(request: Request): Promise<Response> {
    // Stateless: no server-to-client stream, so GET would only hold the object awake.
    if (request.method !== "POST") return new Response("method not allowed", { status: 405, headers: { Allow: "POST" } });
    const server = buildMcpServer(() => ({
      account_id: this.env.IBKR_ACCOUNT_ID,
      emergency_stop: this.flag("emergency_stop"),
      breaker_tripped: this.flag("breaker_tripped"),
      // Only a bridge that completed hello counts; a bare upgrade proves nothing about TWS.
      bridge_connected: this.ctx.getWebSockets("bridge").some((ws) => (ws.deserializeAttachment() as { hello?: boolean } | null)?.hello === true),
    }));
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    return transport.handleRequest(request);
  }
}
