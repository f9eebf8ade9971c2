// Stock in an underlying whose options were settled at expiry is an assignment's (or an
// exercise's): alerted once per position size, and a short one trips the assignment breaker until a
// person resets it. Runs after each new settlement TWS reports (an execution no order made) and
// each time expirations are settled: after position changes, reconciliation and the broker's clock.
import { calendarDay } from "../../shared/trade-id";
import type { Position } from "../../shared/tools";
import { brokerNow } from "../store/broker-clock";
import type { DeskContext } from "../store/desk-context";
import { getKv, setKv } from "../store/kv";
import { storedPositions } from "../store/ledger";
import { checkBreakers } from "./breakers";
import { breaker, setBreaker } from "./safety-state";

/** How long after an expiry settlement stock in its underlying is taken for an assignment's. */
const ASSIGNMENT_WINDOW_MS = 7 * 86_400_000;

/**
 * Stock in an underlying whose options trade was settled at expiry is an assignment's (or an
 * exercise's): alert once per position size, and trip the assignment breaker for a short one —
 * a short stock position has no bounded loss, and only a person may decide what to do with it.
 */
export function checkAssignedStock(ctx: DeskContext, held: readonly Position[] = storedPositions(ctx.sql)): void {
  const settled = getKv<Record<string, string>>(ctx.sql, "expiry_settled", {});
  const alerted = getKv<Record<string, number>>(ctx.sql, "assignment_alerted", {});
  // Assignments post by the next trading day; a week (of calendar days) covers a long weekend and a late bridge.
  const since = calendarDay(new Date(brokerNow(ctx).getTime() - ASSIGNMENT_WINDOW_MS));
  let changed = false;
  for (const p of held) {
    if (p.sec_type !== "STK" || p.quantity === 0 || !settled[p.symbol] || settled[p.symbol]! < since) continue;
    if (alerted[p.con_id] === p.quantity) continue;
    alerted[p.con_id] = p.quantity;
    changed = true;
    const short = p.quantity < 0;
    const message = `${short ? "SHORT " : ""}${Math.abs(p.quantity)} ${p.symbol} shares after the options expired (assignment or exercise): ${short ? "a short stock position's loss is unbounded" : `worst case ${Math.abs(p.quantity * (p.current_price ?? p.avg_cost)).toFixed(2)} USD if it went to zero`}`;
    ctx.audit("edge", "assignment_stock", { symbol: p.symbol, con_id: p.con_id, quantity: p.quantity, avg_cost: p.avg_cost, expiry_day: settled[p.symbol], message });
    ctx.writeLog("circuit_breaker", message, { symbol: p.symbol, con_id: p.con_id, quantity: p.quantity });
    if (short && !breaker(ctx.sql, "assignment").tripped) {
      setBreaker(ctx.sql, "assignment", { tripped: true, reason: `Short ${Math.abs(p.quantity)} ${p.symbol} shares left by an assignment: no new positions until a person resets this breaker`, at: ctx.now().toISOString() });
      ctx.audit("edge", "breaker_tripped", { breaker: "assignment", reason: message });
    }
  }
  if (changed) setKv(ctx.sql, "assignment_alerted", alerted);
  checkBreakers(ctx);
}
