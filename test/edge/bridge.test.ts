// The bridge link over a real WebSocket through the Worker: token check on the upgrade,
// challenge → signed hello → welcome, and a newer bridge replacing the older one (audited).
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signHello } from "../support/bridge-test-key";

async function HELLO(ws: WebSocket, challenge: Promise<unknown>, bridge_id: string): Promise<void> {
  const hello = await signHello((await challenge) as { account_id: string; connection_id: string; nonce: string }, {
    bridge_version: "0.1.0", bridge_id, account_id: "sim", mode: "sim", last_seq: 0,
    tws: { state: "connected", since: new Date().toISOString(), last_error: null, server_version: 193 },
  });
  ws.send(JSON.stringify(hello));
}

async function openBridge(token = "test-bridge-token"): Promise<{ status: number; ws: WebSocket | null }> {
  const res = await SELF.fetch("https://edge.test/bridge", { headers: { upgrade: "websocket", authorization: `Bearer ${token}` } });
  const ws = res.webSocket;
  if (ws) ws.accept();
  return { status: res.status, ws };
}

function nextMessage(ws: WebSocket): Promise<unknown> {
  return new Promise((resolve) => ws.addEventListener("message", (e) => resolve(JSON.parse(e.data as string)), { once: true }));
}

describe("bridge link", () => {
  it("refuses the MCP token on the upgrade", async () => {
    expect((await openBridge("test-mcp-token")).status).toBe(401);
  });
  it("answers hello with welcome and audits a replacement", async () => {
    const first = await openBridge();
    expect(first.status).toBe(101);
    const challenge = nextMessage(first.ws!);
    await HELLO(first.ws!, challenge, "bridge-aaaa-1111");
    const welcome = nextMessage(first.ws!);
    expect(await welcome).toEqual({ v: 1, type: "welcome", last_event_seq: 0 });

    const closed = new Promise<number>((resolve) => first.ws!.addEventListener("close", (e) => resolve(e.code), { once: true }));
    const second = await openBridge();
    const challenge2 = nextMessage(second.ws!);
    await HELLO(second.ws!, challenge2, "bridge-bbbb-2222");
    const welcome2 = nextMessage(second.ws!);
    expect(await welcome2).toEqual({ v: 1, type: "welcome", last_event_seq: 0 });
    expect(await closed).toBe(1000);

    const audit = (await (await SELF.fetch("https://edge.test/api/audit", { headers: { authorization: "Bearer test-admin-token" } })).json()) as { rows: Array<{ action: string }> };
    expect(audit.rows.map((r) => r.action).filter((a) => a.startsWith("bridge_"))).toEqual(["bridge_connected", "bridge_replaced"]);
    second.ws!.close(1000, "done");
  });
});
