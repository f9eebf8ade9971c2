// Every MCP tool through real JSON-RPC requests to the account's Durable Object, with a fake
// bridge on a real WebSocket feeding account data and answering requests.
import { describe, expect, it } from "vitest";
import { condorOrder, Edge, FakeBridge, fillOrder, ironCondor, reconciled, waitFor } from "./harness";

describe("MCP tools", () => {
  it("lists every tool with schemas and annotations, and the resources", async () => {
    const edge = new Edge();
    const { tools } = await edge.rpc("tools/list", {});
    const names = tools.map((t: any) => t.name).sort();
    expect(names).toEqual([
      "cancel_order", "close_position", "get_account", "get_option_chain", "get_order_status", "get_positions", "get_price_history", "get_quote",
      "get_safety_status", "health_check", "list_trades", "modify_order", "place_order", "preview_order",
    ]);
    for (const t of tools) {
      expect(t.inputSchema, t.name).toBeDefined();
      expect(t.outputSchema, t.name).toBeDefined();
      expect(typeof t.annotations?.readOnlyHint, t.name).toBe("boolean");
    }
    const place = tools.find((t: any) => t.name === "place_order");
    expect(place.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true, idempotentHint: false });
    expect(tools.find((t: any) => t.name === "get_account").annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true });
    const { resources } = await edge.rpc("resources/list", {});
    expect(resources.map((r: any) => r.uri).sort()).toEqual(["ibkr://audit/recent", "ibkr://limits"]);
    const limits = await edge.rpc("resources/read", { uri: "ibkr://limits" });
    expect(JSON.parse(limits.contents[0].text).MAX_TRADE_RISK).toBe(500);
  });

  it("fails closed with no bridge: account tools error, place_order refused with the reason", async () => {
    const edge = new Edge();
    expect((await edge.call("get_account")).isError).toBe(true);
    const health = await edge.call("health_check");
    expect(health.structuredContent.ready_to_trade).toBe(false);
    expect(health.structuredContent.bridge.connected).toBe(false);
    const placed = await edge.call("place_order", condorOrder());
    expect(placed.isError).toBe(true);
    const checks = placed.structuredContent.violations.map((v: any) => v.check);
    expect(checks).toEqual(expect.arrayContaining(["bridge_disconnected", "stale_data", "market_data"]));
    expect(placed.structuredContent.status).toBe("Refused");
  });

  it("answers the read tools from the bridge's snapshots", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge, { account: 50_000 });
    // After the connect's reconciliation: its position snapshot replaces what streamed before it.
    await reconciled(edge, 1);
    await bridge.event("position", {
      account: "sim", symbol: "AAPL", sec_type: "OPT", expiry: "2030-01-18", strike: 100, right: "C", con_id: 42, quantity: -1,
      avg_cost: 120, current_price: 1.1, market_value: -110, unrealized_pnl: 10, unrealized_pnl_pct: 8.3,
    });
    const account = await edge.call("get_account");
    expect(account.isError).toBeFalsy();
    expect(account.structuredContent).toMatchObject({ account_id: "sim", net_liquidation: 50_000 });
    expect(account.structuredContent.data_age_seconds).toBeLessThan(5);
    const positions = await edge.call("get_positions", { symbol: "aapl" });
    expect(positions.structuredContent.positions).toHaveLength(1);
    expect(positions.structuredContent.positions[0]).toMatchObject({ con_id: 42, quantity: -1 });
    expect((await edge.call("get_positions", { symbol: "MSFT" })).structuredContent.positions).toHaveLength(0);
    // Data of another managed account is not this account's.
    await bridge.event("account", { ...account.structuredContent, account_id: "U7654321", net_liquidation: 1, data_age_seconds: undefined });
    expect((await edge.call("get_account")).structuredContent.net_liquidation).toBe(50_000);

    const health = await edge.call("health_check");
    expect(health.structuredContent).toMatchObject({ ready_to_trade: true, bridge: { connected: true, mode: "sim" }, tws: { state: "connected" } });

    const quote = await edge.call("get_quote", { legs: [{ action: "BUY", quantity: 1, contract: { symbol: "AAPL", sec_type: "STK" } }] });
    expect(quote.isError).toBeFalsy();
    expect(bridge.sent("quote")).toHaveLength(1);
    const chain = await edge.call("get_option_chain", { symbol: "AAPL" });
    expect(chain.structuredContent.strikes).toEqual([95, 100, 105]);

    const safety = await edge.call("get_safety_status");
    expect(safety.structuredContent).toMatchObject({ account_id: "sim", can_open_new_trades: true, emergency_stop: { on: false } });
    expect(safety.structuredContent.remaining_risk_budget.next_trade_max_risk).toBe(500);
    expect(safety.structuredContent.limits.map((l: any) => l.name)).toContain("daily_loss");
    bridge.close();
  });

  it("previews without placing, then places, reports status, lists, cancels and closes", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const preview = await edge.call("preview_order", condorOrder());
    expect(preview.structuredContent).toMatchObject({ would_pass: true, computed_max_risk: 400, limit_price: -1, margin: { init_margin_change: 400 } });
    expect(bridge.sent("place")).toHaveLength(0);
    // One bridge trip: the quote and the what-if travel together.
    expect(bridge.sent("preview_with_quote")).toHaveLength(1);
    expect(bridge.sent("quote")).toHaveLength(0);

    const placed = await edge.call("place_order", condorOrder());
    expect(placed.isError).toBeFalsy();
    const { trade_id, order_id } = placed.structuredContent;
    expect(trade_id).toMatch(/^IRON_CONDOR_AAPL_\d{8}_\d{6}$/);
    expect(placed.structuredContent).toMatchObject({ success: true, status: "Submitted", computed_max_risk: 400, net_premium: 100 });
    const sent = bridge.sent("place")[0]!.params;
    expect(sent).toMatchObject({ trade_id, symbol: "AAPL", order_type: "LMT", limit_price: -1, intent: "open", max_risk: 400 });

    const status = await edge.call("get_order_status", { order_id });
    expect(status.structuredContent).toMatchObject({ order_id, trade_id, status: "Submitted" });
    const unknown = await edge.call("get_order_status", { order_id: 999_999 });
    expect(unknown.isError).toBe(true);
    expect(unknown.content?.[0]?.text).toContain("TWS says: fake bridge has no order_status");

    // A second condor, cancelled while working.
    const other = await edge.call("place_order", condorOrder({}, 120));
    const cancel = await edge.call("cancel_order", { order_id: other.structuredContent.order_id });
    expect(cancel.structuredContent).toMatchObject({ success: true, order_id: other.structuredContent.order_id });
    expect(bridge.sent("cancel")[0]!.params).toEqual({ order_id: other.structuredContent.order_id });
    await bridge.orderStatus(other.structuredContent.trade_id, other.structuredContent.order_id, "Cancelled");

    // The first one fills; then it is closed.
    await fillOrder(bridge, trade_id, order_id, ironCondor(), false, [1.0, 0.5, 1.0, 0.5]);
    const listed = await edge.call("list_trades", {});
    const byId = Object.fromEntries(listed.structuredContent.trades.map((t: any) => [t.trade_id, t]));
    expect(byId[trade_id].state).toBe("open");
    expect(byId[trade_id].fills).toHaveLength(4);
    // Each fill names its leg, and which order it filled.
    const legs = ironCondor();
    expect(byId[trade_id].fills.map((f: any) => [f.expiry, f.strike, f.right, f.intent])).toEqual(
      legs.map((l) => { const c = l.contract as { expiry: string; strike: number; right: string }; return [c.expiry, c.strike, c.right, "open"]; }));
    expect(byId[other.structuredContent.trade_id].state).toBe("cancelled");

    const closed = await edge.call("close_position", { trade_id });
    expect(closed.structuredContent).toMatchObject({ success: true, trade_id, status: "Submitted" });
    expect(bridge.sent("close")[0]!.params).toMatchObject({ trade_id, close_trade_id: `${trade_id}_CLOSE`, symbol: "AAPL" });
    const closeId = closed.structuredContent.close_order_id;
    // Bought back for 0.40 credit → P&L = (100 − 40) − 8 commissions = 52.
    await fillOrder(bridge, `${trade_id}_CLOSE`, closeId, ironCondor(), true, [0.3, 0.1, 0.3, 0.1]);
    const after = await edge.call("list_trades", { state: "closed" });
    expect(after.structuredContent.trades).toHaveLength(1);
    expect(after.structuredContent.trades[0]).toMatchObject({ trade_id, state: "closed", realized_pnl: 52 });
    await waitFor(async () => (await edge.audit("trade_closed")).length === 1, "trade_closed audit");
    bridge.close();
  });

  it("rejects bad input with a specific error and changes nothing", async () => {
    const edge = new Edge();
    const result = await edge.call("place_order", { ...condorOrder(), max_risk: -5 });
    expect(result.isError).toBe(true);
    expect(result.content?.[0]?.text).toContain("max_risk cannot be negative");
    expect(await edge.audit("order_checks_passed")).toHaveLength(0);
  });
});
