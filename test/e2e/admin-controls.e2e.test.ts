// The human's controls through the dashboard's own API path (session cookie + Origin + CSRF
// token) against the real stack: a shadow-mode order waits and reaches TWS only once approved;
// the kill switch refuses the next order and cancels a resting one at the simulator.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DashboardSession, type TestStack, startTestStack, waitUntil } from "./harness";
import { ironCondor } from "./scenario";

interface PlaceAnswer { success: boolean; trade_id: string | null; order_id: number | null; status: string; message: string }
interface AdminState {
  shadow_mode: boolean;
  emergency_stop: { on: boolean; reason: string | null; by: string | null };
  pending_approvals: { trade_id: string; symbol: string; strategy: string }[];
  trades: { trade_id: string; state: string; orders: { order_id: number; status: string }[] }[];
}

let t: TestStack;
let desk: DashboardSession;
/** The shadow-mode trade, filled once approved; the kill switch's "close all positions" closes it. */
let approvedTradeId = "";
beforeAll(async () => {
  t = await startTestStack("admin-controls");
  desk = await t.dashboard();
});
afterAll(async () => {
  await t?.stop();
});

async function adminState(): Promise<AdminState> {
  const res = await desk.get("/api/state");
  expect(res.status).toBe(200);
  return (await res.json()) as AdminState;
}

describe("shadow mode", () => {
  it("holds an order for approval and sends it to TWS once approved from the dashboard", async () => {
    const on = await desk.post("/api/shadow-mode", { on: true, reason: "e2e: watch the agent", by: "e2e" });
    expect(on.status, await on.clone().text()).toBe(200);
    expect((await adminState()).shadow_mode).toBe(true);

    const order = await ironCondor(t.mcp, "SPY", { width: 3, pricing: "touch" });
    const placed = await t.mcp.tool<PlaceAnswer>("place_order", order);
    expect(placed.isError, placed.text).toBe(false);
    expect(placed.structured.status).toBe("PendingApproval");
    const tradeId = placed.structured.trade_id!;
    expect(tradeId).toMatch(/^IRON_CONDOR_SPY_/);

    const pending = (await adminState()).pending_approvals.map((p) => p.trade_id);
    expect(pending).toContain(tradeId);
    // Waiting means waiting: nothing at TWS yet.
    expect((await t.simState()).orders.filter((o) => o.orderRef === tradeId)).toEqual([]);

    const approved = await desk.post(`/api/approvals/${tradeId}`, { decision: "approve", reason: "e2e: looks right", by: "e2e" });
    expect(approved.status, await approved.clone().text()).toBe(200);
    await waitUntil("the approved order at the simulator", async () => (await t.simState()).orders.some((o) => o.orderRef === tradeId), 20_000);
    const atSim = (await t.simState()).orders.filter((o) => o.orderRef === tradeId);
    expect(atSim).toHaveLength(1);
    expect(atSim[0]!.secType).toBe("BAG");
    approvedTradeId = tradeId;
    expect((await adminState()).pending_approvals.map((p) => p.trade_id)).not.toContain(tradeId);

    const audit = (await (await desk.get("/api/audit?limit=1000")).json()) as { rows: { action: string; actor: string; details_json: string }[] };
    expect(audit.rows.some((r) => r.details_json.includes(tradeId) && /approv/i.test(r.action))).toBe(true);

    const off = await desk.post("/api/shadow-mode", { on: false, reason: "e2e: done watching", by: "e2e" });
    expect(off.status).toBe(200);
    expect((await adminState()).shadow_mode).toBe(false);
  });
});

describe("cancel all", () => {
  it("cancels a working order at the simulator from the dashboard", async () => {
    expect((await desk.post("/api/shadow-mode", { on: false, reason: "e2e: cancel-all test", by: "e2e" })).status).toBe(200);
    const placed = await t.mcp.tool<PlaceAnswer>("place_order", await ironCondor(t.mcp, "IWM", { width: 2, pricing: "mid" }));
    expect(placed.isError, placed.text).toBe(false);
    const tradeId = placed.structured.trade_id!;
    await waitUntil("the order working at the simulator", async () => ["Submitted", "PreSubmitted"].includes((await t.simState()).orders.find((o) => o.orderRef === tradeId)?.status ?? ""), 20_000);
    const res = await desk.post("/api/cancel-all", { reason: "e2e: flatten the book", by: "e2e" });
    expect(res.status, await res.clone().text()).toBe(200);
    await waitUntil("the order Cancelled at the simulator", async () => (await t.simState()).orders.find((o) => o.orderRef === tradeId)?.status === "Cancelled", 20_000);
  });
});

