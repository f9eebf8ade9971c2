// An agent trades through the real system: MCP SDK client → wrangler dev (Worker + Durable
// Object) → bridge (@stoqey/ib over TCP) → TWS simulator. It opens an iron condor from the live
// chain, sees it filled, closes it, reads the realized P&L, and gets a refusal it can act on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestStack, startTestStack, waitUntil } from "./harness";
import { ironCondor, waitOrderStatus } from "./scenario";
import { cents } from "../support/cents";

interface PlaceAnswer { success: boolean; trade_id: string | null; order_id: number | null; status: string; message: string; violations: { check: string; message: string; value?: number; limit?: number }[]; computed_max_risk: number | null }
interface CloseAnswer { success: boolean; trade_id: string; close_order_id: number | null; status: string; message: string }
interface PositionRow { symbol: string; sec_type: string; expiry: string | null; strike: number | null; right: "C" | "P" | null; quantity: number }
interface AccountAnswer { realized_pnl: number; net_liquidation: number; daily_pnl: number; data_age_seconds: number }

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack("agent-trading");
});
afterAll(async () => {
  await t?.stop();
});

describe("an agent trades an iron condor end to end", () => {
  let tradeId = "";
  let openLegs: unknown[] = [];

  it("opens a marketable iron condor and sees it filled in get_order_status and get_positions", async () => {
    const order = await ironCondor(t.mcp, "SPY", { width: 3, pricing: "touch" });
    expect(order.max_risk).toBeLessThanOrEqual(500);
    const placed = await t.mcp.tool<PlaceAnswer>("place_order", { ...order, idempotency_key: "e2e-open-condor-1" });
    expect(placed.isError, placed.text).toBe(false);
    expect(placed.structured.success, placed.text).toBe(true);
    expect(placed.structured.trade_id).toMatch(/^IRON_CONDOR_SPY_\d{8}_\d{6}(_\d+)?$/);
    expect(cents(placed.structured.computed_max_risk)).toBe(cents(order.max_risk));
    tradeId = placed.structured.trade_id!;
    openLegs = order.legs;

    const status = await waitOrderStatus(t.mcp, placed.structured.order_id!, ["Filled"]);
    expect(status).toMatchObject({ order_id: placed.structured.order_id, trade_id: tradeId, status: "Filled", filled: 1, remaining: 0 });

    // One BAG combo reached TWS, tagged with the trade id, 4 legs, filled.
    const sim = await t.simState();
    const atSim = sim.orders.filter((o) => o.orderRef === tradeId);
    expect(atSim).toHaveLength(1);
    expect(atSim[0]).toMatchObject({ secType: "BAG", status: "Filled", orderId: placed.structured.order_id });
    expect(atSim[0]!.legs).toHaveLength(4);

    let positions: PositionRow[] = [];
    await waitUntil("the four condor legs in get_positions", async () => {
      const answer = await t.mcp.tool<{ positions: PositionRow[] }>("get_positions", { symbol: "SPY" });
      positions = answer.structured.positions ?? [];
      return positions.filter((p) => p.quantity !== 0).length === 4;
    }, 20_000);
    for (const leg of order.legs) {
      const c = leg.contract as { strike: number; right: "C" | "P" };
      const held = positions.find((p) => p.strike === c.strike && p.right === c.right);
      expect(held, `position ${c.strike}${c.right}`).toBeDefined();
      expect(held!.quantity).toBe(leg.action === "BUY" ? 1 : -1);
    }
  });

  it("closes it with close_position, flat at the simulator, and get_account shows the realized P&L", async () => {
    expect(tradeId).not.toBe("");
    const closed = await t.mcp.tool<CloseAnswer>("close_position", { trade_id: tradeId });
    expect(closed.isError, closed.text).toBe(false);
    expect(closed.structured).toMatchObject({ success: true, trade_id: tradeId });
    const closeStatus = await waitOrderStatus(t.mcp, closed.structured.close_order_id!, ["Filled"]);
    expect(closeStatus.trade_id).toMatch(new RegExp(`^${tradeId}(_CLOSE)?$`));

    const sim = await t.simState();
    expect(sim.orders.filter((o) => o.orderRef === `${tradeId}_CLOSE`).map((o) => o.status)).toEqual(["Filled"]);
    expect(sim.positions.filter((p) => p.symbol === "SPY" && p.position !== 0)).toEqual([]);
    // Opened at the natural price and closed at the natural price: a small loss plus commissions.
    expect(sim.account.realizedPnL).toBeLessThan(0);

    let account: AccountAnswer | null = null;
    await waitUntil("get_account to report the simulator's realized P&L", async () => {
      const answer = await t.mcp.tool<AccountAnswer>("get_account");
      account = answer.structured;
      return Math.abs(account.realized_pnl - sim.account.realizedPnL) < 0.01;
    }, 20_000).catch((error: Error) => {
      throw new Error(`${error.message}: get_account ${JSON.stringify(account)} vs simulator ${sim.account.realizedPnL}`);
    });
    expect(account!.realized_pnl).not.toBe(0);
    expect(openLegs).toHaveLength(4);

    await waitUntil("get_positions to show SPY flat", async () => {
      const answer = await t.mcp.tool<{ positions: PositionRow[] }>("get_positions", { symbol: "SPY" });
      return (answer.structured.positions ?? []).every((p) => p.quantity === 0);
    }, 20_000);
  });

  it("refuses a condor whose worst case is over $500 with the violation, and nothing reaches TWS", async () => {
    const before = (await t.simState()).orders.length;
    const order = await ironCondor(t.mcp, "QQQ", { width: 10, pricing: "touch" });
    expect(order.max_risk).toBeGreaterThan(500);
    const refused = await t.mcp.tool<PlaceAnswer>("place_order", order);
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/Max risk \(\$\d[\d,]*\.\d\d\) exceeds limit \(\$500\.00\)/);
    expect(refused.structured.success).toBe(false);
    const violation = refused.structured.violations.find((v) => v.check === "max_trade_risk");
    expect(violation?.limit).toBe(500);
    expect(cents(violation?.value)).toBe(cents(order.max_risk));
    expect((await t.simState()).orders.length).toBe(before);
  });
});
