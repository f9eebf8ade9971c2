// How options leave the account without an order: exercise, assignment and lapse. TWS reports
// each as an execution no order made (permId 0, no orderRef): the option leaving — at no price
// when it lapses or is settled into stock, at its settlement value when settled for cash — and,
// for an exercise or an assignment, the stock delivered at the strike. From API server version
// 201 the execution also names the event (optExerciseOrLapseType); the bridge's client speaks 193,
// where it does not, so the event is read from the pair: an option leaving with a delivery of
// 100 shares a contract at its strike, on the side its right calls for, was exercised (long) or
// assigned (short); without one at no price it lapsed; at a price it was settled for cash.
//
// The option leg is booked on the one trade that holds it (by contract and side, up to the leg's
// size); a contract held by several trades stays unattributed rather than guessed. A delivery is
// booked on its option's trade but never in its realized P&L: the stock is a new position, with
// its own risk (positions.ts positionRisk), as IBKR books it.
import type { Execution } from "../../shared/protocol";
import type { Leg } from "../../shared/order";
import type { DeskContext } from "../store/desk-context";
import { getKv, setKv } from "../store/kv";
import { OPTION_MULTIPLIER } from "../../shared/limits";
import { addDailyPnl, getTrade, insertFill, legsOf, realizedPnl, type FillRow, type TradeRow } from "../store/ledger";
import { fillIsLeg, heldLegs } from "./held-legs";
import { checkBreakers } from "../safety/breakers";
import { lossStreak } from "../safety/safety-state";
import { roundCents } from "../../shared/money";
import { lastTradingDate } from "../../shared/market-calendar";
import { calendarDay, tradingDay } from "../../shared/trade-id";

export type LegOutcome = "lapsed" | "exercised" | "assigned" | "cash_settled";
/** A leg whose contracts ended differently (some exercised, some not): each execution tells. */
export type LegEnd = LegOutcome | "mixed";
type OptionFacts = { symbol: string; expiry: string; strike: number; right: "C" | "P" };

/** An execution that no order made: TWS's report of an exercise, an assignment or a lapse. */
export const isAccountExecution = (e: Execution): boolean => !e.order_ref && (e.perm_id ?? 0) === 0;

const optionOf = (e: Pick<Execution, "sec_type" | "symbol" | "expiry" | "strike" | "right">): OptionFacts | null =>
  e.sec_type === "OPT" && e.expiry && e.strike !== null && e.right ? { symbol: e.symbol, expiry: e.expiry, strike: e.strike, right: e.right } : null;

const sameContract = (leg: Leg, o: OptionFacts): boolean =>
  leg.contract.sec_type !== "STK" && leg.contract.symbol === o.symbol && leg.contract.expiry === o.expiry && leg.contract.strike === o.strike && leg.contract.right === o.right;

/** The side the delivered stock trades on: long call or short put take stock, long put or short call give it. */
const deliverySide = (right: "C" | "P", optionSide: "BOT" | "SLD"): "BOT" | "SLD" => ((right === "C") === (optionSide === "SLD") ? "BOT" : "SLD");

function detailsOf(f: FillRow): Execution {
  return JSON.parse(f.details_json) as Execution;
}

function settlementFills(sql: SqlStorage, kind: "option" | "delivery", symbol: string): FillRow[] {
  return sql.exec<FillRow>("SELECT * FROM fills WHERE settlement = ? AND symbol = ? ORDER BY time, exec_id", kind, symbol).toArray() as FillRow[];
}

/**
 * The trades that may hold the contract an option settlement closes: the execution buys back a
 * short leg (BOT) or sells a long one (SLD); a trade still open, or closed at its expiry, that
 * still holds some of that leg (held-legs.ts: what opened, less its closes' fills and earlier
 * settlements — a trade its close's executions closed holds none, whatever that close's last
 * status said).
 */
