// The bridge link's manners: pong for ping, a clear error for a request the bridge never answers
// (and the object keeps serving), and reading the tools list of a read-only server.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { describe, expect, it } from "vitest";
import type { AccountDO } from "../../edge/account-do";
import type { DeskContext } from "../../edge/store/desk-context";
import { buildMcpServer } from "../../edge/mcp/mcp-server";
import { Edge, FakeBridge, fillOrder, ironCondor, placeTwoLots, waitFor } from "./harness";

describe("bridge link", () => {
  it("answers ping with pong carrying the same t", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const pong = new Promise<unknown>((resolve) =>
      bridge.ws.addEventListener("message", (e) => {
        const frame = JSON.parse(e.data as string);
        if (frame.type === "pong") resolve(frame);
      }),
    );
    bridge.send({ v: 1, type: "ping", t: 12345 });
    expect(await pong).toEqual({ v: 1, type: "pong", t: 12345 });
    bridge.close();
  });

  it("pings from the alarm, and drops a bridge silent for 30 s (fail closed until it reconnects)", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    // Reconciliation's answers are frames too: let them land before the silence starts.
    await waitFor(async () => (await edge.audit("reconciled")).length === 1, "reconciliation");
    bridge.answersPings = false;
    const ping = new Promise<unknown>((resolve) =>
      bridge.ws.addEventListener("message", (e) => {
        const frame = JSON.parse(e.data as string);
        if (frame.type === "ping") resolve(frame);
      }),
    );
    expect(await runDurableObjectAlarm(edge.stub())).toBe(true);
    expect(await ping).toMatchObject({ v: 1, type: "ping" });
    // Let 31 s of silence pass.
    await runInDurableObject(edge.stub(), async (_o: AccountDO, state) => {
      for (const ws of state.getWebSockets("bridge")) ws.serializeAttachment({ ...ws.deserializeAttachment(), last_frame_ms: Date.now() - 31_000 });
    });
    await runDurableObjectAlarm(edge.stub());
    expect(await bridge.closed).toBe(1011);
    expect((await edge.call("health_check")).structuredContent.bridge.connected).toBe(false);
    const gone = await edge.audit("bridge_disconnected");
    expect(JSON.parse(gone[0]!.details_json).how).toContain("silent");
  });

  it("times out an unanswered request with a clear error and keeps serving", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge, { hold: ["quote"] });
    const started = Date.now();
    const quote = await edge.call("get_quote", { legs: [{ action: "BUY", quantity: 100, contract: { symbol: "AAPL", sec_type: "STK" } }] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_900);
    expect(quote.isError).toBe(true);
    expect(quote.content?.[0]?.text).toBe("Quote unavailable: The bridge did not answer the quote request within 5 s");
    expect((await edge.call("health_check")).structuredContent.bridge.connected).toBe(true);
    bridge.close();
  });

  it("closes only what a partly filled, cancelled opening order holds", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const { placed } = await placeTwoLots(edge);
    await bridge.orderStatus(placed.trade_id, placed.order_id, "PartiallyFilled", 1, 1);
    await bridge.orderStatus(placed.trade_id, placed.order_id, "Cancelled", 1, 0);
    const closed = await edge.call("close_position", { trade_id: placed.trade_id });
    expect(closed.isError).toBeFalsy();
    expect(bridge.sent("close")[0]!.params.legs.map((l: { quantity: number }) => l.quantity)).toEqual([1, 1, 1, 1]);
    // The trade books once the close fills match what the opening fills held.
    await fillOrder(bridge, placed.trade_id, placed.order_id, ironCondor("AAPL", 100, 1), false, [1, 0.5, 1, 0.5]);
    await fillOrder(bridge, `${placed.trade_id}_CLOSE`, closed.structuredContent.close_order_id, ironCondor("AAPL", 100, 1), true, [0.5, 0.25, 0.5, 0.25]);
    await waitFor(async () => (await edge.call("list_trades", { state: "closed" })).structuredContent.trades.length === 1, "trade closed");
  });
});

describe("read-only mode", () => {
  it("registers no write tool at all", async () => {
    const edge = new Edge();
    const names = await runInDurableObject(edge.stub(), async (instance: AccountDO) => {
      const desk = (instance as unknown as { desk: DeskContext }).desk;
      const server = buildMcpServer({ ...desk, settings: { ...desk.settings, readOnly: true } });
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await server.connect(serverSide);
      const client = new Client({ name: "read-only-test", version: "1.0.0" });
      await client.connect(clientSide);
      const { tools } = await client.listTools();
      await client.close();
      return tools.map((t) => t.name);
    });
    expect(names).not.toContain("place_order");
    expect(names).not.toContain("close_position");
    expect(names).not.toContain("cancel_order");
    expect(names).toContain("get_safety_status");
    expect(names).toContain("preview_order");
  });
});
