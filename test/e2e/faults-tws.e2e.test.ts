// TWS misbehaves under a working order: IB's connectivity drops and returns (1100/1102), every TWS
// socket is cut (with and without reconnects refused), and TWS goes silent. While TWS is not
// usable every new order is refused with the reason and nothing reaches TWS; afterwards the
// resting order is still known once, the ledger matches TWS, and trading resumes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAST_TWS_FAULT_ENV, type FaultStack, type PlaceAnswer, expectLevel, startFaultStack, statusRegressions, waitEdgeTws, waitUntil } from "./faults";
import { ironCondor, waitOrderStatus } from "./scenario";

let t: FaultStack;
let resting = { tradeId: "", orderId: 0 };

beforeAll(async () => {
  t = await startFaultStack("faults-tws", {
    bridgeEnv: FAST_TWS_FAULT_ENV,
  });
});
afterAll(async () => {
  await t?.stop();
});

const waitTws = (states: string[], what: string) => waitEdgeTws(t, states, what);

/** A new order while TWS is unusable: refused by the edge, saying TWS is the reason, and nothing reaches TWS. */
async function expectRefusedWhileDown(symbol: string, order: Awaited<ReturnType<typeof ironCondor>>): Promise<{ text: string }> {
  const before = (await t.simState()).orders.length;
  const answer = await t.mcp.tool<PlaceAnswer>("place_order", order);
  expect(answer.isError).toBe(true);
  expect(answer.structured.success).toBe(false);
  expect(answer.structured.trade_id).toBeNull();
  const checks = answer.structured.violations.map((v) => v.check);
  expect(checks).toContain("tws_not_connected");
  expect(answer.text).toMatch(/TWS is (degraded|down)/);
  expect((await t.simState()).orders.length).toBe(before);
  expect((await t.simState()).orders.filter((o) => o.orderRef.includes(`_${symbol}_`))).toEqual([]);
  return answer;
}

const restingStillOnce = async () => {
  const sim = await t.simState();
  const atTws = sim.orders.filter((o) => o.orderRef === resting.tradeId);
  expect(atTws).toHaveLength(1);
  expect(atTws[0]).toMatchObject({ orderId: resting.orderId, status: "Submitted" });
  const trade = (await t.adminState()).trades.find((x) => x.trade_id === resting.tradeId);
  expect(trade).toMatchObject({ state: "working" });
  expect(trade!.orders).toEqual([expect.objectContaining({ order_id: resting.orderId, status: "Submitted" })]);
};

describe("TWS faults with an order resting", () => {
  it("IB connectivity lost (1100): degraded, new orders refused with the reason; restored (1102): the resting order is still known once", async () => {
    const placed = await t.mcp.tool<PlaceAnswer>("place_order", await ironCondor(t.mcp, "SPY", { width: 3, pricing: "mid" }));
    expect(placed.isError, placed.text).toBe(false);
    resting = { tradeId: placed.structured.trade_id!, orderId: placed.structured.order_id! };
    await waitOrderStatus(t.mcp, resting.orderId, ["Submitted"]);
    const qqq = await ironCondor(t.mcp, "QQQ", { width: 3, pricing: "touch" });

    await t.stack.simControl("/fault", { name: "connectivityLost" });
    await waitTws(["degraded", "down"], "connectivity lost");
    const refused = await expectRefusedWhileDown("QQQ", qqq);
    expect(refused.text).toMatch(/1100/);
    await restingStillOnce();

    await t.stack.simControl("/fault", { name: "connectivityRestored" });
    await waitTws(["connected"], "restored");
    await restingStillOnce();
    await expectLevel(t);
  });

  it("every TWS socket dropped while reconnects are refused: down, orders refused; TWS back: resting order known once, trading resumes", async () => {
    const iwm = await ironCondor(t.mcp, "IWM", { width: 3, pricing: "touch" });
    await t.stack.simControl("/fault", { name: "refuseConnections", on: true });
    await t.stack.simControl("/fault", { name: "dropAll" });
    await waitTws(["down", "degraded"], "dropped");
    await expectRefusedWhileDown("IWM", iwm);
    await t.stack.simControl("/fault", { name: "refuseConnections", on: false });
    await waitTws(["connected"], "reconnected");
    await restingStillOnce();

    // A plain drop with an immediate reconnect, twice.
    const reconnects = async () => (await t.audit()).filter((r) => r.action === "tws_health" && (JSON.parse(r.details_json) as { to: string }).to === "connected").length;
    for (let i = 0; i < 2; i++) {
      const before = await reconnects();
      await t.stack.simControl("/fault", { name: "dropAll" });
      await waitUntil("the bridge to lose TWS and get it back", async () => (await reconnects()) > before, 20_000);
      await t.stack.waitBridgeLinked(30_000);
    }
    await restingStillOnce();

    const after = await t.mcp.tool<PlaceAnswer>("place_order", iwm);
    expect(after.isError, after.text).toBe(false);
    await waitOrderStatus(t.mcp, after.structured.order_id!, ["Filled"]);
    await expectLevel(t);
  });

  it("TWS silent: health degrades, orders refused fail-closed; TWS answers again: recovery, nothing sent twice", async () => {
    const aapl = await ironCondor(t.mcp, "AAPL", { width: 5, pricing: "touch" });
    await t.stack.simControl("/fault", { name: "silent", on: true });
    await waitTws(["degraded", "down"], "silent");
    await expectRefusedWhileDown("AAPL", aapl);

    await t.stack.simControl("/fault", { name: "silent", on: false });
    await waitTws(["connected"], "answering again");
    await t.stack.waitBridgeLinked(30_000);
    await restingStillOnce();
    const after = await t.mcp.tool<PlaceAnswer>("place_order", aapl);
    expect(after.isError, after.text).toBe(false);
    await waitOrderStatus(t.mcp, after.structured.order_id!, ["Filled"]);
    await expectLevel(t);

    const audit = await t.audit();
    expect(statusRegressions(audit)).toEqual([]);
    // Each health change was audited: down/degraded and back, for each of the three faults.
    const health = audit.filter((r) => r.action === "tws_health").map((r) => JSON.parse(r.details_json) as { to: string });
    expect(health.filter((h) => h.to === "connected").length).toBeGreaterThanOrEqual(3);
    expect(health.filter((h) => h.to !== "connected").length).toBeGreaterThanOrEqual(3);
    expect((await t.verifyAudit()).ok).toBe(true);
    expect((await t.simState()).protocolWarnings).toEqual([]);
  });
});
