// Adversarial review of settlement attribution (edge/ledger/settlements.ts), inside workerd with a fake
// bridge: a trade whose legs its close already bought back is no holder of their contracts.
import { describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { condorOrder, Edge, FakeBridge, fillOrder, ironCondor, optionOf, reconciled, settlement, testNow } from "./harness";

describe("attributing an early assignment", () => {
  it("skips a trade closed by its close's executions though TWS's last status for that close said Cancelled", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge, { account: 1_000_000 });
    await reconciled(edge, 1);
    const legs = ironCondor("AAPL", 100);
    const first = (await edge.call("place_order", condorOrder({}, 100))).structuredContent;
    await fillOrder(bridge, first.trade_id, first.order_id, legs, false, [1.0, 0.5, 1.0, 0.5]);
    const closed = await edge.call("close_position", { trade_id: first.trade_id });
    const ref = `${first.trade_id}_CLOSE`;
    const closeId = closed.structuredContent.close_order_id as number;
    // The cancel raced the fill: TWS says Cancelled, the executions say all of it was bought back.
    await bridge.orderStatus(ref, closeId, "Cancelled", 0, 1);
    for (const leg of legs) await bridge.execution(ref, closeId, leg, leg.action === "BUY" ? "SLD" : "BOT", 0.3);
    const trades = async () => (await edge.call("list_trades", {})).structuredContent.trades;
    expect((await trades()).find((t: any) => t.trade_id === first.trade_id).state).toBe("closed");
    // A put spread opened later sells the same 95 put; it is assigned early.
    const spread = legs.slice(0, 2);
    const placed = (await edge.call("place_order", { symbol: "AAPL", strategy: "put credit spread", legs: spread, max_risk: 450, capital_required: 450 })).structuredContent;
    expect(placed.trade_id, JSON.stringify(placed)).toBeTruthy();
    await fillOrder(bridge, placed.trade_id, placed.order_id, spread, false, [1.0, 0.5]);
    await bridge.event("execution", settlement(optionOf(legs[0]!), "BOT", 1, 0, testNow().toISOString(), "assigned-95p"));
    const [row] = (await edge.audit("option_settlement")).map((r) => JSON.parse(r.details_json));
    expect(row).toMatchObject({ trade_id: placed.trade_id });
    // So its close leaves the assigned put out (buying it back would open a long put).
    const close = await edge.call("close_position", { trade_id: placed.trade_id });
    expect(close.structuredContent.success, JSON.stringify(close.structuredContent)).toBe(true);
    expect((bridge.sent("close").at(-1)!.params.legs as Leg[]).map((l) => optionOf(l).strike)).toEqual([90]);
    bridge.close();
  });
});
