// Textbook strategies with their max loss, max gain and breakevens worked out by hand (in each
// row's comment), checked against shared/risk.ts: share-settled (stock/ETF options, where early
// assignment and delivered shares count) and cash-settled (index options, each expiry and class
// on its own settlement value).
import { describe, expect, it } from "vitest";
import { analyzeOrder } from "../../shared/risk";
import type { Leg } from "../../shared/order";
import { LATER, TODAY, call, cashSettled, put, shareSettled, stock } from "./fixtures";

interface Row {
  name: string;
  legs: Leg[];
  loss: number | null; // null = unbounded
  gain: number | null; // null = unbounded
  breakevens: number[];
  premium: number;
  /** Shares that can be short before expiry (dividends act on them) and left after it (moves act on them). */
  shares?: [dividend: number, pin: number];
}

const rows: Row[] = [
  // Pay 3.00 for the 150 call: lose the $300 premium below 150, break even at 153, no cap above.
  { name: "long call", legs: [call("BUY", 150, 3)], loss: 300, gain: null, breakevens: [153], premium: -300, shares: [0, 100] },
  // Pay 2.50 for the 150 put: lose $250 above 150; at 0 the put pays 150×100 − 250 = 14,750; BE 147.50.
  { name: "long put", legs: [put("BUY", 150, 2.5)], loss: 250, gain: 14_750, breakevens: [147.5], premium: -250 },
  // Debit 5.00 − 2.00 = 3.00: lose $300 below 100, gain (5 − 3)×100 = $200 above 105, BE 103.
  { name: "bull call vertical (debit)", legs: [call("BUY", 100, 5), call("SELL", 105, 2)], loss: 300, gain: 200, breakevens: [103], premium: -300 },
  // Credit 3.00: keep $300 below 100, lose (5 − 3)×100 = $200 above 105, BE 103.
    // The short call can be assigned early (short 100 shares over an ex-dividend date), and a
  // holder's choice after the close can leave 100 shares either way.
  { name: "bear call vertical (credit)", legs: [call("SELL", 100, 5), call("BUY", 105, 2)], loss: 200, gain: 300, breakevens: [103], premium: 300, shares: [100, 100] },
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
    // Short 100 before expiry (the 105 call assigned early); after it up to 200 either way (the 110
    // call exercised and the 95 put put to us, or the 90 put exercised and the 105 call assigned).
    shares: [100, 200],
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
  { name: "long stock", legs: [stock("BUY", 100, 95.5)], loss: 9_550, gain: null, breakevens: [95.5], premium: -9_550, shares: [0, 0] },
  // Sell the 100 put for 3.00: keep $300 above 100, at 0 lose 100×100 − 300 = $9,700; BE 97.
  { name: "cash-secured put", legs: [put("SELL", 100, 3)], loss: 9_700, gain: 300, breakevens: [97], premium: 300 },
  // 1×2 call ratio for a 0.20 credit: +$20 below 100, peak 500 + 20 = $520 at 105, then −$100 per
  // point above 105: zero at 105 + 5.20 = 110.20, unbounded loss beyond.
  { name: "call ratio spread (unbounded side)", legs: [call("BUY", 100, 4), call("SELL", 105, 2.1, 2)], loss: null, gain: 520, breakevens: [110.2], premium: 20 },
];

describe("textbook strategies", () => {
  it.each(rows)("$name", ({ legs, loss, gain, breakevens, premium, shares }) => {
    const analysis = analyzeOrder(legs, { symbol: "AAPL", today: TODAY, settlement: shareSettled(legs) });
    expect(analysis.errors).toEqual([]);
    expect(analysis.method).toBe("single_expiry");
    expect(analysis.bounded).toBe(loss !== null);
    expect(analysis.worstCaseLoss).toBe(loss);
    expect(analysis.worstCaseGain).toBe(gain);
    expect(analysis.gainUnbounded).toBe(gain === null);
    expect(analysis.breakevens).toEqual(breakevens);
    expect(analysis.netPremium).toBe(premium);
    if (loss === null) expect(analysis.reason).toMatch(/Unbounded risk/);
    if (shares) expect([analysis.dividendShares, analysis.pinShares]).toEqual(shares);
  });

  // One expiry of a European cash-settled index option pays its intrinsic value at one settlement
  // value: the same figures as share settlement, and nothing delivered before or after it.
  it.each(rows.filter((r) => r.legs.every((l) => l.contract.sec_type !== "STK")))("$name, cash-settled (XSP)", ({ legs, loss, gain, breakevens }) => {
    const xsp = legs.map((l) => ({ ...l, contract: { ...l.contract, symbol: "XSP" } }));
    const analysis = analyzeOrder(xsp, { symbol: "XSP", today: TODAY, settlement: cashSettled(xsp) });
    expect([analysis.worstCaseLoss, analysis.worstCaseGain, analysis.breakevens]).toEqual([loss, gain, breakevens]);
    expect([analysis.dividendShares, analysis.pinShares]).toEqual([0, 0]);
  });
});

