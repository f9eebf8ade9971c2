// MCP over Streamable HTTP for the account's Durable Object, through the official SDK (v2), both
// protocol eras on one endpoint. A 2026-07-28 request (it carries the per-request `_meta` envelope)
// goes to the SDK's per-request handler (`createMcpHandler`, modern only: a fresh server per
// request, `server/discover`, confirmations as input-required round trips). A 2025-11-25 request
// is routed by the SDK's own classifier (`isLegacyRequest`) to the wiring it has always had here:
// stateless by default (one server and transport per POST, JSON answers, GET → 405), or, for a
// client whose `initialize` declares elicitation, a session, so that place_order can ask its person
// to confirm on the tool call's own SSE response stream. Sessions live only in this object's memory:
// after an eviction or a restart they are gone, and the client's next request gets 404 "Session not
// found", on which the MCP spec has it initialize again. Nothing about an order depends on a session
// surviving. Sessions are owned by a credential (the bearer token's hash) and a client address:
// each owner has its own cap, and a full cap closes an idle session of whoever holds the most,
// never refuses the newcomer — so a client that opens sessions and never answers costs only its own.
import { createMcpHandler, isLegacyRequest, type McpHttpHandler, type McpServer, WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/server";
import { createHash } from "node:crypto";
import { clientAddress } from "../http/client-address";
import type { McpEra } from "./mcp-server";

/** A session nobody used for this long is closed on the next /mcp request. */
export const SESSION_IDLE_MS = 30 * 60_000;
/** At most this many sessions are kept in all; beyond it the heaviest owner's idlest one is closed. */
export const MAX_SESSIONS = 100;
/** Per credential (one bearer token): all of one token's clients together. */
export const MAX_SESSIONS_PER_CREDENTIAL = 50;
/** Per client address: one person's clients need a handful; a flood from one address evicts only its own. */
export const MAX_SESSIONS_PER_CLIENT = 10;

interface Owner { credential: string; client: string }
/** Builds the account's MCP server for one request (or one session) of the given era. */
export type BuildServer = (request: Request, era: McpEra) => McpServer;
interface Session { server: McpServer; transport: WebStandardStreamableHTTPServerTransport; lastUsed: number; owner: Owner }

/** The caller's credential as a short hash of its Authorization header (never the token itself). */
function credentialOf(request: Request): string {
  const authorization = request.headers.get("authorization");
  return authorization ? createHash("sha256").update(authorization).digest("hex").slice(0, 16) : "none";
}

const jsonError = (status: number, code: number, message: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }), { status, headers: { "content-type": "application/json", ...headers } });

/** True for a single `initialize` request whose client can answer a form elicitation. */
function initializeWithElicitation(body: unknown): boolean {
  if (!body || typeof body !== "object" || Array.isArray(body)) return false;
  const message = body as { method?: unknown; params?: { capabilities?: { elicitation?: unknown } } };
  if (message.method !== "initialize") return false;
  const elicitation = message.params?.capabilities?.elicitation;
  if (!elicitation || typeof elicitation !== "object" || Array.isArray(elicitation)) return false;
  // `{}` means form elicitation (older clients); URL-only clients cannot show the read-back form.
  return Object.keys(elicitation).length === 0 || Boolean((elicitation as { form?: unknown }).form);
}

export class McpHttp {
  private readonly sessions = new Map<string, Session>();
  /** The SDK's 2026-07-28 entry; 2025-era requests never reach it (they are routed here first). */
  private readonly modern: McpHttpHandler;

  constructor(private readonly build: BuildServer, private readonly now: () => number = () => Date.now()) {
    // A subscriptions/listen request is acknowledged honouring nothing (the server says its lists
    // never change) and its stream closed at once: none is held open to keep the object awake.
    this.modern = createMcpHandler(({ era, requestInfo }) => build(requestInfo!, era), { legacy: "reject" });
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /**
   * Answers one /mcp request. `parsedBody` is the request's JSON body as the object already read
   * and scrubbed it (undefined when the body is not JSON: the transport then reads and refuses it).
   */
  async handle(request: Request, parsedBody?: unknown): Promise<Response> {
    this.sweep();
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId) return this.handleSession(sessionId, request, parsedBody);
    // No server-to-client stream in either era's stateless serving: GET would only hold the object awake.
    if (request.method !== "POST") return new Response("method not allowed", { status: 405, headers: { Allow: "POST" } });
    if (!(await isLegacyRequest(request, parsedBody))) return this.modern.fetch(request, parsedBody === undefined ? undefined : { parsedBody });
    if (initializeWithElicitation(parsedBody)) return this.openSession(request, parsedBody, { credential: credentialOf(request), client: clientAddress(request.headers) });
    const server = this.build(request, "legacy");
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    return transport.handleRequest(request, parsedBody === undefined ? undefined : { parsedBody });
  }

