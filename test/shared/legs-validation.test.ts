// Leg validation of shared/risk.ts: each rule tripped and passed just inside its limit.
import { describe, expect, it } from "vitest";
import { MAX_CONTRACTS_PER_ORDER, MAX_SHARES_PER_ORDER } from "../../shared/limits";
import { validateLegs } from "../../shared/risk";
import { TODAY, call, ironCondor, put, stock } from "./fixtures";

const checks = (legs: Parameters<typeof validateLegs>[0], symbol = "AAPL") => validateLegs(legs, { symbol, today: TODAY }).map((v) => v.check);

describe("leg validation", () => {
  it("accepts a clean iron condor", () => expect(checks(ironCondor())).toEqual([]));

  it("legs_count: at most 4", () => {
    const five = [...ironCondor(), call("BUY", 120, 0.1)];
    expect(checks(five)).toEqual(["legs_count"]);
    expect(checks([])).toEqual(["legs_count"]);
  });

  it("strike above zero", () => {
    expect(checks([call("BUY", 0, 1)])).toEqual(["strike"]);
    expect(checks([call("BUY", 0.5, 1)])).toEqual([]);
  });

  it("expiry not in the past, today allowed, not beyond 1,000 days", () => {
    expect(checks([call("BUY", 100, 1, 1, "AAPL", "2026-11-23")])).toEqual(["expiry"]);
    expect(checks([call("BUY", 100, 1, 1, "AAPL", TODAY)])).toEqual([]);
    expect(checks([call("BUY", 100, 1, 1, "AAPL", "2029-08-20")])).toEqual([]); // 1,000 days
    expect(checks([call("BUY", 100, 1, 1, "AAPL", "2029-08-21")])).toEqual(["expiry"]);
  });

  it("quantity a positive whole number", () => {
    expect(checks([call("BUY", 100, 1, 0)])).toEqual(["quantity"]);
    expect(checks([call("BUY", 100, 1, -1)])).toEqual(["quantity"]);
    expect(checks([call("BUY", 100, 1, 1.5)])).toEqual(["quantity"]);
  });

  it("order_size: contracts and shares per leg", () => {
    expect(checks([call("BUY", 100, 1, MAX_CONTRACTS_PER_ORDER)])).toEqual([]);
    expect(checks([call("BUY", 100, 1, MAX_CONTRACTS_PER_ORDER + 1)])).toEqual(["order_size"]);
    expect(checks([stock("BUY", MAX_SHARES_PER_ORDER, 100)])).toEqual([]);
    expect(checks([stock("BUY", MAX_SHARES_PER_ORDER + 1, 100)])).toEqual(["order_size"]);
  });

  it("leg_price: at least $0.05 for options, whole cents, above zero for stock", () => {
    expect(checks([call("BUY", 100, 0.05)])).toEqual([]);
    expect(checks([call("BUY", 100, 0.04)])).toEqual(["leg_price"]);
    expect(checks([call("BUY", 100, 1.005)])).toEqual(["leg_price"]);
    expect(checks([stock("BUY", 100, 0)])).toEqual(["leg_price"]);
  });

  it("spread_width: strike range per expiry and right within 20 points", () => {
    expect(checks([call("BUY", 100, 3), call("SELL", 120, 1)])).toEqual([]);
    expect(checks([call("BUY", 100, 3), call("SELL", 120.5, 1)])).toEqual(["spread_width"]);
    // A wide strangle is two groups of one strike each: no width at all.
    expect(checks([put("SELL", 70, 1), call("SELL", 130, 1)])).toEqual([]);
  });

  it("underlying: one symbol, the order's", () => {
    expect(checks([call("BUY", 100, 3), call("SELL", 105, 1, 1, "MSFT")])).toEqual(["underlying", "underlying"]);
    expect(checks([call("BUY", 100, 3, 1, "SPY")], "AAPL")).toEqual(["underlying"]);
  });

  it("duplicate_leg: the same contract twice, whatever the action", () => {
    expect(checks([call("BUY", 100, 3), call("SELL", 100, 3)])).toEqual(["duplicate_leg"]);
    expect(checks([call("BUY", 100, 3), put("SELL", 100, 3)])).toEqual([]);
  });

  it("messages name the leg", () => {
    const [violation] = validateLegs([call("BUY", 100, 0.04)], { symbol: "AAPL", today: TODAY });
    expect(violation!.message).toBe("Leg price $0.04 is below the minimum of $0.05 (BUY 1 AAPL 2026-12-18 100C @ 0.04)");
  });
});
