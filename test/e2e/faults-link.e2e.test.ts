// The bridge ⇄ edge link under faults: the edge (wrangler dev) stopped and started on the same port
// with the same persisted Durable Object state while the bridge reconnects by itself; a fill that
// lands while the edge is down; a place request stalled in a paused bridge past the edge's timeout.
// Afterwards the ledger and audit log match TWS: no event or fill recorded twice, audit chain
// intact. Link cuts, lost, duplicated and delayed frames by the hundred are the deterministic
// simulation's (test/dst/).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditRow, type FaultStack, type PlaceAnswer, expectLevel, longOption, quotedOptions, simChain, startFaultStack, waitUntil } from "./faults";
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
