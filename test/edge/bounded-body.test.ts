// Request bodies through the real Worker: every body is finished (read to its end, or cancelled
// past the drain bound) before the answer goes out, whether the Durable Object reads it or not and
// whether it is accepted or refused with 413. A body still being read after the answer is what made
// workerd log "Can't read from request stream after response has been sent".
import { SELF } from "cloudflare:test";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { boundedBody } from "../../edge/http/bounded-body";

const admin = { authorization: "Bearer test-admin-token", "content-type": "application/json" };
const mcp = { authorization: "Bearer test-mcp-token", "content-type": "application/json", accept: "application/json, text/event-stream" };

/** A streamed body (no Content-Length) of `total` bytes that records how far it was read. */
function countedBody(total: number, chunkBytes = 4 * 1024) {
  const chunk = new TextEncoder().encode(" ".repeat(chunkBytes));
  const state = { pulled: 0, ended: false, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= total) {
        state.ended = true;
        controller.close();
        return;
      }
      const next = chunk.subarray(0, Math.min(chunkBytes, total - state.pulled));
      state.pulled += next.byteLength;
      controller.enqueue(next);
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

/** The same with a Content-Length (a FixedLengthStream); `written` counts what the reader took. */
function declaredBody(total: number, chunkBytes = 4 * 1024) {
  const chunk = new TextEncoder().encode(" ".repeat(chunkBytes));
  const { readable, writable } = new FixedLengthStream(total);
  const writer = writable.getWriter();
  const state = { written: 0, ended: false, failed: false };
  void (async () => {
    try {
      while (state.written < total) {
        const next = chunk.subarray(0, Math.min(chunkBytes, total - state.written));
        await writer.write(next);
        state.written += next.byteLength;
      }
      await writer.close();
      state.ended = true;
    } catch {
      state.failed = true;
    }
  })();
  return { stream: readable, state };
}

async function post(path: string, headers: Record<string, string>, body: ReadableStream<Uint8Array>) {
  const res = await SELF.fetch(`https://edge.test${path}`, { method: "POST", headers, body, duplex: "half" } as RequestInit);
  const text = await res.text();
  return { status: res.status, text };
}

describe("request bodies are finished before the answer", () => {
  it("a body the object answers without reading (a bad approval id) was read to its end when the 400 arrives", async () => {
    const { stream, state } = countedBody(60 * 1024);
    const res = await post("/api/approvals/not-a-trade-id", admin, stream);
    expect(res.status).toBe(400);
    expect(state).toEqual({ pulled: 60 * 1024, ended: true, cancelled: false });
    const declared = declaredBody(60 * 1024);
    const again = await post("/api/approvals/not-a-trade-id", admin, declared.stream);
    expect(again.status).toBe(400);
    expect(declared.state).toEqual({ written: 60 * 1024, ended: true, failed: false });
  });

  it("an MCP body the object reads still reaches it whole", async () => {
    // 50 KB of leading whitespace (valid JSON) in 1 KB chunks: the object must get all of it, in order.
    const text = `${" ".repeat(50 * 1024)}${JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/list", params: {} })}`;
    const bytes = new TextEncoder().encode(text);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 1000) controller.enqueue(bytes.subarray(i, i + 1000));
        controller.close();
      },
    });
    const res = await post("/mcp", mcp, stream);
    expect(res.status, res.text).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ id: 7, result: { tools: expect.any(Array) } });
  });

  it("a streamed 2 MB body gets 413 with a specific error, and was read to its end first", async () => {
    for (const [path, headers] of [["/mcp", mcp], ["/api/emergency-stop", admin]] as const) {
      const { stream, state } = countedBody(2 * 1024 * 1024, 64 * 1024);
      const res = await post(path, headers, stream);
      expect(res.status, path).toBe(413);
      expect(JSON.parse(res.text), path).toEqual({ error: "request body over 65536 bytes" });
      expect(state, path).toEqual({ pulled: 2 * 1024 * 1024, ended: true, cancelled: false });
    }
  });

  // In process (the middleware on its own Hono app): cut off through SELF, the test's own sending
  // pipe would log its abort, which is the sender's business, not the Worker's.
  it("a body past the drain bound gets 413 and is cancelled, not read to its end", async () => {
    const app = new Hono().use(boundedBody(64 * 1024)).post("/", (c) => c.text("reached the handler"));
    const total = 64 * 1024 * 1024;
    const { stream, state } = countedBody(total, 64 * 1024);
    const res = await app.request("/", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(state.cancelled).toBe(true);
    expect(state.ended).toBe(false);
    expect(state.pulled).toBeLessThanOrEqual(4 * 1024 * 1024 + 64 * 1024);
    // A declared length past the bound is cancelled unread.
    const declared = countedBody(total, 64 * 1024);
    const refused = await app.request("/", { method: "POST", headers: { "content-length": String(total) }, body: declared.stream, duplex: "half" } as RequestInit);
    expect(refused.status).toBe(413);
    expect(declared.state).toMatchObject({ cancelled: true, ended: false });
    expect(declared.state.pulled).toBeLessThanOrEqual(64 * 1024);
  });
});
