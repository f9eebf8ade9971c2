// Orders that ended while nobody watched (issue 16), inside workerd with a fake bridge: TWS's
// completed orders settle the ledger's orders with TWS's words; a DAY order whose New York trading
// day is over is expired (unless TWS holds its legs: then it may have filled unseen); what cannot
// be accounted for stays reserved and unaccounted until an admin settles it with a reason; and a
// TWS order id held by orders of several TWS sessions resolves to the current session's or is
// refused, for tools and for events.
import { describe, expect, it } from "vitest";
import { completedFor } from "../../edge/ledger/order-ends";
import { newYorkInstant, previousTradingDate } from "../../shared/market-calendar";
import { tradingDay } from "../../shared/trade-id";
import { condorOrder, Edge, FakeBridge, ironCondor, reconciled, testNow, trades } from "./harness";

const health = (session: string) => ({ state: "connected", since: testNow().toISOString(), last_error: null, server_version: 193, session });

describe("orders that ended while nobody watched", () => {
  it("settles what TWS lists as finished, keeps what it cannot account for reserved and unaccounted until an admin settles it", async () => {
    const edge = new Edge();
    const first = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    const a = (await edge.call("place_order", condorOrder({}, 100))).structuredContent; // order 100, perm 9101
    const b = (await edge.call("place_order", condorOrder({}, 130))).structuredContent; // order 101, perm 9102
    expect([a.order_id, b.order_id]).toEqual([100, 101]);
    first.close();

    const second = new FakeBridge(edge);
    second.handlers.completed_orders = () => [
      { perm_id: 9101, order_ref: a.trade_id, status: "Cancelled", filled: 0, completed_time: edge.now().toISOString(), completed_status: "Cancelled by API" },
      // Someone else's order under the same ref but another permId is not ours.
      { perm_id: 7777, order_ref: b.trade_id, status: "Filled", filled: 1, completed_time: null, completed_status: "Filled" },
    ];
    await second.open();
    await second.account(100_000);
    const report = await reconciled(edge, 2);
    expect(report.settled).toEqual([expect.objectContaining({ order_ref: a.trade_id, end: "Cancelled" })]);
    expect(report.unaccounted).toEqual([b.trade_id]);
    let after = await trades(edge);
    expect(after[a.trade_id].state).toBe("cancelled");
    expect(after[a.trade_id].orders[0]).toMatchObject({ status: "Cancelled", unaccounted: false });
    expect(after[a.trade_id].orders[0].reason).toContain("Cancelled by API");
    expect(after[b.trade_id]).toMatchObject({ state: "working", reserved_risk: 400 });
    expect(after[b.trade_id].orders[0]).toMatchObject({ status: "Submitted", unaccounted: true });
    // Still counted in the limits: its risk stays reserved.
    const safety = (await edge.call("get_safety_status", {})).structuredContent;
    expect(JSON.stringify(safety)).toContain("400");
    // Every read of the order says so, not only list_trades: unaccounted, since when, the risk kept, what settles it.
    const since = after[b.trade_id].orders[0].unaccounted_since;
    expect(Date.parse(since)).not.toBeNaN();
    const status = await edge.call("get_order_status", { order_id: b.order_id });
    expect(status.isError).toBeFalsy();
    expect(status.structuredContent).toMatchObject({ order_id: b.order_id, trade_id: b.trade_id, status: "Submitted", unaccounted: true, unaccounted_since: since });
    for (const note of [status.structuredContent.unaccounted_note, after[b.trade_id].orders[0].unaccounted_note]) {
      expect(note).toContain("TWS neither holds");
      expect(note).toContain("$400.00");
      expect(note).toMatch(/stays reserved/);
      expect(note).toMatch(/reconnect/);
      expect(note).toContain("/api/orders/settle");
    }
    const settledA = await edge.call("get_order_status", { order_id: a.order_id });
    expect(settledA.structuredContent).toMatchObject({ status: "Cancelled", unaccounted: false, unaccounted_since: null, unaccounted_note: null });

    // Bad input changes nothing; a working order TWS speaks for cannot be settled by hand.
    expect((await edge.admin("/api/orders/settle", { order_ref: b.trade_id, as: "filled", reason: "x" })).status).toBe(400);
    expect((await edge.admin("/api/orders/settle", { order_ref: b.trade_id, as: "cancelled", price: 1, reason: "x" })).status).toBe(400);
    expect((await edge.admin("/api/orders/settle", { order_ref: b.trade_id, as: "cancelled", reason: "" })).status).toBe(400);
    expect((await edge.admin("/api/orders/settle", { order_ref: "NOPE", as: "cancelled", reason: "x" })).status).toBe(404);
    expect((await trades(edge))[b.trade_id]).toMatchObject({ state: "working" });

    const settled = await edge.admin("/api/orders/settle", { order_ref: b.trade_id, as: "filled", price: -1, reason: "statement shows the fill", by: "ops" });
    expect(settled.status, JSON.stringify(settled.body)).toBe(200);
    after = await trades(edge);
    expect(after[b.trade_id].state).toBe("open");
    expect(after[b.trade_id].orders[0]).toMatchObject({ status: "Filled", filled: 1, unaccounted: false, unaccounted_note: null });
    expect((await edge.call("get_order_status", { order_id: b.order_id })).structuredContent).toMatchObject({ status: "Filled", unaccounted: false, unaccounted_note: null });
    // One fill per leg; their net is the entered price (a 1.00 credit per unit).
    const fills = after[b.trade_id].fills as { side: string; price: number; shares: number }[];
    expect(fills).toHaveLength(4);
    expect(fills.reduce((sum, f) => sum + (f.side === "BOT" ? 1 : -1) * f.price * f.shares, 0)).toBeCloseTo(-1, 6);
    const row = (await edge.audit("order_settled_by_admin"))[0]!;
    expect(row.actor).toBe("admin");
    expect(JSON.parse(row.details_json)).toMatchObject({ order_ref: b.trade_id, as: "filled", price: -1, by: "ops", end: "Filled" });
    expect((await edge.admin("/api/orders/settle", { order_ref: b.trade_id, as: "cancelled", reason: "again" })).status).toBe(409);
    second.close();
  });

  it("a DAY order whose New York trading day is over is expired, its risk released — unless TWS holds its legs", async () => {
    const edge = new Edge();
    const first = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    const a = (await edge.call("place_order", condorOrder({}, 100))).structuredContent;
    const b = (await edge.call("place_order", condorOrder({}, 130))).structuredContent;
    first.close();
    // Both were placed two trading days ago (New York, by the edge's pinned clock), and TWS no longer lists either.
    const twoDaysAgo = new Date(newYorkInstant(previousTradingDate(previousTradingDate(tradingDay(edge.now()))), 11, 0)).toISOString();
    await edge.inside((sql) => sql.exec("UPDATE orders SET created_at = ?", twoDaysAgo));
    const second = new FakeBridge(edge);
    // TWS holds a leg of b: b may have filled unseen (yesterday's executions are gone), so it is not settled blind.
    const leg = ironCondor("AAPL", 130)[0]!;
    const c = leg.contract as { symbol: string; expiry: string; strike: number; right: "C" | "P" };
    second.positionMirror.set(1, { symbol: c.symbol, sec_type: "OPT", expiry: c.expiry, strike: c.strike, right: c.right, con_id: 1, quantity: -1, avg_cost: 100, current_price: 1, market_value: -100, unrealized_pnl: 0, unrealized_pnl_pct: 0 });
    await second.open();
    await second.account(100_000);
    const report = await reconciled(edge, 2);
    expect(report.settled).toEqual([expect.objectContaining({ order_ref: a.trade_id, end: "Expired" })]);
    expect(report.unaccounted).toEqual([b.trade_id]);
    const after = await trades(edge);
    expect(after[a.trade_id].state).toBe("expired");
    expect(after[a.trade_id].orders[0].reason).toMatch(/DAY order: its trading day \d{4}-\d{2}-\d{2} \(New York\) is over/);
    expect(after[b.trade_id].state).toBe("working");
    const ended = (await edge.audit("order_ended_offline")).map((r) => JSON.parse(r.details_json));
    expect(ended).toEqual([expect.objectContaining({ order_ref: a.trade_id, end: "Expired" })]);
    second.close();
  });

  it("an order id held by orders of two TWS sessions resolves to the current session's, and is refused when neither is current", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    await bridge.event("tws_health", health("session-A"));
    const a = (await edge.call("place_order", condorOrder({}, 100))).structuredContent;
    // A new TWS session hands out the same id again.
    await bridge.event("tws_health", health("session-B"));
    bridge.nextOrderId = a.order_id;
    const b = (await edge.call("place_order", condorOrder({}, 130))).structuredContent;
    expect(b.order_id).toBe(a.order_id);
    const status = await edge.call("get_order_status", { order_id: a.order_id });
    expect(status.structuredContent).toMatchObject({ trade_id: b.trade_id });

    // An event naming the id (no orderRef, no permId) from session A's TWS reaches A's order only.
    await bridge.event("order_status", { order_id: a.order_id, perm_id: null, order_ref: null, status: "Cancelled", filled: 0, remaining: 1, avg_fill_price: null, why_held: null, reason: null, tws_session: "session-A" });
    let after = await trades(edge);
    expect(after[a.trade_id].orders[0].status).toBe("Cancelled");
    expect(after[b.trade_id].orders[0].status).toBe("Submitted");

    await bridge.event("tws_health", health("session-C"));
    const refused = await edge.call("get_order_status", { order_id: a.order_id });
    expect(refused.isError).toBe(true);
    expect(refused.content?.[0]?.text).toMatch(/ambiguous/);
    const cancel = await edge.call("cancel_order", { order_id: a.order_id });
    expect(JSON.stringify(cancel)).toMatch(/ambiguous/);
    expect(bridge.sent("cancel")).toHaveLength(0);
    // An event naming only the id in session C is not applied to either order, and is audited.
    await bridge.event("order_status", { order_id: a.order_id, perm_id: null, order_ref: null, status: "Filled", filled: 1, remaining: 0, avg_fill_price: 1, why_held: null, reason: null, tws_session: "session-C" });
    after = await trades(edge);
    expect(after[b.trade_id].orders[0].status).toBe("Submitted");
    expect(after[a.trade_id].orders[0].status).toBe("Cancelled");
    expect(await edge.audit("ambiguous_order_id")).toHaveLength(1);
    bridge.close();
  });

  it("matches a completed order by permId, or by orderRef only when it finished after ours was made and is the only one", () => {
    const base = { order_ref: "T_CLOSE", trade_id: "T", intent: "close" as const, order_id: null, perm_id: null, status: "Unknown" as const, filled: 0, remaining: 1, avg_fill_price: null, why_held: null, reason: null, created_at: "2026-12-01T15:00:00.000Z", updated_at: "2026-12-01T15:00:00.000Z", tws_session: null, unaccounted_at: null };
    const done = (perm: number, at: string) => ({ perm_id: perm, order_ref: "T_CLOSE", status: "Cancelled" as const, filled: 0, completed_time: at, completed_status: "Cancelled by API" });
    const earlier = done(1, "2026-12-01T14:00:00.000Z");
    const later = done(2, "2026-12-01T15:00:05.000Z");
    expect(completedFor({ ...base, perm_id: 1 }, [earlier, later])).toBe(earlier);
    expect(completedFor({ ...base, perm_id: 3 }, [earlier, later])).toBeNull();
    // The earlier close under the same ref is not ours; the one after ours is.
    expect(completedFor(base, [earlier])).toBeNull();
    expect(completedFor(base, [earlier, later])).toBe(later);
    expect(completedFor(base, [later, done(4, "2026-12-01T15:00:09.000Z")])).toBeNull();
  });
});
