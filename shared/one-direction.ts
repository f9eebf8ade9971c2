// One direction per contract: an opening order may not trade a contract against the way the
// account already holds it (or another opening order is working it). At TWS the two would net
// out — a trade long a 585 call and another short it leave the account holding none — and then
// neither trade could be closed, because a close only reduces what TWS holds (reduce-only.ts).
// The deterministic simulation found it: the kill switch's "close all" was refused leg after leg.
// Pure: the edge feeds it its active trades and TWS's positions, the bridge its mirror.
import type { Leg } from "./order";
import type { Violation } from "./tools";

/** Who holds or works each contract, on which side (keys as the caller chooses: contractKey or conId). */
export type ContractSides = ReadonlyMap<string, { long: readonly string[]; short: readonly string[] }>;

export function addSide(sides: Map<string, { long: string[]; short: string[] }>, key: string, side: "long" | "short", holder: string): void {
  const entry = sides.get(key) ?? { long: [], short: [] };
  if (!entry[side].includes(holder)) entry[side].push(holder);
  sides.set(key, entry);
}

/**
 * An opening order's legs against the sides already taken: a BUY facing a short holder or a SELL
 * facing a long one is refused, naming who holds it.
 */
export function opposingLegViolations(legs: readonly Leg[], keyOf: (leg: Leg, index: number) => string, sides: ContractSides, describe: (leg: Leg) => string): Violation[] {
  const out: Violation[] = [];
  legs.forEach((leg, i) => {
    const entry = sides.get(keyOf(leg, i));
    const against = leg.action === "BUY" ? entry?.short : entry?.long;
    if (!against || against.length === 0) return;
    out.push({
      check: "opposing_position",
      message:
        `${describe(leg)} trades against ${against.join(", ")}, which ${against.length === 1 ? "holds" : "hold"} it ${leg.action === "BUY" ? "short" : "long"}: ` +
        "at TWS the two would net out and neither could then be closed on its own (a close only reduces what TWS holds). Close the other side first",
    });
  });
  return out;
}