  private async openSession(request: Request, parsedBody: unknown, owner: Owner): Promise<Response> {
    const server = this.build(request, "legacy");
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      // SSE answers: the elicitation request travels on the tool call's response stream.
      enableJsonResponse: false,
      onsessioninitialized: (id) => {
        this.sessions.set(id, { server, transport, lastUsed: this.now(), owner });
        this.enforceCaps(id, owner);
      },
      onsessionclosed: (id) => {
        this.sessions.delete(id);
      },
    });
    await server.connect(transport);
    return transport.handleRequest(request, { parsedBody });
  }

  private async handleSession(sessionId: string, request: Request, parsedBody: unknown): Promise<Response> {
    const session = this.sessions.get(sessionId);
    // Unknown, expired, lost with an earlier instance of this object, or another credential's: the
    // client re-initializes.
    if (!session || session.owner.credential !== credentialOf(request)) {
      // Read the (Worker-bounded) body first: workerd faults a request stream still being piped
      // in after its response went out.
      await request.arrayBuffer().catch(() => undefined);
      return jsonError(404, -32001, "Session not found");
    }
    session.lastUsed = this.now();
    // No standalone SSE stream: elicitation rides on the POST's answer, and an open GET stream
    // would keep the Durable Object awake for as long as the client stays connected.
    if (request.method === "GET") return new Response("method not allowed", { status: 405, headers: { Allow: "POST, DELETE" } });
    const response = await session.transport.handleRequest(request, parsedBody === undefined ? undefined : { parsedBody });
    if (request.method === "DELETE" && response.ok) this.sessions.delete(sessionId);
    return response;
  }

  /** Closes sessions idle for longer than SESSION_IDLE_MS. */
  private sweep(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) if (now - session.lastUsed > SESSION_IDLE_MS) this.close(id, session);
  }

  /**
   * After a new session joins: over the client's cap, that client's idlest session goes; over the
   * credential's or the global cap, the idlest session of the client holding the most in that
   * scope goes. The newcomer is never the one closed, and nobody is refused.
   */
  private enforceCaps(newId: string, owner: Owner): void {
    const scopes: Array<[number, (s: Session) => boolean]> = [
      [MAX_SESSIONS_PER_CLIENT, (s) => s.owner.credential === owner.credential && s.owner.client === owner.client],
      [MAX_SESSIONS_PER_CREDENTIAL, (s) => s.owner.credential === owner.credential],
      [MAX_SESSIONS, () => true],
    ];
    for (const [cap, inScope] of scopes) {
      for (;;) {
        const members = [...this.sessions].filter(([id, s]) => id !== newId && inScope(s));
        if (members.length + 1 <= cap) break;
        const victim = idlestOfHeaviest(members);
        if (!victim) break;
        this.close(victim[0], victim[1]);
      }
    }
  }

  private close(id: string, session: Session): void {
    this.sessions.delete(id);
    void session.server.close().catch(() => undefined);
  }
}

/** The least recently used session of the owner (credential and client) that holds the most. */
function idlestOfHeaviest(members: Array<[string, Session]>): [string, Session] | null {
  const count = new Map<string, number>();
  const key = (s: Session) => `${s.owner.credential} ${s.owner.client}`;
  for (const [, s] of members) count.set(key(s), (count.get(key(s)) ?? 0) + 1);
  let best: [string, Session] | null = null;
  for (const entry of members) {
    if (!best) best = entry;
    else {
      const [c, b] = [count.get(key(entry[1]))!, count.get(key(best[1]))!];
      if (c > b || (c === b && entry[1].lastUsed < best[1].lastUsed)) best = entry;
    }
  }
  return best;
}
