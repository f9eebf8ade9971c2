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
  // 100 shares bought at 95.50: lose the whole $9,550 at 0, no cap above; BE 95.50.
  { name: "long stock", legs: [stock("BUY", 100, 95.5)], loss: 9_550, gain: null, breakevens: [95.5], premium: -9_550 },
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

describe("hold to expiry: several expiries", () => {
  const analyze = (legs: Leg[], symbol = "AAPL") => analyzeOrder(legs, { symbol, today: TODAY });

  it("a long calendar loses at most its debit", () => {
    // Sell the near 100 call for 2.00, buy the far one for 3.50: debit $150. Unassigned, the far
    // call is worth ≥ 0; assigned at 100, short 100 shares are covered by the far call above 100
    // and gain below it. Either way the loss is the debit.
    const analysis = analyze([call("SELL", 100, 2), call("BUY", 100, 3.5, 1, "AAPL", LATER)]);
    expect(analysis.method).toBe("hold_to_expiry");
    expect(analysis.worstCaseLoss).toBe(150);
    expect(analysis.worstCaseGain).toBeNull();
    expect(analysis.breakevens).toEqual([]);
  });

  it("a diagonal whose far long is further out of the money loses debit plus the strike gap", () => {
    // Short near 100 call @ 3.00, long far 105 call @ 2.00: credit $100. Assigned, short stock
    // from 100 is covered only above 105: 5 points = $500 less the credit = $400.
    expect(analyze([call("SELL", 100, 3), call("BUY", 105, 2, 1, "AAPL", LATER)]).worstCaseLoss).toBe(400);
  });

  it("a later-dated short call is unbounded when the near long call lapses", () => {
    const analysis = analyze([call("BUY", 100, 2), call("SELL", 100, 3.5, 1, "AAPL", LATER)]);
    expect(analysis.bounded).toBe(false);
    expect(analysis.worstCaseLoss).toBeNull();
    expect(analysis.reason).toMatch(/Unbounded risk/);
  });

  it("a near long call and a far deep in-the-money long put can lose both premiums (no early action assumed)", () => {
    // Debit 3.00 + 58.00 = $6,100. Below 100 at the near expiry the call lapses; above 160 at the
    // far expiry the put lapses too: all $6,100 is lost.
    const analysis = analyze([call("BUY", 100, 3), put("BUY", 160, 58, 1, "AAPL", LATER)]);
    expect(analysis.worstCaseLoss).toBe(6_100);
  });

  it("index options get the same hold-to-expiry figure: exercise style does not matter", () => {
    // SPX calendar: debit 35 − 20 = $1,500, and no list of European-style symbols decides it.
    const legs = [call("SELL", 6000, 20, 1, "SPX"), call("BUY", 6000, 35, 1, "SPX", LATER)];
    for (const symbol of ["SPX", "MRUT", "XND", "XEO"]) {
      const analysis = analyze(legs.map((l) => ({ ...l, contract: { ...l.contract, symbol } })), symbol);
      expect(analysis.method).toBe("hold_to_expiry");
      expect(analysis.worstCaseLoss).toBe(1_500);
    }
  });

  it("two near short calls against one far long call are unbounded once both are assigned", () => {
    const analysis = analyze([call("SELL", 100, 2, 2), call("BUY", 95, 9, 1, "AAPL", LATER)]);
    expect(analysis.bounded).toBe(false);
  });

  it("three expiries: a near short put, a middle long put and a far long call", () => {
    // Credit 2.00 − 1.00 − 1.50 → debit $50. Worst: the near put assigned at 100 (long 100 shares
    // from 100), the middle 95 put exercised only below 95 — at S_mid = 95 exactly it may lapse —
    // and the stock then held to 0 at the far expiry: −100×100 = −10,000 + far call 0 → loss
    // $10,050. The middle put, when exercised, sells those shares at 95 (loss 500 + 50 = $550).
    const analysis = analyze([put("SELL", 100, 2), put("BUY", 95, 1, 1, "AAPL", "2027-01-08"), call("BUY", 110, 1.5, 1, "AAPL", LATER)]);
    expect(analysis.method).toBe("hold_to_expiry");
    expect(analysis.worstCaseLoss).toBe(10_050);
  });
});

describe("the one money convention", () => {
  it("refuses a combo that mixes stock and option legs: IBKR's price for it is not pinned", () => {
    const analysis = analyzeOrder([stock("BUY", 100, 100), put("BUY", 95, 1), call("SELL", 105, 2)], { symbol: "AAPL", today: TODAY });
    expect(analysis.method).toBe("not_computable");
    expect(analysis.reason).toMatch(/mixes stock and option legs/);
  });

  it("per-leg prices cannot lower the risk: only the combo's net price counts", () => {
    // The same 5-wide call vertical at a net debit of 3.00, with the legs' prices skewed apart.
    const a = analyzeOrder([call("BUY", 100, 5), call("SELL", 105, 2)], { symbol: "AAPL", today: TODAY });
    const b = analyzeOrder([call("BUY", 100, 40), call("SELL", 105, 37)], { symbol: "AAPL", today: TODAY });
    expect(b.worstCaseLoss).toBe(a.worstCaseLoss);
    expect(b.netPremium).toBe(a.netPremium);
  });
});