function holders(ctx: DeskContext, e: Execution, o: OptionFacts): TradeRow[] {
  const action = e.side === "BOT" ? "SELL" : "BUY";
  const trades = ctx.sql.exec<TradeRow>("SELECT * FROM trades WHERE state IN ('open', 'closing', 'closed') AND symbol = ? ORDER BY created_ms", o.symbol).toArray() as TradeRow[];
  return trades.filter((t) => heldLegs(ctx, t).some((l) => l.action === action && sameContract(l, o)));
}

/** Pairs an option settlement with the delivery of its stock (either may arrive first). */
function pair(ctx: DeskContext, option: FillRow, delivery: FillRow): void {
  ctx.sql.exec("UPDATE fills SET paired_exec_id = ? WHERE exec_id = ?", delivery.exec_id, option.exec_id);
  ctx.sql.exec("UPDATE fills SET paired_exec_id = ?, trade_id = ? WHERE exec_id = ?", option.exec_id, option.trade_id, delivery.exec_id);
}

const matches = (o: OptionFacts, option: Pick<FillRow, "side" | "shares">, delivery: Pick<FillRow, "side" | "shares" | "price">): boolean =>
  Math.abs(delivery.price - o.strike) < 1e-6 && Math.abs(delivery.shares - option.shares * OPTION_MULTIPLIER) < 1e-6 && delivery.side === deliverySide(o.right, option.side);

/** What became of an option settlement: its pair says exercised or assigned; a price, cash; nothing, a lapse. */
export function outcomeOf(f: Pick<FillRow, "side" | "price" | "paired_exec_id">): LegOutcome {
  if (f.paired_exec_id) return f.side === "SLD" ? "exercised" : "assigned";
  return f.price > 0 ? "cash_settled" : "lapsed";
}

/**
 * Books an execution no order made, when it is an option settlement or its stock delivery;
 * false when it is neither (the caller books it as a foreign fill). Synchronous.
 */
export function recordSettlement(ctx: DeskContext, e: Execution): { inserted: boolean } | null {
  const option = optionOf(e);
  if (option) return { inserted: recordOption(ctx, e, option) };
  if (e.sec_type === "STK") return recordDelivery(ctx, e);
  return null;
}

/**
 * A settlement before the calendar date its option last traded (the expiry, or the trading date
 * before an expiry the exchange does not trade) is an early exercise or assignment. A calendar
 * date, not the trading day: an assignment reported on the expiry's evening is the expiry's own.
 */
function settledEarly(time: string, expiry: string): boolean {
  return calendarDay(new Date(time)) < lastTradingDate(expiry);
}

function recordOption(ctx: DeskContext, e: Execution, o: OptionFacts): boolean {
  const candidates = holders(ctx, e, o);
  const tradeId = candidates.length === 1 ? candidates[0]!.trade_id : null;
  if (!insertFill(ctx.sql, e, tradeId, ctx.now(), "option")) return false;
  const row = ctx.sql.exec<FillRow>("SELECT * FROM fills WHERE exec_id = ?", e.exec_id).one() as FillRow;
  // Its delivery may have come first.
  const waiting = settlementFills(ctx.sql, "delivery", o.symbol).find((d) => !d.paired_exec_id && matches(o, row, d));
  if (waiting) pair(ctx, row, waiting);
  const outcome = outcomeOf({ ...row, paired_exec_id: waiting?.exec_id ?? null });
  // Before its expiry day an exercise or assignment is early: the position changed under the trade.
  const early = settledEarly(e.time, o.expiry);
  ctx.audit("bridge", "option_settlement", {
    exec_id: e.exec_id, trade_id: tradeId, symbol: o.symbol, expiry: o.expiry, strike: o.strike, right: o.right, side: e.side, contracts: e.shares,
    // Until its stock is seen, a settlement at no price reads as a lapse: TWS sends the delivery right after.
    price: e.price, outcome: outcome === "lapsed" ? "lapsed_unless_delivery_follows" : outcome, early, time: e.time, delivery_exec_id: waiting?.exec_id ?? null,
    ...(candidates.length > 1 ? { held_by: candidates.map((t) => t.trade_id), note: "several trades hold this contract: not attributed to one" } : {}),
    ...(candidates.length === 0 ? { note: "no trade holds this contract" } : {}),
  });
  if (waiting) noteDelivery(ctx, o.symbol, e.time);
  if (tradeId && e.price !== 0) rebookLateCash(ctx, tradeId, e);
  cancelClosesTrading(ctx, o, e);
  if (early && outcome !== "lapsed")
    ctx.writeLog("circuit_breaker", `Early ${outcome === "assigned" ? "assignment" : "exercise"}: ${e.shares} ${o.symbol} ${o.expiry} ${o.strike}${o.right} before its expiry`, { trade_id: tradeId, exec_id: e.exec_id });
  return true;
}

