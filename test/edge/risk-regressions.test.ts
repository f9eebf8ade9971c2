// Each finding of the adversarial risk review (issue 11) replayed through preview_order and
// place_order over MCP inside workerd, against the real Durable Object and its SQLite ledger.
// Every case was ALLOWED (or mis-reported) before the fix.
import { describe, expect, it } from "vitest";
import type { Leg } from "../../shared/order";
import { checksOf, Edge, FakeBridge, futureExpiry, opt } from "./harness";

const NEAR = futureExpiry(20);
const FAR = futureExpiry(50);

const stk = (action: Leg["action"], symbol: string, shares: number, price: number): Leg => ({ action, quantity: shares, price, contract: { symbol, sec_type: "STK" } });
const order = (symbol: string, legs: Leg[], max_risk: number, capital_required = max_risk) => ({ symbol, strategy: "review case", legs, max_risk, capital_required });

async function fresh(netLiq = 100_000) {
  const edge = new Edge();
  const bridge = await FakeBridge.connect(edge, { account: netLiq });
  return { edge, bridge };
}

describe("1. per-leg prices are hints: risk rests on the price the broker binds", () => {
  it("a collar (stock + put + call) with skewed leg prices is refused: a stock+option combo has no pinned IBKR price", async () => {
    const { edge, bridge } = await fresh();
    // 100 shares, long 90 put, short 110 call. Skewed: the stock leg's price lowered, the put's
    // raised, so the legs' "net" looks small although $10,000 of stock is bought.
    const collar = [stk("BUY", "AAPL", 100, 96), opt("BUY", "AAPL", NEAR, 90, "P", 5), opt("SELL", "AAPL", NEAR, 110, "C", 1)];
    const preview = await edge.call("preview_order", order("AAPL", collar, 400));
    expect(preview.structuredContent.would_pass).toBe(false);
    expect(checksOf(preview)).toContain("risk_not_computable");
    expect(JSON.stringify(preview.structuredContent.violations)).toMatch(/mixes stock and option legs/);
    const scaled = collar.map((l) => ({ ...l, quantity: l.contract.sec_type === "STK" ? 1_000 : 10 }));
    const placed = await edge.call("place_order", order("AAPL", scaled, 100, 50));
    expect(placed.isError).toBe(true);
    expect(checksOf(placed)).toContain("risk_not_computable");
    expect(bridge.sent("place")).toHaveLength(0);
  });

  it("a skewed vertical is measured at its net price: the same risk whatever the split", async () => {
    const { edge } = await fresh();
    const fair = await edge.call("preview_order", order("AAPL", [opt("BUY", "AAPL", NEAR, 100, "C", 3), opt("SELL", "AAPL", NEAR, 105, "C", 1)], 200));
    const skewed = await edge.call("preview_order", order("AAPL", [opt("BUY", "AAPL", NEAR, 100, "C", 40), opt("SELL", "AAPL", NEAR, 105, "C", 38)], 200));
    expect(fair.structuredContent.computed_max_risk).toBe(200);
    expect(skewed.structuredContent.computed_max_risk).toBe(200);
    expect(skewed.structuredContent.limit_price).toBe(2);
  });
});

describe("2. mixed expiries are held to expiry, no action assumed", () => {
  it("a near long call plus a far deep in-the-money long put is measured at its whole premium ($6,100) and refused", async () => {
    const { edge, bridge } = await fresh();
    const legs = [opt("BUY", "AAPL", NEAR, 100, "C", 3), opt("BUY", "AAPL", FAR, 160, "P", 58)];
    const preview = await edge.call("preview_order", order("AAPL", legs, 400));
    expect(preview.structuredContent.computed_max_risk).toBe(6_100);
    expect(preview.structuredContent.risk_method).toBe("hold_to_expiry");
    const placed = await edge.call("place_order", order("AAPL", legs, 400));
    expect(checksOf(placed)).toEqual(expect.arrayContaining(["max_risk_claim", "max_trade_risk"]));
    expect(bridge.sent("place")).toHaveLength(0);
  });

  it("a truly bounded calendar stays allowed with its true figure (its debit)", async () => {
    const { edge, bridge } = await fresh();
    const legs = [opt("SELL", "AAPL", NEAR, 100, "C", 2), opt("BUY", "AAPL", FAR, 100, "C", 3.5)];
    const placed = await edge.call("place_order", order("AAPL", legs, 150));
    expect(placed.isError).toBeFalsy();
    expect(placed.structuredContent.computed_max_risk).toBe(150);
    expect(bridge.sent("place")).toHaveLength(1);
    expect(bridge.sent("place")[0]!.params.limit_price).toBe(1.5);
  });
});

describe("3. index options settle in cash (issue 23 withdrew \"exercise style does not matter\")", () => {
  it.each(["MRUT", "XND"])("%s: a calendar's near short call pays in cash with nothing delivered to cover it (unbounded), and the premium trap is refused at its full 6,100 dollars", async (symbol) => {
    const { edge } = await fresh();
    const calendar = await edge.call("preview_order", order(symbol, [opt("SELL", symbol, NEAR, 2000, "C", 20), opt("BUY", symbol, FAR, 2000, "C", 23)], 300));
    expect(calendar.structuredContent.risk_method).toBe("hold_to_expiry");
    expect(calendar.structuredContent.computed_max_risk).toBeNull();
    expect(checksOf(calendar)).toContain("unbounded_risk");
    const trap = await edge.call("preview_order", order(symbol, [opt("BUY", symbol, NEAR, 2000, "C", 3), opt("BUY", symbol, FAR, 2060, "P", 58)], 400));
    expect(trap.structuredContent.computed_max_risk).toBe(6_100);
    expect(checksOf(trap)).toContain("max_trade_risk");
  });
});

