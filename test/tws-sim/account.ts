// The simulated paper account: cash, per-contract positions with IBKR-style average cost,
// realized P&L, marks from the market, and the Reg-T style margin model used by whatIf and
// by the margin check on placement. Rules are documented in README.md.

import { type Market, type SimContract, round2 } from "./market";

export interface Position {
  contract: SimContract;
  qty: number; // signed
  /** IBKR convention: per unit, multiplier included, commissions included, always positive */
  avgCost: number;
}

export interface AccountSnapshot {
  account: string;
  cash: number;
  netLiquidation: number;
  equityWithLoan: number;
  grossPositionValue: number;
  initMargin: number;
  maintMargin: number;
  availableFunds: number;
  excessLiquidity: number;
  buyingPower: number;
  unrealizedPnL: number;
  realizedPnL: number;
  dailyPnL: number;
}

export interface Margin {
  init: number;
  maint: number;
}

export class Account {
  cash: number;
  realized = 0;
  readonly positions = new Map<number, Position>();
  private startNetLiq: number;

  constructor(readonly id: string, readonly market: Market, startingCash: number) {
    this.cash = startingCash;
    this.startNetLiq = startingCash;
  }

  clone(): Account {
    const a = new Account(this.id, this.market, this.cash);
    a.realized = this.realized;
    a.startNetLiq = this.startNetLiq;
    for (const [k, p] of this.positions) a.positions.set(k, { ...p });
    return a;
  }

  /** A new trading day: the daily P&L counts from the account's value now (TWS restarts it each day). */
  rollDay(): void {
    this.startNetLiq = this.snapshot().netLiquidation;
  }

  /** Apply one execution; returns the realized P&L of the closing part, or undefined if it only opened. */
  applyFill(contract: SimContract, side: "BUY" | "SELL", qty: number, price: number, commission: number): number | undefined {
    const mult = contract.multiplier;
    const signed = side === "BUY" ? qty : -qty;
    this.cash += side === "BUY" ? -(price * mult * qty) - commission : price * mult * qty - commission;
    const pos = this.positions.get(contract.conId);
    const cur = pos?.qty ?? 0;
    const commPer = commission / qty;
    // cost per unit of this fill, IBKR style: buys add commission, sells subtract it
    const fillCost = side === "BUY" ? price * mult + commPer : price * mult - commPer;
    let realized: number | undefined;
    if (cur === 0 || Math.sign(cur) === Math.sign(signed)) {
      const newQty = cur + signed;
      const avg = pos ? (Math.abs(cur) * pos.avgCost + qty * fillCost) / Math.abs(newQty) : fillCost;
      this.positions.set(contract.conId, { contract, qty: newQty, avgCost: avg });
    } else {
      const closing = Math.min(Math.abs(cur), qty);
      const avg = pos?.avgCost ?? 0;
      // long closed by a sale: proceeds - cost; short closed by a purchase: credit - cost
      realized = cur > 0 ? (fillCost - avg) * closing : (avg - fillCost) * closing;
      this.realized += realized;
      const newQty = cur + signed;
      if (newQty === 0) this.positions.delete(contract.conId);
      else if (Math.sign(newQty) === Math.sign(cur)) this.positions.set(contract.conId, { contract, qty: newQty, avgCost: avg });
      else this.positions.set(contract.conId, { contract, qty: newQty, avgCost: fillCost });
    }
    return realized;
  }

  marketValue(p: Position): number {
    return p.qty * this.market.mark(p.contract.conId) * p.contract.multiplier;
  }

  unrealized(p: Position): number {
    return this.marketValue(p) - p.qty * p.avgCost;
  }

  margin(): Margin {
    return portfolioMargin(this.market, [...this.positions.values()]);
  }

