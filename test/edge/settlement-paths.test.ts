// Issue 23, the risk model's settlement paths, replayed through preview_order and place_order over
// MCP inside workerd (real Durable Object, real SQLite ledger): early assignment of one short leg
// (item 1), cash-settled index options and settlement styles TWS has not reported (item 2), and
// what the figure leaves out (item 9). Every case here was allowed, or reported without its bound,
// before the engine modelled these paths.
import { describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { checksOf, Edge, FakeBridge, futureExpiry, opt, twsSettlement } from "./harness";

const NEAR = futureExpiry(20);
const FAR = futureExpiry(50);

const order = (symbol: string, legs: Leg[], max_risk: number, capital_required = max_risk) => ({ symbol, strategy: "settlement case", legs, max_risk, capital_required });

async function fresh(netLiq = 100_000) {
  const edge = new Edge();
  const bridge = await FakeBridge.connect(edge, { account: netLiq });
  return { edge, bridge };
}

describe("item 1: a short leg can be assigned while the long leg that covered it lapses", () => {
  it("the issue's SPY structure (near 560C/561C, far 560P, 2.06 debit) is unbounded and refused, not allowed at $206", async () => {
    const { edge, bridge } = await fresh();
    const legs = [opt("BUY", "SPY", NEAR, 560, "C", 21), opt("SELL", "SPY", NEAR, 561, "C", 20.3), opt("BUY", "SPY", FAR, 560, "P", 1.36)];
    const preview = await edge.call("preview_order", order("SPY", legs, 206));
    expect(preview.structuredContent.would_pass).toBe(false);
    expect(preview.structuredContent.computed_max_risk).toBeNull();
    expect(checksOf(preview)).toContain("unbounded_risk");
    expect(JSON.stringify(preview.structuredContent.violations)).toMatch(/assigned \(early, or by a holder exercising after the close\)/);
    const placed = await edge.call("place_order", order("SPY", legs, 206));
    expect(placed.isError).toBe(true);
    expect(checksOf(placed)).toContain("unbounded_risk");
    expect(bridge.sent("place")).toHaveLength(0);
  });

  it("a bounded structure is measured with its short put assigned early and its near long lapsed: $1,150, not $150", async () => {
    const { edge, bridge } = await fresh();
    const legs = [opt("SELL", "SPY", NEAR, 100, "P", 2.6), opt("BUY", "SPY", NEAR, 105, "P", 3.8), opt("BUY", "SPY", FAR, 95, "P", 1.3), opt("BUY", "SPY", FAR, 90, "C", 4)];
    const preview = await edge.call("preview_order", order("SPY", legs, 150));
    expect(preview.structuredContent.computed_max_risk).toBe(1_150);
    expect(checksOf(preview)).toEqual(expect.arrayContaining(["max_risk_claim", "max_trade_risk"]));
    const placed = await edge.call("place_order", order("SPY", legs, 1_150));
    expect(checksOf(placed)).toContain("max_trade_risk");
    expect(placed.structuredContent.message).toMatch(/Max risk \(\$1,150\.00\) exceeds limit \(\$500\.00\)/);
    expect(bridge.sent("place")).toHaveLength(0);
  });
});

describe("item 2: index options settle in cash at their own settlement value", () => {
  it("an XSP long calendar, $200 as if settled in shares, is unbounded: the near short call pays in cash and leaves nothing to cover", async () => {
    const { edge, bridge } = await fresh();
    const legs = [opt("SELL", "XSP", NEAR, 580, "C", 8), opt("BUY", "XSP", FAR, 580, "C", 10)];
    const preview = await edge.call("preview_order", order("XSP", legs, 200));
    expect(preview.structuredContent.computed_max_risk).toBeNull();
    expect(checksOf(preview)).toContain("unbounded_risk");
    expect(preview.structuredContent.risk_bounds.settlement).toEqual([
      { delivery: "cash", exercise: "european", trading_class: "XSP" },
      { delivery: "cash", exercise: "european", trading_class: "XSP" },
    ]);
    const placed = await edge.call("place_order", order("XSP", legs, 200));
    expect(checksOf(placed)).toContain("unbounded_risk");
    expect(bridge.sent("place")).toHaveLength(0);
    // The same calendar on SPY (shares delivered, ETF options) is the $200 debit, and allowed.
    const spy = await edge.call("place_order", order("SPY", legs.map((l) => ({ ...l, contract: { ...l.contract, symbol: "SPY" } })), 200));
    expect(spy.isError, JSON.stringify(spy.structuredContent)).toBeFalsy();
    expect(spy.structuredContent.computed_max_risk).toBe(200);
  });

  it("an XSP put diagonal is $58,170 (the near put paid at a settlement of 0, the far put worthless), not $670", async () => {
    const { edge, bridge } = await fresh();
    const legs = [opt("SELL", "XSP", NEAR, 580, "P", 8), opt("BUY", "XSP", FAR, 575, "P", 9.7)];
    const preview = await edge.call("preview_order", order("XSP", legs, 670));
    expect(preview.structuredContent.computed_max_risk).toBe(58_170);
    const placed = await edge.call("place_order", order("XSP", legs, 58_170));
    expect(checksOf(placed)).toContain("max_trade_risk");
    expect(bridge.sent("place")).toHaveLength(0);
  });

  it("VIX expiries settle on different values: a VIX calendar's near short call is not covered by the far long", async () => {
    const { edge } = await fresh();
    const preview = await edge.call("preview_order", order("VIX", [opt("SELL", "VIX", NEAR, 20, "C", 1.5), opt("BUY", "VIX", FAR, 20, "C", 2.2)], 70));
    expect(checksOf(preview)).toContain("unbounded_risk");
  });

  it("a multi-expiry order whose settlement TWS has not reported (an older bridge) is refused as not computable; a long call still goes", async () => {
    const { edge, bridge } = await fresh();
    bridge.settlementOf = () => undefined;
    const calendar = [opt("SELL", "AAPL", NEAR, 100, "C", 2), opt("BUY", "AAPL", FAR, 100, "C", 3.5)];
    const placed = await edge.call("place_order", order("AAPL", calendar, 150));
    expect(placed.isError).toBe(true);
    expect(checksOf(placed)).toEqual(["risk_not_computable"]);
    expect(placed.structuredContent.message).toMatch(/settle.*is not known/);
    expect(bridge.sent("place")).toHaveLength(0);
    const longCall = await edge.call("place_order", order("AAPL", [opt("BUY", "AAPL", NEAR, 100, "C", 3)], 300));
    expect(longCall.isError, JSON.stringify(longCall.structuredContent)).toBeFalsy();
    expect(bridge.sent("place")).toHaveLength(1);
  });

  it("the order goes to the bridge with the styles its figure assumed, and the next one of the symbol costs one trip", async () => {
    const { edge, bridge } = await fresh();
    const legs = [opt("SELL", "AAPL", NEAR, 100, "C", 2), opt("BUY", "AAPL", FAR, 100, "C", 3.5)];
    const first = await edge.call("place_order", order("AAPL", legs, 150));
    expect(first.isError, JSON.stringify(first.structuredContent)).toBeFalsy();
    expect(bridge.sent("quote")).toHaveLength(1); // the first order asks TWS how the legs settle
    expect(bridge.sent("place")[0]!.params.settlement).toEqual(twsSettlement(legs));
    const again = legs.map((l) => ({ ...l, contract: { ...l.contract, strike: 101 } as Leg["contract"] }));
    const second = await edge.call("place_order", order("AAPL", again, 150));
    expect(second.isError, JSON.stringify(second.structuredContent)).toBeFalsy();
    expect(bridge.sent("quote")).toHaveLength(1);
    expect(bridge.sent("place")[1]!.params.settlement).toEqual(twsSettlement(again));
  });
});

describe("item 9: the figure says whether it is exact, and by how much it is a bound", () => {
  it("a share-settled iron condor: dividends act on 100 short shares, moves after expiry on up to 200; a cash-settled one is exact", async () => {
    const { edge } = await fresh();
    const condor = (symbol: string) => [opt("BUY", symbol, NEAR, 90, "P", 0.5), opt("SELL", symbol, NEAR, 95, "P", 1.2), opt("SELL", symbol, NEAR, 105, "C", 1.3), opt("BUY", symbol, NEAR, 110, "C", 0.6)];
    const aapl = (await edge.call("preview_order", order("AAPL", condor("AAPL"), 360))).structuredContent;
    expect(aapl.computed_max_risk).toBe(360);
    expect(aapl.risk_bounds).toMatchObject({ exact: false, dividend_shares: 100, pin_shares: 200 });
    expect(aapl.risk_bounds.notes.join(" ")).toMatch(/each \$1\.00 of dividend going ex meanwhile can add up to \$100\.00/);
    expect(aapl.risk_bounds.notes.join(" ")).toMatch(/each \$1\.00 the underlying moves before they are closed can add up to \$200\.00/);
    const xsp = (await edge.call("preview_order", order("XSP", condor("XSP"), 360))).structuredContent;
    expect(xsp.computed_max_risk).toBe(360);
    expect(xsp.risk_bounds).toMatchObject({ exact: true, dividend_shares: 0, pin_shares: 0 });
  });
});
