// Issue 17, cases 1 and 3, against the running stack: a second WebSocket client on /bridge with
// the real BRIDGE_TOKEN but not the bridge's key — one saying hello the old way, one signing with
// a key of its own and reusing the real bridge's id — sends a fake Cancelled and a burst of events.
// Neither replaces the bridge, neither gets an event applied or acknowledged, the real bridge's
// stream is untouched, and the resting order stays working at the edge and at TWS.
import { generateKeyPairSync, sign } from "node:crypto";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { helloSigningText } from "../../shared/protocol";
import { type FaultStack, type PlaceAnswer, details, startFaultStack, waitUntil } from "./faults";
import { ironCondor, waitOrderStatus } from "./scenario";

let t: FaultStack;

beforeAll(async () => {
  t = await startFaultStack("bridge-impostor");
});
afterAll(async () => {
  await t?.stop();
});

interface Impostor { frames: any[]; closed: Promise<number>; ws: WebSocket }

function connectImpostor(): Promise<Impostor> {
  const ws = new WebSocket(`${t.stack.edgeUrl.replace(/^http/, "ws")}/bridge`, { headers: { Authorization: `Bearer ${t.secrets.BRIDGE_TOKEN}` } });
  const frames: any[] = [];
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  ws.on("message", (raw) => frames.push(JSON.parse(raw.toString())));
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, frames, closed }));
    ws.once("error", reject);
  });
}

const tws = { state: "connected" as const, since: new Date().toISOString(), last_error: null, server_version: 193 };

describe("a bridge impostor holding the bridge token", () => {
  it("cannot replace the bridge, fake a cancel, or advance the real bridge's event seq", async () => {
    const placed = await t.mcp.tool<PlaceAnswer>("place_order", await ironCondor(t.mcp, "SPY", { width: 3, pricing: "mid" }));
    expect(placed.isError, placed.text).toBe(false);
    const tradeId = placed.structured.trade_id!;
    const orderId = placed.structured.order_id!;
    await waitOrderStatus(t.mcp, orderId, ["Submitted"]);
    const realId = details((await t.audit()).find((r) => r.action === "bridge_connected")!).bridge_id as string;
    const account = t.stack.account!;
    const cancel = (seq: number) => JSON.stringify({
      v: 1, type: "event", seq, at: new Date().toISOString(), event: "order_status",
      data: { order_id: orderId, perm_id: null, order_ref: tradeId, status: "Cancelled", filled: 0, remaining: 1, avg_fill_price: null, why_held: null, reason: null },
    });

    // The old way: a plain hello, then the fake Cancelled.
    const plain = await connectImpostor();
    plain.ws.send(JSON.stringify({ v: 1, type: "hello", bridge_version: "0.1.0", bridge_id: realId, account_id: account, mode: "sim", tws }));
    plain.ws.send(cancel(1));
    expect(await plain.closed).toBe(1008);

    // A signed hello, with a key the edge never pinned, reusing the real bridge's id, then 40 events.
    const signer = await connectImpostor();
    const challenge = await new Promise<any>((resolve) => {
      const check = () => (signer.frames[0] ? resolve(signer.frames[0]) : setTimeout(check, 20));
      check();
    });
    expect(challenge.type).toBe("challenge");
    const { privateKey } = generateKeyPairSync("ed25519");
    const fields = { bridge_version: "0.1.0", bridge_id: realId, account_id: account, mode: "sim" as const, tws, last_seq: 1_000 };
    signer.ws.send(JSON.stringify({ v: 1, type: "hello", ...fields, signature: sign(null, Buffer.from(helloSigningText(challenge, fields)), privateKey).toString("base64url") }));
    for (let seq = 1; seq <= 40; seq++) if (signer.ws.readyState === WebSocket.OPEN) signer.ws.send(cancel(seq));
    expect(await signer.closed).toBe(1008);
    expect(signer.frames.map((f) => f.type)).toEqual(["challenge"]); // never a welcome or an ack

    const audit = await t.audit();
    expect(audit.filter((r) => r.action === "bridge_replaced")).toEqual([]);
    expect(audit.filter((r) => r.action === "bridge_refused").map((r) => details(r).reason)).toEqual(
      expect.arrayContaining(["first frame was not a valid signed hello", "hello not signed by the bridge key pinned in BRIDGE_PUBLIC_KEY"]),
    );
    expect(JSON.stringify(audit)).not.toContain(t.secrets.BRIDGE_TOKEN);
    // The real bridge still holds the link and the order is still working, here and at TWS.
    const health = (await (await t.stack.admin("/api/health")).json()) as { bridge: { connected: boolean } };
    expect(health.bridge.connected).toBe(true);
    const trade = (await t.adminState()).trades.find((x) => x.trade_id === tradeId)!;
    expect(trade).toMatchObject({ state: "working", orders: [expect.objectContaining({ status: "Submitted" })] });
    expect((await t.simState()).orders.find((o) => o.orderRef === tradeId)?.status).toBe("Submitted");
    // And its own events still land (acked, applied): an account snapshot newer than the attack arrives.
    const attackEnded = Date.now();
    await waitUntil("an account snapshot from the real bridge after the attack", async () => {
      const h = (await (await t.stack.admin("/api/health")).json()) as { data_age_seconds: number | null };
      return h.data_age_seconds !== null && h.data_age_seconds * 1000 < Date.now() - attackEnded;
    }, 15_000, 250);
    // The agent's audit view never shows the bridge's id.
    const resource = await t.mcp.readResource({ uri: "ibkr://audit/recent" });
    expect(JSON.stringify(resource)).not.toContain(realId);
  });
});
