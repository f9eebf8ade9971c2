// An options agent through the real system (MCP client → wrangler dev → bridge → simulator):
// picks short strikes by |delta| from the chain's greeks, reads price history, places a condor
// that rests, walks it with modify_order (same order id at TWS) until it fills, watches its
// standing and the net greeks, then closes it at a limit and walks the close to a fill.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { type TestStack, startTestStack, waitUntil } from "./harness";
import { waitOrderStatus } from "./scenario";
import { cents } from "../support/cents";

type G = { delta: number | null; iv: number | null; underlying_price: number | null };
type Row = { strike: number; right: "C" | "P"; bid: number | null; ask: number | null; greeks: G | null };

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack("options-agent");
});
afterAll(async () => {
  await t?.stop();
});

describe("an options agent chooses, walks and watches a condor", () => {
  it("chooses strikes by delta, walks the price to a fill, sees the standing, closes at a walked limit", async () => {
    const chains = await t.mcp.tool<{ expiries: string[] }>("get_option_chain", { symbol: "SPY" });
    const expiry = chains.structured.expiries[3]!;
    const history = await t.mcp.tool<{ bars: { close: number }[] }>("get_price_history", { symbol: "SPY", bar_size: "1 day", count: 20 });
    expect(history.isError, history.text).toBe(false);
    expect(history.structured.bars).toHaveLength(20);

    const chain = await t.mcp.tool<{ quotes: Row[]; market_data_lines: { used: number } }>("get_option_chain", { symbol: "SPY", expiry, min_strike: 545, max_strike: 615, delta_min: 0.1, delta_max: 0.2 });
    expect(chain.isError, chain.text).toBe(false);
    const rows = chain.structured.quotes;
    expect(rows.length).toBeGreaterThan(4);
    expect(rows.every((r) => r.greeks && Math.abs(r.greeks.delta!) >= 0.1 && Math.abs(r.greeks.delta!) <= 0.2)).toBe(true);
    // Shorts nearest 0.15 delta, wings 3 points further out.
    const pick = (right: "C" | "P") => rows.filter((r) => r.right === right).sort((a, b) => Math.abs(Math.abs(a.greeks!.delta!) - 0.15) - Math.abs(Math.abs(b.greeks!.delta!) - 0.15))[0]!;
    const shortPut = pick("P");
    const shortCall = pick("C");
    const quote = async (strike: number, right: "C" | "P") => (await t.mcp.tool<{ bid: number; ask: number; mid: number }>("get_quote", { legs: [{ action: "BUY", contract: { symbol: "SPY", expiry, strike, right }, quantity: 1 }] })).structured;
    const wingPut = await quote(shortPut.strike - 3, "P");
    const wingCall = await quote(shortCall.strike + 3, "C");
    const leg = (action: "BUY" | "SELL", strike: number, right: "C" | "P", price: number): Leg => ({ action, contract: { symbol: "SPY", expiry, strike, right }, quantity: 1, price });
    // Priced at mid + a little more credit: it rests.
    const legs = [
      leg("BUY", shortPut.strike - 3, "P", wingPut.ask), leg("SELL", shortPut.strike, "P", shortPut.ask!),
      leg("SELL", shortCall.strike, "C", shortCall.ask!), leg("BUY", shortCall.strike + 3, "C", wingCall.bid),
    ];
    const credit = Math.round((shortPut.ask! + shortCall.ask! - wingPut.ask - wingCall.bid) * 100) / 100;
    const naturalCredit = Math.round((shortPut.bid! + shortCall.bid! - wingPut.ask - wingCall.ask) * 100) / 100;
    const placed = await t.mcp.tool<{ trade_id: string; order_id: number; computed_max_risk: number }>("place_order", { symbol: "SPY", strategy: "iron condor", legs, max_risk: 300, capital_required: 300 });
    expect(placed.isError, placed.text).toBe(false);
    const tradeId = placed.structured.trade_id;
    const orderId = placed.structured.order_id;
    await waitOrderStatus(t.mcp, orderId, ["Submitted"]);

    // Walk toward the natural price, a step at a time (each modify is an order for the rate limit).
    let filled = false;
    let walks = 0;
    for (let net = -credit; net <= -naturalCredit + 0.001 && !filled; net = Math.round((net + 0.05) * 100) / 100) {
      const next = Math.min(net + 0.05, -naturalCredit);
      const walked = await t.mcp.tool<{ order_id: number; limit_price: number; status: string }>("modify_order", { trade_id: tradeId, limit_price: Math.round(next * 100) / 100, max_risk: 300 });
      expect(walked.isError, walked.text).toBe(false);
      expect(walked.structured.order_id).toBe(orderId);
      walks++;
      filled = (await t.mcp.tool<{ status: string }>("get_order_status", { order_id: orderId })).structured.status === "Filled";
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(walks).toBeGreaterThan(0);
    await waitOrderStatus(t.mcp, orderId, ["Filled"]);
    const sim = await t.simState();
    expect(sim.orders.filter((o) => o.orderRef === tradeId)).toHaveLength(1); // one order at TWS, modified in place

    // Standing and net greeks.
    let standing: { mark: number | null; unrealized_pnl: number | null; distance_to_worst_case: number | null; days_to_expiry: number | null } | null = null;
    await waitUntil("the trade's standing", async () => {
      const trades = await t.mcp.tool<{ trades: { trade_id: string; standing: typeof standing }[] }>("list_trades", { symbol: "SPY" });
      standing = trades.structured.trades.find((x) => x.trade_id === tradeId)?.standing ?? null;
      return standing?.mark !== null && standing?.mark !== undefined;
    }, 20_000);
    expect(standing!.unrealized_pnl).not.toBeNull();
    expect(standing!.distance_to_worst_case).toBeGreaterThan(0);
    expect(standing!.days_to_expiry).toBeGreaterThan(0);
    const safety = await t.mcp.tool<{ net_greeks: { by_underlying: Record<string, { delta: number; legs_without_greeks: number }> } }>("get_safety_status", {});
    expect(safety.structured.net_greeks.by_underlying.SPY?.legs_without_greeks).toBe(0);
    expect(Math.abs(safety.structured.net_greeks.by_underlying.SPY!.delta)).toBeLessThan(30); // a condor is near delta-neutral

    // Close at a limit below the mid (a resting debit), then walk it to the ask: it fills.
    const closing = legs.map((l) => ({ action: l.action === "BUY" ? "SELL" : "BUY", contract: l.contract, quantity: 1 }));
    const closeQuote = (await t.mcp.tool<{ bid: number; ask: number; mid: number }>("get_quote", { legs: closing })).structured;
    expect(cents(closeQuote.ask - closeQuote.mid)).toBeLessThanOrEqual(10); // the walk stays inside the collar (in cents: an ask 1.30 over a mid 1.20 is 0.10000000000000009 in floats)
    const resting = Math.round((closeQuote.mid - 0.08) * 100) / 100;
    const low = await t.mcp.tool<{ close_order_id: number; status: string }>("close_position", { trade_id: tradeId, limit_price: resting });
    expect(low.isError, low.text).toBe(false);
    await waitOrderStatus(t.mcp, low.structured.close_order_id, ["Submitted"]);
    expect((await t.simState()).orders.find((o) => o.orderId === low.structured.close_order_id)).toMatchObject({ status: "Submitted" });
    const walkedClose = await t.mcp.tool<{ intent: string; order_id: number; previous_limit_price: number }>("modify_order", { trade_id: tradeId, limit_price: closeQuote.ask });
    expect(walkedClose.isError, walkedClose.text).toBe(false);
    expect(walkedClose.structured).toMatchObject({ intent: "close", order_id: low.structured.close_order_id, previous_limit_price: resting });
    await waitOrderStatus(t.mcp, low.structured.close_order_id, ["Filled"]);
    const after = await t.simState();
    expect(after.orders.filter((o) => o.orderRef === `${tradeId}_CLOSE`)).toHaveLength(1);
  }, 120_000);
});
