// TWS outages heal themselves (issue 18), with the simulator, wrangler dev and the bridge as
// processes: a fill made (or a cancel) while the bridge's TWS socket is down finishes its order in
// the ledger once TWS is back (the bridge re-syncs and the edge reconciles); and an opening order
// already inside the bridge when the emergency stop is set never reaches TWS, while closes stay
// allowed. After each step the simulator's orders and executions match the ledger. An order whose
// acknowledgement never comes (TWS silent, an answer lost) is the deterministic simulation's
// (test/dst/: every schedule heals and the ledger must then hold no Unknown order).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAST_TWS_FAULT_ENV, type FaultStack, type PlaceAnswer, details, edgeTwsState, waitEdgeTws, expectLevel, longOption, quotedOptions, simChain, startFaultStack, statusRegressions, waitUntil } from "./faults";
import { waitOrderStatus } from "./scenario";

let t: FaultStack;
beforeAll(async () => {
  t = await startFaultStack("faults-tws-heal", {
    twsProxy: true,
    edgeProxy: true,
    bridgeEnv: FAST_TWS_FAULT_ENV,
  });
});
afterAll(async () => {
  await t?.stop();
});

const twsState = () => edgeTwsState(t);
const waitTws = (states: string[], what: string, timeoutMs?: number) => waitEdgeTws(t, states, what, timeoutMs);
const tradeOf = async (tradeId: string) => (await t.adminState()).trades.find((x) => x.trade_id === tradeId);
const auditActions = async (action: string) => (await t.audit()).filter((r) => r.action === action);
const stop = (on: boolean, reason: string) => t.stack.admin("/api/emergency-stop", { on, reason, by: "faults" });

/** Waits until `n` more orders fit in the per-minute order limit (the tests here place several). */
const orderSlots = (n: number) =>
  waitUntil(`${n} free order slots this minute`, async () => ((await t.adminState()).limits.find((l) => l.name === "order_rate")?.remaining ?? 0) >= n, 70_000, 500);

/** Waits for `flag()` (set as the place request passes the edge proxy); a refusal before it fails with its text. */
async function untilPlaceReachesBridge(flag: () => boolean, answering: Promise<{ text: string }>): Promise<void> {
  let answered: string | null = null;
  void answering.then((a) => (answered = a.text));
  await waitUntil("the place request to reach the bridge", async () => {
    if (answered !== null && !flag()) throw new Error(`place_order was answered before reaching the bridge: ${answered}`);
    return flag();
  }, 20_000, 20);
}

/** A 1-lot long option on `symbol` resting at its mid (rests until the market moves). */
async function restingOption(symbol: string, right: "C" | "P", pick = 0) {
  const options = await quotedOptions(t.mcp, (await simChain(t))[symbol]!, symbol, right, pick + 1);
  return longOption(options[pick]!, options[pick]!.mid, right === "C" ? "LONG_CALL" : "LONG_PUT");
}

/** A resting order placed and acknowledged; then TWS drops the bridge and refuses it back. */
async function restingThenTwsAway(symbol: string, right: "C" | "P"): Promise<{ tradeId: string; orderId: number }> {
  const placed = await t.mcp.tool<PlaceAnswer>("place_order", await restingOption(symbol, right));
  expect(placed.isError, placed.text).toBe(false);
  const { trade_id: tradeId, order_id: orderId } = placed.structured;
  await waitOrderStatus(t.mcp, orderId!, ["Submitted"]);
  await t.stack.simControl("/fault", { name: "refuseConnections", on: true });
  await t.stack.simControl("/fault", { name: "dropAll" });
  await waitTws(["down"], "dropped");
  return { tradeId: tradeId!, orderId: orderId! };
}

