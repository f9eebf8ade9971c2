// Bridge identity (issue 17, cases 1 and 3): a second WebSocket on /bridge holding the bridge
// token but not the bridge's key — through the real Worker, as an attacker would come — cannot
// replace the live bridge, have an event applied, advance the real bridge's event seq, or learn
// the bridge's id from the agent's audit resource; a socket that never says a signed hello is
// closed; a signature is good for its own socket only.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { impostorKey, signHello } from "../support/bridge-test-key";
import { ACCOUNT_ID, condorOrder, Edge, FakeBridge, waitFor } from "./harness";

/** A raw socket to /bridge through the Worker with the real bridge token. */
async function tokenHolder(): Promise<{ ws: WebSocket; frames: any[]; closed: Promise<{ code: number; reason: string }> }> {
  const res = await SELF.fetch("https://edge.test/bridge", { headers: { upgrade: "websocket", authorization: "Bearer test-bridge-token" } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const frames: any[] = [];
  ws.addEventListener("message", (e) => {
    frames.push(JSON.parse(e.data as string));
  });
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.addEventListener("close", (e) => r({ code: e.code, reason: e.reason })));
  return { ws, frames, closed };
}

const unsigned = (bridgeId: string, lastSeq = 0) => ({
  bridge_version: "0.1.0", bridge_id: bridgeId, account_id: ACCOUNT_ID, mode: "sim" as const, last_seq: lastSeq,
  tws: { state: "connected" as const, since: new Date().toISOString(), last_error: null, server_version: 193 },
});
const event = (seq: number, data: unknown, name = "order_status") => JSON.stringify({ v: 1, type: "event", seq, at: new Date().toISOString(), event: name, data });

// The Worker routes /bridge to the account's object ("sim"); each test below is its own file-level
// storage snapshot, so one Edge("sim") per test is a fresh account.
describe("bridge identity", () => {
  it("an impostor with the bridge token but not the key neither replaces the bridge nor gets an order_status applied", async () => {
    const edge = new Edge(ACCOUNT_ID);
    const bridge = await FakeBridge.connect(edge);
    const placed = (await edge.call("place_order", condorOrder())).structuredContent;
    expect(placed.status).toBe("Submitted");

    // The attack of the issue: a hello as bridges used to send it, then a fake Cancelled.
    const impostor = await tokenHolder();
    impostor.ws.send(JSON.stringify({ v: 1, type: "hello", ...unsigned("bridge-impostor-01"), last_seq: undefined }));
    impostor.ws.send(event(1, { order_id: placed.order_id, perm_id: null, order_ref: placed.trade_id, status: "Cancelled", filled: 0, remaining: 1, avg_fill_price: null, why_held: null, reason: null }));
    expect((await impostor.closed).code).toBe(1008);
    // And one that signs, with a key of its own.
    const signer = await tokenHolder();
    await waitFor(async () => signer.frames.find((f) => f.type === "challenge"), "challenge");
    const forged = await signHello(signer.frames[0], unsigned(bridge.bridgeId, 99), await impostorKey());
    signer.ws.send(JSON.stringify(forged));
    expect((await signer.closed).code).toBe(1008);
    expect(signer.frames.map((f) => f.type)).toEqual(["challenge"]); // no welcome, no ack

    const trade = (await edge.call("list_trades", {})).structuredContent.trades[0];
    expect(trade).toMatchObject({ trade_id: placed.trade_id, state: "working" });
    expect(trade.orders[0]).toMatchObject({ status: "Submitted" });
    expect(bridge.ws.readyState).toBe(WebSocket.OPEN);
    expect((await edge.admin("/api/health")).body.bridge.connected).toBe(true);
    expect(await edge.audit("bridge_replaced")).toEqual([]);
    const reasons = (await edge.audit("bridge_refused")).map((r) => JSON.parse(r.details_json).reason as string);
    expect(reasons).toContain("first frame was not a valid signed hello");
    expect(reasons).toContain("hello not signed by the bridge key pinned in BRIDGE_PUBLIC_KEY");
    // Never the token, nor the signature the impostor sent.
    const text = JSON.stringify(await edge.audit());
    expect(text).not.toContain("test-bridge-token");
    expect(text).not.toContain(forged.signature as string);
    // The real bridge still works the account.
    await bridge.orderStatus(placed.trade_id, placed.order_id, "PreSubmitted");
    expect((await edge.call("list_trades", {})).structuredContent.trades[0].orders[0].status).toBe("PreSubmitted");
    bridge.close();
  });

  it("an impostor reusing the real bridge's id cannot advance its event seq: the real bridge is welcomed where it left off", async () => {
    const edge = new Edge(ACCOUNT_ID);
    const bridge = await FakeBridge.connect(edge, { bridgeId: "bridge-0123456789abcdef" });
    await bridge.event("pnl", { daily: 0, unrealized: 0, realized: 0 });
    const realSeq = bridge.seq;
    bridge.close();
    await bridge.closed;

    // The id was readable in the audit before; here it is simply reused. 40 harmless events follow.
    const impostor = await tokenHolder();
    impostor.ws.send(JSON.stringify({ v: 1, type: "hello", ...unsigned("bridge-0123456789abcdef"), last_seq: undefined }));
    for (let seq = realSeq + 1; seq <= realSeq + 40; seq++) impostor.ws.send(event(seq, { daily: 0, unrealized: 0, realized: 0 }, "pnl"));
    await impostor.closed;

    const again = new FakeBridge(edge, "bridge-0123456789abcdef");
    again.seq = realSeq;
    await again.open();
    expect(await again.welcome).toMatchObject({ last_event_seq: realSeq });
    again.close();
  });

  it("a proven bridge is never welcomed past the seq its hello says it numbered", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge, { bridgeId: "bridge-fedcba9876543210" });
    const stored = bridge.seq;
    bridge.close();
    await bridge.closed;
    // Its hello says it numbered fewer events than the edge holds under its id (a renumbered
    // stream): the welcome goes no higher, so no unapplied event is dropped by the bridge.
    const again = new FakeBridge(edge, "bridge-fedcba9876543210");
    again.seq = stored - 1;
    await again.open();
    expect(await again.welcome).toMatchObject({ last_event_seq: stored - 1 });
    expect(JSON.parse((await edge.audit("event_seq_rewound"))[0]!.details_json)).toMatchObject({ stored_seq: stored, bridge_last_seq: stored - 1 });
    // The event numbered `stored` is applied, not taken for a resend of what was stored before.
    await again.account(101_000);
    expect((await edge.call("get_account")).structuredContent.net_liquidation).toBe(101_000);
    again.close();
  });

  it("a signature is good for its own socket only: a hello replayed on another socket is refused", async () => {
    const edge = new Edge(ACCOUNT_ID);
    const first = await tokenHolder();
    await waitFor(async () => first.frames.find((f) => f.type === "challenge"), "challenge");
    const signed = await signHello(first.frames[0], unsigned("bridge-replayed-0001"));
    first.ws.close(1000, "captured");
    const second = await tokenHolder();
    await waitFor(async () => second.frames.find((f) => f.type === "challenge"), "challenge");
    second.ws.send(JSON.stringify(signed));
    expect((await second.closed).code).toBe(1008);
    expect(JSON.parse((await edge.audit("bridge_refused")).at(-1)!.details_json).reason).toMatch(/not signed by the bridge key/);
  });

  it("closes a socket that sends no signed hello within 5 s", async () => {
    const edge = new Edge(ACCOUNT_ID);
    const idle = await tokenHolder();
    const started = Date.now();
    const closed = await Promise.race([idle.closed, new Promise<null>((r) => setTimeout(() => r(null), 9_000))]);
    expect(closed?.code).toBe(1008);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(JSON.parse((await edge.audit("bridge_refused")).at(-1)!.details_json).reason).toMatch(/no signed hello within 5 s/);
  }, 15_000);

  it("hides the bridge's id from the agent's audit resource (the admin API keeps it)", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge, { bridgeId: "bridge-00aa11bb22cc33dd" });
    const read = await edge.rpc("resources/read", { uri: "ibkr://audit/recent" });
    const text = read.contents[0].text as string;
    expect(text).toContain("bridge_connected");
    expect(text).not.toContain("bridge-00aa11bb22cc33dd");
    expect(JSON.stringify(await edge.audit("bridge_connected"))).toContain("bridge-00aa11bb22cc33dd");
    bridge.close();
  });
});
