// The underlying TWS reports for a symbol's contracts (ContractDetails.underSymbol), learned from
// the bridge's quotes. Known, it lets place_order decide the exposure group without a quote trip
// first, so the order costs one bridge trip; the bridge re-checks the group against TWS before
// sending (bridge/second-key.ts). Per object instance and in memory: after an eviction the first
// order of a symbol asks for a quote again, exactly as before.
import type { Leg } from "../../shared/order";
import type { OpResult } from "../../shared/protocol";
import type { DeskContext } from "../store/desk-context";
import { recordQuoteUnderlying } from "../safety/underlying-prices";
import { learnSettlement } from "./settlement-styles";

const MAX_SYMBOLS = 500;
const learned = new WeakMap<object, Map<string, string>>();

type Legs = readonly Pick<Leg, "contract">[];

/** The leg whose underlying the bridge reports with a quote: the first option leg, else the first. */
function keyOf(legs: Legs): string | null {
  const leg = legs.find((l) => l.contract.sec_type !== "STK") ?? legs[0];
  return leg ? `${leg.contract.sec_type === "STK" ? "STK" : "OPT"}:${leg.contract.symbol}` : null;
}

export function rememberUnderlying(owner: object, legs: Legs, underlying: string | null | undefined): void {
  const key = keyOf(legs);
  if (!key || !underlying) return;
  let map = learned.get(owner);
  if (!map) learned.set(owner, (map = new Map()));
  map.delete(key);
  map.set(key, underlying);
  if (map.size > MAX_SYMBOLS) map.delete(map.keys().next().value!);
}

/** The broker's underlying for these legs if a quote has told this object; undefined if not. */
export function knownUnderlying(owner: object, legs: Legs): string | undefined {
  const key = keyOf(legs);
  return key ? learned.get(owner)?.get(key) : undefined;
}

/**
 * What an agent-facing quote teaches the object: the broker's underlying for these legs and how
 * they settle (so the next order can go in one trip), and the underlying's price the greeks refer
 * to (for the pictures).
 */
export function learnFromQuote(ctx: Pick<DeskContext, "link" | "sql">, legs: Legs, quote: OpResult<"quote">): void {
  rememberUnderlying(ctx.link, legs, quote.underlying);
  learnSettlement(ctx.link, legs, quote);
  recordQuoteUnderlying(ctx.sql, legs[0]?.contract.symbol, quote);
}
