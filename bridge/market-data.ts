// Quotes from TWS as snapshots: bid/ask/last/mid of a stock, an option or a whole combo (net per
// combo unit, built from the legs' quotes), and option chains. Missing permissions or delayed
// data (354, 10089, 10167, 10168) are reported as such, never as a zero price.
import { EventName } from "@stoqey/ib";
import { contractKey, type Contract, type Leg } from "../shared/order";
import type { OptionChain, Quote } from "../shared/protocol";
import { comboSize } from "../shared/risk";
import { roundCents } from "../shared/money";
import type { z } from "zod";
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
  constructor(
    private readonly tws: TwsConnection,
    private readonly contracts: ContractResolver,
    private readonly snapshotMs = 4_000,
  ) {}

  /** One snapshot of one contract. */
  snapshot(contract: ResolvedContract["contract"], label: string): Promise<LegQuote> {
    return this.tws.call<LegQuote>(`quote of ${label}`, this.snapshotMs + 2_000, (ctx) => {
      let bid: number | null = null;
      let ask: number | null = null;
      let last: number | null = null;
      let close: number | null = null;
      let dataType: DataType = "live";
      let reason: string | null = null;
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(timer);
        const got = bid !== null || ask !== null || last !== null;
        if (!got && dataType !== "unavailable") {
          dataType = "unavailable";
          reason ??= `TWS sent no bid, ask or last for ${label}${close !== null ? ` (previous close ${close})` : ""}`;
        }
        ctx.resolve({ bid, ask, last: last ?? null, mid: midOf(bid, ask), dataType, reason });
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
  async quote(legs: readonly Pick<Leg, "contract" | "action" | "quantity">[]): Promise<z.infer<typeof Quote>> {
    const quotes = await this.legQuotes(legs);
    const asOf = new Date().toISOString();
    // The broker's underlying, for the edge's concentration grouping (resolved by legQuotes above).
    const underlying = this.contracts.cached((legs.find((leg) => leg.contract.sec_type !== "STK") ?? legs[0]!).contract)?.underlying ?? null;
    const all = legs.map((leg) => quotes.get(contractKey(leg.contract)) as LegQuote);
    const dataType = all.reduce<DataType>((worst, q) => (WORSE.indexOf(q.dataType) > WORSE.indexOf(worst) ? q.dataType : worst), "live");
    const reasons = [...new Set(all.map((q) => q.reason).filter((r): r is string => r !== null))];
    const reason = reasons.length > 0 ? reasons.join("; ") : null;
    if (legs.length === 1) {
      const q = all[0] as LegQuote;
      return { bid: q.bid, ask: q.ask, last: q.last, mid: q.mid, data_type: q.dataType, reason: q.reason, as_of: asOf, underlying };
    }
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
    };
  }

  /** Expiries and strikes of an underlying, with quotes for one expiry's strikes near the money. */
  async optionChain(symbol: string, expiry: string | undefined, strikeRange = 0.1): Promise<z.infer<typeof OptionChain>> {
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
    const under = await this.snapshot(stock.contract, `${symbol} stock`);
    const underlying = under.mid ?? under.last;
    const strikes = underlying === null ? allStrikes : allStrikes.filter((k) => Math.abs(k - underlying) <= underlying * strikeRange + 1e-9);
    if (expiry !== undefined && !expiries.includes(expiry))
      throw new BridgeError("invalid_params", `${symbol} has no option expiring ${expiry}; expiries: ${expiries.slice(0, 12).join(", ")}${expiries.length > 12 ? ", …" : ""}`);
    const quotes: z.infer<typeof OptionChain>["quotes"] = [];
    if (expiry !== undefined) {
      // Quotes only for the strikes nearest the money: each is a market-data line (TWS allows ~100
      // at once) and a paced message, so a whole chain would outlast the edge's timeout.
      const quoted = underlying === null ? strikes.slice(0, MAX_CHAIN_QUOTE_STRIKES) : [...strikes].sort((a, b) => Math.abs(a - underlying) - Math.abs(b - underlying)).slice(0, MAX_CHAIN_QUOTE_STRIKES).sort((a, b) => a - b);
      const contracts = quoted.flatMap((strike) => (["C", "P"] as const).map((right) => ({ symbol, expiry, strike, right })));
      const got = await Promise.all(contracts.map((c) => this.snapshot(ibContractSpec(c), label(c))));
      contracts.forEach((c, i) => {
        const q = got[i] as LegQuote;
        quotes.push({ strike: c.strike, right: c.right, bid: q.bid, ask: q.ask, mid: q.mid });
      });
    }
    return { symbol, underlying_price: underlying, expiries, strikes, expiry: expiry ?? null, quotes };
  }
}

/** Strikes quoted in one option-chain answer (two contracts each): about 1.5 s of paced requests. */
export const MAX_CHAIN_QUOTE_STRIKES = 25;

function specLite(contract: Contract) {
  const spec = ibContractSpec(contract);
  return { symbol: spec.symbol, secType: spec.secType, currency: spec.currency };
}

function label(contract: Contract): string {
  return contract.sec_type === "STK" ? `${contract.symbol} stock` : `${contract.symbol} ${contract.expiry} ${contract.strike}${contract.right}`;
}
