// Every order reaches its real end (issue 16), with the simulator, wrangler dev and the bridge as
// processes: a DAY order that ended at its session's close while the bridge was away is settled
// expired with TWS's reason and its risk released; the held-open iron condor (the whole
// stack stopped and started on a new TWS that no longer holds it) stays reserved and unaccounted
// through reconnects until a person settles it; and the order ids the new TWS hands out again
// resolve to the current session's order or are refused as ambiguous, never guessed. After each
// step the simulator's orders, executions and positions (across TWS sessions) match the ledger,
// the positions the edge holds, and the audit log: nothing lost, nothing doubled.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionClose } from "../tws-sim/orders";
import { type AuditRow, dashboardLogin, details, type FaultStack, longOption, type PlaceAnswer, quotedOptions, simChain, startFaultStack, waitUntil } from "./faults";
import type { McpClient, SimStateView } from "./harness";
import { ironCondor, waitOrderStatus } from "./scenario";

let t: FaultStack;
let mcp: McpClient;
beforeAll(async () => {
  t = await startFaultStack("orders-end");
  mcp = t.mcp;
});
afterAll(async () => {
  await t?.stop();
});

interface ViewOrder { order_ref: string; order_id: number | null; status: string; filled: number; reason: string | null; tws_session: string | null; unaccounted: boolean }
interface ViewTrade { trade_id: string; state: string; reserved_risk: number; orders: ViewOrder[]; fills: { exec_id: string }[] }
interface StateView { trades: ViewTrade[]; positions: { con_id: number; quantity: number }[] }
type SimOrderFull = SimStateView["orders"][number] & { permId: number; createdAt: number };

const state = async () => (await (await t.stack.admin("/api/state")).json()) as StateView;
const tradeOf = async (tradeId: string) => (await state()).trades.find((x) => x.trade_id === tradeId);
const auditOf = async (action: string) => (await t.audit()).filter((r) => r.action === action);
const simOrders = async () => (await t.simState()).orders as SimOrderFull[];

/** Every simulator state seen, so orders and executions of a TWS that restarted still count. */
const snapshots: SimStateView[] = [];
async function snapshot(): Promise<SimStateView> {
  const s = await t.simState();
  snapshots.push(s);
  return s;
}

/**
 * Nothing lost, nothing doubled, across TWS sessions: every order TWS held (matched by permId) is
 * in the ledger under its orderRef with TWS's last status and fill count, or — lost with a TWS
 * restart — shown unaccounted (its risk kept) or ended in the ledger by an audited settlement; every execution is one ledger fill and one
 * audit fill row; every ledger fill was executed at TWS or entered by an admin (audited); every
 * order id in the ledger was TWS's for that ref; and the edge's positions are the simulator's.
 */
