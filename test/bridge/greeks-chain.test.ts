// Greeks and strikes by delta over the real link against the simulator: an option quote carries
// TWS's model IV and greeks (the simulator's Black-Scholes values, as sent on the wire), a stock
// and a combo say why they have none; a chain filtered by |delta| quotes every strike of its
// window; a chain wider than the market-data line budget is refused, not truncated.
import { describe, expect, it } from "vitest";
import { LineBudget } from "../../bridge/market-data";
import { CHAIN_QUOTE_LINES } from "../../shared/protocol";
import { isoExpiry, spyIronCondor, useRig } from "./helpers";

const current = useRig("file");

type G = { iv: number | null; delta: number | null; gamma: number | null; theta: number | null; vega: number | null; underlying_price: number | null; model_price: number | null; data_type: string; age_seconds: number; as_of: string };
type Q = { bid: number | null; greeks: G | null; greeks_reason: string | null; leg_greeks?: { greeks: G | null; greeks_reason: string | null }[] };

describe("greeks", () => {
  it("an option quote carries TWS's model IV and greeks with the underlying price and their age", async () => {
    const { edge, sim } = current.rig;
    const ib = sim.expiries()[2] as string;
    const expiry = isoExpiry(ib);
    const q = await edge.ok<Q>("quote", { legs: [{ action: "SELL", contract: { symbol: "SPY", expiry, strike: 560, right: "P" }, quantity: 1 }] });
    const model = sim.server.market.quote(sim.optionConId("SPY", ib, 560, "P") as number)!.model!;
    expect(q.greeks).not.toBeNull();
    expect(q.greeks!.iv).toBeCloseTo(model.iv, 6);
    expect(q.greeks!.delta).toBeCloseTo(model.delta, 6);
    expect(q.greeks!.gamma).toBeCloseTo(model.gamma, 6);
    expect(q.greeks!.theta).toBeCloseTo(model.theta, 6);
    expect(q.greeks!.vega).toBeCloseTo(model.vega, 6);
    expect(q.greeks!.underlying_price).toBe(580);
    expect(q.greeks!.data_type).toBe("live");
    expect(q.greeks!.age_seconds).toBeLessThan(5);
    expect(q.greeks_reason).toBeNull();
  });

  it("a stock has none (with the reason); a combo gives each leg's", async () => {
    const { edge, sim } = current.rig;
    const stock = await edge.ok<Q>("quote", { legs: [{ action: "BUY", contract: { symbol: "SPY", sec_type: "STK" }, quantity: 1 }] });
    expect(stock.greeks).toBeNull();
    expect(stock.greeks_reason).toMatch(/stock/);
    const legs = spyIronCondor(sim).map(({ price: _p, ...leg }) => leg);
    const combo = await edge.ok<Q>("quote", { legs });
    expect(combo.greeks).toBeNull();
    expect(combo.leg_greeks).toHaveLength(4);
    for (const [i, leg] of legs.entries()) {
      const d = combo.leg_greeks![i]!.greeks!.delta as number;
      const right = (leg.contract as { right: string }).right;
      expect(right === "C" ? d > 0 : d < 0).toBe(true);
    }
  });
});

describe("strikes by delta", () => {
  it("quotes every strike of the window and keeps the options whose |delta| is in range", async () => {
    const { edge, sim } = current.rig;
    const ib = sim.expiries()[4] as string;
    const expiry = isoExpiry(ib);
    const chain = await edge.ok<{ quotes: { strike: number; right: "C" | "P"; greeks: G | null }[]; quoted_strikes: number[]; market_data_lines: { used: number; budget: number }; note: string | null }>(
      "option_chain", { symbol: "SPY", expiry, min_strike: 540, max_strike: 620, delta_min: 0.1, delta_max: 0.2 },
    );
    expect(chain.quoted_strikes).toEqual(sim.strikes("SPY").filter((k) => k >= 540 && k <= 620));
    // |delta| < 0.5 looks at the out-of-the-money side only: puts up to 580, calls from 580.
    expect(chain.market_data_lines).toEqual({ used: 41 + 41, budget: CHAIN_QUOTE_LINES });
    // The oracle: the simulator's own model deltas of every strike in the window.
    const expected = sim.strikes("SPY").filter((k) => k >= 540 && k <= 620).flatMap((k) =>
      (["C", "P"] as const)
        .filter((r) => (r === "P" ? k <= 580 : k >= 580))
        .filter((r) => {
          const d = Math.abs(sim.server.market.quote(sim.optionConId("SPY", ib, k, r) as number)!.model!.delta);
          return d >= 0.1 && d <= 0.2;
        })
        .map((r) => `${k}${r}`),
    );
    expect(expected.length).toBeGreaterThan(2);
    expect(chain.quotes.map((q) => `${q.strike}${q.right}`).sort()).toEqual(expected.sort());
    expect(chain.quotes.some((q) => q.right === "P") && chain.quotes.some((q) => q.right === "C")).toBe(true);
    expect(chain.note).toBeNull();
  });

  it("refuses a chain wider than the line budget, saying how many lines it needs", async () => {
    const { edge, sim } = current.rig;
    const expiry = isoExpiry(sim.expiries()[1] as string);
    const wide = await edge.request("option_chain", { symbol: "SPY", expiry, strike_range: 0.2 });
    expect(wide.error?.code).toBe("chain_too_wide");
    expect(wide.error?.message).toMatch(/needs \d+ market-data lines; one chain answer may use 90/);
    const bad = await edge.request("option_chain", { symbol: "SPY", delta_min: 0.1, delta_max: 0.2 });
    expect(bad.error?.code).toBe("invalid_params");
    expect(bad.error?.message).toMatch(/give expiry/);
  });

  it("never holds more market-data lines than the budget, however many snapshots are asked at once", async () => {
    const budget = new LineBudget(3);
    let open = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const release = await budget.acquire();
        open++;
        peak = Math.max(peak, open);
        await new Promise((r) => setTimeout(r, 2));
        open--;
        release();
      }),
    );
    expect(peak).toBe(3);
    expect(budget.inUse).toBe(0);
  });
});
