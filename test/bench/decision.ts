// The pure safety decision's cost per order: risk analysis of the legs plus every stateless
// check, as the Durable Object runs them inside its synchronous check-and-reserve turn.
import { type AccountState, evaluateOrder } from "../../shared/checks";
import type { Leg } from "../../shared/order";
import { analyzeOrder } from "../../shared/risk";
import type { LegSettlement } from "../../shared/settlement";
import { tradingDay } from "../../shared/trade-id";

const today = tradingDay(new Date());
const expiry = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
const condor: Leg[] = [
  { action: "BUY", contract: { symbol: "SPY", expiry, strike: 565, right: "P" }, quantity: 1, price: 1.0 },
  { action: "SELL", contract: { symbol: "SPY", expiry, strike: 570, right: "P" }, quantity: 1, price: 1.6 },
  { action: "SELL", contract: { symbol: "SPY", expiry, strike: 590, right: "C" }, quantity: 1, price: 1.5 },
  { action: "BUY", contract: { symbol: "SPY", expiry, strike: 595, right: "C" }, quantity: 1, price: 0.9 },
];
const state: AccountState = {
  netLiquidation: 100_000, highWaterMark: 101_000, dailyPnl: -120, lossStreak: 1,
  exposureBySymbol: { SPY: 2_000, AAPL: 500 }, emergencyStop: false, breaker: { tripped: false },
  ordersLastMinute: 2, accountDataAgeMs: 1_200, recentOrderFingerprints: [`SPY|BUY:1:${expiry}:550:P`], allowedSymbols: null,
};

const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
/**
 * The engine's costliest shape: four legs over three expiries, the near ones short and struck
 * alike, so every subset of them assigned (early or not) and every at-the-strike exercise choice
 * of the middle one is a scenario of its own.
 */
const threeExpiries: Leg[] = [
  { action: "SELL", contract: { symbol: "SPY", expiry: day(10), strike: 580, right: "C" }, quantity: 1, price: 3.1 },
  { action: "SELL", contract: { symbol: "SPY", expiry: day(10), strike: 580, right: "P" }, quantity: 1, price: 2.9 },
  { action: "BUY", contract: { symbol: "SPY", expiry: day(24), strike: 580, right: "P" }, quantity: 1, price: 4.4 },
  { action: "BUY", contract: { symbol: "SPY", expiry: day(45), strike: 580, right: "C" }, quantity: 1, price: 6.3 },
];

/** SPY options deliver shares, as TWS reports them (underSecType STK). */
const shareSettled = (legs: Leg[]): LegSettlement[] => legs.map(() => ({ delivery: "shares" }));

function timeDecision(legs: Leg[], mid: number, iterations: number) {
  const order = { symbol: "SPY", legs, max_risk: 500, capital_required: 1_000 };
  const settlement = shareSettled(legs);
  let allowed = false;
  for (let i = 0; i < 2_000; i++) evaluateOrder(order, analyzeOrder(legs, { symbol: "SPY", today, settlement }), state, { intent: "open", quote: { mid, ageMs: 500 } });
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) {
    const analysis = analyzeOrder(legs, { symbol: "SPY", today, settlement });
    allowed = evaluateOrder(order, analysis, state, { intent: "open", quote: { mid, ageMs: 500 } }).allowed;
  }
  return { perOrderUs: ((performance.now() - t0) * 1000) / iterations, allowed };
}

/** Allowed is returned so a broken fixture (every order refused early) shows up in the table. */
export function decisionMicros(iterations = 100_000): { perOrderUs: number; iterations: number; allowed: boolean; threeExpiryUs: number } {
  const plain = timeDecision(condor, -1.2, iterations);
  const costly = timeDecision(threeExpiries, 4.7, iterations / 10);
  return { perOrderUs: plain.perOrderUs, iterations, allowed: plain.allowed, threeExpiryUs: costly.perOrderUs };
}
