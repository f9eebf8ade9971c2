// The bridge⇄edge link against a real WebSocket server speaking the edge's side: the bearer
// token, hello/welcome, events delivered in order without duplicates across a reconnect (a fill
// made while the link was down arrives after it), acks emptying the queue, requests answered in
// order of arrival with their ids, pings, a dead link redialled; and no token in any log line.
import { chmodSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import packageJson from "../../package.json";
import { startBridge } from "../../bridge/daemon";
import { loadOrCreateIdentity } from "../../bridge/identity";
import { bridgeUrl } from "../../bridge/edge-link";
import type { Event } from "../../shared/protocol";
import { startPinnedSimulator } from "../support/pinned-sim";
import { helloSignedBy, isoExpiry, LogCapture, optionQuote, placeParams, sleep, startRig, TestEdge, testConfig, TOKEN, until, cleanupAfterEach, rigStarter } from "./helpers";

const cleanups = cleanupAfterEach();
const rigFor = rigStarter(cleanups);

function expectInOrderWithoutGaps(events: Event[]): void {
  const seqs = events.map((e) => e.seq);
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
}

describe("edge link", () => {
  it("says hello with version, bridge id, account, mode and TWS health, and maps the URL to /bridge", async () => {
    const { edge, bridge } = await rigFor();
    expect(edge.hellos[0]).toMatchObject({ v: 1, type: "hello", bridge_version: packageJson.version, bridge_id: bridge.bridgeId, account_id: "DU1234567", mode: "sim", tws: { state: "connected", server_version: 193 } });
    expect(bridgeUrl(new URL("https://edge.example.com/base/")).href).toBe("wss://edge.example.com/base/bridge");
    expect(bridgeUrl(new URL("http://127.0.0.1:8787")).href).toBe("ws://127.0.0.1:8787/bridge");
  });

  it("proves itself: signs the edge's challenge with a key made at first run (0600), reused on restart; an exposed key file is refused", async () => {
    const { edge, bridge, config } = await rigFor();
    // startRig pinned the bridge's public key, so the TestEdge welcomed only a verified hello.
    expect(helloSignedBy(edge.challenges[0]!, edge.hellos[0]!, bridge.link.identity.publicKey)).toBe(true);
    expect(helloSignedBy(edge.challenges[0]!, { ...edge.hellos[0]!, bridge_id: "bridge-someone-else" }, bridge.link.identity.publicKey)).toBe(false);
    expect(statSync(config.identityFile).mode & 0o777).toBe(0o600);
    expect(config.identityFile).toBe(join(config.workspace, "bridge_identity.pem"));
    const again = loadOrCreateIdentity(config.identityFile);
    expect(again).toMatchObject({ created: false, identity: { publicKey: bridge.link.identity.publicKey } });
    chmodSync(config.identityFile, 0o644);
    expect(() => loadOrCreateIdentity(config.identityFile)).toThrow(/readable by others.*chmod 600/);
  });

  it("with IBKR_ACCOUNT_ID set, links before TWS is up and tells the edge TWS is down", async () => {
    const sim = await startPinnedSimulator({ port: 0 });
    sim.fault.refuseConnections(true);
    const edge = await TestEdge.start();
    const bridge = startBridge(testConfig(sim, edge, { IBKR_ACCOUNT_ID: "DU1234567" }), { logDestination: new LogCapture() });
    cleanups.push(async () => {
      await bridge.stop();
      await edge.stop();
      await sim.stop();
    });
    await until(() => edge.hellos.length === 1, 5000, "a hello without TWS");
    expect(edge.hellos[0]).toMatchObject({ account_id: "DU1234567", tws: { state: "down" } });
    expect((await edge.request("account", {})).error?.code).toBe("tws_not_connected");
    sim.fault.refuseConnections(false);
    await until(() => edge.events<{ state: string }>("tws_health").some((h) => h.state === "connected"), 5000, "TWS connected event");
  });

  it("queues events while the link is down and delivers them after it, in order, without duplicates", async () => {
    const rig = await rigFor();
    const { sim, edge, bridge } = rig;
    // A resting order placed while the link is up…
    const expiry = isoExpiry(sim.expiries()[1] as string);
    const q = optionQuote(sim, "SPY", expiry, 575, "P");
    const price = Math.round((q.ask - 0.3) * 100) / 100;
    const leg = { action: "BUY" as const, contract: { symbol: "SPY", expiry, strike: 575, right: "P" as const }, quantity: 1, price };
    const placed = await edge.ok<{ order_id: number }>("place", placeParams("LONG_PUT_SPY_20261125_160000", [leg], price * 100));
    await until(() => edge.events("order_status").length > 0, 3000, "first status");
    // Unacked events must not be resent when the edge says it stored them (welcome).
    edge.autoAck = false;
    await sleep(100);

    // …the link drops and the edge refuses to take it back for a while…
    edge.refuseUpgrades = true;
    edge.dropBridge();
    await until(() => !bridge.link.status.connected, 3000, "the bridge to notice");
    const storedBefore = edge.stored.length;
    // …and the market falls through the limit: the order fills while the edge cannot hear it.
    sim.moveMarket("SPY", 1.5); // the put gets cheaper
    await until(() => sim.orders()[0]?.status === "Filled", 3000, "the fill at TWS");
    await until(() => bridge.link.status.queued > 0 && bridge.mirror.positions().length === 1, 3000, "queued events");
    expect(edge.stored.length).toBe(storedBefore);

    edge.refuseUpgrades = false;
    edge.autoAck = true;
    await until(() => bridge.link.status.connected, 5000, "the link back");
    await until(() => edge.events<{ order_id: number }>("execution").some((e) => e.order_id === placed.order_id), 3000, "the fill made while down");
    await until(() => edge.events<{ status: string }>("order_status").some((s) => s.status === "Filled"), 3000, "the Filled status");

    expectInOrderWithoutGaps(edge.stored);
    const received = edge.received.map((e) => e.seq);
    expect(new Set(received).size).toBe(received.length); // nothing sent twice
    expect(edge.events("execution")).toHaveLength(1);
    expect(edge.hellos).toHaveLength(2);
    expect(edge.hellos[1]?.bridge_id).toBe(edge.hellos[0]?.bridge_id);
    await until(() => bridge.link.status.queued === 0, 3000, "acks to empty the queue");
  });

  it("resends events the edge has not stored after a reconnect (welcome.last_event_seq)", async () => {
    const rig = await rigFor();
    const { sim, edge, bridge } = rig;
    await until(() => edge.stored.length > 0 && bridge.link.status.queued === 0, 3000, "some events, all acked");
    // Two new events the edge receives but does not ack, then "loses" (it never committed them).
    edge.autoAck = false;
    const storedBefore = edge.stored.length;
    sim.fault.connectivityLost();
    sim.fault.connectivityRestored(false);
    await until(() => edge.stored.slice(storedBefore).filter((e) => e.event === "tws_health").length === 2, 3000, "two tws_health events");
    const lostEvents = edge.stored.splice(storedBefore);
    const lost = lostEvents.map((e) => e.seq);
    edge.lastSeq.set(bridge.bridgeId, edge.stored.at(-1)?.seq ?? 0);
    edge.received.length = 0;
    edge.autoAck = true;
    edge.dropBridge();
    await until(() => edge.hellos.length === 2 && edge.stored.length >= storedBefore + lost.length, 5000, "the resend");
    expectInOrderWithoutGaps(edge.stored);
    expect(edge.received.slice(0, lost.length).map((e) => e.seq)).toEqual(lost);
    expect(edge.received.slice(0, lost.length).map((e) => e.event)).toEqual(lostEvents.map((e) => e.event));
  });

  it("an edge that claims a seq this stream never numbered drops nothing: the unacked events are renumbered under a new stream and resent", async () => {
    const rig = await rigFor();
    const { edge, bridge } = rig;
    await until(() => bridge.link.status.connected && bridge.link.status.queued === 0, 3000, "a settled link");
    const firstStream = bridge.bridgeId;
    edge.autoAck = false;
    bridge.link.publish("pnl", { daily: -1, unrealized: null, realized: null });
    bridge.link.publish("pnl", { daily: -2, unrealized: null, realized: null });
    await until(() => edge.received.filter((e) => e.event === "pnl").length >= 2, 3000, "two unacked events");
    // The edge "remembers" far more of this stream than it ever numbered (a poisoned record).
    edge.lastSeq.set(firstStream, bridge.link.status.last_seq + 40);
    edge.autoAck = true;
    const before = edge.stored.length;
    edge.dropBridge();
    await until(() => bridge.bridgeId !== firstStream && edge.hellos.at(-1)?.bridge_id === bridge.bridgeId, 5000, "a hello under a new stream");
    await until(() => edge.stored.slice(before).filter((e) => e.event === "pnl").length >= 2, 5000, "the two events resent and stored");
    const resent = edge.stored.slice(before).filter((e) => e.event === "pnl");
    expect(resent.map((e) => (e.data as { daily: number }).daily)).toEqual([-1, -2]);
    expect(resent[0]!.seq).toBe(1);
    expect(edge.hellos.at(-1)?.last_seq).toBe(bridge.link.status.last_seq);
  });

  it("starts a new event stream (new bridge_id, seq from 1, current state first) when the queue for an unreachable edge is full", async () => {
    const rig = await startRig({}, {}, 20);
    cleanups.push(() => rig.stop());
    const { edge, bridge } = rig;
    await until(() => bridge.mirror.account() && bridge.link.status.connected && bridge.link.status.queued === 0, 3000, "a settled link");
    const firstStream = bridge.bridgeId;
    edge.refuseUpgrades = true;
    edge.dropBridge();
    await until(() => !bridge.link.status.connected, 3000, "the link down");
    for (let i = 0; i < 25; i++) bridge.link.publish("pnl", { daily: i, unrealized: null, realized: null });
    expect(bridge.bridgeId).not.toBe(firstStream);
    expect(bridge.link.status.queued).toBeLessThanOrEqual(20);
    edge.refuseUpgrades = false;
    await until(() => edge.hellos.length === 2 && bridge.link.status.queued === 0, 5000, "the new stream delivered");
    expect(edge.hellos[1]?.bridge_id).toBe(bridge.bridgeId);
    const fresh = edge.stored.filter((_, i) => edge.storedStream[i] === bridge.bridgeId);
    expectInOrderWithoutGaps(fresh);
    expect(fresh[0]?.event).toBe("tws_health"); // the current state opens the new stream
    expect(fresh.slice(0, 3).map((e) => e.event)).toEqual(["tws_health", "pnl", "account"]);
    expect(fresh.slice(3, 8).map((e) => (e.data as { daily: number }).daily)).toEqual([20, 21, 22, 23, 24]);
  });

  it("answers requests in order of arrival with their ids, pings, and redials a dead link", async () => {
    const rig = await rigFor({ BRIDGE_LINK_PING_MS: "100", BRIDGE_LINK_DEAD_MS: "600" });
    const { edge } = rig;
    const order: string[] = [];
    const ops = ["health", "account", "positions", "health", "write_log"] as const;
    await Promise.all(
      ops.map((op, i) =>
        edge.request(op, op === "write_log" ? { kind: "safety_violation", at: "2026-11-25T00:00:00Z", message: `m${i}` } : {}).then((r) => {
          expect(r.ok).toBe(true);
          order.push(r.id);
        }),
      ),
    );
    expect(order).toEqual(order.slice().sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))));
    await until(() => edge.pings.length >= 2, 2000, "pings");

    edge.muteBridge(); // no acks, no pongs: a half-open link
    await until(() => edge.hellos.length === 2, 4000, "a redial after 600 ms of silence");
    await until(() => rig.bridge.link.status.connected, 3000, "the new link to be welcomed");
  });

  it("never writes the token or the EDGE_URL's credentials to a log line, including on a refused token", async () => {
    const sim = await startPinnedSimulator({ port: 0 });
    const edge = await TestEdge.start("a-different-token-entirely-123");
    const logs = new LogCapture();
    const url = `http://operator:hunter2secret@127.0.0.1:${edge.port}`;
    const bridge = startBridge(testConfig(sim, url, { LOG_LEVEL: "debug" }), { logDestination: logs });
    cleanups.push(async () => {
      await bridge.stop();
      await edge.stop();
      await sim.stop();
    });
    await bridge.ready();
    await until(() => edge.rejectedUpgrades >= 2, 5000, "the edge to refuse the token");
    // A careless log call with the token in it is redacted too.
    bridge.logger.info({ headers: { authorization: `Bearer ${TOKEN}` }, token: TOKEN, config: { bridgeToken: TOKEN } }, "careless");
    await sleep(50);
    expect(logs.lines.some((l) => l.includes("refused BRIDGE_TOKEN (HTTP 401)"))).toBe(true);
    expect(logs.lines.some((l) => l.includes("careless") && l.includes("[redacted]"))).toBe(true);
    expect(logs.lines.length).toBeGreaterThan(5);
    for (const line of logs.lines) {
      expect(line).not.toContain(TOKEN);
      expect(line).not.toContain("hunter2secret");
    }
    expect(bridge.link.status.connected).toBe(false);
  });
});
