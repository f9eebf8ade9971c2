// A close must never commit more than the trade's remaining worst case plus a stated tolerance
// (issue 23, item 8): a deep in-the-money 5-wide put credit spread can cost at most $500 at expiry,
// so a close paying 5.50 a share ($550) loses more than holding it could. The agent's close (with
// a limit, or its walk with modify_order) is capped at what the legs it closes can cost at expiry
// plus $0.10 a share; beyond that a person closes it (POST /api/trades/close, audited).
import { describe, expect, it } from "vitest";
import { CLOSE_PRICE_TOLERANCE } from "../../shared/limits";
import { checksOf, Edge, FakeBridge, fillOrder, futureExpiry } from "./harness";


/** A 100/95 put credit spread (2.50 credit, worst case $250, most it can cost at expiry $500), opened and filled. */
async function openPutSpread(edge: Edge, bridge: FakeBridge, quantity = 1, short = 100) {
  const expiry = futureExpiry();
  const legs = [
    { action: "SELL" as const, quantity, price: 3.0, contract: { symbol: "AAPL", expiry, strike: short, right: "P" as const } },
    { action: "BUY" as const, quantity, price: 0.5, contract: { symbol: "AAPL", expiry, strike: short - 5, right: "P" as const } },
  ];
  const placed = (await edge.call("place_order", { symbol: "AAPL", strategy: "bull put", legs, max_risk: 250 * quantity, capital_required: 250 * quantity })).structuredContent;
  if (!placed.success) throw new Error(placed.message);
  await fillOrder(bridge, placed.trade_id, placed.order_id, legs, false, [3.0, 0.5]);
  return { tradeId: placed.trade_id as string, legs };
}

async function fresh() {
  const edge = new Edge();
  const bridge = await FakeBridge.connect(edge, { account: 100_000 });
  return { edge, bridge };
}

describe("a close pays at most the remaining worst case plus a stated tolerance", () => {
  it("close_position at 5.50 on a 5-wide spread is refused with the amounts; at 5.10 it goes out", async () => {
    const { edge, bridge } = await fresh();
    const { tradeId } = await openPutSpread(edge, bridge, 2);
    const over = await edge.call("close_position", { trade_id: tradeId, limit_price: 5.5 });
    expect(over.isError).toBe(true);
    expect(checksOf(over)).toEqual(["close_over_worst_case"]);
    expect(over.structuredContent.message).toContain("would pay $1,100.00 to close, more than the $1,000.00 the legs it closes can cost at expiry at worst plus $20.00 ($0.10 a share)");
    expect(over.structuredContent.message).toContain("5.10");
    expect(over.structuredContent.message).toContain("POST /api/trades/close");
    expect(bridge.sent("close")).toHaveLength(0);
    expect((await edge.call("list_trades", {})).structuredContent.trades[0].state).toBe("open");
    expect(checksOf(await edge.call("close_position", { trade_id: tradeId, limit_price: 5.11 }))).toEqual(["close_over_worst_case"]);
    const inside = await edge.call("close_position", { trade_id: tradeId, limit_price: 5 + CLOSE_PRICE_TOLERANCE });
    expect(inside.isError, JSON.stringify(inside.structuredContent)).toBeFalsy();
    expect(bridge.sent("close")).toHaveLength(1);
  });

  it("modify_order cannot walk a working close past the cap", async () => {
    const { edge, bridge } = await fresh();
    const { tradeId } = await openPutSpread(edge, bridge);
    expect((await edge.call("close_position", { trade_id: tradeId, limit_price: 4.8 })).isError).toBeFalsy();
    const walked = await edge.call("modify_order", { trade_id: tradeId, limit_price: 5.25 });
    expect(checksOf(walked)).toEqual(["close_over_worst_case"]);
    expect(bridge.sent("modify")).toHaveLength(0);
    expect((await edge.call("modify_order", { trade_id: tradeId, limit_price: 5.05 })).isError).toBeFalsy();
    expect(bridge.sent("modify")).toHaveLength(1);
  });

  it("a close without a limit goes to the bridge, which caps the natural price itself (second key); the person's close is marked as theirs", async () => {
    const { edge, bridge } = await fresh();
    const { tradeId } = await openPutSpread(edge, bridge);
    expect((await edge.call("close_position", { trade_id: tradeId })).isError).toBeFalsy();
    expect(bridge.sent("close")[0]!.params.person_approved).toBeUndefined();
    // A person closes another over the cap: audited with who and why, and the bridge is told it is theirs.
    bridge.handlers.close = (p) => ({ order_id: 900, perm_id: 9900, status: "Submitted", limit_price: p.limit_price ?? null });
    const second = await openPutSpread(edge, bridge, 1, 110);
    const byPerson = await edge.admin("/api/trades/close", { trade_id: second.tradeId, limit_price: 5.5, reason: "deep ITM into expiry, assignment risk", by: "owner" });
    expect(byPerson.status, JSON.stringify(byPerson.body)).toBe(200);
    expect(byPerson.body).toMatchObject({ success: true, close_order_id: 900 });
    expect(bridge.sent("close")[1]!.params).toMatchObject({ trade_id: second.tradeId, limit_price: 5.5, person_approved: true });
    const audited = (await edge.audit("close_by_person")).map((r) => JSON.parse(r.details_json));
    expect(audited).toEqual([expect.objectContaining({ trade_id: second.tradeId, by: "owner", reason: "deep ITM into expiry, assignment risk", limit_price: 5.5 })]);
    // Without a reason nothing happens.
    expect((await edge.admin("/api/trades/close", { trade_id: second.tradeId })).status).toBe(400);
  });
});
