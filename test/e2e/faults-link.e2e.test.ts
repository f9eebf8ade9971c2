// The bridge ⇄ edge link under faults: the edge (wrangler dev) stopped and started on the same port
// with the same persisted Durable Object state while the bridge reconnects by itself; a fill that
// lands while the edge is down; and the link flapping ten times within a minute (cut on the wire
// through a TCP proxy, and the bridge SIGKILLed) while orders fill. Afterwards the ledger and audit
// log match TWS: no event or fill recorded twice, no status moving backwards, audit chain intact.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditRow, type FaultStack, type PlaceAnswer, differences, expectLevel, longOption, quotedOptions, simChain, startFaultStack, statusRegressions, waitUntil } from "./faults";
import type { McpClient } from "./harness";
import { waitOrderStatus } from "./scenario";

let t: FaultStack;
let mcp: McpClient;
beforeAll(async () => {
  t = await startFaultStack("faults-link", { edgeProxy: true });
  mcp = t.mcp;
});
afterAll(async () => {
  await t?.stop();
});

const links = (audit: AuditRow[]) => audit.filter((r) => r.action === "bridge_connected" || r.action === "bridge_replaced").length;
const tradeOf = async (tradeId: string) => (await t.adminState()).trades.find((x) => x.trade_id === tradeId);

async function restartEdge(whileDown?: () => Promise<void>): Promise<void> {
  await t.stack.stopEdge();
  await whileDown?.();
  await t.stack.startEdge();
  await t.stack.waitBridgeLinked(60_000);
  mcp = await t.newMcp();
}

