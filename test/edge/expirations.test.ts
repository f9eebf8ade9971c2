// Expiration (issue 16), inside workerd with a fake bridge: an open trade whose legs' expiry has
// closed by the broker's clock (TWS's, when the bridge says it runs apart) and which TWS no longer
// holds is closed with its realized P&L (legs leave at no price); not before its expiry, and not
// while TWS still holds a leg. Stock then held in the underlying is alerted with its own risk on
// get_positions; a short one trips the assignment breaker (openings refused) until a person resets it.
import { describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { condorOrder, Edge, FakeBridge, fillOrder, ironCondor, optionOf, reconciled, settlement, testNow, waitFor } from "./harness";

const position = (symbol: string, conId: number, quantity: number, extra: Record<string, unknown> = {}) => ({
  account: "sim", symbol, sec_type: "STK", expiry: null, strike: null, right: null, con_id: conId, quantity, avg_cost: 105, current_price: 106,
  market_value: quantity * 106, unrealized_pnl: 0, unrealized_pnl_pct: 0, ...extra,
});
const clock = (skewMs: number) => ({ tws_time: new Date(Date.now() + skewMs).toISOString(), skew_ms: skewMs });
const optionPosition = (leg: Leg, quantity: number) => {
  const c = optionOf(leg);
  return { ...position(c.symbol, 2000 + c.strike * 10 + (c.right === "C" ? 1 : 0), quantity), sec_type: "OPT", expiry: c.expiry, strike: c.strike, right: c.right };
};
const afterClose = (expiry: string) => `${expiry}T21:30:00.000Z`;
const daysPast = (expiry: string) => (Math.ceil((Date.parse(`${expiry}T23:00:00Z`) - Date.now()) / 86_400_000) + 1) * 86_400_000;

/** A filled condor whose legs TWS holds. */
async function openCondor(edge: Edge, bridge: FakeBridge, center = 100) {
  const legs = ironCondor("AAPL", center);
  const placed = (await edge.call("place_order", condorOrder({}, center))).structuredContent;
  await fillOrder(bridge, placed.trade_id, placed.order_id, legs, false, [1.0, 0.5, 1.0, 0.5]);
  for (const leg of legs) await bridge.event("position", optionPosition(leg, leg.action === "SELL" ? -1 : 1));
  return { legs, tradeId: placed.trade_id as string };
}

describe("expiration", () => {
  it("closes an expired trade TWS no longer holds with its P&L; assignment stock is alerted, and short stock trips a breaker until reset", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
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
    // TWS's reports of the legs' ends were not seen: the bridge is asked for them once (it has
    // none), then the trade closes with its legs leaving at no price.
    const closed = await waitFor(async () => ((await trade()).state === "closed" ? trade() : null), "the expired trade to close");
    expect(bridge.sent("executions").at(-1)?.params).toEqual({ since: `${c.expiry}T00:00:00.000Z` });
    expect(JSON.parse((await edge.audit("trade_expired"))[0]!.details_json).legs.map((l: any) => l.outcome)).toEqual(["unreported", "unreported", "unreported", "unreported"]);
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
    await reconciled(edge, 1);
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

  describe("TWS's reports of each leg's end (executions no order made)", () => {
    const details = async (edge: Edge, action: string) => (await edge.audit(action)).map((r) => JSON.parse(r.details_json));

    it("books the short call's assignment and the other legs' lapse on the trade, pairs the delivered stock, keeps it out of the P&L", async () => {
      const edge = new Edge();
      const bridge = await FakeBridge.connect(edge);
      await reconciled(edge, 1);
      const { legs, tradeId } = await openCondor(edge, bridge);
      const expiry = optionOf(legs[0]!).expiry;
      await bridge.event("tws_clock", clock(daysPast(expiry)));
      // As TWS sends them: each option leaves at no price (short ones bought back, long ones sold),
      // then 100 shares of the assigned short call are sold at its strike; then the positions.
      for (const leg of legs) await bridge.event("execution", settlement(optionOf(leg), leg.action === "SELL" ? "BOT" : "SLD", 1, 0, afterClose(expiry)));
      await bridge.event("execution", settlement({ symbol: "AAPL" }, "SLD", 100, 105, afterClose(expiry), "delivery-1"));
      await bridge.event("position", position("AAPL", 265598, -100));
      for (const leg of legs) await bridge.event("position", optionPosition(leg, 0));

      const trade = (await edge.call("list_trades", {})).structuredContent.trades.find((t: any) => t.trade_id === tradeId);
      expect(trade.state).toBe("closed");
      // The premium only: sold 1.00 + 1.00, bought 0.50 + 0.50, less 4 USD commissions. The stock
      // sold at the strike is a new (short) position, still held: nothing of it is realized yet.
      expect(trade.realized_pnl).toBe(96);
      expect(trade.delivered_stock_pnl).toBeUndefined();
      expect(trade.leg_ends.map((l: any) => [l.action, l.contract.right, l.contract.strike, l.outcome, l.early])).toEqual([
        ["SELL", "P", 95, "lapsed", false], ["BUY", "P", 90, "lapsed", false], ["SELL", "C", 105, "assigned", false], ["BUY", "C", 110, "lapsed", false],
      ]);
      expect(trade.fills.filter((f: any) => f.settlement).map((f: any) => [f.settlement, f.sec_type, f.side, f.shares, f.price]).sort()).toEqual([
        ["delivery", "STK", "SLD", 100, 105], ["option", "OPT", "BOT", 1, 0], ["option", "OPT", "BOT", 1, 0], ["option", "OPT", "SLD", 1, 0], ["option", "OPT", "SLD", 1, 0],
      ]);
      // The reports were seen live: the bridge was not asked for them again.
      expect(bridge.sent("executions").filter((r) => r.params.since)).toEqual([]);
      expect((await details(edge, "option_settlement")).map((d) => d.outcome)).toEqual(Array(4).fill("lapsed_unless_delivery_follows"));
      expect(await details(edge, "settlement_delivery")).toEqual([expect.objectContaining({ trade_id: tradeId, outcome: "assigned", shares: 100, price: 105 })]);
      expect((await details(edge, "trade_expired"))[0].legs.map((l: any) => l.outcome)).toEqual(["lapsed", "lapsed", "assigned", "lapsed"]);
      expect(await edge.audit("foreign_fill")).toEqual([]);
      expect((await edge.call("get_safety_status", {})).structuredContent.breakers.find((b: any) => b.name === "assignment").tripped).toBe(true);
      // The same reports again (a reconnect's re-read) change nothing.
      for (const leg of legs) await bridge.event("execution", settlement(optionOf(leg), leg.action === "SELL" ? "BOT" : "SLD", 1, 0, afterClose(expiry), "again"));
      expect((await details(edge, "option_settlement")).length).toBe(5);
      bridge.close();
    });

    it("pairs a delivery that arrives before its option, and asks the bridge for reports it missed", async () => {
      const edge = new Edge();
      const bridge = await FakeBridge.connect(edge);
      await reconciled(edge, 1);
      const { legs, tradeId } = await openCondor(edge, bridge);
      const expiry = optionOf(legs[0]!).expiry;
      await bridge.event("tws_clock", clock(daysPast(expiry)));
      // Long put 90 exercised (price fell to 85): 100 shares sold at 90; the short put 95 assigned: 100 bought at 95.
      await bridge.event("execution", settlement({ symbol: "AAPL" }, "SLD", 100, 90, afterClose(expiry), "stock-90"));
      await bridge.event("execution", settlement({ symbol: "AAPL" }, "BOT", 100, 95, afterClose(expiry), "stock-95"));
      await bridge.event("execution", settlement(optionOf(legs[0]!), "BOT", 1, 0, afterClose(expiry), "put-95"));
      // The call legs' reports reach only the master client: the bridge (asked) answers with them.
      const calls = legs.slice(2).map((leg, i) => settlement(optionOf(leg), leg.action === "SELL" ? "BOT" : "SLD", 1, 0, afterClose(expiry), `call-${i}`));
      const put90 = settlement(optionOf(legs[1]!), "SLD", 1, 0, afterClose(expiry), "put-90");
      bridge.handlers.executions = () => [...calls, put90];
      for (const leg of legs) await bridge.event("position", optionPosition(leg, 0));
      const trade = await waitFor(async () => {
        const t = (await edge.call("list_trades", {})).structuredContent.trades.find((x: any) => x.trade_id === tradeId);
        return t.state === "closed" ? t : null;
      }, "the trade to close once the missed reports came");
      expect(trade.leg_ends.map((l: any) => l.outcome)).toEqual(["assigned", "exercised", "lapsed", "lapsed"]);
      // Premiums +$96, and the stock the two puts delivered (bought at 95, sold at 90): −$500 (issue 23 item 6).
      expect(trade.realized_pnl).toBe(-404);
      expect(trade.delivered_stock_pnl).toBe(-500);
      expect(trade.fills.filter((f: any) => f.settlement === "delivery").map((f: any) => f.exec_id).sort()).toEqual(["stock-90", "stock-95"]);
      expect((await details(edge, "trade_expired"))[0].legs.map((l: any) => l.outcome)).toEqual(["assigned", "exercised", "lapsed", "lapsed"]);
      bridge.close();
    });

    it("a contract two trades hold is not attributed to either; each shows its end", async () => {
      const edge = new Edge();
      const bridge = await FakeBridge.connect(edge, { account: 1_000_000 });
      await reconciled(edge, 1);
      const first = await openCondor(edge, bridge);
      // A call vertical sharing the condor's short call.
      const vertical = ironCondor("AAPL", 100).slice(2);
      const placed = (await edge.call("place_order", { symbol: "AAPL", strategy: "call credit spread", legs: vertical, max_risk: 450, capital_required: 450 })).structuredContent;
      expect(placed.trade_id, JSON.stringify(placed)).toBeTruthy();
      await fillOrder(bridge, placed.trade_id, placed.order_id, vertical, false, [1.0, 0.5]);
      const second = { tradeId: placed.trade_id as string };
      const call = optionOf(first.legs[2]!);
      await bridge.event("execution", settlement(call, "BOT", 2, 0, afterClose(call.expiry), "shared-call"));
      const [row] = await details(edge, "option_settlement");
      expect(row).toMatchObject({ trade_id: null, held_by: [first.tradeId, second.tradeId] });
      const trades = (await edge.call("list_trades", {})).structuredContent.trades;
      for (const id of [first.tradeId, second.tradeId]) {
        const t = trades.find((x: any) => x.trade_id === id);
        expect(t.leg_ends.find((l: any) => l.contract.right === "C" && l.action === "SELL")).toMatchObject({ outcome: "lapsed", exec_ids: ["shared-call"] });
        expect(t.fills.some((f: any) => f.exec_id === "shared-call")).toBe(false);
      }
      bridge.close();
    });

    it("an early assignment before the expiry day is flagged, its stock alerted, and the trade stays open", async () => {
      const edge = new Edge();
      const bridge = await FakeBridge.connect(edge);
      await reconciled(edge, 1);
      const { legs, tradeId } = await openCondor(edge, bridge);
      const call = optionOf(legs[2]!);
      const now = testNow().toISOString();
      await bridge.event("execution", settlement(call, "BOT", 1, 0, now, "early-call"));
      await bridge.event("execution", settlement({ symbol: "AAPL" }, "SLD", 100, call.strike, now, "early-stock"));
      await bridge.event("position", optionPosition(legs[2]!, 0));
      await bridge.event("position", position("AAPL", 265598, -100));
      const [row] = await details(edge, "option_settlement");
      expect(row).toMatchObject({ trade_id: tradeId, early: true });
      const trade = (await edge.call("list_trades", {})).structuredContent.trades.find((t: any) => t.trade_id === tradeId);
      expect(trade.state).toBe("open");
      expect(trade.leg_ends[2]).toMatchObject({ outcome: "assigned", early: true });
      expect(await details(edge, "assignment_stock")).toEqual([expect.objectContaining({ symbol: "AAPL", quantity: -100 })]);
      expect((await edge.call("get_safety_status", {})).structuredContent.breakers.find((b: any) => b.name === "assignment").tripped).toBe(true);

      // What is left is closable (under the breaker): the close leaves the assigned call out.
      const closed = await edge.call("close_position", { trade_id: tradeId });
      expect(closed.structuredContent.success, JSON.stringify(closed.structuredContent)).toBe(true);
      const sentLegs = bridge.sent("close").at(-1)!.params.legs as Leg[];
      expect(sentLegs.map((l) => [l.action, optionOf(l).strike, optionOf(l).right, l.quantity])).toEqual([["SELL", 95, "P", 1], ["BUY", 90, "P", 1], ["BUY", 110, "C", 1]]);
      const rest = [legs[0]!, legs[1]!, legs[3]!];
      await fillOrder(bridge, `${tradeId}_CLOSE`, closed.structuredContent.close_order_id, rest, true, [0.4, 0.2, 0.1]);
      const done = (await edge.call("list_trades", {})).structuredContent.trades.find((t: any) => t.trade_id === tradeId);
      // Opening +100 − 4, closing −40 + 20 + 10 − 3; the assigned call left at no price.
      expect(done).toMatchObject({ state: "closed", realized_pnl: 83 });
      bridge.close();
    });

    it("a trade whose every leg TWS settled early is closed at once, and close_position says nothing is held", async () => {
      const edge = new Edge();
      const bridge = await FakeBridge.connect(edge);
      await reconciled(edge, 1);
      // A put credit spread; AAPL falls below both strikes: the short put is assigned early and the
      // long put exercised against it (100 shares bought at 95, sold at 90).
      const [shortPut, longPut] = ironCondor("AAPL", 100).slice(0, 2) as [Leg, Leg];
      const placed = (await edge.call("place_order", { symbol: "AAPL", strategy: "put credit spread", legs: [shortPut, longPut], max_risk: 450, capital_required: 450 })).structuredContent;
      expect(placed.trade_id, JSON.stringify(placed)).toBeTruthy();
      await fillOrder(bridge, placed.trade_id, placed.order_id, [shortPut, longPut], false, [1.0, 0.5]);
      await bridge.event("position", optionPosition(shortPut, -1));
      await bridge.event("position", optionPosition(longPut, 1));
      const now = testNow().toISOString();
      await bridge.event("execution", settlement(optionOf(shortPut), "BOT", 1, 0, now, "early-95"));
      await bridge.event("execution", settlement({ symbol: "AAPL" }, "BOT", 100, 95, now, "early-95-stock"));
      await bridge.event("execution", settlement(optionOf(longPut), "SLD", 1, 0, now, "early-90"));
      await bridge.event("execution", settlement({ symbol: "AAPL" }, "SLD", 100, 90, now, "early-90-stock"));
      await bridge.event("position", optionPosition(shortPut, 0));
      await bridge.event("position", optionPosition(longPut, 0));
      const trade = (await edge.call("list_trades", {})).structuredContent.trades.find((t: any) => t.trade_id === placed.trade_id);
      // The premium (sold 1.00, bought 0.50, less 2 USD commissions: +$48) and the stock the puts
      // delivered, bought at 95 and sold at 90 (−$500): the spread's loss is the trade's (issue 23 item 6).
      expect(trade).toMatchObject({ state: "closed", realized_pnl: -452, delivered_stock_pnl: -500 });
      expect(trade.leg_ends.map((l: any) => [l.outcome, l.early])).toEqual([["assigned", true], ["exercised", true]]);
      expect(await edge.audit("trade_settled_early")).toHaveLength(1);
      const again = await edge.call("close_position", { trade_id: placed.trade_id });
      expect(again.isError).toBe(true);
      expect(JSON.stringify(again.structuredContent)).toMatch(/cannot be closed: it is closed/);
      bridge.close();
    });

    it("a cash settlement reported after the trade closed at expiry corrects its P&L, today's P&L and the loss streak", async () => {
      const edge = new Edge();
      const bridge = await FakeBridge.connect(edge);
      await reconciled(edge, 1);
      const { legs, tradeId } = await openCondor(edge, bridge);
      const expiry = optionOf(legs[0]!).expiry;
      await bridge.event("tws_clock", clock(daysPast(expiry)));
      for (const leg of legs) await bridge.event("position", optionPosition(leg, 0));
      const list = async () => (await edge.call("list_trades", {})).structuredContent.trades.find((t: any) => t.trade_id === tradeId);
      await waitFor(async () => (await list()).state === "closed", "the trade to close with its legs unreported");
      expect((await list()).realized_pnl).toBe(96);
      const lossesBefore = (await edge.call("get_safety_status", {})).structuredContent.limits.find((l: any) => l.name === "consecutive_losses").used;
      // The short call settled for cash 3.00 in the money: bought back at 3.00 (the long call lapsed).
      await bridge.event("execution", settlement(optionOf(legs[2]!), "BOT", 1, 3, afterClose(expiry), "cash-call"));
      const after = await list();
      expect(after.realized_pnl).toBe(-204);
      expect(after.leg_ends[2]).toMatchObject({ outcome: "cash_settled" });
      expect(await details(edge, "realized_pnl_adjusted")).toEqual([expect.objectContaining({ trade_id: tradeId, from: 96, to: -204, delta: -300, loss_streak_counted: true })]);
      const status = (await edge.call("get_safety_status", {})).structuredContent;
      expect(status.limits.find((l: any) => l.name === "consecutive_losses").used).toBe(lossesBefore + 1);
      bridge.close();
    });

    it("an execution no order made that is no option's end stays a foreign fill", async () => {
      const edge = new Edge();
      const bridge = await FakeBridge.connect(edge);
      await reconciled(edge, 1);
      await openCondor(edge, bridge);
      // Stock at a price no leg's strike is, and a hand-placed option trade (it has a permId).
      await bridge.event("execution", settlement({ symbol: "AAPL" }, "BOT", 100, 101.37, testNow().toISOString(), "odd-stock"));
      await bridge.event("execution", { ...settlement(optionOf(ironCondor()[2]!), "BOT", 1, 0.4, testNow().toISOString(), "by-hand"), perm_id: 777 });
      expect((await details(edge, "foreign_fill")).map((d) => d.exec_id)).toEqual(["odd-stock", "by-hand"]);
      expect(await edge.audit("option_settlement")).toEqual([]);
      bridge.close();
    });
  });
});
