// The bridge process is SIGKILLed mid-session (with an order working and a fill landing while it
// is dead) and started again: afterwards the Durable Object's ledger matches the simulator's
// orders and executions exactly — nothing lost, nothing sent twice — and trading resumes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DashboardSession, type SimStateView, type TestStack, startTestStack, waitUntil } from "./harness";
import { ironCondor, waitOrderStatus } from "./scenario";

interface PlaceAnswer { success: boolean; trade_id: string | null; order_id: number | null; status: string; message: string }
interface LedgerTrade { trade_id: string; state: string; orders: { order_id: number; status: string; filled: number }[]; fills: { exec_id: string; price: number; shares: number }[] }

let t: TestStack;
let desk: DashboardSession;
beforeAll(async () => {
  t = await startTestStack("bridge-restart");
  desk = await t.dashboard();
});
afterAll(async () => {
  await t?.stop();
});

async function ledger(): Promise<LedgerTrade[]> {
  const res = await desk.get("/api/state");
  expect(res.status).toBe(200);
  return ((await res.json()) as { trades: LedgerTrade[] }).trades;
}

/** Every simulator order and execution tagged with a trade id appears in the ledger as it is at TWS. */
function differences(sim: SimStateView, trades: LedgerTrade[]): string[] {
  const out: string[] = [];
  const byRef = new Map<string, LedgerTrade>();
  for (const trade of trades) {
    byRef.set(trade.trade_id, trade);
    byRef.set(`${trade.trade_id}_CLOSE`, trade);
  }
  for (const order of sim.orders.filter((o) => o.orderRef)) {
    const trade = byRef.get(order.orderRef);
    const mine = trade?.orders.find((o) => o.order_id === order.orderId);
    if (!mine) out.push(`order ${order.orderId} (${order.orderRef}) missing from the ledger`);
    else if (mine.status !== order.status) out.push(`order ${order.orderId}: ledger ${mine.status}, TWS ${order.status}`);
  }
  const fills = new Set(trades.flatMap((trade) => trade.fills.map((f) => f.exec_id)));
  for (const execution of sim.executions) if (!fills.has(execution.execId)) out.push(`execution ${execution.execId} (${execution.orderRef}) missing from the ledger`);
  const ledgerFillCount = trades.reduce((n, trade) => n + trade.fills.length, 0);
  if (ledgerFillCount !== sim.executions.length) out.push(`ledger has ${ledgerFillCount} fills, TWS ${sim.executions.length}`);
  return out;
}

describe("bridge killed and restarted mid-session", () => {
  it("loses nothing: ledger and simulator agree on every order and execution, and no order is sent twice", async () => {
    // A filled trade before the crash.
    const first = await ironCondor(t.mcp, "SPY", { width: 3, pricing: "touch" });
    const filled = await t.mcp.tool<PlaceAnswer>("place_order", first);
    expect(filled.isError, filled.text).toBe(false);
    await waitOrderStatus(t.mcp, filled.structured.order_id!, ["Filled"]);

    // A resting order, and a marketable one whose fill lands while the bridge is dead.
    const resting = await t.mcp.tool<PlaceAnswer>("place_order", await ironCondor(t.mcp, "QQQ", { width: 3, pricing: "mid" }));
    expect(resting.isError, resting.text).toBe(false);
    await t.stack.simControl("/fault", { name: "delayFills", ms: 4_000 });
    const late = await t.mcp.tool<PlaceAnswer>("place_order", await ironCondor(t.mcp, "IWM", { width: 3, pricing: "touch" }));
    expect(late.isError, late.text).toBe(false);
    const lateRef = late.structured.trade_id!;

    const aapl = await ironCondor(t.mcp, "AAPL", { width: 5, pricing: "touch" });

    await t.stack.killBridge();
    const whileDead = await t.mcp.tool<PlaceAnswer>("place_order", aapl);
    // Fail closed: no bridge, no order.
    expect(whileDead.isError).toBe(true);
    expect(whileDead.text).toMatch(/bridge/i);

    await waitUntil("the late order to fill at the simulator while the bridge is down", async () => (await t.simState()).orders.find((o) => o.orderRef === lateRef)?.status === "Filled", 20_000);
    await t.stack.simControl("/fault", { name: "delayFills", ms: 0 });

    await t.stack.startBridge();
    await t.stack.waitBridgeLinked(60_000);

    let lastDiff: string[] = [];
    await waitUntil("reconciliation to bring the ledger level with the simulator", async () => {
      lastDiff = differences(await t.simState(), await ledger());
      return lastDiff.length === 0;
    }, 45_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${lastDiff.join("\n")}`);
    });

    const sim = await t.simState();
    // No order went out twice: one TWS order per trade id.
    const refs = sim.orders.map((o) => o.orderRef).filter(Boolean);
    expect(new Set(refs).size).toBe(refs.length);
    expect(sim.executions.filter((e) => e.orderRef === lateRef)).toHaveLength(4);
    expect(sim.protocolWarnings).toEqual([]);

    // The agent's view agrees: the late order is Filled.
    const lateStatus = await waitOrderStatus(t.mcp, late.structured.order_id!, ["Filled"], 20_000);
    expect(lateStatus.trade_id).toBe(lateRef);

    // And the new bridge trades.
    const after = await t.mcp.tool<PlaceAnswer>("place_order", await ironCondor(t.mcp, "SPY", { width: 4, pricing: "touch" }));
    expect(after.isError, after.text).toBe(false);
    await waitOrderStatus(t.mcp, after.structured.order_id!, ["Filled"]);
    const final = differences(await t.simState(), await ledger());
    expect(final).toEqual([]);
  });
});
