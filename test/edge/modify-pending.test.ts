// A modify whose answer was lost (the link dropped while it was at the bridge) stays pending, in
// SQLite, until TWS shows the order's limit price: at the new price the modify is applied late
// (legs, limit, risk, reservation), at the old one (once the modify can no longer take) the old
// reservation comes back, at neither the larger stays. A live order status carrying the price settles it too; the order's end clears it;
// another modify of the order is refused meanwhile; the pending modify outlives a restart.
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { netLimitPrice } from "../../shared/combo-price";
import type { Leg } from "../../shared/order";
import { condorOrder, Edge, FakeBridge, fillOrder, futureExpiry, ironCondor, reconciled, trade, waitFor } from "./harness";

/** A condor working at -1.00 ($400 reserved) whose modify to -0.95 ($405) was cut off with the link. */
async function unconfirmedModify() {
  const edge = new Edge();
  const bridge = await FakeBridge.connect(edge);
  await reconciled(edge, 1);
  bridge.quoteMid = () => -1.0;
  const placed = (await edge.call("place_order", condorOrder())).structuredContent;
  const tradeId = placed.trade_id as string;
  const orderId = placed.order_id as number;
  bridge.handlers.modify = () => new Promise(() => undefined);
  bridge.quoteMid = () => -0.95;
  const pending = edge.call("modify_order", { trade_id: tradeId, limit_price: -0.95, max_risk: 405 });
  await waitFor(async () => bridge.sent("modify").length === 1, "the modify at the bridge");
  bridge.close();
  const answer = (await pending).structuredContent;
  expect(answer).toMatchObject({ success: false, status: "Unknown", previous_limit_price: -1 });
  return { edge, tradeId, orderId };
}

const openOrder = (tradeId: string, orderId: number, limit: number | null, extra: Record<string, unknown> = {}) => ({
  order_id: orderId, perm_id: orderId + 9001, order_ref: tradeId, symbol: "AAPL", sec_type: "BAG", action: "BUY", quantity: 1, order_type: "LMT",
  limit_price: limit, status: "Submitted", filled: 0, remaining: 1, ...extra,
});

/** A new bridge whose TWS holds the order at `limit` (null: TWS's open order names no price), once the edge reconciled with it. */
async function reconnect(edge: Edge, tradeId: string, orderId: number, limit: number | null) {
  const before = (await edge.audit("reconciled")).length;
  const bridge = new FakeBridge(edge);
  bridge.handlers.open_orders = () => [openOrder(tradeId, orderId, limit)];
  await bridge.open();
  await reconciled(edge, before + 1);
  return bridge;
}

/** Lets time pass since the modify's answer was lost (its pending record is backdated). */
const age = (edge: Edge, orderRef: string, ms: number) =>
  edge.inside((sql) => {
    const key = `modify_pending:${orderRef}`;
    const pending = JSON.parse(sql.exec<{ value_json: string }>("SELECT value_json FROM kv WHERE key = ?", key).one().value_json);
    pending.since = new Date(Date.parse(pending.since) - ms).toISOString();
    sql.exec("UPDATE kv SET value_json = ? WHERE key = ?", JSON.stringify(pending), key);
  });

const details = async (edge: Edge, action: string) => (await edge.audit(action)).map((r) => JSON.parse(r.details_json));

