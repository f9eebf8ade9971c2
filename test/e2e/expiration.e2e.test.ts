// Expiration end to end (issue 16), with the simulator, wrangler dev and the bridge as processes:
// a filled iron condor is held to expiry with its short call a dollar in the money — on expiry day
// it is flagged for pin risk with the time left (by TWS's clock) — then the simulator's clock passes
// the expiry close, the simulator settles it as OCC does (the short call assigned into
// short stock, the other legs lapsing — as position and cash changes), the bridge tells the edge
// TWS's clock, and the edge closes the trade with its realized P&L, shows the short stock with its
// own (unbounded) risk, alerts it and trips the assignment breaker until a person resets it.
// Simulator executions and positions match the ledger and the edge's positions throughout.
// The clocks start at the tests' pinned instant (TEST_CLOCK_START starts them elsewhere: a Friday
// night, a holiday) and move together (stack.moveClock); trading waits for a session to be open.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expiryClose, orderSession } from "../../shared/market-calendar";
import { tradingDay } from "../../shared/trade-id";
import { sessionClose } from "../tws-sim/orders";
import { details, type FaultStack, longOption, type PlaceAnswer, quotedOptions, type SimChain, startFaultStack, waitUntil } from "./faults";
import { ironCondor, waitOrderStatus } from "./scenario";
import { cents } from "../support/cents";

let t: FaultStack;
beforeAll(async () => {
  // The heartbeat (reqCurrentTime) is how the bridge learns TWS's clock.
  t = await startFaultStack("expiration", { bridgeEnv: { BRIDGE_TWS_HEARTBEAT_MS: "500" } });
});
afterAll(async () => {
  await t?.stop();
});

interface ViewTrade {
  trade_id: string; state: string; realized_pnl: number | null; legs: { action: string; contract: { strike: number; right: string; expiry: string } }[];
  fills: { exec_id: string; sec_type: string; side: string; shares: number; price: number; commission: number | null; settlement?: string }[];
  leg_ends?: { action: string; contract: { strike: number; right: string }; outcome: string | null; exec_ids: string[] }[];
}
interface StateView { trades: ViewTrade[]; positions: { con_id: number; symbol: string; sec_type: string; quantity: number; worst_case_loss?: number | null }[]; breakers: { name: string; tripped: boolean }[] }
const state = async () => (await (await t.stack.admin("/api/state")).json()) as StateView;
const auditOf = async (action: string) => (await t.audit()).filter((r) => r.action === action);

/** Executions and positions at TWS match the ledger's fills (once each, audited once) and the edge's positions. */
async function differences(): Promise<string[]> {
  const sim = await t.simState();
  const view = await state();
  const audit = await t.audit();
  const out: string[] = [];
  const fills = view.trades.flatMap((tr) => tr.fills.map((f) => f.exec_id));
  if (new Set(fills).size !== fills.length) out.push("the ledger holds a fill twice");
  for (const e of sim.executions) {
    if (!fills.includes(e.execId)) out.push(`execution ${e.execId} missing from the ledger`);
    const rows = audit.filter((r) => ["fill", "fill_recovered", "option_settlement", "settlement_delivery"].includes(r.action) && details(r).exec_id === e.execId).length;
    if (rows !== 1) out.push(`execution ${e.execId} has ${rows} fill rows in the audit log`);
  }
  for (const id of fills) if (!sim.executions.some((e) => e.execId === id)) out.push(`ledger fill ${id} was never executed at TWS`);
  const simPositions = new Map(sim.positions.filter((p) => p.position !== 0).map((p) => [p.conId, p.position]));
  const edgePositions = new Map(view.positions.map((p) => [p.con_id, p.quantity]));
  for (const [conId, qty] of simPositions) if (edgePositions.get(conId) !== qty) out.push(`position ${conId}: TWS ${qty}, edge ${edgePositions.get(conId) ?? 0}`);
  for (const [conId, qty] of edgePositions) if (!simPositions.has(conId)) out.push(`position ${conId}: edge ${qty}, TWS none`);
  for (const o of sim.orders) {
    const mine = view.trades.find((tr) => tr.trade_id === o.orderRef || `${tr.trade_id}_CLOSE` === o.orderRef);
    if (!mine) out.push(`TWS order ${o.orderId} (${o.orderRef}) missing from the ledger`);
  }
  return out;
}
/**
 * Outside a session (the clocks started on a Friday night, a weekend, a holiday) TWS holds orders
 * until the next open: both clocks go to a minute past it. Answers the session's close.
 */
