// The orders-a-minute limit counts every order and modify sent to TWS (issue 23, item 3): a close
// plus eight modify_order calls reached TWS within 0.3 s. Opening orders (and their modifies) are
// refused once five orders of any kind went out in the last minute; closes and their modifies
// have their own allowance of five a minute that openings cannot use up, and a loop of them is
// stopped there. A person's kill-switch close is counted but never refused.
import { describe, expect, it } from "vitest";
import { MAX_CLOSE_ORDERS_PER_MINUTE, MAX_ORDERS_PER_MINUTE } from "../../shared/limits";
import { checksOf, condorOrder, Edge, FakeBridge, fillOrder, ironCondor } from "./harness";


async function fresh() {
  const edge = new Edge();
  const bridge = await FakeBridge.connect(edge, { account: 100_000 });
  return { edge, bridge };
}

/** Places and fills a $400 AAPL condor centred at `center`; the trade is open. */
async function openCondor(edge: Edge, bridge: FakeBridge, center: number): Promise<string> {
  const placed = (await edge.call("place_order", condorOrder({}, center))).structuredContent;
  if (!placed.success) throw new Error(placed.message);
  await fillOrder(bridge, placed.trade_id, placed.order_id, ironCondor("AAPL", center), false, [1.0, 0.5, 1.0, 0.5]);
  return placed.trade_id;
}

/** Lets a minute pass for the rate window (the orders already sent leave it). */
const minuteLater = (edge: Edge) => edge.inside((sql) => sql.exec("UPDATE order_times SET at_ms = at_ms - 61000"));

describe("order rate: every order and modify sent to TWS counts", () => {
  it("a close walked in a loop: the close and four modifies go out, the fifth modify is refused with the count", async () => {
    const { edge, bridge } = await fresh();
    const tradeId = await openCondor(edge, bridge, 100);
    await minuteLater(edge);
    const closed = await edge.call("close_position", { trade_id: tradeId });
    expect(closed.isError).toBeFalsy();
    const answers = [];
    for (let i = 1; i <= 8; i++) answers.push(await edge.call("modify_order", { trade_id: tradeId, limit_price: 0.9 + i * 0.05 }));
    expect(answers.slice(0, MAX_CLOSE_ORDERS_PER_MINUTE - 1).every((a) => !a.isError)).toBe(true);
    for (const refused of answers.slice(MAX_CLOSE_ORDERS_PER_MINUTE - 1)) {
      expect(checksOf(refused)).toEqual(["order_rate"]);
      expect(refused.structuredContent.message).toContain(`${MAX_CLOSE_ORDERS_PER_MINUTE} closing orders and modifies of them in the last minute; closes have their own limit of ${MAX_CLOSE_ORDERS_PER_MINUTE} per minute`);
    }
    expect(bridge.sent("close")).toHaveLength(1);
    expect(bridge.sent("modify")).toHaveLength(MAX_CLOSE_ORDERS_PER_MINUTE - 1);
    // Five orders went out this minute: an opening order may not join them.
    const opening = await edge.call("place_order", condorOrder({}, 300));
    expect(checksOf(opening)).toEqual(["order_rate"]);
    expect(opening.structuredContent.message).toContain(`${MAX_ORDERS_PER_MINUTE} orders in the last minute`);
    expect((await edge.call("get_safety_status", {})).structuredContent.limits.find((l: any) => l.name === "close_order_rate")).toMatchObject({ used: 5, limit: 5 });
    // A minute later the loop may go on.
    await minuteLater(edge);
    expect((await edge.call("modify_order", { trade_id: tradeId, limit_price: 1.5 })).isError).toBeFalsy();
  });

  it("closes have their own allowance: after five openings, five closes still go out; the sixth is refused", async () => {
    const { edge, bridge } = await fresh();
    const trades: string[] = [];
    for (let i = 0; i < 6; i++) {
      if (i === 5) await minuteLater(edge);
      trades.push(await openCondor(edge, bridge, 100 + i * 30));
    }
    await minuteLater(edge);
    // Five openings use up this minute's opening allowance (each cancelled at once, so the daily loss room stays free).
    for (let i = 0; i < MAX_ORDERS_PER_MINUTE; i++) {
      const placed = await edge.call("place_order", { ...condorOrder({}, 400 + i * 30), max_risk: 400 });
      expect(placed.isError, JSON.stringify(placed.structuredContent.violations)).toBeFalsy();
      await edge.call("cancel_order", { trade_id: placed.structuredContent.trade_id });
      await bridge.orderStatus(placed.structuredContent.trade_id, placed.structuredContent.order_id, "Cancelled", 0, 1);
    }
    const closes = [];
    for (const tradeId of trades) closes.push(await edge.call("close_position", { trade_id: tradeId }));
    expect(closes.slice(0, MAX_CLOSE_ORDERS_PER_MINUTE).every((c) => !c.isError)).toBe(true);
    expect(checksOf(closes[MAX_CLOSE_ORDERS_PER_MINUTE]!)).toEqual(["order_rate"]);
    expect(bridge.sent("close")).toHaveLength(MAX_CLOSE_ORDERS_PER_MINUTE);
    // The refused close changed nothing: the trade is still open and closable a minute later.
    const last = trades[MAX_CLOSE_ORDERS_PER_MINUTE]!;
    expect((await edge.call("list_trades", {})).structuredContent.trades.find((t: any) => t.trade_id === last).state).toBe("open");
    await minuteLater(edge);
    expect((await edge.call("close_position", { trade_id: last })).isError).toBeFalsy();
  });

  it("a person's kill switch closes every position even past the allowance, and those closes count", async () => {
    const { edge, bridge } = await fresh();
    const trades: string[] = [];
    for (let i = 0; i < 6; i++) {
      if (i === 5) await minuteLater(edge);
      trades.push(await openCondor(edge, bridge, 100 + i * 30));
    }
    await minuteLater(edge);
    const stop = await edge.admin("/api/emergency-stop", { on: true, reason: "drill", close_positions: true });
    expect(stop.status).toBe(200);
    expect(bridge.sent("close")).toHaveLength(6);
    const usage = (await edge.call("get_safety_status", {})).structuredContent.limits.find((l: any) => l.name === "close_order_rate");
    expect(usage.used).toBe(6);
  });
});