describe("a modify whose answer was lost", () => {
  it("is shown pending with the larger reservation, and applied late when TWS's open order carries the new price", async () => {
    const { edge, tradeId, orderId } = await unconfirmedModify();
    const before = await trade(edge, tradeId);
    expect(before).toMatchObject({ reserved_risk: 405, limit_price: -1, computed_max_risk: 400 });
    expect(before.pending_modify).toMatchObject({ from: -1, to: -0.95, intent: "open", order_id: orderId });
    const status = (await edge.call("get_order_status", { order_id: orderId })).structuredContent;
    expect(status.pending_modify).toMatchObject({ from: -1, to: -0.95 });
    expect(typeof status.pending_modify.since).toBe("string");

    const bridge = await reconnect(edge, tradeId, orderId, -0.95);
    const after = await trade(edge, tradeId);
    expect(after).toMatchObject({ state: "working", limit_price: -0.95, computed_max_risk: 405, reserved_risk: 405 });
    expect(netLimitPrice(after.legs)).toBe(-0.95);
    expect(after.pending_modify).toBeUndefined();
    expect((await edge.call("get_order_status", { order_id: orderId })).structuredContent.pending_modify).toBeUndefined();
    expect(await details(edge, "modify_confirmed_late")).toEqual([expect.objectContaining({ trade_id: tradeId, from: -1, to: -0.95, tws_limit: -0.95, source: "reconcile" })]);
    // Settled: the order can be walked again, from its confirmed price.
    bridge.quoteMid = () => -0.96;
    const again = await edge.call("modify_order", { trade_id: tradeId, limit_price: -0.96, max_risk: 405 });
    expect(again.isError, JSON.stringify(again.structuredContent)).toBeFalsy();
    expect(again.structuredContent.previous_limit_price).toBe(-0.95);
    bridge.close();
  });

  it("keeps the larger reservation when part filled before the late-confirmed price took, the new one when nothing filled", async () => {
    for (const filled of [0, 1]) {
      const edge = new Edge();
      const bridge = await FakeBridge.connect(edge);
      await reconciled(edge, 1);
      bridge.quoteMid = () => -1.0;
      // Two lots of a condor 2 points wide at a 1.00 credit: $200 at worst.
      const legs = ironCondor("AAPL", 100, 2).map((leg) => (leg.action === "BUY" ? { ...leg, contract: { ...leg.contract, strike: (leg.contract.strike as number) < 100 ? 93 : 107 } } : leg));
      const placed = (await edge.call("place_order", { ...condorOrder(), legs, max_risk: 200, capital_required: 200 })).structuredContent;
      expect(placed.trade_id, JSON.stringify(placed)).toBeTruthy();
      bridge.handlers.modify = () => new Promise(() => undefined);
      bridge.quoteMid = () => -1.05; // more credit: a smaller worst case ($190)
      const pending = edge.call("modify_order", { trade_id: placed.trade_id, limit_price: -1.05, max_risk: 190 });
      await waitFor(async () => bridge.sent("modify").length === 1, "the modify at the bridge");
      bridge.close();
      expect((await pending).structuredContent.status).toBe("Unknown");
      expect(await trade(edge, placed.trade_id)).toMatchObject({ reserved_risk: 200, limit_price: -1 });
      const again = new FakeBridge(edge);
      again.handlers.open_orders = () => [openOrder(placed.trade_id, placed.order_id, -1.05, { quantity: 2, filled, remaining: 2 - filled, status: filled ? "PartiallyFilled" : "Submitted" })];
      const before = (await edge.audit("reconciled")).length;
      await again.open();
      await reconciled(edge, before + 1);
      expect(await trade(edge, placed.trade_id)).toMatchObject({ limit_price: -1.05, computed_max_risk: 190, reserved_risk: filled ? 200 : 190 });
      again.close();
    }
  });

  it("is settled without a reconnect when the bridge's late answer comes: the edge reconciles at once", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    bridge.quoteMid = () => -1.0;
    const placed = (await edge.call("place_order", condorOrder())).structuredContent;
    // The bridge is held up past the edge's 10 s; TWS took the modify, and lists the order at its new price.
    bridge.handlers.modify = (p) => new Promise((resolve) => setTimeout(() => resolve({ order_id: p.order_id, perm_id: 1, status: "Submitted", limit_price: p.limit_price }), 10_300));
    bridge.handlers.open_orders = () => [openOrder(placed.trade_id, placed.order_id, -0.95)];
    bridge.quoteMid = () => -0.95;
    const answer = await edge.call("modify_order", { trade_id: placed.trade_id, limit_price: -0.95, max_risk: 405 });
    expect(answer.structuredContent.status).toBe("Unknown");
    expect((await trade(edge, placed.trade_id)).pending_modify).toMatchObject({ to: -0.95 });
    await waitFor(async () => (await edge.audit("modify_confirmed_late")).length === 1, "the late-confirmed modify", 3_000);
    expect(await trade(edge, placed.trade_id)).toMatchObject({ limit_price: -0.95, reserved_risk: 405, computed_max_risk: 405 });
    bridge.close();
  }, 20_000);

  it("gives the old reservation back when TWS's open order still carries the old price once the modify can no longer take", async () => {
    const { edge, tradeId, orderId } = await unconfirmedModify();
    // Right after the answer was lost the old price proves nothing: TWS may not have taken the modify yet.
    const early = await reconnect(edge, tradeId, orderId, -1);
    expect(await trade(edge, tradeId)).toMatchObject({ reserved_risk: 405, pending_modify: { from: -1, to: -0.95 } });
    expect(await edge.audit("modify_not_applied")).toHaveLength(0);
    early.close();
    await age(edge, tradeId, 31_000);
    const bridge = await reconnect(edge, tradeId, orderId, -1);
    const after = await trade(edge, tradeId);
    expect(after).toMatchObject({ limit_price: -1, computed_max_risk: 400, reserved_risk: 400 });
    expect(netLimitPrice(after.legs)).toBe(-1);
    expect(after.pending_modify).toBeUndefined();
    expect(await details(edge, "modify_not_applied")).toEqual([expect.objectContaining({ trade_id: tradeId, from: -1, to: -0.95, tws_limit: -1, reserved_risk: 400 })]);
    bridge.close();
  });

  it("at a third price keeps the larger reservation and the pending modify, audited once", async () => {
    const { edge, tradeId, orderId } = await unconfirmedModify();
    const first = await reconnect(edge, tradeId, orderId, -0.97);
    first.close();
    const second = await reconnect(edge, tradeId, orderId, -0.97);
    const after = await trade(edge, tradeId);
    expect(after).toMatchObject({ limit_price: -1, reserved_risk: 405 });
    expect(after.pending_modify).toMatchObject({ from: -1, to: -0.95 });
    expect(await details(edge, "modify_price_unexpected")).toEqual([expect.objectContaining({ tws_limit: -0.97 })]);
    second.close();
  });

  it("is settled by a live order status that carries TWS's limit price", async () => {
    const { edge, tradeId, orderId } = await unconfirmedModify();
    const bridge = await reconnect(edge, tradeId, orderId, null);
    expect((await trade(edge, tradeId)).pending_modify).toMatchObject({ to: -0.95 });
    await bridge.event("order_status", { order_id: orderId, perm_id: orderId + 9001, order_ref: tradeId, status: "Submitted", filled: 0, remaining: 1, avg_fill_price: null, why_held: null, reason: null, limit_price: -0.95 });
    const after = await trade(edge, tradeId);
    expect(after).toMatchObject({ limit_price: -0.95, computed_max_risk: 405, reserved_risk: 405 });
    expect(after.pending_modify).toBeUndefined();
    expect(await details(edge, "modify_confirmed_late")).toEqual([expect.objectContaining({ source: "order_status" })]);
    bridge.close();
  });

  it("survives a restart of the Durable Object and settles after it", async () => {
    const { edge, tradeId, orderId } = await unconfirmedModify();
    await evictDurableObject(edge.stub());
    expect((await trade(edge, tradeId)).pending_modify).toMatchObject({ from: -1, to: -0.95 });
    await age(edge, tradeId, 31_000);
    const bridge = await reconnect(edge, tradeId, orderId, -1);
    expect(await trade(edge, tradeId)).toMatchObject({ reserved_risk: 400, limit_price: -1 });
    expect((await trade(edge, tradeId)).pending_modify).toBeUndefined();
    bridge.close();
  });

  it("refuses another modify of the order until it settles", async () => {
    const { edge, tradeId, orderId } = await unconfirmedModify();
    const bridge = await reconnect(edge, tradeId, orderId, null);
    bridge.quoteMid = () => -0.96;
    const refused = await edge.call("modify_order", { trade_id: tradeId, limit_price: -0.96, max_risk: 405 });
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent.violations.map((v: { check: string }) => v.check)).toEqual(["modify_unconfirmed"]);
    expect(refused.structuredContent.message).toMatch(/unconfirmed.*either price/);
    expect(bridge.sent("modify")).toHaveLength(0);
    expect(await trade(edge, tradeId)).toMatchObject({ reserved_risk: 405, limit_price: -1 });
    bridge.close();
  });

  it("is cleared when the order fills, keeping the larger reservation the ledger holds", async () => {
    const { edge, tradeId, orderId } = await unconfirmedModify();
    const bridge = await reconnect(edge, tradeId, orderId, null);
    expect((await trade(edge, tradeId)).pending_modify).toBeDefined();
    await fillOrder(bridge, tradeId, orderId, ironCondor(), false, [1.0, 0.5, 1.0, 0.5]);
    const after = await trade(edge, tradeId);
    expect(after.state).toBe("open");
    expect(after.pending_modify).toBeUndefined();
    expect(after.reserved_risk).toBe(405);
    expect(await details(edge, "modify_pending_ended")).toEqual([expect.objectContaining({ trade_id: tradeId, status: "Filled" })]);
    bridge.close();
  });

  it("reads a single leg's price in the ledger's sign: a close selling a call at IBKR's 2.05 is the modify to -2.05", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    const legs: Leg[] = [{ action: "BUY", quantity: 1, price: 2.0, contract: { symbol: "AAPL", expiry: futureExpiry(), strike: 100, right: "C" } }];
    const placed = (await edge.call("place_order", { symbol: "AAPL", strategy: "long call", legs, max_risk: 200, capital_required: 200 })).structuredContent;
    const tradeId = placed.trade_id as string;
    await fillOrder(bridge, tradeId, placed.order_id, legs, false, [2.0]);
    bridge.quoteMid = () => 2.1; // the call's own mid; selling it is a credit, -2.10 in the ledger's sign
    // Like the real bridge, the fake answers with IBKR's price: here the call's own, positive 2.10.
    const closed = await edge.call("close_position", { trade_id: tradeId, limit_price: -2.1 });
    expect(closed.isError, JSON.stringify(closed.structuredContent)).toBeFalsy();
    const closeId = closed.structuredContent.close_order_id as number;
    bridge.handlers.modify = () => new Promise(() => undefined);
    bridge.quoteMid = () => 2.05;
    const pending = edge.call("modify_order", { trade_id: tradeId, limit_price: -2.05 });
    await waitFor(async () => bridge.sent("modify").length === 1, "the modify at the bridge");
    bridge.close();
    expect((await pending).structuredContent.status).toBe("Unknown");
    // The close's price, answered as IBKR's 2.10, is the ledger's -2.10.
    expect((await trade(edge, tradeId)).pending_modify).toMatchObject({ intent: "close", order_id: closeId, from: -2.1, to: -2.05 });

    const again = new FakeBridge(edge);
    again.handlers.open_orders = () => [openOrder(`${tradeId}_CLOSE`, closeId, 2.05, { sec_type: "OPT", action: "SELL" })];
    const before = (await edge.audit("reconciled")).length;
    await again.open();
    await reconciled(edge, before + 1);
    expect((await trade(edge, tradeId)).pending_modify).toBeUndefined();
    expect(await details(edge, "modify_confirmed_late")).toEqual([expect.objectContaining({ intent: "close", tws_limit: -2.05 })]);
    // The close's price is now known to be -2.05: walking it again starts there.
    again.quoteMid = () => 2.0;
    const walked = await edge.call("modify_order", { trade_id: tradeId, limit_price: -2.0 });
    expect(walked.isError, JSON.stringify(walked.structuredContent)).toBeFalsy();
    expect(walked.structuredContent).toMatchObject({ previous_limit_price: -2.05, limit_price: -2.0 });
    again.quoteMid = () => 1.98;
    const next = await edge.call("modify_order", { trade_id: tradeId, limit_price: -1.98 });
    expect(next.structuredContent.previous_limit_price).toBe(-2.0);
    again.close();
  });

  it("is cleared when the order is cancelled", async () => {
    const { edge, tradeId, orderId } = await unconfirmedModify();
    const bridge = await reconnect(edge, tradeId, orderId, null);
    await bridge.orderStatus(tradeId, orderId, "Cancelled", 0, 1);
    const after = await trade(edge, tradeId);
    expect(after.state).toBe("cancelled");
    expect(after.pending_modify).toBeUndefined();
    expect((await edge.call("get_order_status", { order_id: orderId })).structuredContent.pending_modify).toBeUndefined();
    expect(await details(edge, "modify_pending_ended")).toEqual([expect.objectContaining({ status: "Cancelled" })]);
    bridge.close();
  });
});
