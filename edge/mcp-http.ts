// MCP over Streamable HTTP for the account's Durable Object. Stateless by default (one server and
// transport per POST, JSON answers, GET → 405). A client whose `initialize` declares elicitation
// gets a session instead, so that place_order can ask its person to confirm on the tool call's
// own SSE response stream. Sessions live only in this object's memory: after an eviction or a
// restart they are gone, and the client's next request gets 404 "Session not found", on which the
// MCP spec has it initialize again. Nothing about an order depends on a session surviving.
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";

/** A session nobody used for this long is closed on the next /mcp request. */
export const SESSION_IDLE_MS = 30 * 60_000;
/** At most this many sessions are kept; beyond it the least recently used idle one is closed. */
export const MAX_SESSIONS = 100;
/** Longer than any tool call can take (2 min confirmation + quote + place): a session quiet for
 *  less may still be waiting on its person, so it is not closed to make room. */
const BUSY_MS = 3 * 60_000;

interface Session { server: McpServer; transport: WebStandardStreamableHTTPServerTransport; lastUsed: number }

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

  constructor(private readonly build: () => McpServer, private readonly now: () => number = () => Date.now()) {}

  get sessionCount(): number {
    return this.sessions.size;
  }

  async handle(request: Request): Promise<Response> {
    this.sweep();
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId) return this.handleSession(sessionId, request);
    // Stateless: no server-to-client stream, so GET would only hold the object awake.
    if (request.method !== "POST") return new Response("method not allowed", { status: 405, headers: { Allow: "POST" } });
    if (await this.wantsSession(request)) return this.openSession(request);
    const server = this.build();
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    return transport.handleRequest(request);
  }

  private async wantsSession(request: Request): Promise<boolean> {
    // Peek at a copy: the transport reads (and size-checks, parses, rejects) the original itself.
    try {
      return initializeWithElicitation(JSON.parse(await request.clone().text()));
    } catch {
      return false;
    }
  }

  private async openSession(request: Request): Promise<Response> {
    if (this.sessions.size >= MAX_SESSIONS && !this.evictOne()) {
      await request.arrayBuffer().catch(() => undefined);
      return jsonError(503, -32000, `Too many MCP sessions waiting on a person (${MAX_SESSIONS}); retry shortly`, { "retry-after": "30" });
    }
    const server = this.build();
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      // SSE answers: the elicitation request travels on the tool call's response stream.
      enableJsonResponse: false,
      onsessioninitialized: (id) => {
        this.sessions.set(id, { server, transport, lastUsed: this.now() });
      },
      onsessionclosed: (id) => {
        this.sessions.delete(id);
      },
    });
    await server.connect(transport);
    return transport.handleRequest(request);
  }

  private async handleSession(sessionId: string, request: Request): Promise<Response> {
    const session = this.sessions.get(sessionId);
    // Unknown, expired, or lost with an earlier instance of this object: the client re-initializes.
    if (!session) {
      // Read the (Worker-bounded) body first: workerd faults a request stream still being piped
      // in after its response went out.
      await request.arrayBuffer().catch(() => undefined);
      return jsonError(404, -32001, "Session not found");
    }
    session.lastUsed = this.now();
    // No standalone SSE stream: elicitation rides on the POST's answer, and an open GET stream
    // would keep the Durable Object awake for as long as the client stays connected.
    if (request.method === "GET") return new Response("method not allowed", { status: 405, headers: { Allow: "POST, DELETE" } });
    const response = await session.transport.handleRequest(request);
    if (request.method === "DELETE" && response.ok) this.sessions.delete(sessionId);
    return response;
  }

  /** Closes sessions idle for longer than SESSION_IDLE_MS. */
  private sweep(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) if (now - session.lastUsed > SESSION_IDLE_MS) this.close(id, session);
  }

  /** Makes room by closing the least recently used session that cannot be mid-confirmation. */
  private evictOne(): boolean {
    let oldest: [string, Session] | null = null;
    for (const entry of this.sessions) if (!oldest || entry[1].lastUsed < oldest[1].lastUsed) oldest = entry;
    if (!oldest || this.now() - oldest[1].lastUsed < BUSY_MS) return false;
    this.close(oldest[0], oldest[1]);
    return true;
  }

  private close(id: string, session: Session): void {
    this.sessions.delete(id);
    void session.server.close().catch(() => undefined);
  }
}
