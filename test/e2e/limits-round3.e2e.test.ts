// Issue 23's limits on the running stack (MCP SDK client → wrangler dev → bridge → @stoqey/ib →
// TWS simulator): the daily loss limit reserves the worst case of orders still working (item 5),
// and the order rate counts a close and every walk of it (item 3). The simulator's orders prove
// what reached TWS.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_CLOSE_ORDERS_PER_MINUTE } from "../../shared/limits";
import { details, expectLevel, type FaultStack, longOption, type PlaceAnswer, quotedOptions, simChain, startFaultStack, waitUntil } from "./faults";
import { waitOrderStatus } from "./scenario";

let t: FaultStack;
beforeAll(async () => {
  t = await startFaultStack("limits-round3");
});
afterAll(async () => {
  await t?.stop();
});

interface Budget { daily_loss_remaining: number; working_orders_worst_case: number; next_trade_max_risk: number }
const budget = async () => (await t.mcp.tool<{ remaining_risk_budget: Budget }>("get_safety_status", {})).structured.remaining_risk_budget;
const checks = (a: { structured: PlaceAnswer }) => a.structured.violations.map((v) => v.check);

describe("issue 23 limits end to end", () => {
  it("item 5: three long calls resting at once whose worst cases pass $1,000 together — two reach TWS, one is refused for the daily loss", async () => {
    const chain = await simChain(t);
    // Mids between $3.40 and $4.60: any two ($920 at most) fit the $1,000, all three ($1,020 at least) do not.
    const calls = await quotedOptions(t.mcp, chain.SPY!, "SPY", "C", 3, 3.4, 4.6);
    const ordersBefore = (await t.simState()).orders.length;
    // At the mid they rest: the simulator fills a limit when it reaches the far side.
    const answers = await Promise.all(calls.map((q) => t.mcp.tool<PlaceAnswer>("place_order", longOption(q))));
    const refused = answers.filter((a) => a.isError);
    expect(refused, answers.map((a) => a.text).join("\n")).toHaveLength(1);
    expect(checks(refused[0]!)).toEqual(["daily_loss"]);
    expect(refused[0]!.text).toMatch(/plus the worst case of orders still working \(\$\d{3}\.\d{2}\)/);
    const placed = answers.filter((a) => !a.isError).map((a) => a.structured);
    const sim = (await t.simState()).orders.slice(ordersBefore);
    expect(sim.map((o) => o.orderRef).sort()).toEqual(placed.map((p) => p.trade_id).sort());
    for (const p of placed) await waitOrderStatus(t.mcp, p.order_id!, ["Submitted", "PreSubmitted"]);
    const reserved = (await t.adminState()).trades.filter((x) => placed.some((p) => p.trade_id === x.trade_id)).reduce((sum, x) => sum + x.reserved_risk, 0);
    expect((await budget()).working_orders_worst_case).toBeCloseTo(reserved, 2);

    // Cancelled at TWS, they give the room back: the refused order now goes out.
    for (const p of placed) await t.mcp.tool("cancel_order", { order_id: p.order_id });
    for (const p of placed) await waitOrderStatus(t.mcp, p.order_id!, ["Cancelled"]);
    await waitUntil("the reservations to be released", async () => (await budget()).working_orders_worst_case === 0, 20_000, 250);
    const third = calls[answers.findIndex((a) => a.isError)]!;
    const again = await t.mcp.tool<PlaceAnswer>("place_order", longOption(third));
    expect(again.isError, again.text).toBe(false);
    await t.mcp.tool("cancel_order", { order_id: again.structured.order_id });
    await waitOrderStatus(t.mcp, again.structured.order_id!, ["Cancelled"]);
    await expectLevel(t);
  });

  it("item 3: a close walked in a loop — the close and four modifies reach TWS, the rest are refused, and no opening order may join them", async () => {
    const chain = await simChain(t);
    const [q] = await quotedOptions(t.mcp, chain.QQQ!, "QQQ", "C", 1, 1, 4);
    const opened = await t.mcp.tool<PlaceAnswer>("place_order", longOption(q!, q!.ask));
    expect(opened.isError, opened.text).toBe(false);
    await waitOrderStatus(t.mcp, opened.structured.order_id!, ["Filled"]);
    const tradeId = opened.structured.trade_id!;
    await waitUntil("the trade to be open", async () => (await t.adminState()).trades.find((x) => x.trade_id === tradeId)?.state === "open", 20_000, 250);

    // A close resting a little over the mid (a SELL: the net is a credit, negative).
    const sell = (price: number) => -Math.round(price * 100) / 100;
    const closed = await t.mcp.tool<{ success: boolean; close_order_id: number }>("close_position", { trade_id: tradeId, limit_price: sell(q!.mid + 0.08) });
    expect(closed.isError, closed.text).toBe(false);
    await waitOrderStatus(t.mcp, closed.structured.close_order_id, ["Submitted", "PreSubmitted"]);
    const answers = [];
    for (let i = 1; i <= 8; i++) answers.push(await t.mcp.tool<{ violations: { check: string }[] }>("modify_order", { trade_id: tradeId, limit_price: sell(q!.mid + 0.08 + i * 0.01) }));
    expect(answers.slice(0, MAX_CLOSE_ORDERS_PER_MINUTE - 1).map((a) => a.isError), answers.map((a) => a.text).join("\n")).toEqual([false, false, false, false]);
    for (const refused of answers.slice(MAX_CLOSE_ORDERS_PER_MINUTE - 1)) expect(refused.structured.violations.map((v) => v.check)).toEqual(["order_rate"]);
    // At TWS: one close order, working at the fourth walk's price.
    const atTws = (await t.simState()).orders.filter((o) => o.orderRef === `${tradeId}_CLOSE`);
    expect(atTws).toHaveLength(1);
    expect(atTws[0]!.lmtPrice).toBeCloseTo(q!.mid + 0.12, 2);
    const audit = await t.audit();
    expect(audit.filter((r) => r.action === "order_modified" && details(r).trade_id === tradeId)).toHaveLength(MAX_CLOSE_ORDERS_PER_MINUTE - 1);
    // Five orders went out this minute: an opening order may not join them.
    const [other] = await quotedOptions(t.mcp, chain.IWM!, "IWM", "C", 1, 1, 4);
    const ordersBefore = (await t.simState()).orders.length;
    const opening = await t.mcp.tool<PlaceAnswer>("place_order", longOption(other!));
    expect(checks(opening)).toEqual(["order_rate"]);
    expect((await t.simState()).orders.length).toBe(ordersBefore);
    await t.mcp.tool("cancel_order", { order_id: closed.structured.close_order_id });
    await waitOrderStatus(t.mcp, closed.structured.close_order_id, ["Cancelled"]);
    await expectLevel(t);
  });
});