async function differences(): Promise<string[]> {
  const latest = await snapshot();
  const view = await state();
  const audit = await t.audit();
  const out: string[] = [];
  const byPerm = new Map<number, { order: SimOrderFull; live: boolean }>();
  for (const s of snapshots) for (const o of s.orders as SimOrderFull[]) byPerm.set(o.permId, { order: o, live: false });
  for (const o of latest.orders as SimOrderFull[]) byPerm.set(o.permId, { order: o, live: true });
  const ledger = new Map(view.trades.flatMap((tr) => tr.orders.map((o) => [o.order_ref, { trade: tr, order: o }] as const)));
  const settledRefs = new Set(audit.filter((r) => ["order_settled_by_admin", "order_ended_offline"].includes(r.action)).map((r) => String(details(r).order_ref)));
  const refsAtTws = new Map<string, number>();
  for (const { order, live } of byPerm.values()) {
    if (!order.orderRef) continue;
    refsAtTws.set(order.orderRef, (refsAtTws.get(order.orderRef) ?? 0) + 1);
    const mine = ledger.get(order.orderRef)?.order;
    if (!mine) out.push(`TWS order ${order.orderId} (${order.orderRef}) missing from the ledger`);
    else if (live && (mine.status !== order.status || mine.filled !== order.filled || mine.order_id !== order.orderId))
      out.push(`order ${order.orderRef}: ledger ${mine.order_id}/${mine.status}/${mine.filled}, TWS ${order.orderId}/${order.status}/${order.filled}`);
    else if (!live && !["Filled", "Cancelled", "Rejected", "Inactive"].includes(mine.status) && !mine.unaccounted)
      out.push(`order ${order.orderRef}, gone with a TWS restart, is still ${mine.status} in the ledger and not shown unaccounted`);
    else if (!live && !settledRefs.has(order.orderRef) && mine.status !== order.status) out.push(`order ${order.orderRef}, gone with a TWS restart, ended ${mine.status} with no settlement audited`);
  }
  for (const [ref, n] of refsAtTws) if (n > 1) out.push(`orderRef ${ref} reached TWS ${n} times`);
  for (const [ref, { order }] of ledger) {
    if (order.order_id === null) continue;
    const atTws = [...byPerm.values()].some(({ order: o }) => o.orderRef === ref && o.orderId === order.order_id);
    if (!atTws) out.push(`ledger order ${order.order_id} (${ref}) was never TWS's order for that ref`);
  }
  const execs = new Map<string, string>();
  for (const s of snapshots) for (const e of s.executions) execs.set(e.execId, e.orderRef);
  const fills = view.trades.flatMap((tr) => tr.fills.map((f) => f.exec_id));
  if (new Set(fills).size !== fills.length) out.push("the ledger holds a fill twice");
  const adminEntered = new Set(audit.filter((r) => r.action === "fills_entered_by_admin").map((r) => String(details(r).order_ref)));
  for (const id of fills) if (!execs.has(id) && !(id.startsWith("admin:") && adminEntered.has(id.split(":")[1]!))) out.push(`ledger fill ${id} was never executed at TWS`);
  const fillRows = new Map<string, number>();
  for (const r of audit.filter((row: AuditRow) => row.action === "fill" || row.action === "fill_recovered")) fillRows.set(String(details(r).exec_id), (fillRows.get(String(details(r).exec_id)) ?? 0) + 1);
  for (const [id, ref] of execs) {
    if (!fills.includes(id)) out.push(`execution ${id} (${ref}) missing from the ledger`);
    if ((fillRows.get(id) ?? 0) !== 1) out.push(`execution ${id} (${ref}) has ${fillRows.get(id) ?? 0} fill rows in the audit log`);
  }
  const simPositions = new Map((latest.positions as { conId: number; position: number }[]).filter((p) => p.position !== 0).map((p) => [p.conId, p.position]));
  const edgePositions = new Map(view.positions.map((p) => [p.con_id, p.quantity]));
  for (const [conId, qty] of simPositions) if (edgePositions.get(conId) !== qty) out.push(`position ${conId}: TWS ${qty}, edge ${edgePositions.get(conId) ?? 0}`);
  for (const [conId, qty] of edgePositions) if (!simPositions.has(conId)) out.push(`position ${conId}: edge ${qty}, TWS none`);
  return out;
}

async function expectLevel(): Promise<void> {
  let last: string[] = [];
  await waitUntil("the ledger, positions and audit log to agree with TWS", async () => (last = await differences()).length === 0, 30_000, 500).catch((error: Error) => {
    throw new Error(`${error.message}\n${last.join("\n")}`);
  });
  expect((await (await t.stack.admin("/api/audit/verify")).json()) as { ok: boolean }).toMatchObject({ ok: true });
}

/** A 1-lot long option resting at its mid. */
async function restingOption(symbol: string, right: "C" | "P", pick = 0) {
  const options = await quotedOptions(mcp, (await simChain(t))[symbol]!, symbol, right, pick + 1);
  return longOption(options[pick]!, options[pick]!.mid, right === "C" ? "LONG_CALL" : "LONG_PUT");
}

/**
 * Places an order that rests: working at the exchange (Submitted) in a session, or held by TWS
 * until its session opens (PreSubmitted) when the clocks start outside one (TEST_CLOCK_START).
 */
async function placeResting(order: Record<string, unknown>): Promise<{ tradeId: string; orderId: number; status: string }> {
  const placed = await mcp.tool<PlaceAnswer>("place_order", order);
  expect(placed.isError, placed.text).toBe(false);
  const { status } = await waitOrderStatus(mcp, placed.structured.order_id!, ["Submitted", "PreSubmitted"]);
  return { tradeId: placed.structured.trade_id!, orderId: placed.structured.order_id!, status };
}

const twsState = async () => ((await (await t.stack.admin("/api/health")).json()) as { tws: { state: string; session?: string } | null }).tws;