describe("the bridge ⇄ edge link under faults", () => {
  let spy = { tradeId: "", orderId: 0 };
  let auditBefore: AuditRow[] = [];

  it("edge restarted on the same port and state: the bridge reconnects by itself and the ledger is intact", async () => {
    const [call] = await quotedOptions(mcp, (await simChain(t)).SPY!, "SPY", "C", 1);
    const placed = await mcp.tool<PlaceAnswer>("place_order", longOption(call!));
    expect(placed.isError, placed.text).toBe(false);
    spy = { tradeId: placed.structured.trade_id!, orderId: placed.structured.order_id! };
    await waitOrderStatus(mcp, spy.orderId, ["Submitted"]);
    auditBefore = await t.audit();
    const ledgerBefore = await tradeOf(spy.tradeId);

    await restartEdge();
    // Same ledger, same audit chain (extended, not rewritten), same resting order.
    const after = await tradeOf(spy.tradeId);
    expect(after).toMatchObject({ state: "working", reserved_risk: ledgerBefore!.reserved_risk });
    expect(after!.orders).toEqual([expect.objectContaining({ order_id: spy.orderId, status: "Submitted" })]);
    const audit = await t.audit();
    expect(audit.slice(0, auditBefore.length)).toEqual(auditBefore);
    expect(links(audit)).toBeGreaterThan(links(auditBefore));
    await expectLevel(t);
    expect((await t.simState()).orders.filter((o) => o.orderRef === spy.tradeId)).toHaveLength(1);
  });

  it("a fill landing while the edge is down is recorded once when it comes back", async () => {
    await restartEdge(async () => {
      await t.stack.simControl("/move", { symbol: "SPY", pct: -1 });
      await waitUntil("the resting call to fill at TWS while the edge is down", async () => (await t.simState()).orders.find((o) => o.orderRef === spy.tradeId)?.status === "Filled", 20_000);
    });
    await expectLevel(t);
    const trade = await tradeOf(spy.tradeId);
    expect(trade).toMatchObject({ state: "open" });
    const sim = await t.simState();
    const execs = sim.executions.filter((e) => e.orderRef === spy.tradeId);
    expect(execs.length).toBeGreaterThan(0);
    expect(trade!.fills.map((f) => f.exec_id).sort()).toEqual(execs.map((e) => e.execId).sort());
  });

  it("the link flaps ten times within a minute while orders fill: nothing recorded twice, audit chain intact", async () => {
    const chain = await simChain(t);
    const [qqq] = await quotedOptions(mcp, chain.QQQ!, "QQQ", "C", 1);
    const [iwm] = await quotedOptions(mcp, chain.IWM!, "IWM", "P", 1);
    const refs: string[] = [];
    for (const order of [longOption(qqq!), longOption(iwm!, iwm!.mid, "LONG_PUT")]) {
      const placed = await mcp.tool<PlaceAnswer>("place_order", order);
      expect(placed.isError, placed.text).toBe(false);
      refs.push(placed.structured.trade_id!);
      await waitOrderStatus(mcp, placed.structured.order_id!, ["Submitted"]);
    }

    const started = Date.now();
    const market: Record<number, () => Promise<unknown>> = {
      1: () => t.stack.simControl("/move", { symbol: "QQQ", pct: -1 }), // the QQQ call fills
      4: () => t.stack.simControl("/move", { symbol: "IWM", pct: 1.5 }), // the IWM put fills
      6: () => t.stack.simControl("/move", { symbol: "SPY", pct: 1 }), // position and P&L events
    };
    for (let flap = 0; flap < 10; flap++) {
      const before = links(await t.audit());
      if (flap % 3 === 2) {
        await t.stack.killBridge(); // queued events die with it: reconciliation must recover them
        await market[flap]?.();
        await t.stack.startBridge();
      } else {
        await market[flap]?.();
        t.edgeProxy!.dropAll(); // same bridge process: its unacked events are resent after welcome
      }
      await waitUntil(`link ${flap + 1} of 10 back`, async () => links(await t.audit()) > before, 20_000, 100);
    }
    const flappedMs = Date.now() - started;
    expect(flappedMs).toBeLessThan(60_000);

    await t.stack.waitBridgeLinked(30_000);
    await expectLevel(t);
    const sim = await t.simState();
    for (const ref of refs) expect(sim.orders.filter((o) => o.orderRef === ref).map((o) => o.status)).toEqual(["Filled"]);
    const audit = await t.audit();
    expect(statusRegressions(audit)).toEqual([]);
    expect(differences(sim, (await t.adminState()).trades, audit)).toEqual([]);
    for (const ref of refs) expect(audit.filter((r) => r.action === "trade_state" && r.details_json.includes(`"${ref}"`) && r.details_json.includes('"to":"open"'))).toHaveLength(1);
    expect((await t.verifyAudit()).ok).toBe(true);

    // And the link still trades (a cheap option: the moves above cost the long options some P&L).
    const [aapl] = await quotedOptions(mcp, chain.AAPL!, "AAPL", "C", 1, 0.3, 1.5);
    const last = await mcp.tool<PlaceAnswer>("place_order", longOption(aapl!, aapl!.ask));
    expect(last.isError, last.text).toBe(false);
    await waitOrderStatus(mcp, last.structured.order_id!, ["Filled"]);
    await expectLevel(t);
  });

  // A place request that stalls inside the bridge (process paused: GC, swap, a laptop lid) past the
  // edge's 10 s timeout must not be executed when the bridge resumes: the request carries the
  // edge's deadline (expires_at) and the bridge checks it at the moment the order would leave.
  let lateOrderReachedTws: boolean | null = null;
  it("a place request stalled in the bridge past the edge's timeout: the ledger still ends level with TWS", async () => {
    const chain = await simChain(t);
    const [put] = await quotedOptions(mcp, chain.SPY!, "SPY", "P", 1);
    let frozen = false;
    t.edgeProxy!.onServerChunk = (chunk) => {
      if (!frozen && chunk.includes('"op":"place"')) {
        frozen = true;
        t.freezeBridge(); // before the bytes are passed on: the request waits in the paused bridge
      }
    };
    const answer = await mcp.tool<PlaceAnswer>("place_order", longOption(put!, put!.ask, "LONG_PUT"));
    t.edgeProxy!.onServerChunk = null;
    expect(frozen).toBe(true);
    expect(answer.isError).toBe(true);
    expect(answer.structured.status).toBe("Unknown");
    const ref = answer.structured.trade_id!;
    const stop = await t.stack.admin("/api/emergency-stop", { on: true, reason: "fault test: stop while an order is stuck in the bridge", by: "faults" });
    expect(stop.status).toBe(200);
    t.thawBridge();
    await new Promise((r) => setTimeout(r, 4_000));
    lateOrderReachedTws = (await t.simState()).orders.some((o) => o.orderRef === ref);
    // Whatever the bridge did, the ledger must agree with TWS (a late order is adopted by its ref).
    await expectLevel(t);
    const stopped = await t.stack.admin("/api/emergency-stop", { on: false, reason: "fault test done", by: "faults" });
    expect(stopped.status).toBe(200);
  });

  it("the stale request does not reach TWS after the edge gave up on it and an emergency stop was set", () => {
    // null (the scenario above did not get that far) fails too: no silent pass.
    expect(lateOrderReachedTws).toBe(false);
  });
});