describe("hold to expiry: several expiries, share-settled", () => {
  const analyze = (legs: Leg[], symbol = "AAPL") => analyzeOrder(legs, { symbol, today: TODAY, settlement: shareSettled(legs) });

  it("a long calendar loses at most its debit", () => {
    // Sell the near 100 call for 2.00, buy the far one for 3.50: debit $150. Unassigned, the far
    // call is worth ≥ 0; assigned at 100 (early or at expiry), short 100 shares are covered by the
    // far call above 100 and gain below it. Either way the loss is the debit.
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

  it("a near call vertical's short leg assigned early while its long lapses leaves short stock: unbounded (issue 23, item 1)", () => {
    // BUY near 560C, SELL near 561C, BUY far 560P for a 2.06 debit. The old model settled both
    // near calls at one price, so they went together ($206 worst case). The 561C can be assigned
    // early (or by a holder after the close) while the 560C closes a cent out of the money: short
    // 100 shares from 561, and the far put does not cover a rally.
    const legs = [call("BUY", 560, 21, 1, "SPY"), call("SELL", 561, 20.3, 1, "SPY"), put("BUY", 560, 1.36, 1, "SPY", LATER)];
    const analysis = analyze(legs, "SPY");
    expect(analysis.bounded).toBe(false);
    expect(analysis.reason).toMatch(/assigned/);
  });

  it("a near put spread's short leg assigned early while its long lapses: the far legs cover only past their strikes", () => {
    // SELL near 100P @ 2.60, BUY near 105P @ 3.80, BUY far 95P @ 1.30, BUY far 90C @ 4.00: debit
    // $650. Settled at one near price, the near spread only ever pays us 5 points ($150 worst).
    // But the 100P can be assigned early while the 105P lapses above 105: 100 shares bought at 100,
    // which the far 95P covers only below 95 (at 90 the far call is worthless too): 5 points =
    // $500 + the $650 debit = $1,150.
    const analysis = analyze([put("SELL", 100, 2.6), put("BUY", 105, 3.8), put("BUY", 95, 1.3, 1, "AAPL", LATER), call("BUY", 90, 4, 1, "AAPL", LATER)]);
    expect(analysis.worstCaseLoss).toBe(1_150);
  });

  it("a holder may decline to exercise after the close: a near long put exercised alone leaves uncovered short stock", () => {
    // SELL near 100P, BUY near 95P, BUY far 90P. The stock closes at 94 on the near expiry: our 95P
    // is exercised (100 shares sold at 95); after hours it rallies past 100 and the 100P's holder
    // does not exercise. Short 100 shares, and the far put covers no rally.
    const analysis = analyze([put("SELL", 100, 3), put("BUY", 95, 1), put("BUY", 90, 1.5, 1, "AAPL", LATER)]);
    expect(analysis.bounded).toBe(false);
  });

  it("a near long call and a far deep in-the-money long put can lose both premiums (no early action assumed)", () => {
    // Debit 3.00 + 58.00 = $6,100. Below 100 at the near expiry the call lapses; above 160 at the
    // far expiry the put lapses too: all $6,100 is lost.
    const analysis = analyze([call("BUY", 100, 3), put("BUY", 160, 58, 1, "AAPL", LATER)]);
    expect(analysis.worstCaseLoss).toBe(6_100);
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

describe("cash settlement: index options pay at their own settlement value and deliver nothing (issue 23, item 2)", () => {
  const index = (legs: Leg[], symbol: string, tradingClass = symbol, exercise: "european" | "american" = "european") => {
    const on = legs.map((l) => ({ ...l, contract: { ...l.contract, symbol } }));
    return analyzeOrder(on, { symbol, today: TODAY, settlement: cashSettled(on, tradingClass, exercise) });
  };

  it("a long calendar is unbounded: the near short call pays in cash and leaves no shares for the far call to cover", () => {
    // XSP: SELL near 580C @ 8.00, BUY far 580C @ 10.00. Share-settled this is the $200 debit; cash
    // settled, the near call pays (S₁ − 580) × 100 for any S₁ while the far call may expire worthless.
    const legs = [call("SELL", 580, 8), call("BUY", 580, 10, 1, "AAPL", LATER)];
    expect(analyzeOrder(legs, { today: TODAY, settlement: shareSettled(legs) }).worstCaseLoss).toBe(200);
    for (const symbol of ["XSP", "SPX", "NDX", "RUT", "VIX"]) {
      const analysis = index(legs, symbol);
      expect(analysis.bounded).toBe(false);
      expect(analysis.reason).toMatch(/cash-settled short call/);
    }
  });

  it("a put diagonal's near short put pays up to its strike while the far put may expire worthless", () => {
    // XSP: SELL near 580P @ 8.00, BUY far 575P @ 9.70: debit $170. Near settlement at 0 pays
    // 580 × 100 = $58,000; the far put is worthless above 575: $58,170.
    const analysis = index([put("SELL", 580, 8), put("BUY", 575, 9.7, 1, "AAPL", LATER)], "XSP");
    expect(analysis.worstCaseLoss).toBe(58_170);
    expect([analysis.dividendShares, analysis.pinShares]).toEqual([0, 0]);
  });

  it("two classes on one date settle on two values: an SPX/SPXW vertical is not a vertical", () => {
    // BUY SPX 6000C (AM-settled class), SELL SPXW 6005C (PM-settled): no common settlement value.
    const legs = [call("BUY", 6000, 30, 1, "SPX"), call("SELL", 6005, 27, 1, "SPX")];
    const analysis = analyzeOrder(legs, {
      symbol: "SPX", today: TODAY,
      settlement: [{ delivery: "cash", exercise: "european", trading_class: "SPX" }, { delivery: "cash", exercise: "european", trading_class: "SPXW" }],
    });
    expect(analysis.bounded).toBe(false);
    const oneClass = index(legs, "SPX", "SPXW");
    expect(oneClass.worstCaseLoss).toBe(300);
  });

  it("American-style cash settlement (OEX): a short put can be assigned at any close for its full strike", () => {
    // SELL 100P @ 4.00, BUY 95P @ 1.50: credit $250. European, the loss is 500 − 250 = $250.
    // Assigned early at an index of 0 it pays $10,000 while the 95P waits for expiry: $9,750.
    const spread = [put("SELL", 100, 4), put("BUY", 95, 1.5)];
    expect(index(spread, "XEO").worstCaseLoss).toBe(250);
    expect(index(spread, "OEX", "OEX", "american").worstCaseLoss).toBe(9_750);
    // Its best case counts no early assignment: a holder exercising a worthless put pays us nothing.
    expect(index(spread, "OEX", "OEX", "american").worstCaseGain).toBe(250);
    const calls = index([call("SELL", 100, 5), call("BUY", 105, 2)], "OEX", "OEX", "american");
    expect(calls.bounded).toBe(false);
    expect(calls.reason).toMatch(/American-style cash-settled/);
  });

  it("refuses a multi-expiry order, or one with a short leg, whose settlement style is not known", () => {
    const calendar = [call("SELL", 580, 8, 1, "XSP"), call("BUY", 580, 10, 1, "XSP", LATER)];
    const none = analyzeOrder(calendar, { symbol: "XSP", today: TODAY });
    expect(none.method).toBe("not_computable");
    expect(none.reason).toMatch(/not known/);
    const partly = analyzeOrder(calendar, { symbol: "XSP", today: TODAY, settlement: [{ delivery: "shares" }, null] });
    expect(partly.method).toBe("not_computable");
    expect(analyzeOrder([call("SELL", 100, 5), call("BUY", 105, 2)], { today: TODAY }).method).toBe("not_computable");
    // A long option of one expiry costs its premium whatever its style: no refusal.
    expect(analyzeOrder([call("BUY", 150, 3)], { today: TODAY }).worstCaseLoss).toBe(300);
  });
});

describe("the one money convention", () => {
  it("refuses a combo that mixes stock and option legs: IBKR's price for it is not pinned", () => {
    const legs = [stock("BUY", 100, 100), put("BUY", 95, 1), call("SELL", 105, 2)];
    const analysis = analyzeOrder(legs, { symbol: "AAPL", today: TODAY, settlement: shareSettled(legs) });
    expect(analysis.method).toBe("not_computable");
    expect(analysis.reason).toMatch(/mixes stock and option legs/);
  });

  it("per-leg prices cannot lower the risk: only the combo's net price counts", () => {
    // The same 5-wide call vertical at a net debit of 3.00, with the legs' prices skewed apart.
    const a = analyzeOrder([call("BUY", 100, 5), call("SELL", 105, 2)], { symbol: "AAPL", today: TODAY, settlement: [{ delivery: "shares" }, { delivery: "shares" }] });
    const b = analyzeOrder([call("BUY", 100, 40), call("SELL", 105, 37)], { symbol: "AAPL", today: TODAY, settlement: [{ delivery: "shares" }, { delivery: "shares" }] });
    expect(b.worstCaseLoss).toBe(a.worstCaseLoss);
    expect(b.netPremium).toBe(a.netPremium);
  });
});
