// Quotes from TWS as snapshots: bid/ask/last/mid of a stock, an option or a whole combo (net per
// combo unit, built from the legs' quotes), and option chains. Missing permissions or delayed
// data (354, 10089, 10167, 10168) are reported as such, never as a zero price.
import { EventName } from "@stoqey/ib";
import { contractKey, type Contract, type Leg } from "../shared/order";
import { CHAIN_DEFAULT_QUOTED_STRIKES, CHAIN_QUOTE_LINES, type Greeks, MARKET_DATA_LINES, type OptionChain, type OptionChainParams, type Quote } from "../shared/protocol";
import { comboSize } from "../shared/combo-price";
import { roundCents } from "../shared/money";
import { type ContractResolver, ibContractSpec, fromIbExpiry, type ResolvedContract } from "./contracts";
import { BridgeError } from "./errors";
import type { TwsConnection } from "./tws-connection";

export type DataType = Quote["data_type"];
const DATA_TYPES: Record<number, DataType> = { 1: "live", 2: "frozen", 3: "delayed", 4: "delayed_frozen" };
const WORSE: DataType[] = ["live", "frozen", "delayed", "delayed_frozen", "unavailable"];

/** Market-data errors that mean "no usable data for this request", with a trader's reason. */
export const NO_DATA_CODES: Record<number, string> = {
  354: "no market data subscription for this contract (TWS 354)",
  10089: "market data requires an additional subscription (TWS 10089)",
  10168: "market data is not subscribed and delayed data is not enabled (TWS 10168)",
  10090: "part of the requested market data is not subscribed (TWS 10090)",
  10186: "market data is not subscribed; delayed data is off (TWS 10186)",
  10197: "no market data during a competing live session on another login (TWS 10197)",
};
/** Data continues, but delayed. */
export const DELAYED_CODES: Record<number, string> = { 10167: "live data is not subscribed: TWS shows delayed data (TWS 10167)" };

export interface LegQuote {
  bid: number | null;
  ask: number | null;
  last: number | null;
  mid: number | null;
  dataType: DataType;
  reason: string | null;
  /** An option's model IV and greeks (tick 13, or 83 delayed); null with the reason otherwise. */
  greeks: Greeks | null;
  greeksReason: string | null;
}

/** TWS's model tick types: live 13, delayed 83. Bid/ask/last computations (10-12, 80-82) are not used. */
const MODEL_TICKS = new Set([13, 83]);

/** A value TWS computed, or null: the client decodes "not computed" (-1/-2, MAX_VALUE) as undefined. */
const computed = (value: number | undefined): number | null => (value !== undefined && Number.isFinite(value) ? value : null);

/**
 * A counting gate on simultaneous market-data lines: a snapshot holds one from its request to its
 * end, and waits when `limit` are open, so no burst of quotes exceeds TWS's line budget.
 */
export class LineBudget {
  private open = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(readonly limit = MARKET_DATA_LINES) {}
  get inUse(): number {
    return this.open;
  }
  async acquire(): Promise<() => void> {
    if (this.open >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.open--;
    };
  }
}

const price = (value: number | undefined): number | null => (value !== undefined && Number.isFinite(value) && value > 0 ? value : null);
const midOf = (bid: number | null, ask: number | null): number | null => (bid !== null && ask !== null ? roundCents((bid + ask) / 2) : null);

/** Classify a TWS error on a market-data request: a data-type verdict, or null when it is something else. */
export function classifyMarketDataError(code: number, text: string): { dataType: DataType; reason: string } | null {
  if (NO_DATA_CODES[code]) return { dataType: "unavailable", reason: `${NO_DATA_CODES[code]}: ${text}` };
  if (DELAYED_CODES[code]) return { dataType: "delayed", reason: `${DELAYED_CODES[code]}: ${text}` };
  return null;
}

export class MarketData {
  /** Most lines held at once by this bridge's snapshots. */
  peakLines = 0;

