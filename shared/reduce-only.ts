// Closes only reduce: a closing order may take a contract's position toward zero, never across
// it, counting every working order on the account. Pure, so the bridge (which holds TWS's
// positions and open orders) runs it and a property test can drive it through any sequence.
import type { Violation } from "./tools";

/** One contract an order trades, per order unit already multiplied out. */
export interface ContractFlow {
  conId: number;
  action: "BUY" | "SELL";
  /** Contracts or shares still to trade. */
  quantity: number;
}

export interface OutgoingLeg extends ContractFlow {
  /** How the leg reads in a refusal (`BUY 1 SPY 2026-01-16 600C`). */
  label: string;
}

/**
 * Each outgoing leg must face a position on the opposite side that is large enough for it AND
 * for every working order that trades the contract in the same direction (any of them may fill
 * first). Working orders on the other side are not counted: they may never fill.
 */
export function reduceOnlyViolations(
  outgoing: readonly OutgoingLeg[],
  positionOf: (conId: number) => number,
  working: readonly ContractFlow[],
): Violation[] {
  const out: Violation[] = [];
  const pendingSameWay = (conId: number, action: ContractFlow["action"]) =>
    working.filter((w) => w.conId === conId && w.action === action).reduce((sum, w) => sum + Math.max(0, w.quantity), 0);
  // Two legs of one order on the same contract add up, like two orders.
  const takenHere = new Map<string, number>();
  for (const leg of outgoing) {
    const held = positionOf(leg.conId);
    const facing = leg.action === "BUY" ? Math.max(0, -held) : Math.max(0, held);
    const key = `${leg.conId}:${leg.action}`;
    const already = pendingSameWay(leg.conId, leg.action) + (takenHere.get(key) ?? 0);
    takenHere.set(key, (takenHere.get(key) ?? 0) + leg.quantity);
    const room = facing - already;
    if (!(leg.quantity > 0) || leg.quantity > room + 1e-9)
      out.push({
        check: "reduce_only",
        message:
          `Closing leg ${leg.label} would not only reduce a position: the account holds ${held} of it` +
          (already > 0 ? ` and working orders already ${leg.action === "BUY" ? "buy" : "sell"} ${already} more of it` : ""),
        value: held,
        ...(already > 0 ? { limit: Math.max(0, room) } : {}),
      });
  }
  return out;
}
