// The bridge dies at each step of an order's life: before the order's bytes leave for TWS, after
// TWS took the order but before its acknowledgement came back (an opening order and a close), and
// after the acknowledgement but before the fill. After every restart the edge's ledger and audit
// log must match TWS exactly: nothing lost, nothing doubled, no order sent again, the risk of an
// order that never reached TWS released, a close's P&L booked once. The bridge reaches the
// simulator through a TCP proxy that can drop or mute one PLACE_ORDER message.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FaultStack, type PlaceAnswer, details, expectLevel, startFaultStack, statusRegressions, waitUntil } from "./faults";
import { ironCondor, waitOrderStatus } from "./scenario";
import { cents } from "../support/cents";

const PLACE_ORDER = 3;

let t: FaultStack;
beforeAll(async () => {
  t = await startFaultStack("faults-bridge-crash", { twsProxy: true });
});
afterAll(async () => {
  await t?.stop();
});

async function restartBridge(): Promise<void> {
  await t.stack.killBridge();
  await t.stack.startBridge();
  await t.stack.waitBridgeLinked(60_000);
}

const tradeOf = async (tradeId: string) => (await t.adminState()).trades.find((x) => x.trade_id === tradeId);

describe("bridge killed at each step of an order", () => {
  let neverSent = "";
  let ackLost = "";

  it("before send: the order never reaches TWS, the edge says so after reconnect and releases its risk", async () => {
    const order = await ironCondor(t.mcp, "SPY", { width: 3, pricing: "touch" });
    // The bridge freezes the moment it hands PLACE_ORDER to the socket, and those bytes are lost.
    const trapped = t.twsProxy!.trapNext(PLACE_ORDER, "drop").then((fields) => {
      t.freezeBridge();
      return fields;
    });
    const answer = await t.mcp.tool<PlaceAnswer>("place_order", order);
    await trapped;
    expect(answer.isError).toBe(true);
    expect(answer.structured.status).toBe("Unknown");
    expect(answer.text).toMatch(/did not answer the place request/);
    expect(answer.text).toMatch(/may have reached TWS/);
    neverSent = answer.structured.trade_id!;
    expect(neverSent).toMatch(/^IRON_CONDOR_SPY_/);

    // While nobody knows: the ledger does not claim TWS has it, and the risk stays reserved.
    const unsure = await tradeOf(neverSent);
    expect(unsure).toMatchObject({ state: "unknown" });
    expect(unsure!.reserved_risk).toBeGreaterThan(0);
    expect(unsure!.orders).toEqual([expect.objectContaining({ order_id: null, status: "Unknown" })]);
    expect((await t.simState()).orders.filter((o) => o.orderRef === neverSent)).toEqual([]);

    await restartBridge();
    await waitUntil("reconciliation to settle the unconfirmed order", async () => (await tradeOf(neverSent))?.state === "cancelled", 30_000);
    const settled = await tradeOf(neverSent);
    expect(settled!.orders).toEqual([expect.objectContaining({ order_id: null, status: "Cancelled" })]);
    const audit = await t.audit();
    expect(audit.some((r) => r.action === "order_unconfirmed" && details(r).trade_id === neverSent)).toBe(true);
    expect(audit.some((r) => r.action === "order_not_found" && details(r).trade_id === neverSent)).toBe(true);

    // Released: the very same order (same fingerprint) is no longer a duplicate of an active trade.
    const again = await t.mcp.tool<PlaceAnswer>("place_order", order);
    expect(again.isError, again.text).toBe(false);
    expect(again.structured.trade_id).not.toBe(neverSent);
    await waitOrderStatus(t.mcp, again.structured.order_id!, ["Filled"]);
    await expectLevel(t);
  });

  it("after send, before the ack: TWS has (and fills) the order, the edge adopts it without sending it again", async () => {
    const order = await ironCondor(t.mcp, "QQQ", { width: 3, pricing: "touch" });
    // TWS gets PLACE_ORDER; nothing it answers reaches the bridge, which freezes and is then killed.
    const trapped = t.twsProxy!.trapNext(PLACE_ORDER, "forward_then_mute").then((fields) => {
      t.freezeBridge();
      return fields;
    });
    const pending = t.mcp.tool<PlaceAnswer>("place_order", order);
    const fields = await trapped;
    const orderId = Number(fields[1]);
    let ref = "";
    await waitUntil("TWS to hold and fill the order whose ack was lost", async () => {
      const o = (await t.simState()).orders.find((x) => x.orderId === orderId);
      ref = o?.orderRef ?? "";
      return o?.status === "Filled";
    }, 20_000);
    expect(ref).toMatch(/^IRON_CONDOR_QQQ_/);
    ackLost = ref;
    await t.stack.killBridge();
    const answer = await pending;
    expect(answer.isError).toBe(true);
    expect(answer.structured.status).toBe("Unknown");
    expect(answer.structured.trade_id).toBe(ref);
    expect(answer.text).toMatch(/may have reached TWS/);
    expect((await tradeOf(ref))?.state).toBe("unknown");

    await t.stack.startBridge();
    await t.stack.waitBridgeLinked(60_000);
    await expectLevel(t);
    const trade = await tradeOf(ref);
    expect(trade).toMatchObject({ state: "open" });
    expect(trade!.orders).toEqual([expect.objectContaining({ order_id: orderId, status: "Filled" })]);
    expect(trade!.fills).toHaveLength(4);
    // One order at TWS for this trade, ever.
    expect((await t.simState()).orders.filter((o) => o.orderRef === ref)).toHaveLength(1);
  });

  it("a close whose ack is lost: TWS fills it, the edge adopts it, books the realized P&L once, never closes twice", async () => {
    expect(ackLost).not.toBe("");
    const closeRef = `${ackLost}_CLOSE`;
    const trapped = t.twsProxy!.trapNext(PLACE_ORDER, "forward_then_mute").then((fields) => {
      t.freezeBridge();
      return fields;
    });
    const pending = t.mcp.tool<{ success: boolean; status: string; message: string }>("close_position", { trade_id: ackLost });
    const orderId = Number((await trapped)[1]);
    await waitUntil("TWS to fill the close whose ack was lost", async () => {
      const o = (await t.simState()).orders.find((x) => x.orderId === orderId);
      return o?.orderRef === closeRef && o.status === "Filled";
    }, 20_000);
    await t.stack.killBridge();
    const answer = await pending;
    expect(answer.isError).toBe(true);
    expect(answer.structured.status).toBe("Unknown");
    expect((await tradeOf(ackLost))?.state).toBe("closing");

    await t.stack.startBridge();
    await t.stack.waitBridgeLinked(60_000);
    await expectLevel(t);
    await waitUntil("the trade to be booked closed", async () => (await tradeOf(ackLost))?.state === "closed", 20_000);
    const sim = await t.simState();
    expect(sim.orders.filter((o) => o.orderRef === closeRef)).toHaveLength(1);
    // Realized P&L from TWS's own executions of both orders, booked exactly once.
    const execs = sim.executions.filter((e) => e.orderRef === ackLost || e.orderRef === closeRef);
    expect(execs).toHaveLength(8);
    const expected = Math.round(execs.reduce((sum, e) => sum + (e.side === "SLD" ? 1 : -1) * e.shares * e.price * 100 - e.commission, 0) * 100) / 100;
    const trade = (await t.adminState()).trades.find((x) => x.trade_id === ackLost) as unknown as { realized_pnl: number };
    expect(cents(trade.realized_pnl)).toBe(cents(expected));
    expect((await t.audit()).filter((r) => r.action === "trade_closed" && details(r).trade_id === ackLost)).toHaveLength(1);
  });

  it("after the ack, before the fill: the fill lands while no bridge runs and is recorded exactly once, across two reconciliations", async () => {
    const order = await ironCondor(t.mcp, "IWM", { width: 3, pricing: "touch" });
    await t.stack.simControl("/fault", { name: "delayFills", ms: 5_000 });
    const placed = await t.mcp.tool<PlaceAnswer>("place_order", order);
    expect(placed.isError, placed.text).toBe(false);
    const ref = placed.structured.trade_id!;
    await t.stack.killBridge();
    expect((await tradeOf(ref))?.state).toBe("working");
    await waitUntil("the fill at TWS while the bridge is dead", async () => (await t.simState()).orders.find((o) => o.orderRef === ref)?.status === "Filled", 20_000);
    await t.stack.simControl("/fault", { name: "delayFills", ms: 0 });

    await t.stack.startBridge();
    await t.stack.waitBridgeLinked(60_000);
    await expectLevel(t);
    expect((await tradeOf(ref))?.fills).toHaveLength(4);

    // A second crash and reconciliation fetches the same executions again: still recorded once.
    const reconciled = async () => (await t.audit()).filter((r) => r.action === "reconciled").length;
    const before = await reconciled();
    await restartBridge();
    await waitUntil("a second reconciliation", async () => (await reconciled()) > before, 30_000);
    await expectLevel(t);
    const trade = await tradeOf(ref);
    expect(trade!.state).toBe("open");
    expect(trade!.fills).toHaveLength(4);

    const audit = await t.audit();
    expect(statusRegressions(audit)).toEqual([]);
    expect((await t.verifyAudit()).ok).toBe(true);
    // The order that never reached TWS never turns up later either.
    const sim = await t.simState();
    expect(sim.orders.filter((o) => o.orderRef === neverSent)).toEqual([]);
    expect(sim.protocolWarnings).toEqual([]);
  });
});
