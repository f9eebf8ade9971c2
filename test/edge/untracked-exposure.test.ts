// The concentration limit counts what TWS holds that no active trade accounts for (assigned
// stock, positions placed by hand, what a closed trade left), inside workerd over MCP with a fake
// bridge: the refusal names the amounts, get_safety_status's room shrinks, index families count
// together, and a position an open trade holds is not counted a second time.
// Every case here was allowed (or showed the larger room) before the positions were counted.
import { describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { checksOf, condor, condorOrder, Edge, FakeBridge, fillOrder, futureExpiry, ironCondor, limitsUsed, reconciled, testNow, waitFor } from "./harness";

const EXPIRY = futureExpiry(20);

/** A position event as the bridge sends it (TWS's POSITION + PORTFOLIO_VALUE). */
function stock(symbol: string, conId: number, quantity: number, price: number) {
  return {
    account: "sim", symbol, sec_type: "STK", expiry: null, strike: null, right: null, con_id: conId, quantity, avg_cost: price, current_price: price,
    market_value: quantity * price, unrealized_pnl: 0, unrealized_pnl_pct: 0,
  };
}
/** An option position; `avgCost` per contract, multiplier included, as IBKR reports it; `mark` per share. */
function option(symbol: string, conId: number, quantity: number, strike: number, right: "C" | "P", avgCost: number, mark: number | null) {
  return {
    account: "sim", symbol, sec_type: "OPT", expiry: EXPIRY, strike, right, con_id: conId, quantity, avg_cost: avgCost, current_price: mark,
    market_value: mark === null ? null : quantity * mark * 100, unrealized_pnl: null, unrealized_pnl_pct: null,
  };
}
const order = (symbol: string, legs: Leg[], maxRisk: number, capital = maxRisk) => ({ symbol, strategy: "iron condor", legs, max_risk: maxRisk, capital_required: capital });

async function fresh(netLiq: number) {
  const edge = new Edge();
  const bridge = await FakeBridge.connect(edge, { account: netLiq });
  await reconciled(edge, 1);
  return { edge, bridge };
}
const room = async (edge: Edge) => (await edge.call("get_safety_status", {})).structuredContent.remaining_risk_budget.concentration_room_by_symbol;

describe("positions no trade accounts for count toward concentration", () => {
  it("assigned long stock (100 SPY, $58,000): a new SPY order is refused with the amounts, one in another underlying passes", async () => {
    const { edge, bridge } = await fresh(100_000); // 30% = $30,000
    // A short put assigned: TWS now holds 100 shares bought at the strike; no active trade holds them.
    await bridge.event("position", stock("SPY", 756733, 100, 580));

    const spy = await edge.call("place_order", order("SPY", condor("SPY", 580, 5, 1, EXPIRY), 400));
    expect(spy.isError).toBe(true);
    expect(checksOf(spy)).toEqual(["concentration"]);
    expect(spy.structuredContent.message).toContain(
      "SPY (counted with SPX) exposure ($58,400.00 incl. this order and $58,000.00 in positions held that no trade accounts for) would be 58.4% of net liquidation ($100,000.00)",
    );
    const preview = await edge.call("preview_order", order("SPY", condor("SPY", 580, 5, 1, EXPIRY), 400));
    expect(checksOf(preview)).toEqual(["concentration"]);

    const aapl = await edge.call("place_order", condorOrder());
    expect(aapl.isError).toBeFalsy();
    expect(bridge.sent("place")).toHaveLength(1);
    expect(bridge.sent("place")[0]!.params.legs[0].contract.symbol).toBe("AAPL");

    expect(await room(edge)).toEqual({ SPX: 0, AAPL: 29_600 });
    const budget = (await edge.call("get_safety_status", {})).structuredContent.remaining_risk_budget;
    expect(budget.untracked_exposure_by_symbol).toEqual({ SPX: 58_000 });
    expect((await limitsUsed(edge)).concentration).toBe(0.58);
    const state = (await edge.admin("/api/state")).body;
    expect(JSON.stringify(state)).toContain('"name":"concentration"');
    expect(state.limits.find((l: { name: string }) => l.name === "concentration").used).toBe(0.58);
  });

  it("options placed by hand in TWS count: a short put at its strike, a long call at its premium, a short call at the larger of strike and underlying", async () => {
    const { edge, bridge } = await fresh(100_000);
    await bridge.event("position", option("AAPL", 9001, -2, 100, "P", 150, 1.5)); // 2 × 100 × 100 = $20,000
    await bridge.event("position", option("AAPL", 9002, 4, 110, "C", 250, null)); // no mark: 4 × $250 paid = $1,000
    expect((await room(edge)).AAPL).toBe(9_000);

    await bridge.event("position", option("AAPL", 9002, 4, 110, "C", 250, 3.1)); // marked: 4 × 100 × 3.10 = $1,240
    expect((await room(edge)).AAPL).toBe(8_760);

    await bridge.event("position", option("AAPL", 9003, -1, 80, "C", 2_000, 20)); // short call, underlying unknown: its strike, $8,000
    expect((await room(edge)).AAPL).toBe(760);
    await bridge.event("position", stock("AAPL", 265598, 1, 85)); // TWS marks AAPL at 85: the call at $8,500, plus the share's $85
    expect((await room(edge)).AAPL).toBe(175);

    const placed = await edge.call("place_order", condorOrder());
    expect(checksOf(placed)).toEqual(["concentration"]);
    expect(placed.structuredContent.message).toContain("AAPL exposure ($30,225.00 incl. this order and $29,825.00 in positions held that no trade accounts for)");
    expect(bridge.sent("place")).toHaveLength(0);
  });

  it("a position an open trade holds is not counted again; only the part beyond it is", async () => {
    const { edge, bridge } = await fresh(100_000);
    const legs = ironCondor("AAPL", 100);
    const placed = (await edge.call("place_order", condorOrder())).structuredContent;
    await fillOrder(bridge, placed.trade_id, placed.order_id, legs, false, [1.0, 0.5, 1.0, 0.5]);
    // TWS reports the condor's legs under the contract ids its executions carried (harness: 1000 + strike) ...
    const held = (leg: Leg, quantity: number) => {
      const c = leg.contract as { strike: number; right: "C" | "P"; expiry: string };
      return { ...option("AAPL", 1000 + c.strike, quantity, c.strike, c.right, 100, 1), expiry: c.expiry };
    };
    for (const leg of legs) await bridge.event("position", held(leg, leg.action === "SELL" ? -1 : 1));
    expect((await room(edge)).AAPL).toBe(29_600);
    const another = await edge.call("preview_order", condorOrder({}, 120)); // not the same order again (the duplicate check)
    expect(checksOf(another)).toEqual([]);
    expect(another.structuredContent.would_pass).toBe(true);

    // ... and one more 95 put sold by hand: only that one counts, at its strike.
    await bridge.event("position", held(legs[0]!, -2));
    expect((await room(edge)).AAPL).toBe(20_100);

    // Once the ledger has closed the trade, all it left in TWS counts: two short puts, a short call at its strike, the long legs at their marks.
    const closed = await edge.call("close_position", { trade_id: placed.trade_id });
    await fillOrder(bridge, `${placed.trade_id}_CLOSE`, closed.structuredContent.close_order_id, legs, true, [1.0, 0.5, 1.0, 0.5]);
    await waitFor(async () => (await edge.call("list_trades", {})).structuredContent.trades.find((t: any) => t.trade_id === placed.trade_id)?.state === "closed", "the trade closed");
    expect((await room(edge)).AAPL).toBe(roundCents(30_000 - (19_000 + 10_500 + 100 + 100)));
  });

  it("stock delivered by an early assignment counts although it is booked on the still open trade", async () => {
    const { edge, bridge } = await fresh(100_000);
    const legs = ironCondor("AAPL", 100, 1, EXPIRY);
    const placed = (await edge.call("place_order", { ...condorOrder(), legs })).structuredContent;
    await fillOrder(bridge, placed.trade_id, placed.order_id, legs, false, [1.0, 0.5, 1.0, 0.5]);
    const held = (leg: Leg, quantity: number) => {
      const c = leg.contract as { strike: number; right: "C" | "P" };
      return option("AAPL", 1000 + c.strike, quantity, c.strike, c.right, 100, 1);
    };
    for (const leg of legs) await bridge.event("position", held(leg, leg.action === "SELL" ? -1 : 1));
    expect((await room(edge)).AAPL).toBe(29_600);

    // The short 95 put is assigned early, as TWS reports it: the option leaves at no price, 100 shares come in at the strike.
    const settlement = (con: { con_id: number; symbol: string; sec_type: string; expiry: string | null; strike: number | null; right: "C" | "P" | null }, side: "BOT" | "SLD", shares: number, price: number, id: string) => ({
      exec_id: id, order_id: 0, perm_id: 0, order_ref: null, ...con, side, shares, price, time: testNow().toISOString(), commission: 0, realized_pnl: null,
    });
    await bridge.event("execution", settlement({ con_id: 1095, symbol: "AAPL", sec_type: "OPT", expiry: EXPIRY, strike: 95, right: "P" }, "BOT", 1, 0, "assigned-put"));
    await bridge.event("execution", settlement({ con_id: 265598, symbol: "AAPL", sec_type: "STK", expiry: null, strike: null, right: null }, "BOT", 100, 95, "delivered-stock"));
    await bridge.event("position", held(legs[0]!, 0));
    await bridge.event("position", stock("AAPL", 265598, 100, 94));
    const delivery = await edge.inside((sql) => sql.exec<{ trade_id: string | null; settlement: string | null }>("SELECT trade_id, settlement FROM fills WHERE exec_id = 'delivered-stock'").toArray()[0]);
    expect(delivery).toEqual({ trade_id: placed.trade_id, settlement: "delivery" }); // booked on the trade ...
    expect((await edge.call("list_trades", {})).structuredContent.trades.find((t: any) => t.trade_id === placed.trade_id).state).toBe("open");
    expect((await room(edge)).AAPL).toBe(30_000 - 400 - 9_400); // ... yet its $9,400 counts
  });

  it("an option position on XSP and SPY stock count with SPX orders (one economic underlying); AAPL does not", async () => {
    const { edge, bridge } = await fresh(400_000); // 30% = $120,000
    await bridge.event("position", option("XSP", 9101, -1, 590, "P", 500, 5)); // $59,000, in the S&P 500 group
    await bridge.event("position", stock("SPY", 756733, 100, 580)); // $58,000, the S&P 500 too
    expect(await room(edge)).toEqual({ SPX: 3_000 });

    const spx = await edge.call("place_order", order("SPX", condor("SPX", 6000, 5, 1, EXPIRY), 400, 3_100));
    expect(checksOf(spx)).toEqual(["concentration"]);
    expect(spx.structuredContent.message).toContain("SPX exposure ($120,100.00 incl. this order and $117,000.00 in positions held that no trade accounts for)");
    const spy = await edge.call("place_order", order("SPY", condor("SPY", 580, 5, 1, EXPIRY), 400, 3_100));
    expect(checksOf(spy)).toEqual(["concentration"]);
    expect((await edge.call("place_order", condorOrder({ capital_required: 3_100 }))).isError).toBeFalsy();
    expect(bridge.sent("place")).toHaveLength(1);
  });

  it("modify_order counts them too: walking a working condor is refused once a hand-placed short put fills the room", async () => {
    const { edge, bridge } = await fresh(100_000);
    bridge.quoteMid = () => -1.0;
    const placed = await edge.call("place_order", condorOrder());
    expect(placed.isError).toBeFalsy();
    await bridge.event("position", option("AAPL", 9201, -3, 99, "P", 120, 1.2)); // 3 × 100 × 99 = $29,700
    bridge.quoteMid = () => -0.95;
    const walked = await edge.call("modify_order", { trade_id: placed.structuredContent.trade_id, limit_price: -0.95, max_risk: 405 });
    expect(walked.isError).toBe(true);
    expect(checksOf(walked)).toEqual(["concentration"]);
    expect(JSON.stringify(walked.structuredContent.violations)).toContain("AAPL exposure ($30,105.00 incl. this order and $29,700.00 in positions held that no trade accounts for)");
    expect(bridge.sent("modify")).toHaveLength(0);
  });

  it("a flatten under way does not hide its position: it stays at risk until the close fills", async () => {
    const { edge, bridge } = await fresh(200_000); // 30% = $60,000
    await bridge.event("position", stock("SPY", 756733, 100, 580)); // bought by hand in TWS
    const stop = await edge.admin("/api/emergency-stop", { on: true, reason: "drill", close_positions: true });
    expect(stop.body.closes).toHaveLength(1);
    expect(stop.body.closes[0].success).toBe(true);
    await edge.admin("/api/emergency-stop", { on: false, reason: "drill over" });
    expect((await room(edge)).SPX).toBe(2_000);
    const spy = await edge.call("preview_order", order("SPY", condor("SPY", 580, 5, 1, EXPIRY), 400, 2_100));
    expect(checksOf(spy)).toEqual(["concentration"]);
  });
});

function roundCents(x: number): number {
  return Math.round(x * 100) / 100;
}
