// How each leg of an order settles (shares or cash, American or European: shared/settlement.ts),
// as the bridge's quotes report it from TWS's contract details. The risk figure of a multi-expiry
// order or one with a short leg depends on it, so the order desk computes it with these styles
// and sends them with the order; the bridge re-checks against the styles TWS reports for the
// contracts it resolves (bridge/second-key.ts settlementViolations), so a remembered style can
// only make the edge's figure wrong by refusing, never by sending.
//
// Remembered per contract and per option symbol, in memory like the broker's underlying
// (edge/desk/underlyings.ts): after an eviction the first order of a symbol asks for a quote again.
import type { Leg } from "../../shared/order";
import { contractKey } from "../../shared/order";
import type { Quote } from "../../shared/protocol";
import type { LegSettlement } from "../../shared/settlement";

const MAX_CONTRACTS = 2_000;
const MAX_SYMBOLS = 500;

interface Styles { byContract: Map<string, LegSettlement>; bySymbol: Map<string, LegSettlement> }
const learned = new WeakMap<object, Styles>();

type Legs = readonly Pick<Leg, "contract">[];

function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}

/** What a quote of these legs says about how each settles. */
export function learnSettlement(owner: object, legs: Legs, quote: Pick<Quote, "settlement">): void {
  const reported = quote.settlement;
  if (!reported || reported.length !== legs.length) return;
  let styles = learned.get(owner);
  if (!styles) learned.set(owner, (styles = { byContract: new Map(), bySymbol: new Map() }));
  legs.forEach((leg, i) => {
    const style = reported[i];
    if (leg.contract.sec_type === "STK" || !style) return;
    remember(styles.byContract, contractKey(leg.contract), style, MAX_CONTRACTS);
    remember(styles.bySymbol, leg.contract.symbol, style, MAX_SYMBOLS);
  });
}

/**
 * How each leg settles, in leg order: from `quote` when it reports it, else from what an earlier
 * quote said of the same contract, else of another option on the same symbol (every option of a
 * symbol settles alike; the bridge checks the contract itself); null where nothing is known.
 */
export function settlementFor(owner: object, legs: Legs, quote?: Pick<Quote, "settlement"> | null): (LegSettlement | null)[] {
  const styles = learned.get(owner);
  return legs.map((leg, i) => {
    if (leg.contract.sec_type === "STK") return null;
    const reported = quote?.settlement?.length === legs.length ? quote.settlement[i] : null;
    return reported ?? styles?.byContract.get(contractKey(leg.contract)) ?? styles?.bySymbol.get(leg.contract.symbol) ?? null;
  });
}

/** Every option leg's style is known to this object. */
export function settlementKnown(owner: object, legs: Legs): boolean {
  return settlementFor(owner, legs).every((style, i) => style !== null || legs[i]!.contract.sec_type === "STK");
}