/**
 * A close still working that trades a contract TWS just settled would, when it fills, open that
 * contract again the other way (buying back a short leg that was assigned leaves a long one): it
 * is cancelled, and audited. Assignments are processed overnight, when a close placed for the
 * next session is held by TWS until the open, so the cancel arrives first; the agent then closes
 * what remains (close_position sizes a close from what is still held).
 */
function cancelClosesTrading(ctx: DeskContext, o: OptionFacts, e: Execution): void {
  const working = ctx.sql
    .exec<{ order_ref: string; trade_id: string; order_id: number | null }>(
      "SELECT order_ref, trade_id, order_id FROM orders WHERE intent = 'close' AND status NOT IN ('Filled', 'Cancelled', 'Rejected', 'Inactive')",
    )
    .toArray();
  for (const order of working) {
    const trade = getTrade(ctx.sql, order.trade_id);
    if (!trade || !legsOf(trade).some((leg) => sameContract(leg, o))) continue;
    ctx.audit("edge", "close_cancelled_after_settlement", {
      trade_id: order.trade_id, order_ref: order.order_ref, order_id: order.order_id, exec_id: e.exec_id, contract: `${o.symbol} ${o.expiry} ${o.strike}${o.right}`,
      why: "TWS settled a leg this close trades: filled now, the close would open it again the other way",
    });
    if (order.order_id === null) continue;
    ctx.link.request("cancel", { order_id: order.order_id }).catch((error: Error) =>
      ctx.audit("edge", "close_cancel_failed", { trade_id: order.trade_id, order_ref: order.order_ref, message: error.message }),
    );
  }
}

/**
 * A cash settlement reported after its trade was closed at expiry (its legs left at no price):
 * the trade's realized P&L, today's P&L and, when it turns the trade into a loss, the loss streak
 * take the difference.
 */
function rebookLateCash(ctx: DeskContext, tradeId: string, e: Execution): void {
  const trade = getTrade(ctx.sql, tradeId);
  if (!trade || trade.state !== "closed" || trade.realized_pnl === null) return;
  const delta = realizedPnl([e]);
  const pnl = roundCents(trade.realized_pnl + delta);
  ctx.sql.exec("UPDATE trades SET realized_pnl = ?, updated_at = ? WHERE trade_id = ?", pnl, ctx.now().toISOString(), tradeId);
  addDailyPnl(ctx.sql, tradingDay(ctx.now()), delta);
  const turnedToLoss = trade.realized_pnl >= 0 && pnl < 0;
  if (turnedToLoss) setKv(ctx.sql, "loss_streak", lossStreak(ctx.sql) + 1);
  ctx.audit("edge", "realized_pnl_adjusted", { trade_id: tradeId, exec_id: e.exec_id, from: trade.realized_pnl, to: pnl, delta, loss_streak_counted: turnedToLoss, why: "a cash settlement TWS reported after the trade closed at expiry" });
  checkBreakers(ctx);
}

