// The simulated agent's orders: option structures built from the simulator's listed contracts
// and priced from its quotes, as a careful agent would after get_quote (at the mid, at the touch,
// resting a little away, or fat-fingered outside the collar), with its max_risk claim from the
// same shared risk math preview_order uses (or deliberately under it).
import { analyzeOrder } from "../../shared/risk";
import type { Leg } from "../../shared/order";
import { tradingDay } from "../../shared/trade-id";
import type { SimServer } from "../tws-sim/server";
import { settlementOf } from "./invariants";

export const SYMBOLS = ["SPY", "QQQ", "IWM", "AAPL"] as const;
export const SHAPES = ["long_call", "long_put", "bull_call", "bear_put", "bull_put_credit", "iron_condor"] as const;
export const PRICINGS = ["mid", "touch", "rest", "away"] as const;

export interface OrderSpec {
  symbol: (typeof SYMBOLS)[number];
  shape: (typeof SHAPES)[number];
  expiryIndex: number;
  /** Strikes away from the money (positive: further out of the money). */
  offset: number;
  /** Strikes between a spread's legs. */
  width: number;
  quantity: number;
  pricing: (typeof PRICINGS)[number];
  /** The agent's max_risk: the computed figure, or a claim under it. */
  claim: "exact" | "under";
  idempotent: boolean;
}

const isoExpiry = (ymd: string) => `${ymd.slice(0, 4)}-${ymd.slice(4, 6)}-${ymd.slice(6, 8)}`;
const cents = (x: number) => Math.round(x * 100) / 100;

/** The legs of a spec against today's market, priced per leg; null when the market lists no such contracts. */
export function buildOrder(sim: SimServer, spec: OrderSpec, now: Date): { order: Record<string, unknown>; legs: Leg[] } | null {
  const market = sim.market;
  const expiry = market.expiries[Math.min(spec.expiryIndex, market.expiries.length - 1)];
  if (!expiry) return null;
  const strikes = market.strikes(spec.symbol);
  const price = market.getPrice(spec.symbol);
  const atm = strikes.reduce((best, k, i) => (Math.abs(k - price) < Math.abs(strikes[best]! - price) ? i : best), 0);
  const strikeAt = (i: number) => strikes[Math.max(0, Math.min(strikes.length - 1, i))]!;
  const leg = (action: "BUY" | "SELL", right: "C" | "P", strike: number): Leg | null => {
    const conId = market.optionConId(spec.symbol, expiry, strike, right);
    const q = conId === undefined ? undefined : market.quote(conId);
    if (!q) return null;
    const natural = action === "BUY" ? q.ask : q.bid;
    const price =
      spec.pricing === "touch" ? natural : spec.pricing === "rest" ? (action === "BUY" ? q.bid : q.ask) : spec.pricing === "away" ? q.mid * (action === "BUY" ? 1.4 : 0.6) : q.mid;
    return { action, quantity: spec.quantity, price: Math.max(0.05, cents(price)), contract: { symbol: spec.symbol, expiry: isoExpiry(expiry), strike, right } };
  };
  const o = spec.offset, w = Math.max(1, spec.width);
  const shapes: Record<OrderSpec["shape"], () => (Leg | null)[]> = {
    long_call: () => [leg("BUY", "C", strikeAt(atm + o))],
    long_put: () => [leg("BUY", "P", strikeAt(atm - o))],
    bull_call: () => [leg("BUY", "C", strikeAt(atm + o)), leg("SELL", "C", strikeAt(atm + o + w))],
    bear_put: () => [leg("BUY", "P", strikeAt(atm - o)), leg("SELL", "P", strikeAt(atm - o - w))],
    bull_put_credit: () => [leg("SELL", "P", strikeAt(atm - o)), leg("BUY", "P", strikeAt(atm - o - w))],
    iron_condor: () => [
      leg("SELL", "P", strikeAt(atm - o - 1)), leg("BUY", "P", strikeAt(atm - o - 1 - w)),
      leg("SELL", "C", strikeAt(atm + o + 1)), leg("BUY", "C", strikeAt(atm + o + 1 + w)),
    ],
  };
  const legs = shapes[spec.shape]();
  if (legs.some((l) => l === null)) return null;
  const real = legs as Leg[];
  if (new Set(real.map((l) => `${l.contract.sec_type === "STK" ? "" : `${l.contract.strike}${l.contract.right}`}`)).size !== real.length) return null;
  const analysis = analyzeOrder(real, { symbol: spec.symbol, today: tradingDay(now), settlement: settlementOf(real) });
  const computed = analysis.worstCaseLoss ?? 400;
  const claim = spec.claim === "exact" ? Math.max(0, cents(computed)) : Math.max(0, cents(computed * 0.5));
  const order: Record<string, unknown> = {
    symbol: spec.symbol, strategy: spec.shape.replace(/_/g, " "), legs: real, max_risk: claim, capital_required: Math.max(claim, cents(analysis.capital ?? claim)),
  };
  if (spec.idempotent) order.idempotency_key = `dst-${spec.symbol}-${spec.shape}-${spec.expiryIndex}-${spec.offset}-${spec.width}-${spec.quantity}`;
  return { order, legs: real };
}

/** The net per unit at which a working order's legs would fill now (the touch), in the ledger's sign. */
export function touchNet(sim: SimServer, legs: readonly Leg[], closing: boolean): number | null {
  let net = 0;
  const units = legs.reduce((g, l) => gcd(g, l.quantity), 0);
  for (const l of legs) {
    if (l.contract.sec_type === "STK") return null;
    const conId = sim.market.optionConId(l.contract.symbol, l.contract.expiry.replace(/-/g, ""), l.contract.strike, l.contract.right);
    const q = conId === undefined ? undefined : sim.market.quote(conId);
    if (!q) return null;
    const buying = (l.action === "BUY") !== closing;
    net += (buying ? 1 : -1) * (l.quantity / units) * (buying ? q.ask : q.bid);
  }
  return cents(net);
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
