// Every check of shared/checks.ts, each tripped and each passed just inside its limit, from a
// baseline order and account that pass everything.
import { describe, expect, it } from "vitest";
import { type AccountState, type CheckContext, type CheckedOrder, evaluateOrder, orderFingerprint, perOrderChecks } from "../../shared/checks";
import type { Leg } from "../../shared/order";
import { analyzeOrder } from "../../shared/risk";
import { netLimitPrice } from "../../shared/combo-price";
import { TODAY, call, ironCondor, put, shareSettled, stock } from "./fixtures";

const condor = ironCondor(); // worst-case loss $360, net limit −1.40 (credit)

function order(overrides: Partial<CheckedOrder> = {}): CheckedOrder {
  return { symbol: "AAPL", legs: condor, max_risk: 360, capital_required: 360, ...overrides };
}
function state(overrides: Partial<AccountState> = {}): AccountState {
  return {
    netLiquidation: 100_000,
    highWaterMark: 100_000,
    dailyPnl: 0,
    lossStreak: 0,
    exposureBySymbol: {},
    emergencyStop: false,
    breaker: { tripped: false },
    ordersLastMinute: 0,
    accountDataAgeMs: 1_000,
    recentOrderFingerprints: [],
    allowedSymbols: null,
    ...overrides,
  };
}
function context(overrides: Partial<CheckContext> = {}): CheckContext {
  return { intent: "open", quote: { mid: netLimitPrice(condor), ageMs: 1_000 }, ...overrides };
}
function decide(o = order(), s = state(), c = context()) {
  return evaluateOrder(o, analyzeOrder(o.legs, { symbol: o.symbol, today: TODAY, settlement: shareSettled(o.legs) }), s, c);
}
const checksOf = (d: ReturnType<typeof decide>) => d.violations.map((v) => v.check);

describe("baseline", () => {
  it("allows the iron condor and reserves its risk", () => {
    const d = decide();
    expect(d).toEqual({ allowed: true, violations: [], riskUsed: 360, exposure: 360 });
  });

  it("reports every violated check at once, not only the first", () => {
    const d = decide(order({ max_risk: 600 }), state({ emergencyStop: true, lossStreak: 5, ordersLastMinute: 9 }));
    expect(checksOf(d).sort()).toEqual(["consecutive_losses", "emergency_stop", "max_trade_risk", "order_rate"]);
  });
});

