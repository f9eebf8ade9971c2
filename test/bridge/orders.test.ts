// Orders through the real link and the real @stoqey/ib client against the simulator: an iron
// condor as ONE BAG order with orderRef = trade_id, its fills and commissions streamed as events,
// its trade log on disk; the second key and the emergency-stop file refusing orders the edge
// "approved" (the simulator's order count proves nothing reached TWS); close, cancel, cancel
// all, what-if preview, order status, open orders and executions.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { placeParams, spyIronCondor, until, optionQuote, isoExpiry, useRig, risk } from "./helpers";
import { cents } from "../support/cents";

const current = useRig();

const TRADE = "IRON_CONDOR_SPY_20261125_103045";

describe("placing orders", () => {
  it("sends an iron condor as one BAG order with orderRef = trade_id, streams four fills with commissions, writes the trade log", async () => {
    const { sim, edge, config } = current.rig;
    const legs = spyIronCondor(sim);
    const worst = risk(legs);
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThan(500);

    const result = await edge.ok<{ order_id: number; status: string; limit_price: number }>("place", placeParams(TRADE, legs, worst));
    expect(["PreSubmitted", "Submitted", "Filled"]).toContain(result.status);

    const orders = sim.orders();
    expect(orders).toHaveLength(1);
    const order = orders[0]!;
    expect(order.secType).toBe("BAG");
    expect(order.legs).toHaveLength(4);
    expect(order.legs.map((l) => [l.action, l.ratio])).toEqual([["BUY", 1], ["SELL", 1], ["SELL", 1], ["BUY", 1]]);
    expect(order.orderRef).toBe(TRADE);
    expect(order.transmit).toBe(true);
    expect(order.orderId).toBe(result.order_id);
    expect(order.lmtPrice).toBe(result.limit_price);
    expect(result.limit_price).toBeLessThan(0); // a credit: IBKR's BUY BAG at a negative price

    await until(() => edge.events("execution").length === 4, 5000, "four execution events");
    const fills = edge.events<{ exec_id: string; order_ref: string; commission: number; order_id: number }>("execution");
    expect(new Set(fills.map((f) => f.exec_id)).size).toBe(4);
    expect(fills.every((f) => f.order_ref === TRADE && f.order_id === result.order_id && f.commission > 0)).toBe(true);
    expect(sim.executions()).toHaveLength(4);
    await until(() => edge.events<{ status: string }>("order_status").some((s) => s.status === "Filled"), 5000, "Filled status");
    const statuses = edge.events<{ order_ref: string }>("order_status");
    expect(statuses.every((s) => s.order_ref === TRADE)).toBe(true);
    await until(() => edge.events("position").length >= 4, 5000, "position events");

    const file = join(config.logsDir, "trades", `${TRADE}.json`);
    const log = await until(() => {
      const record = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : null;
      return record?.status === "Filled" && record.fills.length === 4 ? record : null;
    }, 5000, "the trade log to show the fills");
    expect(log).toMatchObject({ trade_id: TRADE, order_ref: TRADE, symbol: "SPY", order_id: result.order_id, intent: "open", filled: 1, remaining: 0 });
    expect(log.legs).toHaveLength(4);
    expect(cents(log.commission_total)).toBe(cents(fills.reduce((s, f) => s + f.commission, 0)));

    // order_status, open_orders (none working), executions since a time
    const status = await edge.ok<{ status: string; trade_id: string }>("order_status", { order_id: result.order_id });
    expect(status).toMatchObject({ status: "Filled", trade_id: TRADE });
    expect(await edge.ok("open_orders")).toEqual([]);
    // TWS stamps executions by its clock (the simulator's, pinned): "since" is on that clock.
    const twsNow = Date.parse(current.rig.sim.advanceClock(0).now);
    const execs = await edge.ok<{ exec_id: string }[]>("executions", { since: new Date(twsNow - 60_000).toISOString() });
    expect(execs.map((e) => e.exec_id).sort()).toEqual(fills.map((f) => f.exec_id).sort());
    expect(await edge.ok("executions", { since: new Date(twsNow + 60_000).toISOString() })).toEqual([]);
    const positions = await edge.ok<{ quantity: number; sec_type: string; current_price: number | null; unrealized_pnl_pct: number | null }[]>("positions", { symbol: "SPY" });
    expect(positions.map((p) => p.quantity).sort()).toEqual([-1, -1, 1, 1]);
    expect(positions.every((p) => p.sec_type === "OPT" && p.current_price !== null && p.unrealized_pnl_pct !== null)).toBe(true);

    // close: the reverse combo at the natural price, orderRef = close_trade_id, its own log file
    const closed = await edge.ok<{ order_id: number; limit_price: number }>("close", { trade_id: TRADE, close_trade_id: `${TRADE}_CLOSE`, legs, symbol: "SPY" });
    const closeOrder = sim.orders().find((o) => o.orderId === closed.order_id)!;
    expect(closeOrder.secType).toBe("BAG");
    expect(closeOrder.orderRef).toBe(`${TRADE}_CLOSE`);
    expect(closeOrder.legs.map((l) => l.action)).toEqual(["SELL", "BUY", "BUY", "SELL"]);
    await until(() => sim.positions().length === 0, 5000, "the close to flatten the positions");
    const closeFile = join(config.logsDir, "trades", `${TRADE}_close.json`);
    await until(() => existsSync(closeFile) && JSON.parse(readFileSync(closeFile, "utf8")).status === "Filled", 5000, "the close log");
  });

  it("places a single leg as a plain OPT order, cancels it, and cancels all", async () => {
    const { sim, edge } = current.rig;
    const expiry = isoExpiry(sim.expiries()[2] as string);
    const q = optionQuote(sim, "SPY", expiry, 560, "P");
    // A long put bid well below the market rests.
    const price = Math.max(0.05, Math.round((q.bid - 0.5) * 100) / 100);
    const leg = { action: "BUY" as const, contract: { symbol: "SPY", expiry, strike: 560, right: "P" as const }, quantity: 1, price };
    const placed = await edge.ok<{ order_id: number; status: string }>("place", placeParams("LONG_PUT_SPY_20261125_100000", [leg], price * 100));
    const order = sim.orders().find((o) => o.orderId === placed.order_id)!;
    expect(order.secType).toBe("OPT");
    expect(order.action).toBe("BUY");
    expect(order.lmtPrice).toBe(price);
    expect(order.orderRef).toBe("LONG_PUT_SPY_20261125_100000");
    const open = await edge.ok<{ order_id: number; order_ref: string }[]>("open_orders");
    expect(open.map((o) => o.order_ref)).toContain("LONG_PUT_SPY_20261125_100000");

    const cancelled = await edge.ok<{ status: string }>("cancel", { order_id: placed.order_id });
    expect(cancelled.status).toBe("Cancelled");
    expect(sim.orders().find((o) => o.orderId === placed.order_id)?.status).toBe("Cancelled");
    const unknown = await edge.request("cancel", { order_id: 999_999 });
    expect(unknown.error?.code).toBe("unknown_order");

    const again = await edge.ok<{ order_id: number }>("place", placeParams("LONG_PUT_SPY_20261125_100001", [leg], price * 100));
    expect(await edge.ok("cancel_all")).toEqual({ requested: true });
    await until(() => sim.orders().find((o) => o.orderId === again.order_id)?.status === "Cancelled", 5000, "reqGlobalCancel");
  });

  it("answers a TWS rejection with tws_error and streams the order as Rejected with TWS's text", async () => {
    const { sim, edge } = current.rig;
    const legs = spyIronCondor(sim);
    sim.fault.rejectNextOrder("Simulated margin check");
    const response = await edge.request("place", placeParams(TRADE, legs, risk(legs)));
    expect(response.error?.code).toBe("tws_error");
    expect(response.error?.message).toContain("TWS error 201: Order rejected - reason:Simulated margin check");
    const rejected = await until(() => edge.events<{ status: string; reason: string; order_ref: string }>("order_status").find((s) => s.status === "Rejected"), 3000, "Rejected status");
    expect(rejected).toMatchObject({ order_ref: TRADE, reason: expect.stringContaining("Simulated margin check") });
  });

  it("never sends one trade_id twice (a retried place is refused, not re-sent)", async () => {
    const { sim, edge } = current.rig;
    const legs = spyIronCondor(sim);
    await edge.ok("place", placeParams(TRADE, legs, risk(legs)));
    const again = await edge.request("place", placeParams(TRADE, legs, risk(legs)));
    expect(again.error?.code).toBe("second_key_refused");
    expect(again.error?.violations?.map((v) => v.check)).toEqual(["duplicate_order_ref"]);
    expect(sim.orders()).toHaveLength(1);
  });

  it("previews with a what-if order that never becomes a real order", async () => {
    const { sim, edge } = current.rig;
    const legs = spyIronCondor(sim);
    const preview = await edge.ok<{ init_margin_change: number; commission: number | null }>("preview", placeParams(TRADE, legs, risk(legs)));
    expect(preview.init_margin_change).toBe(500); // 5 wide x 100
    expect(sim.orders()).toHaveLength(0);
  });
});