  constructor(
    private readonly tws: TwsConnection,
    private readonly contracts: ContractResolver,
    private readonly snapshotMs = 4_000,
    readonly lines = new LineBudget(),
  ) {}

  /** One snapshot of one contract, holding one market-data line of the budget while it runs. */
  async snapshot(contract: ResolvedContract["contract"], label: string): Promise<LegQuote> {
    const release = await this.lines.acquire();
    this.peakLines = Math.max(this.peakLines, this.lines.inUse);
    try {
      return await this.snapshotOnLine(contract, label);
    } finally {
      release();
    }
  }

  private snapshotOnLine(contract: ResolvedContract["contract"], label: string): Promise<LegQuote> {
    const isOption = String(contract.secType ?? "") === "OPT";
    return this.tws.call<LegQuote>(`quote of ${label}`, this.snapshotMs + 2_000, (ctx) => {
      let bid: number | null = null;
      let ask: number | null = null;
      let last: number | null = null;
      let close: number | null = null;
      let dataType: DataType = "live";
      let reason: string | null = null;
      let model: { values: Omit<Greeks, "data_type" | "as_of" | "age_seconds">; delayed: boolean; at: number } | null = null;
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(timer);
        const got = bid !== null || ask !== null || last !== null;
        if (!got && dataType !== "unavailable") {
          dataType = "unavailable";
          reason ??= `TWS sent no bid, ask or last for ${label}${close !== null ? ` (previous close ${close})` : ""}`;
        }
        let greeks: Greeks | null = null;
        let greeksReason: string | null = null;
        if (!isOption) greeksReason = "a stock has no option greeks";
        else if (!model) greeksReason = dataType === "unavailable" && reason ? `no option computation from TWS: ${reason}` : `TWS sent no option computation (model tick) for ${label}`;
        else if (Object.values(model.values).every((v) => v === null)) greeksReason = `TWS sent its model tick for ${label} with every value "not computed"`;
        else {
          const type: DataType = dataType === "unavailable" ? (model.delayed ? "delayed" : "live") : model.delayed && dataType === "live" ? "delayed" : dataType;
          // Stamped by the broker's clock; its age is a duration on ours.
          greeks = { ...model.values, data_type: type, as_of: new Date(model.at + this.tws.brokerNow().getTime() - Date.now()).toISOString(), age_seconds: Math.max(0, Math.round((Date.now() - model.at) / 100) / 10) };
          const missing = (["iv", "delta", "gamma", "theta", "vega"] as const).filter((k) => model!.values[k] === null);
          if (missing.length) greeksReason = `TWS marked ${missing.join(", ")} as not computed`;
        }
        ctx.resolve({ bid, ask, last: last ?? null, mid: midOf(bid, ask), dataType, reason, greeks, greeksReason });
      };
      ctx.onSent = () => {
        timer = setTimeout(finish, this.snapshotMs);
      };
      ctx.on(EventName.tickPrice, (reqId: number, field: number, value: number) => {
        if (reqId !== ctx.reqId) return;
        if (field === 1 || field === 66) bid = price(value);
        else if (field === 2 || field === 67) ask = price(value);
        else if (field === 4 || field === 68) last = price(value);
        else if (field === 9 || field === 75) close = price(value);
        if (field >= 66 && field <= 76 && dataType === "live") dataType = "delayed";
      });
      ctx.on(
        EventName.tickOptionComputation,
        (reqId: number, field: number, _attrib: number | undefined, iv?: number, delta?: number, optPrice?: number, _pv?: number, gamma?: number, vega?: number, theta?: number, undPrice?: number) => {
          if (reqId !== ctx.reqId || !MODEL_TICKS.has(field)) return;
          model = {
            values: { iv: computed(iv), delta: computed(delta), gamma: computed(gamma), theta: computed(theta), vega: computed(vega), model_price: computed(optPrice), underlying_price: computed(undPrice) },
            delayed: field === 83,
            at: Date.now(),
          };
        },
      );
      ctx.on(EventName.marketDataType, (reqId: number, type: number) => {
        if (reqId === ctx.reqId && dataType !== "unavailable") dataType = DATA_TYPES[type] ?? dataType;
      });
      ctx.on(EventName.tickSnapshotEnd, (reqId: number) => {
        if (reqId === ctx.reqId) finish();
      });
      ctx.onError = (code, text) => {
        const verdict = classifyMarketDataError(code, text);
        if (!verdict) return false;
        dataType = verdict.dataType;
        reason = verdict.reason;
        if (verdict.dataType === "unavailable") finish();
        return true;
      };
      return (ib) => ib.reqMktData(ctx.reqId, contract, "", true, false);
    });
  }

  /** Quotes of each leg's contract, by contract key (resolving conIds through the cache). */
  async legQuotes(legs: readonly Pick<Leg, "contract">[]): Promise<Map<string, LegQuote>> {
    const resolved = await this.contracts.resolveAll(legs);
    const quotes = await Promise.all(resolved.map((r, i) => this.snapshot({ conId: r.conId, exchange: "SMART", ...specLite(legs[i]!.contract) }, label(legs[i]!.contract))));
    return new Map(legs.map((leg, i) => [contractKey(leg.contract), quotes[i] as LegQuote]));
  }

  /** bid/ask/last/mid of one leg, or the net per combo unit of several (IBKR's sign: debit > 0). */
  async quote(legs: readonly Pick<Leg, "contract" | "action" | "quantity">[]): Promise<Quote> {
    const quotes = await this.legQuotes(legs);
    // Stamped by the broker's clock (TWS's), as the edge and the second key judge its age.
    const asOf = this.tws.brokerNow().toISOString();
    // The broker's underlying, for the edge's concentration grouping (resolved by legQuotes above).
    const underlying = this.contracts.cached((legs.find((leg) => leg.contract.sec_type !== "STK") ?? legs[0]!).contract)?.underlying ?? null;
    // How each leg settles, from the same contract details: the edge's risk figure depends on it.
    const settlement = legs.map((leg) => this.contracts.cached(leg.contract)?.settlement ?? null);
    const all = legs.map((leg) => quotes.get(contractKey(leg.contract)) as LegQuote);
    const dataType = all.reduce<DataType>((worst, q) => (WORSE.indexOf(q.dataType) > WORSE.indexOf(worst) ? q.dataType : worst), "live");
    const reasons = [...new Set(all.map((q) => q.reason).filter((r): r is string => r !== null))];
    const reason = reasons.length > 0 ? reasons.join("; ") : null;
    if (legs.length === 1) {
      const q = all[0] as LegQuote;
      return { bid: q.bid, ask: q.ask, last: q.last, mid: q.mid, data_type: q.dataType, reason: q.reason, as_of: asOf, underlying, settlement, greeks: q.greeks, greeks_reason: q.greeksReason };
    }
    const legGreeks = all.map((q) => ({ greeks: q.greeks, greeks_reason: q.greeksReason }));
    const size = comboSize(legs as Leg[]);
    let bid: number | null = 0;
    let ask: number | null = 0;
    let mid: number | null = 0;
    legs.forEach((leg, i) => {
      const q = all[i] as LegQuote;
      const ratio = leg.quantity / size;
      const buy = leg.action === "BUY";
      // Buying the combo pays the asks of its BUY legs and receives the bids of its SELL legs.
      const forAsk = buy ? q.ask : q.bid;
      const forBid = buy ? q.bid : q.ask;
      ask = ask === null || forAsk === null ? null : ask + (buy ? 1 : -1) * ratio * forAsk;
      bid = bid === null || forBid === null ? null : bid + (buy ? 1 : -1) * ratio * forBid;
      mid = mid === null || q.mid === null ? null : mid + (buy ? 1 : -1) * ratio * q.mid;
    });
    const r = (v: number | null) => (v === null ? null : roundCents(v));
    const complete = bid !== null && ask !== null;
    return {
      bid: r(bid),
      ask: r(ask),
      last: null,
      mid: r(mid),
      data_type: complete || dataType !== "live" ? dataType : "unavailable",
      reason: reason ?? (complete ? null : "a leg of the combo has no bid or ask"),
      as_of: asOf,
      underlying,
      settlement,
      greeks: null,
      greeks_reason: "a combo: each leg's greeks are in leg_greeks",
      leg_greeks: legGreeks,
    };
  }

  /**
   * Expiries and strikes of an underlying and, for one expiry, quotes with IV and greeks. With a
   * strike window (min_strike/max_strike, or strike_range given) or a delta range, every strike in
   * the window is quoted — or the request is refused when that needs more than CHAIN_QUOTE_LINES
   * market-data lines. Without either, the CHAIN_DEFAULT_QUOTED_STRIKES nearest the money are
   * quoted and the answer says so. A delta range over |delta| < 0.5 looks at out-of-the-money
   * options only (puts at or below the underlying price, calls at or above).
   */
  async optionChain(p: OptionChainParams): Promise<OptionChain> {
    const { symbol, expiry } = p;
    const stock = await this.contracts.resolve({ symbol, sec_type: "STK" });
    const rows = await this.tws.call<{ exchange: string; expirations: string[]; strikes: number[] }[]>(`option chain of ${symbol}`, 8_000, (ctx) => {
      const found: { exchange: string; expirations: string[]; strikes: number[] }[] = [];
      ctx.on(EventName.securityDefinitionOptionParameter, (reqId: number, exchange: string, _conId: number, _tc: string, _mult: string, expirations: string[], strikes: number[]) => {
        if (reqId === ctx.reqId) found.push({ exchange, expirations: [...expirations], strikes: [...strikes] });
      });
      ctx.on(EventName.securityDefinitionOptionParameterEnd, (reqId: number) => {
        if (reqId === ctx.reqId) ctx.resolve(found);
      });
      return (ib) => ib.reqSecDefOptParams(ctx.reqId, symbol, "", "STK", stock.conId);
    });
    if (rows.length === 0) throw new BridgeError("tws_error", `TWS lists no options on ${symbol}`);
    const smart = rows.filter((r) => r.exchange === "SMART");
    const pick = smart.length > 0 ? smart : rows;
    const expiries = [...new Set(pick.flatMap((r) => r.expirations))].map((e) => fromIbExpiry(e)).filter((e): e is string => e !== null).sort();
    const allStrikes = [...new Set(pick.flatMap((r) => r.strikes))].sort((a, b) => a - b);
    if (expiry !== undefined && !expiries.includes(expiry))
      throw new BridgeError("invalid_params", `${symbol} has no option expiring ${expiry}; expiries: ${expiries.slice(0, 12).join(", ")}${expiries.length > 12 ? ", …" : ""}`);
    const under = await this.snapshot(stock.contract, `${symbol} stock`);
    const underlying = under.mid ?? under.last;
    const range = p.strike_range ?? 0.1;
    const byWindow = p.min_strike !== undefined || p.max_strike !== undefined;
    const strikes = byWindow
      ? allStrikes.filter((k) => (p.min_strike === undefined || k >= p.min_strike - 1e-9) && (p.max_strike === undefined || k <= p.max_strike + 1e-9))
      : underlying === null
        ? allStrikes
        : allStrikes.filter((k) => Math.abs(k - underlying) <= underlying * range + 1e-9);
    const base = { symbol, underlying_price: underlying, expiries, strikes, expiry: expiry ?? null };
    if (expiry === undefined) return { ...base, quotes: [], quoted_strikes: [], market_data_lines: { used: 0, budget: CHAIN_QUOTE_LINES }, note: "give an expiry to get quotes and greeks" };

    const byDelta = p.delta_min !== undefined || p.delta_max !== undefined;
    const explicit = byWindow || byDelta || p.strike_range !== undefined || p.right !== undefined;
    const deltaMin = p.delta_min ?? 0;
    const deltaMax = p.delta_max ?? 1;
    const otmOnly = byDelta && deltaMax < 0.5;
    if (otmOnly && underlying === null) throw new BridgeError("tws_error", `No price for ${symbol} (${under.reason ?? under.dataType}), so the out-of-the-money side of a delta range is not known; give min_strike/max_strike and right instead`);
    const rights = p.right ? [p.right] : (["C", "P"] as const);
    let candidates = strikes.flatMap((strike) =>
      rights
        .filter((right) => !otmOnly || (right === "P" ? strike <= (underlying as number) + 1e-9 : strike >= (underlying as number) - 1e-9))
        .map((right) => ({ symbol, expiry, strike, right })),
    );
    let note: string | null = null;
    if (!explicit) {
      // The default view: the strikes nearest the money, and the answer says how many it left out.
      const near = underlying === null ? strikes.slice(0, CHAIN_DEFAULT_QUOTED_STRIKES) : [...strikes].sort((a, b) => Math.abs(a - underlying) - Math.abs(b - underlying)).slice(0, CHAIN_DEFAULT_QUOTED_STRIKES);
      const keep = new Set(near);
      candidates = candidates.filter((c) => keep.has(c.strike));
      if (near.length < strikes.length)
        note = `quoted the ${near.length} strikes nearest the money of ${strikes.length} listed; give min_strike/max_strike, strike_range, right or delta_min/delta_max to choose which are quoted`;
    } else if (candidates.length > CHAIN_QUOTE_LINES) {
      throw new BridgeError(
        "chain_too_wide",
        `Quoting ${candidates.length} options (${new Set(candidates.map((c) => c.strike)).size} strikes × ${rights.length === 1 ? rights[0] === "C" ? "calls" : "puts" : otmOnly ? "the out-of-the-money side" : "calls and puts"}) needs ${candidates.length} market-data lines; one chain answer may use ${CHAIN_QUOTE_LINES} (TWS allows about 100 at once). Narrow it: a tighter min_strike/max_strike or strike_range, or one right at a time`,
      );
    }
    const got = await Promise.all(candidates.map((c) => this.snapshot(ibContractSpec(c), label(c))));
    const quotedStrikes = [...new Set(candidates.map((c) => c.strike))].sort((a, b) => a - b);
    const quotes: OptionChain["quotes"] = [];
    let noDelta = 0;
    candidates.forEach((c, i) => {
      const q = got[i] as LegQuote;
      if (byDelta) {
        const delta = q.greeks?.delta ?? null;
        if (delta === null) {
          noDelta++;
          return;
        }
        if (Math.abs(delta) < deltaMin - 1e-12 || Math.abs(delta) > deltaMax + 1e-12) return;
      }
      quotes.push({ strike: c.strike, right: c.right, bid: q.bid, ask: q.ask, mid: q.mid, data_type: q.dataType, reason: q.reason, greeks: q.greeks, greeks_reason: q.greeksReason });
    });
    quotes.sort((a, b) => a.strike - b.strike || a.right.localeCompare(b.right));
    if (noDelta > 0) note = `${note ? `${note}; ` : ""}${noDelta} of the ${candidates.length} quoted options had no delta from TWS and are left out of the delta range`;
    return { ...base, quotes, quoted_strikes: quotedStrikes, market_data_lines: { used: candidates.length, budget: CHAIN_QUOTE_LINES }, note };
  }
}

/** Strikes quoted by default (no window, no delta range): two contracts each. */
export const MAX_CHAIN_QUOTE_STRIKES = CHAIN_DEFAULT_QUOTED_STRIKES;

function specLite(contract: Contract) {
  const spec = ibContractSpec(contract);
  return { symbol: spec.symbol, secType: spec.secType, currency: spec.currency };
}

function label(contract: Contract): string {
  return contract.sec_type === "STK" ? `${contract.symbol} stock` : `${contract.symbol} ${contract.expiry} ${contract.strike}${contract.right}`;
}
