// Exposure of what TWS holds that no active trade accounts for — stock left by an assignment or
// an exercise, a position placed by hand in TWS, one left by a trade the ledger closed — so the
// concentration limit sees it next to the trades' own exposure. Synchronous and read from storage,
// so it runs inside the decision's one synchronous turn.
//
// A position's untracked part is its quantity beyond what the active trades hold of that contract
// by their fills (ledger.ts heldByActiveTrades; per con_id, never netted against another
// contract), and only when it has the position's own sign. A flatten trade under way does NOT
// cover its position here: it reserved no exposure, and the position stays at risk until the close
// fills. Each untracked part is valued conservatively, as if it could be lost whole:
//   - stock, long or short: |qty| × price (TWS's mark, else the average cost). Long stock can go to
//     zero; short stock's loss is unbounded, so its notional is a floor, not a bound (the
//     assignment breaker already refuses openings while short stock is held).
//   - long option: its premium, |qty| × 100 × mark, else the average cost (which IBKR reports per
//     contract, the multiplier included).
//   - short put: |qty| × 100 × strike (the stock it may have to buy).
//   - short call: |qty| × 100 × the larger of the strike and the last underlying price known (a
//     quote's greeks, or TWS's mark of stock in the same symbol): the stock it may have to deliver,
//     never valued below the strike when the underlying's price is unknown or stale and low.
//   - anything else (futures, or an option TWS reported without its strike): the larger of its
//     market value and |qty| × average cost.
// An option position's `symbol` is its underlying, and it is grouped by economic underlying, a
// leveraged fund's counting its multiple, exactly as a trade's exposure is (shared/underlying.ts).
import { OPTION_MULTIPLIER } from "../../shared/limits";
import { roundCents } from "../../shared/money";
import type { Position } from "../../shared/tools";
import { exposureGroup, exposureMultiple } from "../../shared/underlying";
import { heldByActiveTrades, storedPositions } from "../store/ledger";
import { underlyingPrice } from "./underlying-prices";

/** Dollars of exposure of `quantity` (signed, the position's sign) of a position; `underlying` is the underlying's last known price. */
export function positionExposure(p: Position, quantity: number, underlying: number | null): number {
  const qty = Math.abs(quantity);
  const costPerUnit = Math.abs(p.avg_cost);
  // TWS marks a position 0 when it has no price for it: that is no mark, not a worthless position.
  const mark = p.current_price !== null && p.current_price > 0 ? p.current_price : null;
  if (p.sec_type === "STK") return qty * Math.abs(mark ?? p.avg_cost);
  if (p.sec_type === "OPT" && p.strike !== null && p.right !== null) {
    if (quantity > 0) return mark !== null ? qty * OPTION_MULTIPLIER * mark : qty * costPerUnit;
    if (p.right === "P") return qty * OPTION_MULTIPLIER * p.strike;
    return qty * OPTION_MULTIPLIER * Math.max(p.strike, underlying ?? 0);
  }
  const marketValue = p.market_value !== null && p.quantity !== 0 ? Math.abs(p.market_value) * (qty / Math.abs(p.quantity)) : 0;
  return Math.max(marketValue, qty * costPerUnit);
}

/** Exposure per underlying group of the positions (or their parts) that no active trade holds. */
export function untrackedExposureByGroup(sql: SqlStorage): Record<string, number> {
  const positions = storedPositions(sql);
  if (positions.length === 0) return {};
  const held = heldByActiveTrades(sql, { flattens: false });
  const stockPrice = new Map(positions.filter((p) => p.sec_type === "STK" && p.current_price !== null).map((p) => [p.symbol.toUpperCase(), p.current_price as number]));
  const out: Record<string, number> = {};
  for (const p of positions) {
    const excess = p.quantity - (held.get(p.con_id) ?? 0);
    // Only the part beyond the trades', on the position's own side: a trade holding more than TWS
    // reports (a position event not yet in) leaves nothing untracked.
    if (Math.sign(excess) !== Math.sign(p.quantity) || Math.abs(excess) < 1e-9) continue;
    const quantity = Math.sign(p.quantity) * Math.min(Math.abs(excess), Math.abs(p.quantity));
    const symbol = p.symbol.toUpperCase();
    const shortCall = p.sec_type === "OPT" && p.right === "C" && quantity < 0;
    const underlying = shortCall ? Math.max(underlyingPrice(sql, symbol)?.price ?? 0, stockPrice.get(symbol) ?? 0) || null : null;
    // A leveraged fund's position counts its multiple in its index's group (shared/underlying.ts).
    const exposure = positionExposure(p, quantity, underlying) * exposureMultiple(p.symbol);
    // Fail closed on a figure that cannot be a dollar amount: it fills any group's room.
    const group = exposureGroup(p.symbol);
    out[group] = roundCents((out[group] ?? 0) + (Number.isFinite(exposure) && exposure >= 0 ? exposure : Number.MAX_SAFE_INTEGER));
  }
  return out;
}