describe("TWS outages heal themselves", () => {
  it("a fill made while the bridge's TWS socket is down is applied to its order once TWS is back (re-sync → reconcile)", async () => {
    await orderSlots(2);
    const { tradeId, orderId } = await restingThenTwsAway("SPY", "C");
    // The call fills at TWS while no socket of the bridge is there to hear it.
    await t.stack.simControl("/move", { symbol: "SPY", pct: -2 });
    await waitUntil("the resting call to fill at TWS", async () => (await t.simState()).orders.find((o) => o.orderRef === tradeId)?.status === "Filled", 20_000);
    const resyncsBefore = (await auditActions("tws_resynced")).length;

    await t.stack.simControl("/fault", { name: "refuseConnections", on: false });
    await waitTws(["connected"], "reconnected");
    // The ledger holds the fill on the order: Filled, filled 1, the trade open (a real position).
    await waitUntil("the order to be Filled in the ledger", async () => (await tradeOf(tradeId!))?.orders[0]?.status === "Filled", 20_000);
    expect((await auditActions("tws_resynced")).length).toBeGreaterThan(resyncsBefore);
    const trade = await tradeOf(tradeId!);
    expect(trade).toMatchObject({ state: "open" });
    expect(trade!.orders).toEqual([expect.objectContaining({ order_id: orderId, status: "Filled", filled: 1 })]);
    expect(trade!.fills).toHaveLength(1);
    await expectLevel(t);

    // The position it holds can be closed (this part also rests on the ledger's evidence rules).
    const closed = await t.mcp.tool<{ success: boolean; close_order_id: number | null }>("close_position", { trade_id: tradeId });
    expect(closed.isError, closed.text).toBe(false);
    await waitOrderStatus(t.mcp, closed.structured.close_order_id!, ["Filled"]);
    await expectLevel(t);
  });

  it("an order cancelled at TWS while the bridge's TWS socket is down is Cancelled in the ledger once TWS is back (completed orders)", async () => {
    await orderSlots(1);
    const { tradeId } = await restingThenTwsAway("QQQ", "C");
    await t.stack.simControl("/cancel-all", {});
    expect((await t.simState()).orders.find((o) => o.orderRef === tradeId)?.status).toBe("Cancelled");

    await t.stack.simControl("/fault", { name: "refuseConnections", on: false });
    await waitTws(["connected"], "reconnected");
    await waitUntil("the order to be Cancelled in the ledger", async () => (await tradeOf(tradeId!))?.orders[0]?.status === "Cancelled", 20_000);
    // Its risk is released: the trade is over, not left working.
    expect(await tradeOf(tradeId!)).toMatchObject({ state: "cancelled" });
    await expectLevel(t);
  });

  it("an opening order already inside the bridge when the emergency stop is set never reaches TWS; a close still does; clearing the stop lets orders out again", async () => {
    await orderSlots(4);
    // A filled position to close under the stop.
    const [call] = await quotedOptions(t.mcp, (await simChain(t)).AAPL!, "AAPL", "C", 1);
    const held = await t.mcp.tool<PlaceAnswer>("place_order", longOption(call!, call!.ask));
    expect(held.isError, held.text).toBe(false);
    await waitOrderStatus(t.mcp, held.structured.order_id!, ["Filled"]);

    const order = await restingOption("SPY", "P");
    let frozen = false;
    t.edgeProxy!.onServerChunk = (chunk) => {
      if (!frozen && chunk.includes('"op":"place"')) {
        frozen = true;
        t.freezeBridge(); // the order passed the edge's checks and waits in the paused bridge
      }
    };
    const answering = t.mcp.tool<PlaceAnswer>("place_order", order);
    await untilPlaceReachesBridge(() => frozen, answering);
    t.edgeProxy!.onServerChunk = null;
    const set = await stop(true, "fault test: stop while an order is inside the bridge");
    expect(set.status).toBe(200);
    t.thawBridge();
    const answer = await answering;
    expect(answer.isError).toBe(true);
    expect(answer.structured.violations.map((v) => v.check)).toContain("emergency_stop");
    const tradeId = answer.structured.trade_id!;
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await t.simState()).orders.filter((o) => o.orderRef === tradeId)).toEqual([]);
    const stopRow = (await auditActions("emergency_stop_set")).at(-1)!;
    expect(details(stopRow).pushed_to_bridge).toBe(true);

    // Risk-reducing: the close of the held call goes out under the stop.
    const closed = await t.mcp.tool<{ success: boolean; close_order_id: number | null }>("close_position", { trade_id: held.structured.trade_id });
    expect(closed.isError, closed.text).toBe(false);
    await waitOrderStatus(t.mcp, closed.structured.close_order_id!, ["Filled"]);

    const cleared = await stop(false, "fault test done");
    expect(cleared.status).toBe(200);
    const after = await t.mcp.tool<PlaceAnswer>("place_order", await restingOption("SPY", "P", 1));
    expect(after.isError, after.text).toBe(false);
    await expectLevel(t);
    expect(statusRegressions(await t.audit())).toEqual([]);
    expect((await t.simState()).protocolWarnings).toEqual([]);
  });
});
