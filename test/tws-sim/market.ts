// The simulated market: underlyings (stocks and ETFs, and two indexes whose options settle in
// cash), option chains relative to "today", deterministic conIds, Black-Scholes model prices and
// bid/ask quotes. Pure state + math; no sockets here.
// The conId scheme and quote rules are documented in README.md.
import { expiryClose, lastTradingDate } from "../../shared/market-calendar";

export type Right = "C" | "P";
export type SecType = "STK" | "OPT" | "BAG";

export interface SimContract {
  conId: number;
  symbol: string;
  secType: "STK" | "OPT" | "IND";
  expiry: string; // YYYYMMDD, "" for stock
  strike: number; // 0 for stock
  right: Right | "";
  multiplier: number; // 1 for stock, 100 for options
  exchange: string;
  primaryExch: string;
  currency: string;
  localSymbol: string;
  tradingClass: string;
  longName: string;
  underConId: number;
  /**
   * What ContractDetails.underSecType says of an option's underlying: STK for stock and ETF
   * options (shares delivered), IND for index options (cash-settled); "" for a stock or an index.
   */
  underSecType: "STK" | "IND" | "";
}

export interface Quote {
  bid: number;
  ask: number;
  last: number;
  mid: number;
  bidSize: number;
  askSize: number;
  close: number;
  model?: { iv: number; delta: number; gamma: number; vega: number; theta: number; price: number; und: number };
}

interface UnderlyingDef {
  symbol: string;
  conId: number;
  price: number;
  vol: number;
  primaryExch: string;
  longName: string;
  /** A stock/ETF (options deliver shares) or an index (options settle in cash, European-style). */
  kind: "stock" | "index";
  /** The trading class its options are listed under (SPX's weeklies are SPXW); default the symbol. */
  optionClass?: string;
  /** Points between listed strikes near the money; the conId encodes strikes in units of half of it (at most 0.5). */
  strikeStep?: number;
}

// Real IBKR conIds for the four ETFs/stocks so logs look familiar; the two indexes' are ours.
const UNDERLYINGS: UnderlyingDef[] = [
  { symbol: "SPY", conId: 756733, price: 580, vol: 0.15, primaryExch: "ARCA", longName: "SPDR S&P 500 ETF TRUST", kind: "stock" },
  { symbol: "AAPL", conId: 265598, price: 230, vol: 0.28, primaryExch: "NASDAQ", longName: "APPLE INC", kind: "stock" },
  { symbol: "QQQ", conId: 320227571, price: 500, vol: 0.2, primaryExch: "NASDAQ", longName: "INVESCO QQQ TRUST SERIES 1", kind: "stock" },
  { symbol: "IWM", conId: 9579970, price: 220, vol: 0.22, primaryExch: "ARCA", longName: "ISHARES RUSSELL 2000 ETF", kind: "stock" },
  // Cash-settled, European-style, PM-settled at the close like SPXW and XSP (Cboe's specifications).
  { symbol: "SPX", conId: 90_000_001, price: 5800, vol: 0.15, primaryExch: "CBOE", longName: "S&P 500 Stock Index", kind: "index", optionClass: "SPXW", strikeStep: 5 },
  { symbol: "XSP", conId: 90_000_002, price: 580, vol: 0.15, primaryExch: "CBOE", longName: "Mini-SPX Index", kind: "index" },
];

export const TICK = 0.01;
export const RATE = 0.04;
export const STOCK_SIZE = 500; // shares shown at bid/ask
export const OPTION_SIZE = 25; // contracts shown at bid/ask

const OPT_BASE = 1_000_000_000;
const PER_SYMBOL = 80_000_000;
const PER_DAY = 8_000;
const EPOCH_MS = Date.UTC(2020, 0, 1);
const DAY_MS = 86_400_000;

export const round2 = (x: number): number => Math.round(x * 100 + (x >= 0 ? 1e-9 : -1e-9)) / 100;
const floorCents = (x: number): number => Math.floor(x * 100 + 1e-9) / 100;
const ceilCents = (x: number): number => Math.ceil(x * 100 - 1e-9) / 100;

export function isTickMultiple(price: number, tick = TICK): boolean {
  const n = price / tick;
  return Math.abs(n - Math.round(n)) < 1e-6;
}

