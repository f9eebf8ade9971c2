// place_order and preview_order in ONE bridge trip, keeping the invariants: once the legs'
// underlying is known (from a quote the agent asked for), the object decides and reserves in one
// synchronous turn without a quote of its own and sends the order with its collar band; the bridge,
// quoting the legs itself, may only refuse — and its refusal releases the reservation and the rate
// slot and is reported with the check and its amounts. Concurrent orders still cannot overshoot.
import { describe, expect, it } from "vitest";
import { collarBand } from "../../shared/checks";
import { MAX_CONCENTRATION } from "../../shared/limits";
import { checksOf, condorOrder, Edge, FakeBridge, ironCondor } from "./harness";

const ORDER_OPS = new Set(["quote", "place", "preview", "preview_with_quote"]);

async function linked(netLiq = 100_000) {
  const edge = new Edge();
  const bridge = await FakeBridge.connect(edge, { account: netLiq });
  // The agent looks at the legs first (get_quote): the object learns the broker's underlying.
  const looked = await edge.call("get_quote", { legs: condorOrder().legs });
  expect(looked.isError).toBeFalsy();
  return { edge, bridge, tripsSince: (from: number) => bridge.requests.slice(from).filter((r) => ORDER_OPS.has(r.op)) };
}

describe("one bridge trip per order", () => {
  it("place_order sends exactly one request, carrying the collar band and the exposure group; preview_order one as well", async () => {
    const { edge, bridge, tripsSince } = await linked();
    let from = bridge.requests.length;
    const placed = await edge.call("place_order", condorOrder());
    expect(placed.isError).toBeFalsy();
    expect(placed.structuredContent.status).toBe("Submitted");
    const trips = tripsSince(from);
    expect(trips.map((r) => r.op)).toEqual(["place"]);
    expect(trips[0]!.params).toMatchObject({ intent: "open", limit_price: -1, collar: collarBand(condorOrder().legs), exposure_group: "AAPL" });
    // The band is the collar's own: -1.00 passes for mids m with |m + 1| <= max(10% |m|, 0.10) + 0.005.
    expect(trips[0]!.params.collar.low).toBeCloseTo(-1.005 / 0.9, 6);
    expect(trips[0]!.params.collar.high).toBeCloseTo(-0.895, 6);

    from = bridge.requests.length;
    const preview = await edge.call("preview_order", condorOrder({}, 130));
    expect(preview.structuredContent).toMatchObject({ would_pass: true, margin: { init_margin_change: 400 } });
    expect(preview.structuredContent.quote.mid).toBe(-1);
    expect(tripsSince(from).map((r) => r.op)).toEqual(["preview_with_quote"]);
  });

  it("a bridge refusal on its own quote releases the reservation and the rate slot, and is reported with the check and amounts", async () => {
    const { edge, bridge } = await linked();
    const before = (await edge.call("get_safety_status")).structuredContent;
    bridge.quoteMid = () => -0.85; // the market moved: the -1.00 limit is now 0.15 from the mid
    const refused = await edge.call("place_order", condorOrder());
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toMatchObject({ success: false, status: "Refused", order_id: null });
    expect(checksOf(refused)).toEqual(["price_collar"]);
    expect(refused.structuredContent.violations[0]).toMatchObject({ value: 0.15, limit: 0.1 });
    expect(refused.structuredContent.message).toContain("$0.15 from the mid -$0.85; at most $0.10");
    expect(bridge.sent("place")).toHaveLength(1);
    expect(bridge.sent("quote")).toHaveLength(1); // the agent's get_quote only: the edge did not quote

    // Released: nothing of it counts in any limit (risk, concentration, order rate), and the trade says why.
    const after = (await edge.call("get_safety_status")).structuredContent;
    // (The display of the largest trade risk in 24 h lists every trade row, a refused one too.)
    const enforced = (limits: any[]) => limits.filter((l) => l.name !== "max_trade_risk");
    expect(enforced(after.limits)).toEqual(enforced(before.limits));
    expect(after.remaining_risk_budget).toEqual(before.remaining_risk_budget);
    const trades = (await edge.call("list_trades")).structuredContent.trades;
    expect(trades.map((t: any) => [t.trade_id, t.state])).toEqual([[refused.structuredContent.trade_id, "rejected"]]);
    const audit = (await edge.audit("order_rejected")).map((r) => JSON.parse(r.details_json));
    expect(audit).toEqual([expect.objectContaining({ code: "second_key_refused", released_risk: 400, rate_slot_released: true })]);

    // The same order at the market goes through (no duplicate, no rate slot used up).
    bridge.quoteMid = null;
    const placed = await edge.call("place_order", condorOrder());
    expect(placed.isError).toBeFalsy();
  });

  it("concurrent one-trip orders cannot overshoot: 20 at once against room for three", async () => {
    const netLiq = 5_000; // 30% = $1,500: room for three condors' $400 of exposure, not four
    const { edge, bridge } = await linked(netLiq);
    // $300 worst cases: three ($900) stay inside the daily loss room, so concentration binds.
    const condor300 = (center: number) => condorOrder({ max_risk: 300, legs: ironCondor("AAPL", center).map((l) => ({ ...l, price: l.action === "SELL" ? 1.5 : 0.5 })) }, center);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => edge.call("place_order", condor300(100 + i * 25))));
    const accepted = results.filter((r) => !r.isError);
    expect(accepted).toHaveLength(3);
    expect(accepted.reduce((sum, r) => sum + r.structuredContent.computed_max_risk, 0)).toBeLessThanOrEqual(netLiq * MAX_CONCENTRATION);
    for (const r of results.filter((x) => x.isError)) expect(checksOf(r)).toContain("concentration");
    expect(bridge.sent("place")).toHaveLength(3);
    expect(bridge.sent("quote").map((r) => r.params.legs.length)).toEqual([4]);
  });
});