async function inSession(): Promise<number> {
  const now = Date.parse((await t.stack.moveClock(0)).now);
  const session = orderSession(now);
  if (now < session.open) {
    await t.stack.moveClock(session.open + 60_000 - now);
    // The bridge hears TWS's moved clock at its next heartbeat (500 ms) and stamps the account with
    // it at its next account heartbeat: until then the account data looks days old to the edge.
    await waitUntil("fresh account data after the clocks moved", async () => {
      const health = (await (await t.stack.admin("/api/health")).json()) as { data_age_seconds: number | null };
      return health.data_age_seconds !== null && health.data_age_seconds < 10;
    }, 20_000, 250);
  }
  return session.close;
}

async function expectLevel(): Promise<void> {
  let last: string[] = [];
  await waitUntil("the ledger, positions and audit log to agree with TWS", async () => (last = await differences()).length === 0, 30_000, 500).catch((error: Error) => {
    throw new Error(`${error.message}\n${last.join("\n")}`);
  });
}

describe("expiration", () => {
  it("an iron condor held to expiry: the short call assigned into short stock, the rest lapsing; the trade closes with its P&L, the stock is alerted with its risk and trips the assignment breaker", async () => {
    await inSession();
    const condor = await ironCondor(t.mcp, "SPY", { pricing: "touch" });
    const placed = await t.mcp.tool<PlaceAnswer>("place_order", condor);
    expect(placed.isError, placed.text).toBe(false);
    const tradeId = placed.structured.trade_id!;
    await waitOrderStatus(t.mcp, placed.structured.order_id!, ["Filled"]);
    await waitUntil("the trade to be open", async () => (await state()).trades.find((x) => x.trade_id === tradeId)?.state === "open", 20_000);
    await expectLevel();

    // Expiry day, two hours before the close, SPY a dollar above the short call (below its wing):
    // TWS's clock says so, and the trade is flagged for pin risk with the time left.
    const shortCall = condor.legs.map((l) => ({ action: l.action, contract: l.contract as { strike: number; expiry: string; right: string } })).find((l) => l.action === "SELL" && l.contract.right === "C")!.contract;
    await t.stack.simControl("/price", { symbol: "SPY", price: shortCall.strike + 1 });
    // The expiry's close by the exchange calendar (13:00 on an early-close day), on both clocks.
    const close = expiryClose(shortCall.expiry);
    const clockNow = async () => Date.parse((await t.stack.moveClock(0)).now);
    await t.stack.moveClock(close - 2 * 3_600_000 - (await clockNow()));
    type Flag = { trade_id: string; near_money: boolean | null; minutes_left: number; note: string };
    let flags: Flag[] = [];
    await waitUntil("the expiry-day flag", async () => (flags = (await t.mcp.tool<{ expiry_day?: Flag[] }>("get_safety_status", {})).structured.expiry_day ?? []).length > 0, 20_000, 300);
    expect(flags).toEqual([expect.objectContaining({ trade_id: tradeId, near_money: true })]);
    expect(flags[0]!.minutes_left).toBeGreaterThanOrEqual(118);
    expect(flags[0]!.minutes_left).toBeLessThanOrEqual(121);
    const listed = await t.mcp.tool<{ trades: { trade_id: string; expiry_day?: Flag }[] }>("list_trades", {});
    expect(listed.structured.trades.find((x) => x.trade_id === tradeId)?.expiry_day).toMatchObject({ near_money: true });
    expect(((await (await t.stack.admin("/api/state")).json()) as { expiry_day: Flag[] }).expiry_day.map((f) => f.trade_id)).toEqual([tradeId]);

    // Past the close: the simulator settles the options as OCC does.
    const advanced = (await t.stack.moveClock(close + 60_000 - (await clockNow()))).sim as { settled: { outcome: string; quantity: number; stockShares?: number; execIds: string[] }[] };
    expect(advanced.settled.map((s) => s.outcome).sort()).toEqual(["assigned", "lapsed", "lapsed", "lapsed"]);
    expect(advanced.settled.find((s) => s.outcome === "assigned")).toMatchObject({ quantity: -1, stockShares: -100 });

    await waitUntil("the expired trade to close", async () => (await state()).trades.find((x) => x.trade_id === tradeId)?.state === "closed", 30_000, 300);
    const trade = (await state()).trades.find((x) => x.trade_id === tradeId)!;
    // Realized P&L: the premium flows of its fills less commissions (the legs left at no price).
    const premium = trade.fills.filter((f) => f.sec_type === "OPT").reduce((sum, f) => sum + (f.side === "SLD" ? 1 : -1) * f.shares * f.price * 100 - (f.commission ?? 0), 0);
    expect(cents(trade.realized_pnl)).toBe(cents(premium));
    // TWS reported each leg's end as executions no order made (the master client hears them): the
    // ledger books them on the trade, the delivered stock paired with the assigned call and kept
    // out of the P&L, and tells each leg's end.
    const ends = (trade.leg_ends ?? []).map((l) => [l.action, l.contract.right, l.contract.strike, l.outcome]);
    expect(ends).toEqual(condor.legs.map((l) => {
      const c = l.contract as { strike: number; right: string };
      return [l.action, c.right, c.strike, l.action === "SELL" && c.right === "C" ? "assigned" : "lapsed"];
    }));
    const reported = advanced.settled.flatMap((x) => x.execIds).sort();
    expect(trade.fills.filter((f) => f.settlement).map((f) => f.exec_id).sort()).toEqual(reported);
    expect(trade.fills.find((f) => f.settlement === "delivery")).toMatchObject({ sec_type: "STK", side: "SLD", shares: 100, price: shortCall.strike });
    expect((details((await auditOf("trade_expired"))[0]!) as { legs: { outcome: string }[] }).legs.map((l) => l.outcome).sort()).toEqual(["assigned", "lapsed", "lapsed", "lapsed"]);
    expect((await auditOf("trade_expired")).map((r) => details(r).trade_id)).toEqual([tradeId]);

    // The short stock the assignment left: on get_positions with unbounded risk, alerted, breaker tripped.
    await waitUntil("the assignment alert", async () => (await auditOf("assignment_stock")).length > 0, 20_000);
    expect(details((await auditOf("assignment_stock"))[0]!)).toMatchObject({ symbol: "SPY", quantity: -100 });
    const positions = await t.mcp.tool<{ positions: { symbol: string; sec_type: string; quantity: number; worst_case_loss?: number | null; risk_note?: string }[] }>("get_positions", {});
    expect(positions.structured.positions).toEqual([expect.objectContaining({ symbol: "SPY", sec_type: "STK", quantity: -100, worst_case_loss: null })]);
    expect((await state()).breakers.find((b) => b.name === "assignment")).toMatchObject({ tripped: true });
    const refused = await t.mcp.tool<PlaceAnswer>("place_order", await ironCondor(t.mcp, "QQQ", { pricing: "mid" }));
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/assignment/);
    const clockRows = await auditOf("tws_clock");
    expect(clockRows.length).toBeGreaterThan(0);
    await expectLevel();

    // A person acts: the breaker is reset with a reason; the stock stays visible with its risk.
    const reset = await t.stack.admin("/api/breakers/reset", { breaker: "assignment", reason: "buying the shares back in TWS", by: "ops" });
    expect(reset.status).toBe(200);
    expect((await state()).breakers.find((b) => b.name === "assignment")).toMatchObject({ tripped: false });
    expect(((await t.simState()).protocolWarnings)).toEqual([]);
  });

  it("the day's roll across a bridge disconnect: TWS's and the edge's day turn while the bridge is away — the DAY order ends and is settled expired, its risk released; the daily loss restarts at 0; the loss streak and drawdown stand", async () => {
    type Safety = { limits: { name: string; used: number }[] };
    const used = async () => Object.fromEntries(((await t.mcp.tool<Safety>("get_safety_status", {})).structured.limits).map((l) => [l.name, l.used]));
    const chain = (await t.stack.simControl("/chain")) as Record<string, SimChain>;
    // A session open (the first test, or the start instant, may have left the clocks outside one).
    await inSession();
    const [loser, resting] = await quotedOptions(t.mcp, chain.QQQ!, "QQQ", "P", 2);

    // A realized loss today, larger than the first test's gains: one put bought at the ask, QQQ up
    // 5%, the put sold back at the bid (close_position's natural price), QQQ back where it was.
    const bought = await t.mcp.tool<PlaceAnswer>("place_order", longOption(loser!, loser!.ask, "LONG_PUT"));
    expect(bought.isError, bought.text).toBe(false);
    const lossId = bought.structured.trade_id!;
    await waitOrderStatus(t.mcp, bought.structured.order_id!, ["Filled"]);
    await waitUntil("the bought put to be open", async () => (await state()).trades.find((x) => x.trade_id === lossId)?.state === "open", 20_000);
    const qqq = chain.QQQ!.price;
    await t.stack.simControl("/price", { symbol: "QQQ", price: Math.round(qqq * 105) / 100 });
    const sold = await t.mcp.tool<{ success: boolean; close_order_id: number | null }>("close_position", { trade_id: lossId });
    expect(sold.isError, sold.text).toBe(false);
    await waitOrderStatus(t.mcp, sold.structured.close_order_id!, ["Filled"]);
    await waitUntil("the losing trade to close", async () => (await state()).trades.find((x) => x.trade_id === lossId)?.state === "closed", 20_000);
    await t.stack.simControl("/price", { symbol: "QQQ", price: qqq });
    expect((await state()).trades.find((x) => x.trade_id === lossId)!.realized_pnl).toBeLessThan(0);

    // A DAY order resting at mid.
    const placed = await t.mcp.tool<PlaceAnswer>("place_order", longOption(resting!, resting!.mid, "LONG_PUT"));
    expect(placed.isError, placed.text).toBe(false);
    const tradeId = placed.structured.trade_id!;
    await waitOrderStatus(t.mcp, placed.structured.order_id!, ["Submitted"]);
    const reserved = (await state()).trades.find((x) => x.trade_id === tradeId) as ViewTrade & { reserved_risk: number };
    expect(reserved.reserved_risk).toBeGreaterThan(0);
    const before = await used();
    expect(before.daily_loss, JSON.stringify({ before, trades: (await state()).trades.map((x) => [x.trade_id, x.state, x.realized_pnl]) })).toBeGreaterThan(0);
    expect(before.consecutive_losses).toBeGreaterThanOrEqual(1);
    await expectLevel();

    await t.stack.stopBridge();
    const order = ((await t.simState()).orders as unknown as { orderRef: string; createdAt: number }[]).find((o) => o.orderRef === tradeId)!;
    const before_ = await t.stack.moveClock(0);
    const pnlBefore = (await t.simState()).account.dailyPnL;
    // Both clocks a minute past the order's session close: the trading day ends there (a loss
    // booked after Friday's close would count to Monday; the next day's allowance starts at the close).
    const advanced = await t.stack.moveClock(sessionClose(order.createdAt) + 60_000 - Date.parse(before_.now));
    expect(advanced.sim.expired).toBe(1);
    const sim = await t.simState();
    expect(sim.account.dailyPnL).toBe(0);
    expect(pnlBefore).not.toBe(0);
    const moved = advanced.edge;
    expect(Math.abs(Date.parse(moved.now) - Date.parse(advanced.now))).toBeLessThan(5_000);
    expect(tradingDay(new Date(moved.now)) > tradingDay(new Date(before_.now))).toBe(true);

    await t.stack.startBridge();
    await t.stack.waitBridgeLinked(60_000);
    await waitUntil("the DAY order to be settled expired", async () => (await state()).trades.find((x) => x.trade_id === tradeId)?.state === "expired", 30_000);
    const released = (await auditOf("trade_state")).map(details).find((d) => d.trade_id === tradeId && d.to === "expired");
    expect(released).toMatchObject({ reserved_risk_released: reserved.reserved_risk });
    // The new bridge measured TWS's clock as far ahead of its own as the edge's runs: the broker's day is the edge's.
    await waitUntil("the new bridge to tell TWS's clock", async () => (await auditOf("tws_clock")).some((r) => Math.abs(Number(details(r).skew_ms) - moved.shift_ms) < 5_000), 20_000);
    const after = await used();
    expect(after.daily_loss).toBe(0);
    expect(after.consecutive_losses).toBe(before.consecutive_losses);
    expect(after.drawdown).toBeCloseTo(before.drawdown!, 3);
    expect((await state()).trades.find((x) => x.trade_id === lossId)).toMatchObject({ state: "closed" });
    await expectLevel();
  });
});
