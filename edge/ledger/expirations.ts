// Options expire: once the broker's clock has passed a trade's expiry close (the exchange calendar's,
// shared/market-calendar.ts: 16:00 New York, 13:00 on an early close) and TWS
// no longer holds any of its option legs (they lapsed, or were exercised or assigned — OCC
// auto-exercises at $0.01 in the money), the trade is closed with its realized P&L: the legs leave
// at no price, as IBKR books them, so the P&L is the premium flows of its fills. Stock that TWS
// then holds in the underlying is an assignment's: it is alerted, carries its own risk on
// get_positions, and a short stock position trips a breaker until a person resets it.
import { expiryClose, productOf } from "../../shared/market-calendar";
import { calendarDay } from "../../shared/trade-id";
import type { OptionContract } from "../../shared/order";
import type { Position } from "../../shared/tools";
import { applyExecution, bookClose } from "./trade-state";
import { legOutcomes } from "./settlements";
import { heldLegs } from "./held-legs";
import type { DeskContext } from "../store/desk-context";
import { getKv, setKv } from "../store/kv";
import { getOrderByRef, closeRef, legsOf, listTrades, storedPositions } from "../store/ledger";
import { checkAssignedStock } from "../safety/assigned-stock";
import { brokerNow } from "../store/broker-clock";

/**
 * Whether an option expiring on `expiry` (YYYY-MM-DD) has stopped trading by `at`: its last
 * session's close by the exchange calendar (16:00 New York, 13:00 on an early close, the trading
 * date before an expiry the exchange does not trade).
 */
export function expiryClosed(expiry: string, at: Date, symbol: string): boolean {
  return at.getTime() >= expiryClose(expiry, productOf(symbol));
}

const holds = (held: readonly Position[], c: OptionContract): boolean =>
  held.some((p) => p.sec_type === "OPT" && p.quantity !== 0 && p.symbol === c.symbol && p.expiry === c.expiry && p.strike === c.strike && p.right === c.right);

/**
 * Closes every open trade whose option legs have all expired and left the account; then checks
 * the underlyings for stock an assignment left. Runs after position changes, reconciliation and
 * the broker's clock moving. Synchronous: the ledger changes in one turn.
 *
 * TWS reports each leg's end as executions (settlements.ts). When the legs left but some of
 * those reports were not seen (they reach only the master client live), the bridge is asked for
 * the day's executions once and the trade waits for the answer; without them it closes anyway,
 * its unreported legs leaving at no price. `executionsFresh`: the caller has just read them.
 */
export function settleExpirations(ctx: DeskContext, executionsFresh = false): void {
  const at = brokerNow(ctx);
  const held = storedPositions(ctx.sql);
  for (const trade of listTrades(ctx.sql, { state: "open", limit: 1000 })) {
    const legs = legsOf(trade);
    const options = legs.filter((leg) => leg.contract.sec_type !== "STK").map((leg) => leg.contract as OptionContract);
    if (options.length === 0 || options.length !== legs.length) continue;
    // TWS processes expiries after the close: until its positions drop the legs, the trade stands.
    // (Checked first: it is the usual answer, and needs no read of the ledger.)
    if (options.some((c) => holds(held, c))) continue;
    const ends = legOutcomes(ctx.sql, trade);
    // TWS's settlement executions carry its own time: one after the close says the expiry passed
    // even before the bridge's next clock report does.
    const settledAt = Math.max(at.getTime(), ...ends.flatMap((l) => l.times).map((t) => Date.parse(t)).filter(Number.isFinite));
    // Before the expiry only when TWS settled every leg without an order (all exercised or assigned early).
    const early = !options.every((c) => expiryClosed(c.expiry, new Date(settledAt), c.symbol));
    if (early && heldLegs(ctx, trade).length > 0) continue;
    const close = getOrderByRef(ctx.sql, closeRef(trade.trade_id));
    if (close && !["Filled", "Cancelled", "Rejected", "Inactive"].includes(close.status)) continue;
    const unreported = ends.filter((l) => l.outcome === null);
    if (unreported.length > 0 && !executionsFresh && askForSettlements(ctx, trade.trade_id, options)) continue;
    ctx.audit("edge", early ? "trade_settled_early" : "trade_expired", {
      trade_id: trade.trade_id, symbol: trade.symbol, expiries: [...new Set(options.map((c) => c.expiry))], broker_time: at.toISOString(),
      legs: ends.map((l) => ({ contract: l.contract, action: l.action, quantity: l.quantity, outcome: l.outcome ?? "unreported", exec_ids: l.exec_ids })),
      note: early
        ? "TWS settled every leg before its expiry (exercised or assigned early)"
        : unreported.length
        ? "its option legs expired and TWS no longer holds them; TWS reported no execution for some of them, which leave at no price"
        : "its option legs expired and TWS reported each one's end (lapsed, exercised, assigned or settled for cash)",
    });
    bookClose(ctx, trade.trade_id, true);
    const settled = getKv<Record<string, string>>(ctx.sql, "expiry_settled", {});
    settled[trade.symbol] = calendarDay(at);
    setKv(ctx.sql, "expiry_settled", settled);
  }
  checkAssignedStock(ctx, held);
}

/**
 * Asks the bridge, once per trade, for the executions that report its legs' ends; books them
 * and settles again when they come (or when the ask fails). False when it was asked before or
 * no bridge is linked (reconciliation reads the executions on the next link).
 */
function askForSettlements(ctx: DeskContext, tradeId: string, options: readonly OptionContract[]): boolean {
  const asked = getKv<Record<string, string>>(ctx.sql, "settlements_asked", {});
  if (asked[tradeId] || !ctx.link.socket()) return false;
  // Only open trades can be asked for again: the rest of the record is dropped as it is written.
  const open = new Set(listTrades(ctx.sql, { state: "open", limit: 1000 }).map((t) => t.trade_id));
  const kept = Object.fromEntries(Object.entries(asked).filter(([id]) => open.has(id)));
  kept[tradeId] = ctx.now().toISOString();
  setKv(ctx.sql, "settlements_asked", kept);
  const first = options.map((c) => c.expiry).sort()[0]!;
  ctx.link
    .request("executions", { since: `${first}T00:00:00.000Z` })
    .then((executions) => {
      for (const e of executions) applyExecution(ctx, e, "fill_recovered");
    })
    .catch((error: Error) => ctx.audit("edge", "settlements_unavailable", { trade_id: tradeId, message: error.message }))
    .finally(() => settleExpirations(ctx));
  return true;
}