/** Stops the bridge and the edge, restarts TWS (a new one holding none of the old orders), starts both again. */
async function restartWholeStack(): Promise<void> {
  await t.stack.stopBridge();
  await t.stack.stopEdge();
  await t.stack.simControl("/fault", { name: "restartTws" });
  await t.stack.startEdge();
  await t.stack.startBridge();
  await t.stack.waitBridgeLinked(60_000);
  await mcp.close().catch(() => undefined);
  mcp = await t.newMcp();
}

describe("orders reach their real end", () => {
  let expiredTrade = "";
  let expiredOrderId = 0;

  it("a DAY order that expires at its session's close while the bridge is away is settled expired, with TWS's reason, its risk released", async () => {
    const { tradeId, orderId } = await placeResting(await restingOption("SPY", "C"));
    expiredTrade = tradeId;
    expiredOrderId = orderId;
    expect((await tradeOf(tradeId))?.state).toBe("working");
    await snapshot();

    await t.stack.stopBridge();
    const simOrder = (await simOrders()).find((o) => o.orderRef === tradeId)!;
    // TWS's and the edge's clocks, together, to a minute past the order's session close (the
    // calendar's: placed after Friday's close, Monday's).
    const clock = await t.stack.moveClock(0);
    const advanced = await t.stack.moveClock(sessionClose(simOrder.createdAt) + 60_000 - Date.parse(clock.now));
    expect(advanced.sim.expired).toBe(1);
    expect((await simOrders()).find((o) => o.orderRef === tradeId)?.status).toBe("Cancelled");
    // Still working as far as the ledger knows: nobody was there to hear it end.
    expect((await tradeOf(tradeId))?.state).toBe("working");

    await t.stack.startBridge();
    await t.stack.waitBridgeLinked(60_000);
    await waitUntil("the expired order to be settled", async () => (await tradeOf(tradeId))?.state === "expired", 30_000);
    const trade = (await tradeOf(tradeId))!;
    expect(trade.orders).toEqual([expect.objectContaining({ order_id: orderId, status: "Cancelled", unaccounted: false })]);
    expect(trade.orders[0]!.reason).toMatch(/TWS lists it finished: Cancelled by System at /);
    const ended = (await auditOf("order_ended_offline")).filter((r) => details(r).order_ref === tradeId);
    expect(ended).toHaveLength(1);
    expect(details(ended[0]!)).toMatchObject({ end: "Expired", completed_status: "Cancelled by System" });
    // Its risk no longer counts: the trade is over.
    const listed = await mcp.tool<{ trades: { trade_id: string; state: string }[] }>("list_trades", { state: "working" });
    expect(listed.structured.trades.map((x) => x.trade_id)).not.toContain(tradeId);
    await expectLevel();
  });

  it("the issue's held-open iron condor: on a new TWS that no longer holds it, it stays reserved and unaccounted through reconnects until a person settles it; order ids handed out again resolve to the current session or are refused", async () => {
    const condor = await ironCondor(mcp, "SPY", { pricing: "mid" });
    const { tradeId, orderId, status: working } = await placeResting(condor);
    const reserved = (await tradeOf(tradeId))!.reserved_risk;
    expect(reserved).toBeGreaterThan(0);
    const sessionBefore = (await twsState())?.session;
    expect(sessionBefore).toBeTruthy();
    await snapshot();

    await restartWholeStack();
    expect((await twsState())?.session).not.toBe(sessionBefore);
    expect(await simOrders()).toEqual([]);
    await waitUntil("the condor to be unaccounted", async () => (await tradeOf(tradeId))?.orders[0]?.unaccounted === true, 30_000);
    let trade = (await tradeOf(tradeId))!;
    // Fail closed: still working, its risk still reserved.
    expect(trade).toMatchObject({ state: "working", reserved_risk: reserved });
    expect(trade.orders[0]).toMatchObject({ order_id: orderId, status: working });
    const unmatched = (await auditOf("order_unmatched")).filter((r) => details(r).order_ref === tradeId).length;
    expect(unmatched).toBeGreaterThan(0);

    // Re-checked at every reconnect: a TWS drop and return checks it again, and it stays reserved.
    await t.stack.simControl("/fault", { name: "dropAll" });
    await waitUntil("the condor to be re-checked after the reconnect", async () => (await auditOf("order_unmatched")).filter((r) => details(r).order_ref === tradeId).length > unmatched, 30_000);
    expect((await tradeOf(tradeId))).toMatchObject({ state: "working", reserved_risk: reserved });

    // The new TWS hands out the first id again: the new order holds the expired trade's id too.
    const fresh = await placeResting(await restingOption("QQQ", "P"));
    expect(fresh.orderId).toBe(expiredOrderId);
    const status = await mcp.tool<{ trade_id: string; status: string }>("get_order_status", { order_id: fresh.orderId });
    expect(status.isError, status.text).toBe(false);
    expect(status.structured).toMatchObject({ trade_id: fresh.tradeId, status: fresh.status });
    expect(status.structured.trade_id).not.toBe(expiredTrade);
    await expectLevel();

    // Settling needs a person, a reason, and an order that is really unaccounted.
    const dash = await dashboardLogin(t.stack.edgeUrl, t.secrets.ADMIN_TOKEN);
    const notUnaccounted = await dash.post("/api/orders/settle", { order_ref: fresh.tradeId, as: "cancelled", reason: "test" });
    expect(notUnaccounted.status).toBe(409);
    expect(((await notUnaccounted.json()) as { error: string }).error).toMatch(/not unaccounted/);
    const noReason = await dash.post("/api/orders/settle", { order_ref: tradeId, as: "cancelled", reason: " " });
    expect(noReason.status).toBe(400);
    const noPrice = await dash.post("/api/orders/settle", { order_ref: tradeId, as: "filled", reason: "filled at TWS" });
    expect(noPrice.status).toBe(400);
    expect((await tradeOf(tradeId))).toMatchObject({ state: "working", reserved_risk: reserved });

    const settled = await dash.post("/api/orders/settle", { order_ref: tradeId, as: "cancelled", reason: "TWS was restarted; the order is gone from TWS's order list and no fill", by: "ops" });
    expect(settled.status, await settled.clone().text()).toBe(200);
    expect(await settled.json()).toMatchObject({ trade_id: tradeId, settled_as: "cancelled", trade_state: "cancelled" });
    trade = (await tradeOf(tradeId))!;
    expect(trade.state).toBe("cancelled");
    expect(trade.orders[0]).toMatchObject({ status: "Cancelled", unaccounted: false });
    expect(trade.orders[0]!.reason).toMatch(/settled by ops: TWS was restarted/);
    const row = (await auditOf("order_settled_by_admin")).find((r) => details(r).order_ref === tradeId)!;
    expect(details(row)).toMatchObject({ by: "ops", as: "cancelled", end: "Cancelled", previous_status: working });
    expect(row.actor).toBe("admin");
    // Once settled, it cannot be settled again.
    expect((await dash.post("/api/orders/settle", { order_ref: tradeId, as: "cancelled", reason: "again" })).status).toBe(409);
    await expectLevel();

    // Another TWS restart: id 1 is now held by two orders of two earlier sessions, neither current.
    await restartWholeStack();
    await waitUntil("the QQQ order to be unaccounted", async () => (await tradeOf(fresh.tradeId))?.orders[0]?.unaccounted === true, 30_000);
    const ambiguous = await mcp.tool("get_order_status", { order_id: fresh.orderId });
    expect(ambiguous.isError).toBe(true);
    expect(ambiguous.text).toMatch(/ambiguous/);
    expect(ambiguous.text).toContain(fresh.tradeId);
    expect(ambiguous.text).toContain(expiredTrade);
    const cancel = await mcp.tool("cancel_order", { order_id: fresh.orderId });
    expect(cancel.isError || /ambiguous/.test(cancel.text)).toBe(true);
    expect(cancel.text).toMatch(/ambiguous/);

    // Settled as filled at the price the person read in TWS: the trade opens with the admin's fills.
    const filled = await dash.post("/api/orders/settle", { order_ref: fresh.tradeId, as: "filled", price: 1.25, reason: "TWS statement shows it filled at 1.25", by: "ops" });
    expect(filled.status, await filled.clone().text()).toBe(200);
    const opened = (await tradeOf(fresh.tradeId))!;
    expect(opened).toMatchObject({ state: "open" });
    expect(opened.orders[0]).toMatchObject({ status: "Filled", filled: 1 });
    expect(opened.fills.map((f) => f.exec_id)).toEqual([`admin:${fresh.tradeId}:0`]);
    expect((await auditOf("fills_entered_by_admin")).map((r) => details(r).order_ref)).toContain(fresh.tradeId);
    await expectLevel();
    expect(((await t.simState()).protocolWarnings)).toEqual([]);
  });
});
