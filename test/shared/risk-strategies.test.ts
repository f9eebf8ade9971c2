// Textbook strategies with their max loss, max gain and breakevens worked out by hand (in each
// row's comment), checked against shared/risk.ts.
import { describe, expect, it } from "vitest";
import { analyzeOrder } from "../../shared/risk";
import type { Leg } from "../../shared/order";
import { LATER, TODAY, call, put, stock } from "./fixtures";

interface Row {
  name: string;
  legs: Leg[];
  loss: number | null; // null = unbounded
  gain: number | null; // null = unbounded
  breakevens: number[];
  premium: number;
}

const rows: Row[] = [
  // Pay 3.00 for the 150 call: lose the $300 premium below 150, break even at 153, no cap above.
  { name: "long call", legs: [call("BUY", 150, 3)], loss: 300, gain: null, breakevens: [153], premium: -300 },
  // Pay 2.50 for the 150 put: lose $250 above 150; at 0 the put pays 150×100 − 250 = 14,750; BE 147.50.
  { name: "long put", legs: [put("BUY", 150, 2.5)], loss: 250, gain: 14_750, breakevens: [147.5], premium: -250 },
  // Debit 5.00 − 2.00 = 3.00: lose $300 below 100, gain (5 − 3)×100 = $200 above 105, BE 103.
  { name: "bull call vertical (debit)", legs: [call("BUY", 100, 5), call("SELL", 105, 2)], loss: 300, gain: 200, breakevens: [103], premium: -300 },
  // Credit 3.00: keep $300 below 100, lose (5 − 3)×100 = $200 above 105, BE 103.
  { name: "bear call vertical (credit)", legs: [call("SELL", 100, 5), call("BUY", 105, 2)], loss: 200, gain: 300, breakevens: [103], premium: 300 },
  // Credit 4.00 − 1.50 = 2.50: keep $250 above 100, lose (5 − 2.5)×100 = $250 below 95, BE 97.50.
  { name: "bull put vertical (credit)", legs: [put("SELL", 100, 4), put("BUY", 95, 1.5)], loss: 250, gain: 250, breakevens: [97.5], premium: 250 },
  // Debit 2.50: lose $250 above 100, gain $250 below 95, BE 97.50.
  { name: "bear put vertical (debit)", legs: [put("BUY", 100, 4), put("SELL", 95, 1.5)], loss: 250, gain: 250, breakevens: [97.5], premium: -250 },
  // Credit 1.20 + 1.30 − 0.50 − 0.60 = 1.40: keep $140 between 95 and 105; a 5-wide wing loses
  // 500 − 140 = $360; BEs 95 − 1.40 = 93.60 and 105 + 1.40 = 106.40.
  {
    name: "iron condor",
    legs: [put("BUY", 90, 0.5), put("SELL", 95, 1.2), call("SELL", 105, 1.3), call("BUY", 110, 0.6)],
    loss: 360,
    gain: 140,
    breakevens: [93.6, 106.4],
    premium: 140,
  },
  // Credit 3.00 + 3.20 − 1.00 − 1.10 = 4.10: gain $410 at 100, lose 500 − 410 = $90 past a wing; BEs 95.90, 104.10.
  {
    name: "iron butterfly",
    legs: [put("BUY", 95, 1), put("SELL", 100, 3), call("SELL", 100, 3.2), call("BUY", 105, 1.1)],
    loss: 90,
    gain: 410,
    breakevens: [95.9, 104.1],
    premium: 410,
  },
  // Debit 6.50 − 2×3.50 + 1.50 = 1.00: lose $100 outside 95–105, gain 500 − 100 = $400 at 100; BEs 96, 104.
  {
    name: "long call butterfly",
    legs: [call("BUY", 95, 6.5), call("SELL", 100, 3.5, 2), call("BUY", 105, 1.5)],
    loss: 100,
    gain: 400,
    breakevens: [96, 104],
    premium: -100,
  },
  // Credit 1.50 + 1.60 = 3.10: keep $310 between the strikes; the naked call loses without limit;
  // BEs 95 − 3.10 = 91.90 and 105 + 3.10 = 108.10.
  { name: "short strangle (unbounded)", legs: [put("SELL", 95, 1.5), call("SELL", 105, 1.6)], loss: null, gain: 310, breakevens: [91.9, 108.1], premium: 310 },
  // 100 shares at 100 less a 2.00 call: cost 9,800, worst at 0 is −$9,800; capped at 105:
  // (105 − 100)×100 + 200 = $700; BE 100 − 2 = 98.
  { name: "covered call", legs: [stock("BUY", 100, 100), call("SELL", 105, 2)], loss: 9_800, gain: 700, breakevens: [98], premium: -9_800 },
  // Sell the 100 put for 3.00: keep $300 above 100, at 0 lose 100×100 − 300 = $9,700; BE 97.
  { name: "cash-secured put", legs: [put("SELL", 100, 3)], loss: 9_700, gain: 300, breakevens: [97], premium: 300 },
  // 1×2 call ratio for a 0.20 credit: +$20 below 100, peak 500 + 20 = $520 at 105, then −$100 per
  // point above 105: zero at 105 + 5.20 = 110.20, unbounded loss beyond.
  { name: "call ratio spread (unbounded side)", legs: [call("BUY", 100, 4), call("SELL", 105, 2.1, 2)], loss: null, gain: 520, breakevens: [110.2], premium: 20 },
];