  snapshot(): AccountSnapshot {
    let mv = 0;
    let gross = 0;
    let stockMv = 0;
    let unreal = 0;
    for (const p of this.positions.values()) {
      const v = this.marketValue(p);
      mv += v;
      gross += Math.abs(v);
      if (p.contract.secType === "STK") stockMv += v;
      unreal += this.unrealized(p);
    }
    const netLiq = this.cash + mv;
    // Reg-T equity with loan value counts cash and stock, not option value
    const ewl = this.cash + stockMv;
    const m = this.margin();
    const r2 = round2;
    return {
      account: this.id,
      cash: r2(this.cash),
      netLiquidation: r2(netLiq),
      equityWithLoan: r2(ewl),
      grossPositionValue: r2(gross),
      initMargin: r2(m.init),
      maintMargin: r2(m.maint),
      availableFunds: r2(ewl - m.init),
      excessLiquidity: r2(ewl - m.maint),
      buyingPower: r2(Math.max(0, ewl - m.init) * 4),
      unrealizedPnL: r2(unreal),
      realizedPnL: r2(this.realized),
      dailyPnL: r2(netLiq - this.startNetLiq),
    };
  }
}

interface Leg {
  contract: SimContract;
  qty: number; // signed contracts
}

/**
 * Reg-T style requirement. Stock: 50% initial / 25% maintenance long, 50% / 30% short.
 * Options are grouped by underlying and expiry; each group needs the smaller of (a) its worst
 * loss at expiry, from the legs' payoff, and (b) the sum of the naked-short requirements
 * (premium + max(20% of underlying - OTM amount, 10% of underlying for calls / strike for puts)).
 * Long options need nothing beyond their (already paid) premium.
 */
export function portfolioMargin(market: Market, positions: Position[]): Margin {
  let init = 0;
  let maint = 0;
  const groups = new Map<string, Leg[]>();
  for (const p of positions) {
    const c = p.contract;
    if (c.secType === "STK") {
      const v = Math.abs(p.qty * market.mark(c.conId));
      init += 0.5 * v;
      maint += (p.qty > 0 ? 0.25 : 0.3) * v;
      continue;
    }
    const key = `${c.symbol}|${c.expiry}`;
    const g = groups.get(key) ?? [];
    g.push({ contract: c, qty: p.qty });
    groups.set(key, g);
  }
  for (const legs of groups.values()) {
    const m = optionGroupMargin(market, legs);
    init += m;
    maint += m;
  }
  return { init, maint };
}

export function optionGroupMargin(market: Market, legs: Leg[]): number {
  const shorts = legs.filter((l) => l.qty < 0);
  if (shorts.length === 0) return 0;
  const first = legs[0];
  if (!first) return 0;
  const s = market.getPrice(first.contract.symbol);
  let naked = 0;
  for (const l of shorts) {
    const c = l.contract;
    const otm = c.right === "C" ? Math.max(0, c.strike - s) : Math.max(0, s - c.strike);
    const floor = c.right === "C" ? 0.1 * s : 0.1 * c.strike;
    const per = market.mark(c.conId) + Math.max(0.2 * s - otm, floor);
    naked += per * c.multiplier * -l.qty;
  }
  return Math.min(naked, maxLossAtExpiry(legs));
}

/** Worst loss of the legs' payoff at expiry (premiums excluded); Infinity if unbounded. */
export function maxLossAtExpiry(legs: Leg[]): number {
  const payoff = (u: number): number =>
    legs.reduce((acc, l) => {
      const c = l.contract;
      const intrinsic = c.right === "C" ? Math.max(0, u - c.strike) : Math.max(0, c.strike - u);
      return acc + l.qty * c.multiplier * intrinsic;
    }, 0);
  const upSlope = legs.reduce((acc, l) => acc + (l.contract.right === "C" ? l.qty * l.contract.multiplier : 0), 0);
  if (upSlope < -1e-9) return Infinity;
  const points = [0, ...legs.map((l) => l.contract.strike)];
  const worst = Math.min(...points.map(payoff));
  return Math.max(0, -worst);
}
