// The day's roll (issue 16), inside workerd with a fake bridge, across a bridge disconnect over the
// New York trading-day boundary: today's realized loss and its daily-loss breaker belong to the
// old day and no longer count; a DAY order placed on the old day that TWS no longer holds is over
// (expired, its risk released); the loss streak and the drawdown breaker stand as they were.
// The boundary is made to pass by moving the stored instants a day back; end to end, the edge's
// test clock moves instead (TEST_CLOCK, test/e2e/expiration.e2e.test.ts).
import { describe, expect, it } from "vitest";
import { newYorkInstant, previousTradingDate } from "../../shared/market-calendar";
import { tradingDay } from "../../shared/trade-id";
import { condorOrder, Edge, FakeBridge, fillOrder, ironCondor, reconciled, waitFor } from "./harness";

const iso = (ms: number) => new Date(ms).toISOString();

describe("the day's roll", () => {
  it("daily loss resets, DAY orders end, loss streak and drawdown stand", async () => {
    const edge = new Edge();
    const first = await FakeBridge.connect(edge, { account: 100_000 });
    await reconciled(edge, 1);
    // A losing trade (a $128 loss), then a resting DAY order.
    const losing = (await edge.call("place_order", condorOrder({}, 100))).structuredContent;
    const legs = ironCondor("AAPL", 100);
    await fillOrder(first, losing.trade_id, losing.order_id, legs, false, [1.0, 0.5, 1.0, 0.5]);
    const closed = await edge.call("close_position", { trade_id: losing.trade_id });
    await fillOrder(first, `${losing.trade_id}_CLOSE`, closed.structuredContent.close_order_id, legs, true, [1.5, 0.4, 1.5, 0.4]);
    const resting = (await edge.call("place_order", condorOrder({}, 130))).structuredContent;
    // TWS's daily P&L trips the daily-loss breaker; the account falls 10% below its high-water mark.
    await first.event("pnl", { daily: -1000, unrealized: -872, realized: -128 });
    for (const netLiq of [95_000, 91_000, 90_000]) await first.account(netLiq);
    const before = (await edge.call("get_safety_status", {})).structuredContent;
    const tripped = (s: any) => Object.fromEntries(s.breakers.map((b: any) => [b.name, b.tripped]));
    expect(tripped(before)).toMatchObject({ daily_loss: true, drawdown: true });
    expect(before.limits.find((l: any) => l.name === "consecutive_losses").used).toBe(1);
    first.close();

    // Over the boundary while the bridge is away: every stored instant of the old day moves back a
    // trading day (by the edge's pinned clock: the trading day before the one it is in).
    const yesterday = previousTradingDate(tradingDay(edge.now()));
    await edge.inside((sql) => {
      sql.exec("UPDATE daily_pnl SET trading_day = ?", yesterday);
      sql.exec("UPDATE orders SET created_at = ?", iso(newYorkInstant(yesterday, 10, 0)));
      for (const key of ["breaker:daily_loss", "pnl"]) {
        const row = sql.exec<{ value_json: string }>("SELECT value_json FROM kv WHERE key = ?", key).one();
        sql.exec("UPDATE kv SET value_json = ? WHERE key = ?", JSON.stringify({ ...JSON.parse(row.value_json), trading_day: yesterday }), key);
      }
      const account = sql.exec<{ value_json: string }>("SELECT value_json FROM kv WHERE key = 'account'").one();
      const snapshot = JSON.parse(account.value_json);
      snapshot.summary.as_of = iso(newYorkInstant(yesterday, 15, 0));
      sql.exec("UPDATE kv SET value_json = ? WHERE key = 'account'", JSON.stringify(snapshot));
    });

    // The bridge comes back on the new day: TWS holds no DAY order of yesterday, and its daily P&L restarted.
    const second = new FakeBridge(edge);
    await second.open();
    await second.event("pnl", { daily: 0, unrealized: 0, realized: 0 });
    await second.account(90_000);
    await waitFor(async () => (await edge.audit("reconciled")).length >= 2, "the reconnect's reconciliation");
    const trades = Object.fromEntries((await edge.call("list_trades", {})).structuredContent.trades.map((t: any) => [t.trade_id, t]));
    expect(trades[resting.trade_id].state).toBe("expired");
    expect(trades[resting.trade_id].orders[0].reason).toMatch(/DAY order: its trading day .* is over/);
    expect(trades[losing.trade_id]).toMatchObject({ state: "closed", realized_pnl: -128 });

    const after = (await edge.call("get_safety_status", {})).structuredContent;
    expect(tripped(after)).toMatchObject({ daily_loss: false, drawdown: true, consecutive_losses: false });
    expect(after.limits.find((l: any) => l.name === "daily_loss").used).toBe(0);
    expect(after.limits.find((l: any) => l.name === "consecutive_losses").used).toBe(1);
    expect((await edge.audit("breaker_reset")).map((r) => [r.actor, JSON.parse(r.details_json).breaker])).toEqual([["system", "daily_loss"]]);
    second.close();
  });
});