describe("textbook strategies", () => {
  it.each(rows)("$name", ({ legs, loss, gain, breakevens, premium }) => {
    const analysis = analyzeOrder(legs, { symbol: "AAPL", today: TODAY });
    expect(analysis.errors).toEqual([]);
    expect(analysis.method).toBe("single_expiry");
    expect(analysis.bounded).toBe(loss !== null);
    expect(analysis.worstCaseLoss).toBe(loss);
    expect(analysis.worstCaseGain).toBe(gain);
    expect(analysis.gainUnbounded).toBe(gain === null);
    expect(analysis.breakevens).toEqual(breakevens);
    expect(analysis.netPremium).toBe(premium);
    if (loss === null) expect(analysis.reason).toMatch(/Unbounded risk/);
  });
});

describe("multi-expiry structures", () => {
  it("bounds a long calendar by its debit", () => {
    // Sell the near 100 call for 2.00, buy the far one for 3.50: debit $150. The far call is worth
    // at least its intrinsic value at the near expiry, so the loss cannot exceed the debit.
    const analysis = analyzeOrder([call("SELL", 100, 2), call("BUY", 100, 3.5, 1, "AAPL", LATER)], { symbol: "AAPL", today: TODAY });
    expect(analysis.method).toBe("multi_expiry_floor");
    expect(analysis.worstCaseLoss).toBe(150);
    expect(analysis.worstCaseGain).toBeNull();
    expect(analysis.breakevens).toEqual([]);
  });

  it("bounds a diagonal whose far long is further out of the money by debit plus the strike gap", () => {
    // Short near 100 call @ 3.00, long far 105 call @ 2.00: credit $100, but above 105 the pair
    // can lose the 5-point gap: 500 − 100 = $400.
    const analysis = analyzeOrder([call("SELL", 100, 3), call("BUY", 105, 2, 1, "AAPL", LATER)], { symbol: "AAPL", today: TODAY });
    expect(analysis.worstCaseLoss).toBe(400);
  });

  it("refuses to bound a structure whose later-dated leg is short", () => {
    const analysis = analyzeOrder([call("BUY", 100, 2), call("SELL", 100, 3.5, 1, "AAPL", LATER)], { symbol: "AAPL", today: TODAY });
    expect(analysis.method).toBe("not_computable");
    expect(analysis.worstCaseLoss).toBeNull();
    expect(analysis.reason).toMatch(/is short and expires after 2026-12-18/);
  });

  it("refuses multi-expiry index options, which are European-style", () => {
    const legs = [call("SELL", 6000, 20, 1, "SPX"), call("BUY", 6000, 35, 1, "SPX", LATER)];
    const analysis = analyzeOrder(legs, { symbol: "SPX", today: TODAY });
    expect(analysis.method).toBe("not_computable");
    expect(analysis.reason).toMatch(/European-style/);
  });
});
