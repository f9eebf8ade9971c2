// From the agent's legs to what TWS trades: each leg's conId resolved once through
// reqContractDetails and cached, and the order built as ONE contract — a BAG combo for several
// legs (ratios = quantity / gcd, order size = gcd, IBKR's debit-positive net price), or the
// plain OPT/STK contract for one leg.
import { type ComboLeg, type Contract as IbContract, EventName, OptionType, OrderAction, SecType } from "@stoqey/ib";
import { type Contract, contractKey, describeLeg, type Leg } from "../shared/order";
import { priceOrder } from "../shared/combo-price";
import { type LegSettlement, settlementFromContract } from "../shared/settlement";
import { BridgeError } from "./errors";
import type { TwsConnection } from "./tws-connection";

const EXCHANGE = "SMART";
const CURRENCY = "USD";

/** `2025-12-19` → `20251219` (IBKR's lastTradeDateOrContractMonth). */
export const toIbExpiry = (iso: string): string => iso.replaceAll("-", "");
/** `20251219` → `2025-12-19`. */
export const fromIbExpiry = (ib: string | undefined): string | null =>
  ib && /^\d{8}/.test(ib) ? `${ib.slice(0, 4)}-${ib.slice(4, 6)}-${ib.slice(6, 8)}` : null;

/** The contract description TWS matches (no conId yet). */
export function ibContractSpec(contract: Contract): IbContract {
  if (contract.sec_type === "STK") return { symbol: contract.symbol, secType: SecType.STK, exchange: EXCHANGE, currency: CURRENCY };
  return {
    symbol: contract.symbol,
    secType: SecType.OPT,
    exchange: EXCHANGE,
    currency: CURRENCY,
    lastTradeDateOrContractMonth: toIbExpiry(contract.expiry),
    strike: contract.strike,
    right: contract.right === "C" ? OptionType.Call : OptionType.Put,
    multiplier: 100,
  };
}

export interface ResolvedContract {
  conId: number;
  contract: IbContract;
  /** The underlying TWS reports (ContractDetails.underSymbol), or the stock's own symbol. */
  underlying: string;
  /**
   * How an option settles, from ContractDetails.underSecType and the contract's trading class
   * (shared/settlement.ts); null for a stock, or when TWS's answer does not say.
   */
  settlement: LegSettlement | null;
}

/** conIds by contract, asked of TWS once per contract and process. */
export class ContractResolver {
  private readonly cache = new Map<string, ResolvedContract>();
  /** Lookups in flight, so a burst asks TWS once per contract. */
  private readonly pending = new Map<string, Promise<ResolvedContract>>();

  constructor(private readonly tws: TwsConnection) {}

  cached(contract: Contract): ResolvedContract | undefined {
    return this.cache.get(contractKey(contract));
  }

  resolve(contract: Contract): Promise<ResolvedContract> {
    const key = contractKey(contract);
    const hit = this.cache.get(key);
    if (hit) return Promise.resolve(hit);
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const lookup = this.lookup(contract, key).finally(() => this.pending.delete(key));
    this.pending.set(key, lookup);
    return lookup;
  }

  private async lookup(contract: Contract, key: string): Promise<ResolvedContract> {
    const spec = ibContractSpec(contract);
    const label = contract.sec_type === "STK" ? `${contract.symbol} stock` : `${contract.symbol} ${contract.expiry} ${contract.strike}${contract.right}`;
    type Details = { contract: IbContract; underSymbol?: string; underSecType?: string };
    const found = await this.tws.call<Details[]>(`contract details of ${label}`, 5_000, (ctx) => {
      const matches: Details[] = [];
      ctx.on(EventName.contractDetails, (reqId: number, details: Details) => {
        if (reqId === ctx.reqId) matches.push(details);
      });
      ctx.on(EventName.contractDetailsEnd, (reqId: number) => {
        if (reqId === ctx.reqId) ctx.resolve(matches);
      });
      ctx.onError = (code, text) => {
        if (code !== 200) return false;
        ctx.reject(new BridgeError("tws_error", `TWS error 200: no such contract ${label} (${text})`));
        return true;
      };
      return (ib) => ib.reqContractDetails(ctx.reqId, spec);
    });
    if (found.length === 0) throw new BridgeError("tws_error", `TWS knows no contract ${label}`);
    if (found.length > 1) throw new BridgeError("tws_error", `${label} is ambiguous at TWS (${found.length} contracts match)`);
    const conId = found[0]?.contract.conId;
    if (!conId) throw new BridgeError("tws_error", `TWS returned no conId for ${label}`);
    const underlying = contract.sec_type === "STK" ? contract.symbol : found[0]?.underSymbol?.trim().toUpperCase() || contract.symbol;
    const settlement = contract.sec_type === "STK" ? null : settlementFromContract({ underSecType: found[0]?.underSecType, tradingClass: found[0]?.contract.tradingClass, underSymbol: found[0]?.underSymbol });
    const resolved = { conId, contract: { ...spec, conId }, underlying, settlement };
    this.cache.set(key, resolved);
    return resolved;
  }

  resolveAll(legs: readonly Pick<Leg, "contract">[]): Promise<ResolvedContract[]> {
    // One at a time: the pacer orders them anyway, and the cache fills in leg order.
    return legs.reduce<Promise<ResolvedContract[]>>(async (acc, leg) => [...(await acc), await this.resolve(leg.contract)], Promise.resolve([]));
  }
}

export interface BuiltOrder {
  contract: IbContract;
  action: OrderAction;
  quantity: number;
  /** The price TWS gets: the leg price for one leg, the net per combo unit for a BAG. */
  limitPrice: number;
  description: string;
}

/**
 * One order for all the legs: a BAG for several, the plain contract for one, priced by the one
 * money convention (shared/combo-price.ts) that the edge's risk math used. A combo that has no
 * such price (stock mixed with options) is refused here too.
 */
export function buildOrder(symbol: string, legs: readonly Leg[], resolved: readonly ResolvedContract[]): BuiltOrder {
  if (legs.length !== resolved.length) throw new Error("every leg needs its resolved contract");
  const priced = priceOrder(legs);
  if (!priced.ok) throw new BridgeError("second_key_refused", priced.reason);
  const price = priced.price;
  if (price.kind === "single") {
    const leg = legs[0] as Leg;
    return {
      contract: { ...(resolved[0] as ResolvedContract).contract },
      action: price.action === "BUY" ? OrderAction.BUY : OrderAction.SELL,
      quantity: price.units,
      limitPrice: price.limitPrice,
      description: describeLeg(leg),
    };
  }
  const comboLegs: ComboLeg[] = legs.map((leg, i) => ({
    conId: (resolved[i] as ResolvedContract).conId,
    ratio: Math.round(price.ratios[i] as number),
    action: leg.action === "BUY" ? OrderAction.BUY : OrderAction.SELL,
    exchange: EXCHANGE,
  }));
  return {
    contract: { symbol, secType: SecType.BAG, exchange: EXCHANGE, currency: CURRENCY, comboLegs },
    action: OrderAction.BUY,
    quantity: price.units,
    limitPrice: price.limitPrice,
    description: `BUY ${price.units} combo: ${legs.map(describeLeg).join(", ")}`,
  };
}