function recordDelivery(ctx: DeskContext, e: Execution): { inserted: boolean } | null {
  const options = settlementFills(ctx.sql, "option", e.symbol).filter((f) => !f.paired_exec_id);
  const option = options.find((f) => {
    const o = optionOf(detailsOf(f));
    return o !== null && matches(o, f, e);
  });
  // Stock from no option settlement we know of, and no option leg it could come from: a foreign fill.
  if (!option && !couldDeliver(ctx, e)) return null;
  if (!insertFill(ctx.sql, e, option?.trade_id ?? null, ctx.now(), "delivery")) return { inserted: false };
  if (option) pair(ctx, option, ctx.sql.exec<FillRow>("SELECT * FROM fills WHERE exec_id = ?", e.exec_id).one() as FillRow);
  ctx.audit("bridge", "settlement_delivery", {
    exec_id: e.exec_id, trade_id: option?.trade_id ?? null, symbol: e.symbol, side: e.side, shares: e.shares, price: e.price, time: e.time,
    option_exec_id: option?.exec_id ?? null, outcome: option ? outcomeOf({ ...option, paired_exec_id: e.exec_id }) : null,
  });
  noteDelivery(ctx, e.symbol, e.time);
  return { inserted: true };
}

/** A trade holds an option leg this stock could be the delivery of (its option settlement still to come). */
function couldDeliver(ctx: DeskContext, e: Execution): boolean {
  const trades = ctx.sql.exec<TradeRow>("SELECT * FROM trades WHERE state IN ('open', 'closing', 'closed') AND symbol = ?", e.symbol).toArray() as TradeRow[];
  return trades.some((t) =>
    legsOf(t).some((l) => {
      if (l.contract.sec_type === "STK") return false;
      const optionSide = l.action === "SELL" ? "BOT" : "SLD";
      return matches(l.contract, { side: optionSide, shares: e.shares / OPTION_MULTIPLIER }, e);
    }),
  );
}

/** Stock delivered in an underlying: safety/assigned-stock.ts alerts it (and trips the breaker when short). */
function noteDelivery(ctx: DeskContext, symbol: string, time: string): void {
  const settled = getKv<Record<string, string>>(ctx.sql, "expiry_settled", {});
  // A calendar date: the assignment alert window counts calendar days (safety/assigned-stock.ts).
  const day = calendarDay(new Date(time));
  if ((settled[symbol] ?? "") < day) {
    settled[symbol] = day;
    setKv(ctx.sql, "expiry_settled", settled);
  }
}

/** Per option leg of a trade: what TWS reported of its end, when it did (null: not reported). */
export interface LegSettlement { leg: number; contract: OptionFacts; action: "BUY" | "SELL"; quantity: number; outcome: LegEnd | null; early: boolean; exec_ids: string[]; times: string[] }

export function legOutcomes(sql: SqlStorage, trade: TradeRow): LegSettlement[] {
  const out: LegSettlement[] = [];
  const fills = settlementFills(sql, "option", trade.symbol);
  for (const [i, leg] of legsOf(trade).entries()) {
    if (leg.contract.sec_type === "STK") continue;
    const c = leg.contract;
    const contract = { symbol: c.symbol, expiry: c.expiry, strike: c.strike, right: c.right };
    const side = leg.action === "SELL" ? "BOT" : "SLD";
    // Its own settlements, or (a contract several trades held) the contract's unattributed ones.
    const own = fills.filter((f) => f.side === side && fillIsLeg(f, leg) && (f.trade_id === trade.trade_id || f.trade_id === null));
    const outcomes = [...new Set(own.map(outcomeOf))];
    out.push({
      leg: i, contract, action: leg.action, quantity: leg.quantity, outcome: outcomes.length === 1 ? outcomes[0]! : outcomes.length ? ("mixed" as const) : null,
      early: own.some((f) => settledEarly(f.time, c.expiry)), exec_ids: own.map((f) => f.exec_id), times: own.map((f) => f.time),
    });
  }
  return out;
}
