// What a trade still holds, leg by leg: what its opening order filled, less what its closes filled
// and what TWS settled without an order (an exercise or assignment, settlements.ts). A close is
// sized to exactly this — never more (an over-sized close would open the opposite side) — and
// drops a leg that is gone, so a trade whose short leg was assigned early can still be closed.
import { comboSize } from "../../shared/combo-price";
import type { Leg } from "../../shared/order";
import type { DeskContext } from "../store/desk-context";
import { closeRef, fillsOfTrade, getOrderByRef, legsOf, type FillRow, type TradeRow } from "../store/ledger";

/** Whether a fill trades a leg's contract (a combo's BAG row and delivered stock never do). */
export function fillIsLeg(f: FillRow, leg: Leg): boolean {
  if (f.sec_type === "BAG" || f.settlement === "delivery" || f.symbol !== leg.contract.symbol) return false;
  if (leg.contract.sec_type === "STK") return f.sec_type === "STK";
  if (f.sec_type !== "OPT") return false;
  const e = JSON.parse(f.details_json) as { expiry?: string | null; strike?: number | null; right?: string | null };
  return e.expiry === leg.contract.expiry && e.strike === leg.contract.strike && e.right === leg.contract.right;
}

const sum = (fills: readonly FillRow[]): number => fills.reduce((n, f) => n + f.shares, 0);

/**
 * `workingClose`: the id of a close order still working, to size a modify of it. IBKR's modify
 * carries the order's total quantity, filled part included, so that order's own fills are not
 * taken off (a smaller total would end the close early, short of what is held).
 */
export function heldLegs(ctx: DeskContext, trade: TradeRow, workingClose: number | null = null): Leg[] {
  const legs = legsOf(trade);
  const opened = getOrderByRef(ctx.sql, trade.trade_id);
  const units = comboSize(legs);
  // A partly filled and then cancelled opening order holds fewer combo units than its legs say.
  const openedUnits = opened && opened.status !== "Filled" && opened.filled > 0 && opened.filled < units ? opened.filled : units;
  const fills = fillsOfTrade(ctx.sql, trade.trade_id);
  const close = closeRef(trade.trade_id);
  // The latest close (unless it is the working one being sized) is taken off by its executions or
  // by TWS's filled count, whichever is more: the count can run ahead of the executions (the bridge
  // sends one only with its commission report).
  const latest = getOrderByRef(ctx.sql, close);
  const last = latest && latest.order_id !== null && latest.order_id !== workingClose ? latest : null;
  const apart = workingClose ?? last?.order_id ?? null;
  const legFills = legs.map((leg) => fills.filter((f) => fillIsLeg(f, leg)));
  // Held before the latest close (or the working one): what opened, less earlier closes and settlements.
  const before = legs.map((leg, i) => {
    const mine = legFills[i]!;
    const gone = sum(mine.filter((f) => f.order_ref === close && (apart === null || f.order_id !== apart))) + sum(mine.filter((f) => f.settlement === "option"));
    const openedQty = (leg.quantity / units) * openedUnits;
    // Never above what opened: a fill reported with a negative size (the schema lets one through) must not grow a close.
    return Math.min(openedQty, Math.max(0, openedQty - gone));
  });
  // The latest close was sent as `before`: its units are their combo size (a single leg's, contracts).
  const lastUnits = comboSize(before.filter((q) => q > 1e-9).map((quantity) => ({ quantity })));
  const held = before.map((q, i) => {
    if (!last) return q;
    const seen = sum(legFills[i]!.filter((f) => f.order_ref === close && f.order_id === last.order_id));
    return Math.min(q, Math.max(0, q - Math.max(seen, (q / lastUnits) * last.filled)));
  });
  if (held.every((q, i) => Math.abs(q - legs[i]!.quantity) < 1e-9)) return legs;
  return legs.map((leg, i) => ({ ...leg, quantity: held[i]! })).filter((leg) => leg.quantity > 1e-9);
}

/**
 * Option contracts of the trade that TWS settled without an order (exercised, assigned, lapsed),
 * summed — per leg never more than the leg opened: a settlement booked on the trade may include
 * contracts of the same series held outside it (sold by hand), which are not the trade's to close.
 */
export function settledShares(ctx: DeskContext, trade: TradeRow): number {
  const fills = fillsOfTrade(ctx.sql, trade.trade_id);
  return legsOf(trade).reduce((n, leg) => {
    const mine = fills.filter((f) => fillIsLeg(f, leg));
    const opened = sum(mine.filter((f) => f.order_ref === trade.trade_id));
    return n + Math.min(opened > 0 ? opened : leg.quantity, sum(mine.filter((f) => f.settlement === "option")));
  }, 0);
}
