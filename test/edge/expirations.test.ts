// Expiration (issue 16), inside workerd with a fake bridge: an open trade whose legs' expiry has
// closed by the broker's clock (TWS's, when the bridge says it runs apart) and which TWS no longer
// holds is closed with its realized P&L (legs leave at no price); not before its expiry, and not
// while TWS still holds a leg. Stock then held in the underlying is alerted with its own risk on
// get_positions; a short one trips the assignment breaker (openings refused) until a person resets it.
import { describe, expect, it } from "vitest";
import { condorOrder, Edge, FakeBridge, fillOrder, ironCondor, waitFor } from "./harness";

const position = (symbol: string, conId: number, quantity: number, extra: Record<string, unknown> = {}) => ({
  account: "sim", symbol, sec_type: "STK", expiry: null, strike: null, right: null, con_id: conId, quantity, avg_cost: 105, current_price: 106,
  market_value: quantity * 106, unrealized_pnl: 0, unrealized_pnl_pct: 0, ...extra,
});
const clock = (skewMs: number) => ({ tws_time: new Date(Date.now() + skewMs).toISOString(), skew_ms: skewMs });

describe("expiration", () => {
  it("closes an expired trade TWS no longer holds with its P&L; assignment stock is alerted, and short stock trips a breaker until reset", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await waitFor(async () => (await edge.audit("reconciled")).length > 0, "reconciliation");
    const legs = ironCondor("AAPL", 100);
    const expiry = legs[0]!.contract.sec_type === "STK" ? "" : legs[0]!.contract.expiry;
    const placed = (await edge.call("place_order", condorOrder({}, 100))).structuredContent;
    await fillOrder(bridge, placed.trade_id, placed.order_id, legs, false, [1.0, 0.5, 1.0, 0.5]);
    const trade = async () => (await edge.call("list_trades", {})).structuredContent.trades.find((t: any) => t.trade_id === placed.trade_id);
    expect((await trade()).state).toBe("open");
    // TWS holds one leg: the short call.
    const c = legs[2]!.contract as { symbol: string; expiry: string; strike: number; right: "C" | "P" };
    await bridge.event("position", { ...position("AAPL", 2001, -1), sec_type: "OPT", expiry: c.expiry, strike: c.strike, right: c.right });

    // Before its expiry: nothing happens, even with the legs gone.
    await bridge.event("position", { ...position("AAPL", 2001, 0), sec_type: "OPT", expiry: c.expiry, strike: c.strike, right: c.right });
    expect((await trade()).state).toBe("open");
    // TWS's clock is past the expiry's close, but TWS still holds a leg: it stands.
    await bridge.event("position", { ...position("AAPL", 2001, -1), sec_type: "OPT", expiry: c.expiry, strike: c.strike, right: c.right });
    const days = Math.ceil((Date.parse(`${expiry}T23:00:00Z`) - Date.now()) / 86_400_000) + 1;
    await bridge.event("tws_clock", clock(days * 86_400_000));
    expect((await trade()).state).toBe("open");
    // The short call was assigned: its position goes, 100 short shares arrive.
    await bridge.event("position", position("AAPL", 265598, -100));
    await bridge.event("position", { ...position("AAPL", 2001, 0), sec_type: "OPT", expiry: c.expiry, strike: c.strike, right: c.right });
    const closed = await trade();
    expect(closed.state).toBe("closed");
    // Premium: sold 1.00 + 1.00, bought 0.50 + 0.50 → +100 USD, less 4 USD of commissions.
    expect(closed.realized_pnl).toBe(96);
    expect(await edge.audit("trade_expired")).toHaveLength(1);

    const alert = (await edge.audit("assignment_stock")).map((r) => JSON.parse(r.details_json));
    expect(alert).toEqual([expect.objectContaining({ symbol: "AAPL", quantity: -100 })]);
    const held = (await edge.call("get_positions", {})).structuredContent.positions;
    expect(held).toEqual([expect.objectContaining({ symbol: "AAPL", sec_type: "STK", quantity: -100, worst_case_loss: null, risk_note: expect.stringMatching(/unbounded/) })]);
    const status = (await edge.call("get_safety_status", {})).structuredContent;
    expect(status.breakers.find((b: any) => b.name === "assignment")).toMatchObject({ tripped: true });
    const refused = await edge.call("place_order", condorOrder({}, 130));
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.structuredContent)).toMatch(/assignment/);
    // The same position again is not a new alert.
    await bridge.event("position", { ...position("AAPL", 265598, -100), current_price: 107 });
    expect(await edge.audit("assignment_stock")).toHaveLength(1);

    const reset = await edge.admin("/api/breakers/reset", { breaker: "assignment", reason: "covering the short stock in TWS", by: "ops" });
    expect(reset.status).toBe(200);
    expect(JSON.parse((await edge.audit("breaker_reset")).at(-1)!.details_json)).toMatchObject({ breaker: "assignment", short_stock: [{ symbol: "AAPL", quantity: -100 }] });
    const after = await edge.call("place_order", condorOrder({}, 130));
    expect(after.structuredContent.success, JSON.stringify(after.structuredContent)).toBe(true);
    bridge.close();
  });

  it("long stock left by an exercise is alerted with its worst case, and trips nothing", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await waitFor(async () => (await edge.audit("reconciled")).length > 0, "reconciliation");
    const legs = ironCondor("AAPL", 100);
    const placed = (await edge.call("place_order", condorOrder({}, 100))).structuredContent;
    await fillOrder(bridge, placed.trade_id, placed.order_id, legs, false, [1.0, 0.5, 1.0, 0.5]);
    await bridge.event("position", position("AAPL", 265598, 100));
    await bridge.event("tws_clock", clock(60 * 86_400_000));
    expect(JSON.parse((await edge.audit("assignment_stock"))[0]!.details_json)).toMatchObject({ quantity: 100 });
    const held = (await edge.call("get_positions", {})).structuredContent.positions;
    expect(held[0]).toMatchObject({ worst_case_loss: 10_600 });
    expect((await edge.call("get_safety_status", {})).structuredContent.breakers.find((b: any) => b.name === "assignment").tripped).toBe(false);
    // Weeks after the expiry, a new short stock position in the symbol is no assignment's.
    await edge.inside((sql) => sql.exec("UPDATE kv SET value_json = ? WHERE key = 'expiry_settled'", JSON.stringify({ AAPL: "2000-01-03" })));
    await bridge.event("position", position("AAPL", 265598, -50));
    expect(await edge.audit("assignment_stock")).toHaveLength(1);
    expect((await edge.call("get_safety_status", {})).structuredContent.breakers.find((b: any) => b.name === "assignment").tripped).toBe(false);
    bridge.close();
  });
});
