// Reconciliation on every (re)connect: an order that reached TWS but whose ack was lost is adopted
// (never sent again), missed fills are recorded, an order TWS never saw releases its risk, and
// events are stored exactly once per bridge process (seq ≤ last stored is ignored).
import { describe, expect, it } from "vitest";
import { condorOrder, Edge, execution, FakeBridge, ironCondor, waitFor, reconciled } from "./harness";

describe("reconciliation", () => {
  it("adopts an order whose ack was lost, records missed fills, releases an order TWS never saw", async () => {
    const edge = new Edge();
    const first = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    await first.event("position", {
      account: "sim", symbol: "MSFT", sec_type: "STK", expiry: null, strike: null, right: null, con_id: 7, quantity: 100,
      avg_cost: 400, current_price: 401, market_value: 40_100, unrealized_pnl: 100, unrealized_pnl_pct: 0.25,
    });
    expect((await edge.call("get_positions", {})).structuredContent.positions).toHaveLength(1);
    // T1 is acknowledged normally; T2 and T3 are sent but the link dies before any answer.
    const t1 = (await edge.call("place_order", condorOrder({}, 100))).structuredContent;
    first.handlers.place = () => new Promise(() => undefined);
    // $300 worst cases (2.00 credit): with T1's $400, all three fit the daily loss room ($1,000).
    const condor300 = (center: number) => condorOrder({ max_risk: 300, legs: ironCondor("AAPL", center).map((l) => ({ ...l, price: l.action === "SELL" ? 1.5 : 0.5 })) }, center);
    const pending2 = edge.call("place_order", condor300(130));
    const pending3 = edge.call("place_order", condor300(160));
    await waitFor(async () => first.sent("place").length === 3, "both held place requests");
    first.close();
    const [t2, t3] = await Promise.all([pending2, pending3]);
    expect(t2.isError).toBe(true);
    expect(t2.structuredContent.status).toBe("Unknown");
    expect(t2.structuredContent.message).toContain("Do not resend");
    const t2Id = t2.structuredContent.trade_id;
    const t3Id = t3.structuredContent.trade_id;
    // Unknown trades keep their risk reserved.
    const states = async () => Object.fromEntries((await edge.call("list_trades", {})).structuredContent.trades.map((t: any) => [t.trade_id, t]));
    expect((await states())[t2Id].state).toBe("unknown");

    const second = new FakeBridge(edge);
    second.handlers.open_orders = () => [
      { order_id: 555, perm_id: 7, order_ref: t2Id, symbol: "AAPL", sec_type: "BAG", action: "BUY", quantity: 1, order_type: "LMT", limit_price: -1, status: "Submitted", filled: 0, remaining: 1 },
    ];
    // T1 filled while the link was down: its leg executions arrive only through reconciliation.
    // A position that went flat while the link was down disappears from the snapshot.
    second.handlers.positions = () => [];
    second.handlers.executions = () => ironCondor("AAPL", 100).map((leg, i) => execution(t1.trade_id, t1.order_id, leg, leg.action === "BUY" ? "BOT" : "SLD", [1.0, 0.5, 1.0, 0.5][i]!, `exec-t1-${i}`));
    await second.open();
    const report = await reconciled(edge, 2);
    expect(report).toMatchObject({ adopted: [t2Id], fills_recovered: 4, filled_offline: 1, not_found: [`${t3Id}`] });

    const after = await states();
    expect(after[t2Id]).toMatchObject({ state: "working" });
    expect(after[t2Id].orders[0]).toMatchObject({ order_id: 555, status: "Submitted" });
    expect(after[t1.trade_id].state).toBe("open");
    expect(after[t1.trade_id].fills).toHaveLength(4);
    expect(after[t3Id].state).toBe("cancelled");
    expect(second.sent("place")).toHaveLength(0); // adopted, never sent again
    expect((await edge.call("get_order_status", { order_id: 555 })).structuredContent).toMatchObject({ trade_id: t2Id, status: "Submitted" });
    expect(await edge.audit("order_adopted")).toHaveLength(1);
    expect((await edge.call("get_positions", {})).structuredContent.positions).toHaveLength(0);
    second.close();
  });

  it("settles an unconfirmed order while the link stays up: the bridge's late answer starts a reconciliation", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    // The bridge was held up past the edge's 10 s timeout, then refused the stale request.
    bridge.handlers.place = () => new Promise((resolve) => setTimeout(() => resolve({ error: { code: "expired", message: "Order was not sent: the edge stopped waiting for it" } }), 10_300));
    const answer = await edge.call("place_order", condorOrder({}, 100));
    expect(answer.structuredContent.status).toBe("Unknown");
    const tradeId = answer.structuredContent.trade_id;
    const report = await reconciled(edge, 2);
    expect(report.not_found).toEqual([tradeId]);
    const trade = (await edge.call("list_trades", {})).structuredContent.trades.find((t: { trade_id: string }) => t.trade_id === tradeId);
    expect(trade.state).toBe("cancelled");
    expect(JSON.parse((await edge.audit("late_response"))[0]!.details_json)).toMatchObject({ ok: false, code: "expired" });
    expect(bridge.sent("place")).toHaveLength(1);
  }, 20_000);

  it("stores each event once: a reconnecting bridge resumes after last_event_seq and replays are ignored", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge, { bridgeId: "bridge-fixed-0001" });
    const placed = (await edge.call("place_order", condorOrder())).structuredContent;
    const legs = ironCondor();
    await bridge.event("execution", execution(placed.trade_id, placed.order_id, legs[0]!, "SLD", 1.0, "exec-a"));
    const seq = bridge.seq;
    bridge.close();
    await bridge.closed;

    const again = new FakeBridge(edge, "bridge-fixed-0001");
    again.seq = seq; // the same bridge process: its hello says how far it numbered
    await again.open();
    expect(await again.welcome).toMatchObject({ last_event_seq: seq });
    // A replay of an already stored seq (here with different content) must change nothing.
    await again.event("execution", execution(placed.trade_id, placed.order_id, legs[1]!, "BOT", 0.5, "exec-b"), seq);
    const trades = (await edge.call("list_trades", {})).structuredContent.trades;
    expect(trades[0].fills.map((f: any) => f.exec_id)).toEqual(["exec-a"]);
    // The next seq is stored.
    again.seq = seq;
    await again.event("execution", execution(placed.trade_id, placed.order_id, legs[1]!, "BOT", 0.5, "exec-b"));
    expect((await edge.call("list_trades", {})).structuredContent.trades[0].fills).toHaveLength(2);
    again.close();
  });

  it("never stores past a gap in the event sequence: the link is dropped so the bridge resends in order", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge, { bridgeId: "bridge-gap-00001" });
    const stored = bridge.seq;
    bridge.send({ v: 1, type: "event", seq: stored + 2, at: new Date().toISOString(), event: "pnl", data: { daily: -5000, unrealized: null, realized: null } });
    expect(await bridge.closed).toBe(1011);
    expect(JSON.parse((await edge.audit("event_gap"))[0]!.details_json)).toMatchObject({ expected_seq: stored + 1, got_seq: stored + 2 });
    expect((await edge.call("get_safety_status")).structuredContent.breakers.every((b: { tripped: boolean }) => !b.tripped)).toBe(true);
    const again = new FakeBridge(edge, "bridge-gap-00001");
    again.seq = stored + 2;
    await again.open();
    expect(await again.welcome).toMatchObject({ last_event_seq: stored });
    again.close();
  });

  it("refuses a hello for another account with 1008", async () => {
    const edge = new Edge();
    const res = await edge.stub().fetch("https://edge.test/bridge", { headers: { upgrade: "websocket" } });
    const ws = res.webSocket!;
    ws.accept();
    const closed = new Promise<number>((r) => ws.addEventListener("close", (e) => r(e.code)));
    ws.send(JSON.stringify({ v: 1, type: "hello", bridge_version: "x", bridge_id: "bridge-other-01", account_id: "U999", mode: "sim", tws: { state: "connected", since: "", last_error: null, server_version: 193 } }));
    expect(await closed).toBe(1008);
    expect(await edge.audit("bridge_refused")).toHaveLength(1);
  });
});