describe("the second key", () => {
  it("refuses an over-limit order the edge approved: it never reaches TWS, the edge hears why, the box logs it", async () => {
    const { sim, edge, config } = current.rig;
    const legs = spyIronCondor(sim, 2); // two lots: worst case above $500
    const worst = risk(legs);
    expect(worst).toBeGreaterThan(500);
    const response = await edge.request("place", placeParams("IRON_CONDOR_SPY_20261125_110000", legs, worst));
    expect(response.ok).toBe(false);
    expect(response.error?.code).toBe("second_key_refused");
    const v = response.error?.violations?.find((x) => x.check === "max_trade_risk");
    expect(cents(v?.value)).toBe(cents(worst));
    expect(v?.limit).toBe(500);
    expect(response.error?.message).toContain("exceeds limit ($500.00)");

    // A risk claim below the computed loss and a limit price off the legs are refused as well.
    const oneLot = spyIronCondor(sim);
    const lowClaim = await edge.request("place", placeParams("IRON_CONDOR_SPY_20261125_110001", oneLot, 1, { limit_price: -9.99 }));
    expect(lowClaim.error?.violations?.map((x) => x.check).sort()).toEqual(["limit_price", "max_risk_claim"]);

    expect(sim.orders()).toHaveLength(0);
    await until(() => edge.events("refusal").length === 2, 3000, "refusal events");
    expect(edge.events<{ trade_id: string }>("refusal")[0]?.trade_id).toBe("IRON_CONDOR_SPY_20261125_110000");
    const safety = readFileSync(join(config.logsDir, "safety_violations.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(safety).toHaveLength(2);
    expect(safety[0].details.violations[0].check).toBe("max_trade_risk");
  });

  it("refuses every opening order while the emergency-stop file exists; a verified risk-reducing close still goes out", async () => {
    const { sim, edge, config } = current.rig;
    const legs = spyIronCondor(sim);
    const opened = await edge.ok<{ order_id: number }>("place", placeParams(TRADE, legs, risk(legs)));
    await until(() => sim.positions().length === 4, 5000, "the condor to fill");
    await until(() => current.rig.bridge.mirror.positions().length === 4, 5000, "the mirror to hold the positions");

    writeFileSync(config.emergencyStopFile, "operator stop\n");
    const refused = await edge.request("place", placeParams("IRON_CONDOR_SPY_20261125_120000", spyIronCondor(sim), risk(legs)));
    expect(refused.error?.code).toBe("emergency_stop_file");
    expect(refused.error?.message).toContain(config.emergencyStopFile);
    expect(sim.orders()).toHaveLength(1);

    // A "close" that would open (more than held) is refused under the stop…
    const tooBig = legs.map((l) => ({ ...l, quantity: 2 }));
    const notReducing = await edge.request("close", { trade_id: TRADE, close_trade_id: `${TRADE}_CLOSE`, legs: tooBig, symbol: "SPY" });
    expect(notReducing.error?.code).toBe("emergency_stop_file");
    expect(notReducing.error?.violations?.some((v) => v.check === "reduce_only")).toBe(true);
    expect(sim.orders()).toHaveLength(1);
    // …the real close is allowed.
    const closed = await edge.ok<{ order_id: number }>("close", { trade_id: TRADE, close_trade_id: `${TRADE}_CLOSE`, legs, symbol: "SPY" });
    expect(closed.order_id).toBeGreaterThan(opened.order_id);
    await until(() => sim.positions().length === 0, 5000, "the close to fill");
  });
});
