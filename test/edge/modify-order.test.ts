// modify_order through real MCP requests to the account's Durable Object: a working condor is
// walked in place (same order id and orderRef) after every check of place_order at the new price;
// the collar, the risk claim and the order rate refuse; a bridge refusal restores the reservation;
// a close placed at a limit is walked as a close; nothing but a working order can be modified.
import { describe, expect, it } from "vitest";
import { netLimitPrice } from "../../shared/combo-price";
import { condorOrder, Edge, FakeBridge, fillOrder, ironCondor, trade, waitFor } from "./harness";

async function workingCondor() {
  const edge = new Edge();
  const bridge = await FakeBridge.connect(edge);
  bridge.quoteMid = () => -1.0;
  const placed = await edge.call("place_order", condorOrder());
  expect(placed.isError).toBeFalsy();
  const tradeId = placed.structuredContent.trade_id as string;
  const orderId = placed.structuredContent.order_id as number;
  return { edge, bridge, tradeId, orderId };
}


describe("modify_order", () => {
  it("walks a working condor in place: new price checked, risk recomputed and reserved, audited", async () => {
    const { edge, bridge, tradeId, orderId } = await workingCondor();
    expect((await trade(edge, tradeId)).reserved_risk).toBe(400);
    bridge.quoteMid = () => -0.95;
    const walked = await edge.call("modify_order", { trade_id: tradeId, limit_price: -0.95, max_risk: 405 });
    expect(walked.isError).toBeFalsy();
    expect(walked.structuredContent).toMatchObject({ success: true, order_id: orderId, intent: "open", previous_limit_price: -1, limit_price: -0.95, computed_max_risk: 405 });
    const [sent] = bridge.sent("modify");
    expect(sent?.params).toMatchObject({ order_ref: tradeId, order_id: orderId, intent: "open", limit_price: -0.95, max_risk: 405 });
    expect(netLimitPrice(sent!.params.legs)).toBe(-0.95);
    expect(bridge.sent("place")).toHaveLength(1); // modified, not placed again
    const row = await trade(edge, tradeId);
    expect(row).toMatchObject({ limit_price: -0.95, reserved_risk: 405, computed_max_risk: 405 });
    expect(netLimitPrice(row.legs)).toBe(-0.95);
    expect((await edge.audit("modify_checks_passed")).length).toBe(1);
    expect((await edge.audit("order_modified")).length).toBe(1);
  });

  it("refuses a price outside the collar, a risk above the claim, and a fifth order in a minute", async () => {
    const { edge, bridge, tradeId } = await workingCondor();
    const far = await edge.call("modify_order", { trade_id: tradeId, limit_price: -0.5 });
    expect(far.isError).toBe(true);
    expect(far.structuredContent.violations.map((v: { check: string }) => v.check)).toContain("price_collar");
    bridge.quoteMid = () => -0.9;
    const claim = await edge.call("modify_order", { trade_id: tradeId, limit_price: -0.9 });
    expect(claim.structuredContent.violations.map((v: { check: string }) => v.check)).toEqual(["max_risk_claim"]);
    expect(bridge.sent("modify")).toHaveLength(0);
    expect((await trade(edge, tradeId)).reserved_risk).toBe(400); // refusals reserve nothing
    // The place was order 1; four modifies make five; the next is over MAX_ORDERS_PER_MINUTE.
    for (const price of [-0.99, -0.98, -0.97, -0.96]) {
      bridge.quoteMid = () => price;
      const ok = await edge.call("modify_order", { trade_id: tradeId, limit_price: price, max_risk: 500 });
      expect(ok.isError, JSON.stringify(ok.structuredContent)).toBeFalsy();
    }
    bridge.quoteMid = () => -0.95;
    const rate = await edge.call("modify_order", { trade_id: tradeId, limit_price: -0.95, max_risk: 500 });
    expect(rate.structuredContent.violations.map((v: { check: string }) => v.check)).toEqual(["order_rate"]);
    expect(bridge.sent("modify")).toHaveLength(4);
  });

  it("in shadow mode refuses a new price for an opening order (it would skip the approval)", async () => {
    const { edge, bridge, tradeId } = await workingCondor();
    expect((await edge.admin("/api/shadow-mode", { on: true, reason: "probation", by: "lead" })).status).toBe(200);
    bridge.quoteMid = () => -0.95;
    const refused = await edge.call("modify_order", { trade_id: tradeId, limit_price: -0.95, max_risk: 405 });
    expect(refused.structuredContent.violations.map((v: { check: string }) => v.check)).toEqual(["shadow_mode"]);
    expect(bridge.sent("modify")).toHaveLength(0);
  });

  it("one modify of an order at a time: a second while the first is on its way is refused", async () => {
    const { edge, bridge, tradeId, orderId } = await workingCondor();
    let answer: (v: unknown) => void = () => undefined;
    bridge.handlers.modify = (p: any) => new Promise((resolve) => (answer = () => resolve({ order_id: p.order_id, perm_id: 1, status: "Submitted", limit_price: p.limit_price })));
    bridge.quoteMid = () => -0.97;
    const first = edge.call("modify_order", { trade_id: tradeId, limit_price: -0.97, max_risk: 500 });
    await waitFor(async () => bridge.sent("modify").length === 1, "the first modify at the bridge");
    // While it is out, the larger of the two reservations holds (here the new claim, $500).
    expect((await edge.call("list_trades", {})).structuredContent.trades[0].reserved_risk).toBe(500);
    const second = await edge.call("modify_order", { trade_id: tradeId, limit_price: -0.98, max_risk: 500 });
    expect(second.structuredContent.violations.map((v: { check: string }) => v.check)).toEqual(["modify_in_flight"]);
    answer(undefined);
    expect((await first).structuredContent).toMatchObject({ success: true, order_id: orderId, limit_price: -0.97 });
    bridge.handlers.modify = (p: any) => ({ order_id: p.order_id, perm_id: 1, status: "Submitted", limit_price: p.limit_price });
    const third = await edge.call("modify_order", { trade_id: tradeId, limit_price: -0.98, max_risk: 500 });
    expect(third.isError, JSON.stringify(third.structuredContent)).toBeFalsy();
  });

  it("restores the reservation when the bridge refuses the modify (second key)", async () => {
    const { edge, bridge, tradeId } = await workingCondor();
    bridge.handlers.modify = () => ({ error: { code: "second_key_refused", message: "The bridge's second key refused the order: test", violations: [{ check: "max_trade_risk", message: "test" }] } });
    bridge.quoteMid = () => -0.95;
    const refused = await edge.call("modify_order", { trade_id: tradeId, limit_price: -0.95, max_risk: 405 });
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent.message).toMatch(/keeps working at -?\$?1\.00|keeps working/);
    expect(await trade(edge, tradeId)).toMatchObject({ reserved_risk: 400, limit_price: -1 });
    expect((await edge.audit("modify_rejected")).length).toBe(1);
  });

  it("modifies only a working order; a close placed at a limit is walked as a close", async () => {
    const { edge, bridge, tradeId, orderId } = await workingCondor();
    const bad = await edge.call("modify_order", { trade_id: tradeId, limit_price: -0.955 });
    expect(bad.isError).toBe(true);
    expect(JSON.stringify(bad)).toMatch(/whole cents/);
    await fillOrder(bridge, tradeId, orderId, ironCondor(), false, [1.0, 0.5, 1.0, 0.5]);
    const filled = await edge.call("modify_order", { trade_id: tradeId, limit_price: -0.95 });
    expect(filled.structuredContent.violations[0].check).toBe("trade_state");
    // Buying the condor back: the closing order's net is a debit (positive).
    bridge.quoteMid = () => 0.6;
    const far = await edge.call("close_position", { trade_id: tradeId, limit_price: 0.2 });
    expect(far.structuredContent.violations.map((v: { check: string }) => v.check)).toEqual(["price_collar"]);
    const closed = await edge.call("close_position", { trade_id: tradeId, limit_price: 0.55 });
    expect(closed.isError, JSON.stringify(closed.structuredContent)).toBeFalsy();
    expect(bridge.sent("close")[0]?.params).toMatchObject({ limit_price: 0.55 });
    bridge.quoteMid = () => 0.62;
    const walked = await edge.call("modify_order", { trade_id: tradeId, limit_price: 0.6 });
    expect(walked.isError, JSON.stringify(walked.structuredContent)).toBeFalsy();
    expect(walked.structuredContent).toMatchObject({ intent: "close", order_id: closed.structuredContent.close_order_id, previous_limit_price: 0.55, limit_price: 0.6 });
    expect(bridge.sent("modify")[0]?.params).toMatchObject({ order_ref: `${tradeId}_CLOSE`, intent: "close", limit_price: 0.6 });
  });
});