describe("kill switch", () => {
  it("stops the next order, cancels a resting one and closes open positions at the simulator", async () => {
    // Independent of the shadow-mode test's outcome: orders go straight to TWS here.
    expect((await desk.post("/api/shadow-mode", { on: false, reason: "e2e: kill switch test", by: "e2e" })).status).toBe(200);
    // Priced at mid on a market with spreads: not marketable, so it rests.
    const resting = await ironCondor(t.mcp, "QQQ", { width: 3, pricing: "mid" });
    const placed = await t.mcp.tool<PlaceAnswer>("place_order", resting);
    expect(placed.isError, placed.text).toBe(false);
    const tradeId = placed.structured.trade_id!;
    await waitUntil("the resting order working at the simulator", async () => {
      const o = (await t.simState()).orders.find((x) => x.orderRef === tradeId);
      return o?.status === "Submitted" || o?.status === "PreSubmitted";
    }, 20_000);

    expect(approvedTradeId).not.toBe("");
    await waitUntil("the approved shadow-mode trade filled", async () => (await t.simState()).orders.find((o) => o.orderRef === approvedTradeId)?.status === "Filled", 20_000);
    const stop = await desk.post("/api/emergency-stop", { on: true, reason: "e2e: agent misbehaving", by: "e2e-desk", cancel_orders: true, close_positions: true });
    expect(stop.status, await stop.clone().text()).toBe(200);
    const state = await adminState();
    expect(state.emergency_stop).toMatchObject({ on: true, reason: "e2e: agent misbehaving", by: "e2e-desk" });

    await waitUntil("the resting order Cancelled at the simulator", async () => (await t.simState()).orders.find((x) => x.orderRef === tradeId)?.status === "Cancelled", 20_000);
    // Closing is risk-reducing, so it goes out under the stop: the open trade is flattened.
    await waitUntil("the open trade closed at the simulator", async () => {
      const sim = await t.simState();
      return sim.orders.find((o) => o.orderRef === `${approvedTradeId}_CLOSE`)?.status === "Filled" && sim.positions.every((p) => p.position === 0);
    }, 20_000);

    const before = (await t.simState()).orders.length;
    const next = await ironCondor(t.mcp, "IWM", { width: 3, pricing: "touch" });
    const refused = await t.mcp.tool<PlaceAnswer>("place_order", next);
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/emergency stop/i);
    expect((await t.simState()).orders.length).toBe(before);

    // The ledger heard about the cancel too.
    await waitUntil("the ledger to show the order Cancelled", async () => {
      const trade = (await adminState()).trades.find((x) => x.trade_id === tradeId);
      return trade?.orders.some((o) => o.status === "Cancelled") === true;
    }, 20_000);

    const release = await desk.post("/api/emergency-stop", { on: false, reason: "e2e: all clear", by: "e2e-desk" });
    expect(release.status).toBe(200);
    expect((await adminState()).emergency_stop.on).toBe(false);
  });

  it("refuses a cookie-authenticated stop without the CSRF token, changing nothing", async () => {
    const res = await fetch(`${t.stack.edgeUrl}/api/emergency-stop`, {
      method: "POST",
      headers: { cookie: desk.cookie, origin: t.stack.edgeUrl, "content-type": "application/json" },
      body: JSON.stringify({ on: true, reason: "forged" }),
    });
    expect(res.status).toBe(403);
    expect((await adminState()).emergency_stop.on).toBe(false);
  });

  it("writes a stop reason with a pasted token to circuit_breaker.log scrubbed", async () => {
    const log = join(t.workDir, "logs", "circuit_breaker.log");
    const stop = await desk.post("/api/emergency-stop", { on: true, reason: `e2e: pasted ${t.secrets.ADMIN_TOKEN} by mistake`, by: "e2e-desk" });
    expect(stop.status, await stop.clone().text()).toBe(200);
    await waitUntil("the stop in circuit_breaker.log", async () => existsSync(log) && readFileSync(log, "utf8").includes("pasted [redacted] by mistake"), 10_000);
    const text = readFileSync(log, "utf8");
    for (const secret of [t.secrets.ADMIN_TOKEN, t.secrets.MCP_TOKEN, t.secrets.BRIDGE_TOKEN]) expect(text.includes(secret)).toBe(false);
    expect((await desk.post("/api/emergency-stop", { on: false, reason: "e2e: all clear", by: "e2e-desk" })).status).toBe(200);
  });
});