/** New York calendar date, because IBKR expiries and "today" are exchange dates. */
export function nyDate(d: Date): { y: number; m: number; day: number } {
  const s = new Intl.DateTimeFormat("en-CA", { timeZone: "America/New_York", year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
  const [y, m, day] = s.split("-").map(Number) as [number, number, number];
  return { y, m, day };
}

const ymd = (t: number): string => {
  const d = new Date(t);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, "0")}${String(d.getUTCDate()).padStart(2, "0")}`;
};
const parseYmd = (s: string): number => Date.UTC(Number(s.slice(0, 4)), Number(s.slice(4, 6)) - 1, Number(s.slice(6, 8)));

/**
 * Weekly Fridays (next 6) plus the third Friday of the next 4 months, all strictly after today.
 * A Friday the exchange does not trade (Good Friday, a Christmas or Independence Day on a Friday)
 * lists on the trading day before it, as OCC lists those expirations.
 */
export function expiriesFrom(now: Date): string[] {
  const t = nyDate(now);
  const today = Date.UTC(t.y, t.m - 1, t.day);
  const fridays: number[] = [];
  let f = today + DAY_MS;
  while (new Date(f).getUTCDay() !== 5) f += DAY_MS;
  for (let k = 0; k < 6; k++) fridays.push(f + k * 7 * DAY_MS);
  for (let k = 0; k <= 4; k++) {
    let d = Date.UTC(t.y, t.m - 1 + k, 1);
    while (new Date(d).getUTCDay() !== 5) d += DAY_MS;
    fridays.push(d + 14 * DAY_MS);
  }
  const out = new Set<string>();
  for (const friday of fridays.sort((a, b) => a - b)) {
    const listed = parseYmd(lastTradingDate(isoOf(friday)).replaceAll("-", ""));
    if (listed > today && out.size < 11) out.add(ymd(listed));
  }
  return [...out].sort();
}

const isoOf = (t: number): string => new Date(t).toISOString().slice(0, 10);
/** Strike units the conId counts in: half a point, or half of a wider strike step (SPX: 2.5). */
const strikeUnit = (u: UnderlyingDef): number => Math.max(0.5, (u.strikeStep ?? 1) / 2);

function strikesFor(u: UnderlyingDef): number[] {
  const s = u.price;
  const out: number[] = [];
  if (u.strikeStep && u.strikeStep > 1) {
    // SPX: every 5 points within ±10%.
    for (let k = Math.ceil((s * 0.9) / u.strikeStep) * u.strikeStep; k <= s * 1.1; k += u.strikeStep) out.push(k);
  } else if (u.symbol === "AAPL") {
    // $2.50 near the money, $5 further out, as listed for AAPL
    for (let k = Math.ceil((s * 0.7) / 5) * 5; k <= s * 1.3; k += 5) out.push(k);
    for (let k = Math.ceil((s * 0.88) / 5) * 5 + 2.5; k <= s * 1.12; k += 5) out.push(k);
  } else {
    for (let k = Math.round(s * 0.8); k <= Math.round(s * 1.2); k += 1) out.push(k);
  }
  return out.sort((a, b) => a - b);
}

function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26, good to ~1e-7: plenty for quotes rounded to cents
  const sign = x < 0 ? -1 : 1;
  const ax = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * ax);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-ax * ax);
  return sign * y;
}
const ncdf = (x: number): number => 0.5 * (1 + erf(x / Math.SQRT2));
const npdf = (x: number): number => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);

export function blackScholes(right: Right, s: number, k: number, t: number, v: number, r = RATE) {
  const sq = v * Math.sqrt(t);
  const d1 = (Math.log(s / k) + (r + 0.5 * v * v) * t) / sq;
  const d2 = d1 - sq;
  const df = Math.exp(-r * t);
  const price = right === "C" ? s * ncdf(d1) - k * df * ncdf(d2) : k * df * ncdf(-d2) - s * ncdf(-d1);
  const delta = right === "C" ? ncdf(d1) : ncdf(d1) - 1;
  const gamma = npdf(d1) / (s * sq);
  const vega = (s * npdf(d1) * Math.sqrt(t)) / 100;
  const thetaYear =
    right === "C"
      ? (-s * npdf(d1) * v) / (2 * Math.sqrt(t)) - r * k * df * ncdf(d2)
      : (-s * npdf(d1) * v) / (2 * Math.sqrt(t)) + r * k * df * ncdf(-d2);
  return { price: Math.max(price, 0), delta, gamma, vega, theta: thetaYear / 365 };
}

/**
 * The volatility at which Black-Scholes gives `price` (bisection, 0.1%–500%), or undefined when
 * no volatility does: a zero bid, or a price below the discounted intrinsic value.
 */
export function impliedVolFromPrice(right: Right, s: number, k: number, t: number, price: number, r = RATE): number | undefined {
  if (!(price > 0)) return undefined;
  let lo = 0.001;
  let hi = 5;
  if (blackScholes(right, s, k, t, lo, r).price > price || blackScholes(right, s, k, t, hi, r).price < price) return undefined;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (blackScholes(right, s, k, t, mid, r).price < price) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * What TWS computes for one option tick: IV and greeks at a price (tick types 10, 11, 12, 13). A
 * field left undefined goes out on the wire as "not yet computed".
 */
export interface OptionComputationValues {
  iv?: number;
  delta?: number;
  price?: number;
  pvDividend?: number;
  gamma?: number;
  vega?: number;
  theta?: number;
  und?: number;
}

export function occLocalSymbol(symbol: string, expiry: string, right: Right, strike: number): string {
  return `${symbol.padEnd(6, " ")}${expiry.slice(2)}${right}${String(Math.round(strike * 1000)).padStart(8, "0")}`;
}

/** The fields a request may use to name a contract (all optional, TWS-style partial match). */
export interface ContractQuery {
  conId?: number;
  symbol?: string;
  secType?: string;
  expiry?: string;
  strike?: number;
  right?: string;
  localSymbol?: string;
}

export class Market {
  /** Every expiry ever listed: their contracts stay known (a settled position's last report names it). */
  private readonly known = new Set<string>();
  private readonly unds = new Map<string, UnderlyingDef & { close: number; strikes: number[] }>();
  private readonly now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.now = now;
    for (const e of expiriesFrom(now())) this.known.add(e);
    for (const u of UNDERLYINGS) this.unds.set(u.symbol, { ...u, close: u.price, strikes: strikesFor(u) });
  }

  /**
   * The expiries listed now, as TWS lists them by its clock: those not yet past their close, and
   * new weeklies as the clock moves on (an expired one is no longer offered, its contract stays known).
   */
  get expiries(): string[] {
    const now = this.now();
    for (const e of expiriesFrom(now)) this.known.add(e);
    return [...this.known].filter((e) => expiryClose(isoOf(parseYmd(e))) > now.getTime()).sort();
  }

  symbols(): string[] {
    return [...this.unds.keys()];
  }

  underlying(symbol: string) {
    return this.unds.get(symbol.toUpperCase());
  }

  strikes(symbol: string): number[] {
    return this.underlying(symbol)?.strikes ?? [];
  }

  getPrice(symbol: string): number {
    const u = this.underlying(symbol);
    if (!u) throw new Error(`unknown symbol ${symbol}`);
    return u.price;
  }

  setPrice(symbol: string, price: number): void {
    const u = this.underlying(symbol);
    if (!u) throw new Error(`unknown symbol ${symbol}`);
    if (!(price > 0)) throw new Error(`price must be > 0, got ${price}`);
    u.price = round2(price);
  }

  optionConId(symbol: string, expiry: string, strike: number, right: Right): number | undefined {
    const idx = UNDERLYINGS.findIndex((u) => u.symbol === symbol.toUpperCase());
    const u = this.underlying(symbol);
    if (idx < 0 || !u || !this.known.has(expiry) || !u.strikes.includes(strike)) return undefined;
    const day = Math.round((parseYmd(expiry) - EPOCH_MS) / DAY_MS);
    return OPT_BASE + idx * PER_SYMBOL + day * PER_DAY + Math.round(strike / strikeUnit(u)) * 2 + (right === "C" ? 0 : 1);
  }

  contract(conId: number): SimContract | undefined {
    const stock = UNDERLYINGS.find((u) => u.conId === conId);
    if (stock) return stock.kind === "index" ? this.indexContract(stock.symbol) : this.stockContract(stock.symbol);
    if (conId < OPT_BASE) return undefined;
    let rest = conId - OPT_BASE;
    const idx = Math.floor(rest / PER_SYMBOL);
    rest -= idx * PER_SYMBOL;
    const day = Math.floor(rest / PER_DAY);
    rest -= day * PER_DAY;
    const right: Right = rest % 2 === 0 ? "C" : "P";
    const def = UNDERLYINGS[idx];
    if (!def) return undefined;
    const strike = Math.floor(rest / 2) * strikeUnit(def);
    const expiry = ymd(EPOCH_MS + day * DAY_MS);
    if (this.optionConId(def.symbol, expiry, strike, right) !== conId) return undefined;
    return this.optionContract(def.symbol, expiry, strike, right);
  }

  /** The stock (or ETF) itself; an index has none, so its options cannot deliver shares. */
  stockContract(symbol: string): SimContract | undefined {
    const u = this.underlying(symbol);
    if (!u || u.kind !== "stock") return undefined;
    return {
      conId: u.conId, symbol: u.symbol, secType: "STK", expiry: "", strike: 0, right: "", multiplier: 1,
      exchange: "SMART", primaryExch: u.primaryExch, currency: "USD", localSymbol: u.symbol, tradingClass: u.symbol,
      longName: u.longName, underConId: 0, underSecType: "",
    };
  }

  /** An index (secType IND): quoted, not tradable, the settlement value of its options. */
  indexContract(symbol: string): SimContract | undefined {
    const u = this.underlying(symbol);
    if (!u || u.kind !== "index") return undefined;
    return {
      conId: u.conId, symbol: u.symbol, secType: "IND", expiry: "", strike: 0, right: "", multiplier: 1,
      exchange: "CBOE", primaryExch: u.primaryExch, currency: "USD", localSymbol: u.symbol, tradingClass: "",
      longName: u.longName, underConId: 0, underSecType: "",
    };
  }

  /** Options on an index settle in cash (and are European-style here); on a stock they deliver shares. */
  settlesInCash(symbol: string): boolean {
    return this.underlying(symbol)?.kind === "index";
  }

  optionContract(symbol: string, expiry: string, strike: number, right: Right): SimContract | undefined {
    const u = this.underlying(symbol);
    const conId = this.optionConId(symbol, expiry, strike, right);
    if (!u || conId === undefined) return undefined;
    const tradingClass = u.optionClass ?? u.symbol;
    return {
      conId, symbol: u.symbol, secType: "OPT", expiry, strike, right, multiplier: 100,
      exchange: "SMART", primaryExch: "", currency: "USD", localSymbol: occLocalSymbol(tradingClass, expiry, right, strike),
      tradingClass, longName: u.longName, underConId: u.conId, underSecType: u.kind === "index" ? "IND" : "STK",
    };
  }

  /** TWS-style matching: every field given must match; fields left empty match anything. */
  find(q: ContractQuery): SimContract[] {
    if (q.conId) {
      const c = this.contract(q.conId);
      return c ? [c] : [];
    }
    const secType = (q.secType ?? "").toUpperCase();
    if (q.localSymbol && secType === "OPT") {
      const m = /^(\S+)\s*(\d{6})([CP])(\d{8})$/.exec(q.localSymbol);
      if (!m) return [];
      // The OCC root is the trading class (SPXW for SPX's options).
      const root = UNDERLYINGS.find((u) => (u.optionClass ?? u.symbol) === m[1])?.symbol ?? (m[1] as string);
      const c = this.optionContract(root, `20${m[2]}`, Number(m[4]) / 1000, m[3] as Right);
      return c ? [c] : [];
    }
    const u = q.symbol ? this.underlying(q.symbol) : undefined;
    if (!u) return [];
    if (secType === "STK") {
      const c = this.stockContract(u.symbol);
      return c ? [c] : [];
    }
    if (secType === "IND") {
      const c = this.indexContract(u.symbol);
      return c ? [c] : [];
    }
    if (secType !== "OPT") return [];
    const expiryQ = q.expiry ?? "";
    const exps = this.expiries.filter((e) => expiryQ === "" || e === expiryQ || (expiryQ.length === 6 && e.startsWith(expiryQ)));
    const strikes = u.strikes.filter((k) => !q.strike || Math.abs(k - q.strike) < 1e-9);
    const rq = (q.right ?? "").toUpperCase();
    const rights: Right[] = rq === "C" || rq === "CALL" ? ["C"] : rq === "P" || rq === "PUT" ? ["P"] : ["C", "P"];
    const out: SimContract[] = [];
    for (const e of exps) for (const k of strikes) for (const r of rights) {
      const c = this.optionContract(u.symbol, e, k, r);
      if (c) out.push(c);
    }
    return out;
  }

  yearsTo(expiry: string): number {
    // To the expiry's close by the exchange calendar (16:00 New York, 13:00 on an early close).
    const ms = expiryClose(isoOf(parseYmd(expiry))) - this.now().getTime();
    return Math.max(ms, 3_600_000) / (365 * DAY_MS);
  }

  impliedVol(symbol: string, strike: number): number {
    const u = this.underlying(symbol);
    if (!u) return 0.2;
    // mild put skew: vol rises as strikes go below spot
    return Math.min(2, Math.max(0.05, u.vol - 0.15 * Math.log(strike / u.price)));
  }

  quote(conId: number): Quote | undefined {
    const c = this.contract(conId);
    if (!c) return undefined;
    const u = this.underlying(c.symbol);
    if (!u) return undefined;
    if (c.secType === "STK" || c.secType === "IND") {
      // An index has no bid or ask of its own; its level stands in for both.
      const p = u.price;
      const half = c.secType === "IND" ? 0 : TICK;
      return { bid: round2(p - half), ask: round2(p + half), last: p, mid: p, bidSize: STOCK_SIZE, askSize: STOCK_SIZE, close: u.close };
    }
    const right = c.right as Right;
    const t = this.yearsTo(c.expiry);
    const iv = this.impliedVol(c.symbol, c.strike);
    const g = blackScholes(right, u.price, c.strike, t, iv);
    const m = g.price;
    const width = m < 0.5 ? 0.02 : m < 3 ? 0.04 : m < 10 ? 0.1 : 0.2;
    const bid = Math.max(0, floorCents(m - width / 2));
    const ask = Math.max(round2(bid + TICK), ceilCents(m + width / 2));
    const closeG = blackScholes(right, u.close, c.strike, t, this.impliedVol(c.symbol, c.strike));
    return {
      bid, ask, last: round2(m), mid: round2((bid + ask) / 2), bidSize: OPTION_SIZE, askSize: OPTION_SIZE,
      close: round2(closeG.price),
      model: { iv, delta: g.delta, gamma: g.gamma, vega: g.vega, theta: g.theta, price: m, und: u.price },
    };
  }

  /**
   * The option computations TWS sends with an option's quote, by tick type: 10 at the bid, 11 at
   * the ask, 12 at the last price (IV implied by that price, greeks at that IV) and 13 the model.
   * A price no volatility explains (a zero bid) leaves IV and greeks "not computed", as TWS does.
   * No dividends are modelled, so pvDividend is 0.
   */
  optionComputations(conId: number): Map<number, OptionComputationValues> {
    const out = new Map<number, OptionComputationValues>();
    const c = this.contract(conId);
    const q = this.quote(conId);
    const u = c ? this.underlying(c.symbol) : undefined;
    if (!c || !q || !u || c.secType !== "OPT" || !q.model) return out;
    const right = c.right as Right;
    const t = this.yearsTo(c.expiry);
    const at = (price: number): OptionComputationValues => {
      const iv = impliedVolFromPrice(right, u.price, c.strike, t, price);
      if (iv === undefined) return { price, und: u.price };
      const g = blackScholes(right, u.price, c.strike, t, iv);
      return { iv, delta: g.delta, price, pvDividend: 0, gamma: g.gamma, vega: g.vega, theta: g.theta, und: u.price };
    };
    out.set(10, at(q.bid));
    out.set(11, at(q.ask));
    out.set(12, at(q.last));
    const m = q.model;
    out.set(13, { iv: m.iv, delta: m.delta, price: m.price, pvDividend: 0, gamma: m.gamma, vega: m.vega, theta: m.theta, und: m.und });
    return out;
  }

  /** Mark used for P&L and net liquidation: last for stock, mid for options. */
  mark(conId: number): number {
    const q = this.quote(conId);
    return q ? q.mid : 0;
  }
}
