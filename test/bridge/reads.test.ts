// Read operations over the real link against the simulator: account snapshot, positions,
// quotes of a stock, an option and a whole combo, the option chain, health, write_log; the
// account heartbeat; and IBKR pacing held under a burst of 500 requests (the simulator's count).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyMarketDataError, MAX_CHAIN_QUOTE_STRIKES } from "../../bridge/market-data";
import { isoExpiry, optionQuote, type Rig, spyIronCondor, startRig, until } from "./helpers";
import { cents } from "../support/cents";

let rig: Rig;
beforeAll(async () => {
  rig = await startRig({ BRIDGE_ACCOUNT_HEARTBEAT_MS: "300" });
});
afterAll(async () => {
  expect(rig.sim.protocolWarnings()).toEqual([]);
  await rig.stop();
});

describe("reads", () => {
  it("answers the account snapshot from TWS's summary and P&L, and refreshes it by heartbeat", async () => {
    const { edge, sim } = rig;
    const account = await edge.ok<Record<string, number | string>>("account");
    const state = sim.accountState();
    expect(account.account_id).toBe("DU1234567");
    expect(account.net_liquidation).toBe(100_000);
    expect(account.total_cash).toBe(100_000);
    expect(account.buying_power).toBe(state.buyingPower);
    expect(account.currency).toBe("USD");
    expect(account.daily_pnl).toBe(0);
    const heartbeats = await until(() => edge.events<{ as_of: string }>("account").length >= 3 && edge.events<{ as_of: string }>("account"), 3000, "account heartbeats");
    expect(new Set(heartbeats.map((a) => a.as_of)).size).toBeGreaterThan(1);
    expect(await edge.ok("health")).toMatchObject({ state: "connected", server_version: 193, last_error: null });
  });

  it("quotes a stock, an option and a combo (net per unit, IBKR's sign)", async () => {
    const { edge, sim } = rig;
    const stock = await edge.ok<{ bid: number; ask: number; last: number; mid: number; data_type: string }>("quote", { legs: [{ action: "BUY", contract: { symbol: "SPY", sec_type: "STK" }, quantity: 1 }] });
    expect(stock).toMatchObject({ bid: 579.99, ask: 580.01, last: 580, mid: 580, data_type: "live" });

    const expiry = isoExpiry(sim.expiries()[1] as string);
    const put = optionQuote(sim, "SPY", expiry, 570, "P");
    const option = await edge.ok<{ bid: number; ask: number }>("quote", { legs: [{ action: "SELL", contract: { symbol: "SPY", expiry, strike: 570, right: "P" }, quantity: 1 }] });
    expect(option).toMatchObject({ bid: put.bid, ask: put.ask });

    const legs = spyIronCondor(sim);
    const combo = await edge.ok<{ bid: number; ask: number; mid: number }>("quote", { legs: legs.map(({ price: _p, ...leg }) => leg) });
    const naturalAsk = legs.reduce((s, l) => s + (l.action === "BUY" ? l.price : -l.price), 0);
    expect(cents(combo.ask)).toBe(cents(naturalAsk));
    expect(combo.bid).toBeLessThan(combo.ask);
    expect(combo.ask).toBeLessThan(0); // the condor is a credit
  });

  it("reports missing or delayed market data as such, never as a zero price", () => {
    expect(classifyMarketDataError(354, "Requested market data is not subscribed.")).toEqual({ dataType: "unavailable", reason: expect.stringContaining("354") });
    expect(classifyMarketDataError(10089, "Requested market data requires additional subscription")).toMatchObject({ dataType: "unavailable" });
    expect(classifyMarketDataError(10168, "not subscribed, delayed disabled")).toMatchObject({ dataType: "unavailable" });
    expect(classifyMarketDataError(10167, "Displaying delayed market data")).toMatchObject({ dataType: "delayed" });
    expect(classifyMarketDataError(200, "No security definition")).toBeNull();
  });

  it("lists the option chain and quotes one expiry near the money", async () => {
    const { edge, sim } = rig;
    const expiry = isoExpiry(sim.expiries()[0] as string);
    const chain = await edge.ok<{ expiries: string[]; strikes: number[]; underlying_price: number; quotes: { strike: number; right: string; bid: number | null }[] }>(
      "option_chain", { symbol: "SPY", expiry, strike_range: 0.01 },
    );
    expect(chain.expiries).toEqual(sim.expiries().map(isoExpiry));
    expect(chain.underlying_price).toBe(580);
    expect(chain.strikes).toEqual([575, 576, 577, 578, 579, 580, 581, 582, 583, 584, 585]);
    expect(chain.quotes).toHaveLength(22);
    const q = chain.quotes.find((x) => x.strike === 580 && x.right === "C");
    expect(q?.bid).toBe(optionQuote(sim, "SPY", expiry, 580, "C").bid);
    const bad = await edge.request("option_chain", { symbol: "SPY", expiry: "2020-01-17" });
    expect(bad.error?.code).toBe("invalid_params");
    const badParams = await edge.request("quote", { legs: [] });
    expect(badParams.error?.code).toBe("invalid_params");
  });

  it("at the default range lists every strike within 10% and quotes the 25 nearest the money", async () => {
    const { edge, sim } = rig;
    const expiry = isoExpiry(sim.expiries()[1] as string);
    const chain = await edge.ok<{ strikes: number[]; quotes: { strike: number; right: string }[] }>("option_chain", { symbol: "SPY", expiry });
    expect(chain.strikes).toEqual(sim.strikes("SPY").filter((k) => Math.abs(k - 580) <= 58));
    const quoted = [...new Set(chain.quotes.map((q) => q.strike))];
    expect(quoted).toHaveLength(MAX_CHAIN_QUOTE_STRIKES);
    expect(Math.max(...quoted.map((k) => Math.abs(k - 580)))).toBe(12);
    expect(chain.quotes).toHaveLength(2 * MAX_CHAIN_QUOTE_STRIKES);
  });

  it("appends write_log requests to safety_violations.log and circuit_breaker.log", async () => {
    const { edge, config } = rig;
    await edge.ok("write_log", { kind: "circuit_breaker", at: "2026-11-25T15:00:00.000Z", message: "Drawdown breaker tripped", details: { drawdown: 0.1 } });
    await edge.ok("write_log", { kind: "safety_violation", at: "2026-11-25T15:00:01.000Z", message: "Order refused: daily loss" });
    const breaker = readFileSync(join(config.logsDir, "circuit_breaker.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(breaker).toEqual([{ at: "2026-11-25T15:00:00.000Z", kind: "circuit_breaker", message: "Drawdown breaker tripped", details: { drawdown: 0.1 } }]);
    expect(readFileSync(join(config.logsDir, "safety_violations.log"), "utf8")).toContain("Order refused: daily loss");
  });
});

describe("pacing", () => {
  it("never sends TWS more than 50 messages per second, even when 500 requests arrive at once", async () => {
    const { sim, bridge } = rig;
    const before = sim.pacing().total;
    const legs = [{ action: "BUY" as const, contract: { symbol: "AAPL", sec_type: "STK" as const }, quantity: 1 }];
    // All 500 at once into the bridge's handlers (the link itself answers one at a time).
    const answers = await Promise.all(Array.from({ length: 500 }, () => bridge.ops.quote({ legs })));
    expect(answers.every((a) => a.data_type === "live" && a.bid === 229.99)).toBe(true);
    const pacing = sim.pacing();
    expect(pacing.total - before).toBeGreaterThanOrEqual(500);
    expect(pacing.maxPerSecond).toBeLessThanOrEqual(50);
    expect(pacing.maxPerSecond).toBeGreaterThan(30); // the burst did press against the limit
  }, 30_000);
});