describe("each check trips and passes just inside", () => {
  it("max_trade_risk: the caller's claim", () => {
    expect(decide(order({ max_risk: 500 })).allowed).toBe(true);
    const d = decide(order({ max_risk: 500.01 }));
    expect(d.violations).toEqual([{ check: "max_trade_risk", message: "Max risk ($500.01) exceeds limit ($500.00)", value: 500.01, limit: 500 }]);
  });

  it("max_trade_risk: the computed risk when the claim is smaller", () => {
    // 1×2 condor wings: two condors of $360 worst case = $720 computed.
    const double = condor.map((leg) => ({ ...leg, quantity: 2 }));
    const d = decide(order({ legs: double, max_risk: 720 }), state(), context({ quote: { mid: netLimitPrice(double), ageMs: 0 } }));
    expect(d.violations.find((v) => v.check === "max_trade_risk")?.message).toBe("Max risk ($720.00) exceeds limit ($500.00)");
    // A $5-wide vertical bought for exactly $5.00 − $0.00… use a debit of $5.00 on a 5-wide: loss $500, passes.
    const vertical = [call("BUY", 100, 5.05), call("SELL", 105, 0.05)];
    expect(decide(order({ legs: vertical, max_risk: 500 }), state(), context({ quote: { mid: 5, ageMs: 0 } })).allowed).toBe(true);
  });

  it("max_risk_claim: a claim below the computed worst case is refused", () => {
    const d = decide(order({ max_risk: 359.99 }));
    expect(d.violations).toEqual([
      { check: "max_risk_claim", message: "Claimed max_risk ($359.99) is below the computed worst-case loss ($360.00)", value: 359.99, limit: 360 },
    ]);
    expect(decide(order({ max_risk: 360 })).allowed).toBe(true);
  });

  it("unbounded_risk: a naked short call", () => {
    const strangle = [put("SELL", 95, 1.5), call("SELL", 105, 1.6)];
    const d = decide(order({ legs: strangle }), state(), context({ quote: { mid: netLimitPrice(strangle), ageMs: 0 } }));
    expect(checksOf(d)).toContain("unbounded_risk");
    expect(d.allowed).toBe(false);
  });

  it("risk_not_computable: a combo that mixes stock and options has no price IBKR's documentation pins", () => {
    const legs: Leg[] = [stock("BUY", 100, 100), call("SELL", 105, 2)];
    const d = decide(order({ legs }), state(), context({ quote: { mid: 98, ageMs: 0 } }));
    expect(checksOf(d)).toContain("risk_not_computable");
    expect(d.allowed).toBe(false);
  });

  it("unbounded_risk: a short later-dated call whose near long call may lapse", () => {
    const legs: Leg[] = [call("BUY", 100, 2), call("SELL", 100, 3.5, 1, "AAPL", "2027-01-15")];
    const d = decide(order({ legs }), state(), context({ quote: { mid: netLimitPrice(legs), ageMs: 0 } }));
    expect(checksOf(d)).toContain("unbounded_risk");
  });

  it("price_collar: a single-leg SELL is compared in one sign convention with its instrument's mid", () => {
    const legs: Leg[] = [put("SELL", 95, 1.2)];
    // Bridge quotes of one leg are the instrument's own mid (+1.25); the SELL's limit is −1.20.
    const near = decide(order({ legs, max_risk: 9_380 }), state(), context({ quote: { mid: 1.25, ageMs: 0 } }));
    expect(checksOf(near)).not.toContain("price_collar");
    const far = decide(order({ legs, max_risk: 9_380 }), state(), context({ quote: { mid: 2.5, ageMs: 0 } }));
    expect(checksOf(far)).toContain("price_collar");
  });

  it("daily_loss: already at the limit", () => {
    const d = decide(order(), state({ dailyPnl: -1_000 }));
    expect(d.violations.map((v) => v.message)).toContain("Daily loss ($1,000.00) has reached the limit ($1,000.00)");
  });

  it("daily_loss: this order's worst case would cross it", () => {
    expect(decide(order(), state({ dailyPnl: -640 })).allowed).toBe(true); // 640 + 360 = 1,000 exactly
    const d = decide(order(), state({ dailyPnl: -640.01 }));
    expect(d.violations.map((v) => v.message)).toEqual([
      "Daily loss so far ($640.01) plus this order's worst-case loss ($360.00) would exceed the daily loss limit ($1,000.00)",
    ]);
  });

  it("drawdown: 10% from the high-water mark", () => {
    expect(decide(order(), state({ netLiquidation: 90_000.01, highWaterMark: 100_000 })).allowed).toBe(true);
    const d = decide(order(), state({ netLiquidation: 90_000, highWaterMark: 100_000 }));
    expect(checksOf(d)).toEqual(["drawdown"]);
    expect(d.violations[0]!.message).toBe("Drawdown of 10.0% from the high-water mark ($100,000.00) reaches the 10.0% breaker");
  });

  it("consecutive_losses: five in a row", () => {
    expect(decide(order(), state({ lossStreak: 4 })).allowed).toBe(true);
    expect(checksOf(decide(order(), state({ lossStreak: 5 })))).toEqual(["consecutive_losses"]);
  });

  it("concentration: open and pending exposure plus this order against 30% of net liquidation", () => {
    expect(decide(order(), state({ exposureBySymbol: { AAPL: 29_640 } })).allowed).toBe(true); // exactly 30%
    const d = decide(order(), state({ exposureBySymbol: { AAPL: 29_640.01 } }));
    expect(checksOf(d)).toEqual(["concentration"]);
    expect(d.violations[0]!.message).toBe(
      "AAPL exposure ($30,000.01 incl. this order) would be 30.0% of net liquidation ($100,000.00), above the 30.0% limit",
    );
    // Other symbols' exposure does not count.
    expect(decide(order(), state({ exposureBySymbol: { SPY: 90_000 } })).allowed).toBe(true);
  });

  it("concentration uses capital_required when it is larger than the risk", () => {
    expect(checksOf(decide(order({ capital_required: 30_000.01 })))).toEqual(["concentration"]);
    expect(decide(order({ capital_required: 30_000 })).allowed).toBe(true);
  });

  it("order_rate: orders in the last minute", () => {
    expect(decide(order(), state({ ordersLastMinute: 4 })).allowed).toBe(true);
    expect(checksOf(decide(order(), state({ ordersLastMinute: 5 })))).toEqual(["order_rate"]);
  });

  it("emergency_stop: refuses opening, allows closing", () => {
    expect(checksOf(decide(order(), state({ emergencyStop: true })))).toEqual(["emergency_stop"]);
    expect(decide(order(), state({ emergencyStop: true }), context({ intent: "close" })).allowed).toBe(true);
  });

  it("circuit_breaker: refuses opening with the reason, allows closing", () => {
    const tripped = state({ breaker: { tripped: true, kind: "drawdown", reason: "net liquidation fell 10.2% from its high" } });
    const d = decide(order(), tripped);
    expect(d.violations).toEqual([
      { check: "circuit_breaker", message: "Circuit breaker is tripped (drawdown): net liquidation fell 10.2% from its high" },
    ]);
    expect(decide(order(), tripped, context({ intent: "close" })).allowed).toBe(true);
  });

  it("stale_data: account data age and missing data", () => {
    expect(decide(order(), state({ accountDataAgeMs: 60_000 })).allowed).toBe(true);
    expect(decide(order(), state({ accountDataAgeMs: 60_001 })).violations[0]!.message).toBe(
      "Account data is 60 s old (limit 60 s): refusing until the bridge reports fresh values",
    );
    expect(checksOf(decide(order(), state({ accountDataAgeMs: null })))).toEqual(["stale_data"]);
    expect(checksOf(decide(order(), state({ netLiquidation: null })))).toEqual(["stale_data"]);
  });

  it("price_collar: limit price against the mid", () => {
    // mid −1.54 vs limit −1.40: 0.14 off, and the collar is max(10% × 1.54, 0.10) = 0.154.
    expect(decide(order(), state(), context({ quote: { mid: -1.54, ageMs: 0 } })).allowed).toBe(true);
    const d = decide(order(), state(), context({ quote: { mid: -1.16, ageMs: 0 } })); // 0.24 off, collar 0.116 → 0.12
    expect(d.violations[0]).toMatchObject({ check: "price_collar", value: 0.24 });
    expect(d.violations[0]!.message).toBe("Limit price -$1.40 is $0.24 from the mid -$1.16; at most $0.12 is allowed");
    // A small net price gets the absolute floor of $0.10.
    expect(decide(order(), state(), context({ quote: { mid: -1.3, ageMs: 0 } })).allowed).toBe(true);
    expect(checksOf(decide(order(), state(), context({ quote: { mid: -1.65, ageMs: 0 } })))).toEqual(["price_collar"]);
  });

  it("market_data: no quote, no mid, or an old quote fail closed", () => {
    expect(checksOf(decide(order(), state(), context({ quote: null })))).toEqual(["market_data"]);
    expect(checksOf(decide(order(), state(), context({ quote: { mid: null, ageMs: 0 } })))).toEqual(["market_data"]);
    expect(decide(order(), state(), context({ quote: { mid: -1.4, ageMs: 15_000 } })).allowed).toBe(true);
    expect(checksOf(decide(order(), state(), context({ quote: { mid: -1.4, ageMs: 15_001 } })))).toEqual(["market_data"]);
  });

  it("duplicate_order: the same structure placed moments ago", () => {
    const fingerprint = orderFingerprint(order());
    expect(checksOf(decide(order(), state({ recentOrderFingerprints: [fingerprint] })))).toEqual(["duplicate_order"]);
    const other = orderFingerprint(order({ legs: condor.map((leg) => ({ ...leg, quantity: 2 })) }));
    expect(decide(order(), state({ recentOrderFingerprints: [other] })).allowed).toBe(true);
  });

  it("symbol_not_allowed: an allow-list only narrows", () => {
    expect(checksOf(decide(order(), state({ allowedSymbols: ["SPY", "QQQ"] })))).toEqual(["symbol_not_allowed"]);
    expect(decide(order(), state({ allowedSymbols: ["AAPL"] })).allowed).toBe(true);
  });
});

describe("perOrderChecks (the bridge's second key)", () => {
  it("refuses over-limit risk with no account state at all", () => {
    const o = order({ max_risk: 600 });
    expect(perOrderChecks(o, analyzeOrder(o.legs, { symbol: "AAPL", today: TODAY, settlement: shareSettled(o.legs) })).map((v) => v.check)).toEqual(["max_trade_risk"]);
  });
  it("passes the baseline and still validates legs of a closing order", () => {
    const o = order();
    expect(perOrderChecks(o, analyzeOrder(o.legs, { symbol: "AAPL", today: TODAY, settlement: shareSettled(o.legs) }))).toEqual([]);
    const bad = order({ legs: [...condor.slice(0, 3), { ...condor[3]!, quantity: 1.5 }] });
    expect(perOrderChecks(bad, analyzeOrder(bad.legs, { symbol: "AAPL", today: TODAY, settlement: shareSettled(bad.legs) }), "close").map((v) => v.check)).toEqual(["quantity"]);
  });
});
