// Expiry day (issue 16): a trade whose short legs expire today (New York) is flagged with the time
// left and its pin risk on get_safety_status, list_trades and the dashboard's state; a trade with
// no legs expiring today is not; and close_position stays available for it under the emergency
// stop and a tripped breaker.
import { describe, expect, it } from "vitest";
import { netLimitPrice } from "../../shared/combo-price";
import { expiryClose } from "../../shared/market-calendar";
import { calendarDay } from "../../shared/trade-id";
import type { Leg } from "../../shared/order";
import { condorOrder, Edge, FakeBridge, fillOrder, ironCondor, reconciled, testNow } from "./harness";

// The New York calendar date of the pinned clock (a trading day mid-session: see vitest.config.ts).
const today = calendarDay(testNow());

function quoting(bridge: FakeBridge, underlying: number | null): void {
  bridge.quoteMid = (legs: Leg[]) =>
    legs.length === 1 && legs[0]!.contract.sec_type === "STK" ? underlying : legs.length === 1 ? (legs[0]!.price ?? null) : netLimitPrice(legs);
}

describe("expiry day", () => {
  it("flags short legs expiring today with pin risk and the time left; close_position stays available under the stop and a breaker", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    quoting(bridge, 104.6);
    const expiring = (await edge.call("place_order", { ...condorOrder({}, 100), legs: ironCondor("AAPL", 100, 1, today) })).structuredContent;
    expect(expiring.success, JSON.stringify(expiring)).toBe(true);
    const later = (await edge.call("place_order", condorOrder({}, 130))).structuredContent;
    expect(later.success).toBe(true);

    const status = (await edge.call("get_safety_status", {})).structuredContent;
    expect(status.expiry_day).toHaveLength(1);
    const flag = status.expiry_day[0];
    expect(flag).toMatchObject({ trade_id: expiring.trade_id, symbol: "AAPL", expiry: today, underlying_price: 104.6, near_money: true });
    expect(flag.short_strikes).toEqual([{ strike: 95, right: "P" }, { strike: 105, right: "C" }]);
    expect(flag.nearest_short_distance_pct).toBeCloseTo(0.38, 2);
    // Minutes to today's close by the edge's pinned clock.
    const left = (expiryClose(today) - edge.now().getTime()) / 60_000;
    expect(flag.minutes_left).toBeGreaterThanOrEqual(Math.floor(left) - 1);
    expect(flag.minutes_left).toBeLessThanOrEqual(Math.ceil(left));
    expect(flag.note).toMatch(/PIN RISK/);

    const listed = (await edge.call("list_trades", {})).structuredContent.trades;
    expect(listed.find((t: any) => t.trade_id === expiring.trade_id).expiry_day).toMatchObject({ near_money: true });
    expect(listed.find((t: any) => t.trade_id === later.trade_id).expiry_day).toBeUndefined();
    const state = (await edge.admin("/api/state")).body;
    expect(state.expiry_day.map((f: any) => f.trade_id)).toEqual([expiring.trade_id]);

    // Far from the strikes: flagged as expiring today, not as pin risk. No price: treated as at risk.
    quoting(bridge, 100);
    expect((await edge.call("get_safety_status", {})).structuredContent.expiry_day[0]).toMatchObject({ near_money: false });
    quoting(bridge, null);
    expect((await edge.call("get_safety_status", {})).structuredContent.expiry_day[0]).toMatchObject({ near_money: null, underlying_price: null });

    // It filled; then the emergency stop and a daily-loss breaker: its close still goes out.
    await fillOrder(bridge, expiring.trade_id, expiring.order_id, ironCondor("AAPL", 100, 1, today), false, [1.0, 0.5, 1.0, 0.5]);
    expect((await edge.admin("/api/emergency-stop", { on: true, reason: "expiry-day test" })).status).toBe(200);
    await bridge.event("pnl", { daily: -1000, unrealized: -1000, realized: 0 });
    const safety = (await edge.call("get_safety_status", {})).structuredContent;
    expect(safety.breakers.find((b: any) => b.name === "daily_loss").tripped).toBe(true);
    expect(safety.emergency_stop.on).toBe(true);
    quoting(bridge, 104.6);
    const closed = await edge.call("close_position", { trade_id: expiring.trade_id });
    expect(closed.structuredContent.success, JSON.stringify(closed.structuredContent)).toBe(true);
    expect(bridge.sent("close")).toHaveLength(1);
    bridge.close();
  });
});