describe("4. non-finite numbers never reach the engine", () => {
  it("a strike of 1.7e308 is a clear input error; nothing is reserved or sent", async () => {
    const { edge, bridge } = await fresh();
    const legs = [opt("SELL", "AAPL", NEAR, 1.7e308, "C", 1), opt("BUY", "AAPL", NEAR, 1.7e308, "P", 1.05)];
    for (const tool of ["preview_order", "place_order"]) {
      const answer = await edge.call(tool, order("AAPL", legs, 0));
      expect(answer.isError).toBe(true);
      expect(JSON.stringify(answer)).toMatch(/strike must be at most 100000/);
      expect(JSON.stringify(answer)).not.toMatch(/NaN/);
    }
    expect(bridge.sent("place")).toHaveLength(0);
    const trades = await edge.call("list_trades", {});
    expect(trades.structuredContent.trades).toHaveLength(0);
  });

  it("max_risk and capital_required claims have a finite range", async () => {
    const { edge } = await fresh();
    const answer = await edge.call("preview_order", order("AAPL", [opt("BUY", "AAPL", NEAR, 100, "C", 1)], 1e300));
    expect(answer.isError).toBe(true);
    expect(JSON.stringify(answer)).toMatch(/max_risk must be at most/);
  });
});

describe("6. concentration: what moves together, at its computed capital", () => {
  it("SPX, SPXW and XSP count as one underlying", async () => {
    const { edge, bridge } = await fresh(10_000); // 30% = $3,000
    const condor = (symbol: string, center: number, width: number, credit: number) => [
      opt("BUY", symbol, NEAR, center - 2 * width, "P", 0.5), opt("SELL", symbol, NEAR, center - width, "P", 0.5 + credit / 2),
      opt("SELL", symbol, NEAR, center + width, "C", 0.5 + credit / 2), opt("BUY", symbol, NEAR, center + 2 * width, "C", 0.5),
    ];
    // Worst cases: SPX 5-wide, 1.00 credit → $400; each takes $1,200 of capital by its claim.
    expect((await edge.call("place_order", order("SPX", condor("SPX", 6000, 5, 1), 400, 1_200))).isError).toBeFalsy();
    expect((await edge.call("place_order", order("SPXW", condor("SPXW", 6000, 5, 1.2), 400, 1_200))).isError).toBeFalsy();
    const third = await edge.call("place_order", order("XSP", condor("XSP", 600, 1, 0.6), 40, 1_200));
    expect(checksOf(third)).toEqual(["concentration"]);
    expect(third.structuredContent.message).toMatch(/XSP \(counted with SPX\) exposure \(\$3,600\.00 incl\. this order\)/);
    expect(bridge.sent("place")).toHaveLength(2);
  });

  it("groups by the underlying the broker reports, not the symbol the agent typed", async () => {
    const { edge, bridge } = await fresh(10_000);
    bridge.underlyingOf = () => "SPX"; // TWS reports these SPXW options' underlying as SPX
    const legs = [opt("BUY", "SPXW", NEAR, 6000, "C", 2), opt("SELL", "SPXW", NEAR, 6005, "C", 0.5)];
    expect((await edge.call("place_order", order("SPXW", legs, 150, 2_000))).isError).toBeFalsy();
    const more = await edge.call("preview_order", order("SPX", [opt("BUY", "SPX", NEAR, 6100, "C", 2), opt("SELL", "SPX", NEAR, 6105, "C", 0.5)], 150, 1_500));
    expect(checksOf(more)).toContain("concentration");
  });

  it("exposure is the larger of the claim and the computed capital: a tiny capital_required hides nothing", async () => {
    const { edge } = await fresh(1_000); // 30% = $300
    const preview = await edge.call("preview_order", order("AAPL", [opt("BUY", "AAPL", NEAR, 100, "C", 4.9)], 490, 1));
    expect(preview.structuredContent.exposure).toBe(490);
    expect(checksOf(preview)).toContain("concentration");
  });
});

describe("7. a single-leg SELL is collared in one sign convention", () => {
  it("a short put at its market is not refused by the collar (only by its size)", async () => {
    const { edge } = await fresh();
    const preview = await edge.call("preview_order", order("AAPL", [opt("SELL", "AAPL", NEAR, 100, "P", 1.2)], 9_880));
    expect(checksOf(preview)).not.toContain("price_collar");
    expect(checksOf(preview)).toContain("max_trade_risk");
  });
});

describe("8. an error after the bridge acknowledged an order leaves it Unknown, risk kept", () => {
  it("a storage failure while recording the ack does not release the reservation", async () => {
    const { edge, bridge } = await fresh();
    // Inject a write failure exactly where the acknowledged order is recorded as working.
    await edge.inside((sql) =>
      sql.exec(`CREATE TRIGGER fail_working BEFORE UPDATE OF state ON trades WHEN NEW.state = 'working' BEGIN SELECT RAISE(ABORT, 'injected storage failure'); END`),
    );
    const legs = [opt("BUY", "AAPL", NEAR, 100, "C", 3), opt("SELL", "AAPL", NEAR, 105, "C", 1)];
    const placed = await edge.call("place_order", order("AAPL", legs, 200));
    expect(bridge.sent("place")).toHaveLength(1);
    expect(placed.structuredContent.status).toBe("Unknown");
    const state = await edge.inside((sql) => sql.exec<{ state: string; reserved_risk: number }>("SELECT state, reserved_risk FROM trades").toArray());
    expect(state).toEqual([{ state: "unknown", reserved_risk: 200 }]);
  });
});
