// Concurrency and idempotency of place_order: the check and the risk reservation happen in one
// synchronous turn, so fifty calls fired at once cannot overshoot the concentration limit; an
// idempotency key replayed returns the first answer and sends one order.
import { describe, expect, it } from "vitest";
import { MAX_CONCENTRATION } from "../../shared/limits";
import { condorOrder, Edge, FakeBridge, ironCondor } from "./harness";

/**
 * A condor with a $300 worst case (2.00 credit) claiming $400 of capital: three fill 30% of $5,000
 * by exposure while their worst cases ($900) stay inside the daily loss room, so concentration is
 * the check that binds.
 */
const condor300 = (center: number) => condorOrder({ max_risk: 300, legs: ironCondor("AAPL", center).map((l) => ({ ...l, price: l.action === "SELL" ? 1.5 : 0.5 })) }, center);

describe("concurrent place_order", () => {
  it("50 orders at once whose sum breaks concentration: the accepted set stays within it", async () => {
    const edge = new Edge();
    const netLiq = 5_000; // 30% = $1,500: room for three condors' $400 of exposure, not four
    const bridge = await FakeBridge.connect(edge, { account: netLiq });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => edge.call("place_order", condor300(100 + i * 25))));
    const accepted = results.filter((r) => !r.isError);
    const refused = results.filter((r) => r.isError);
    expect(accepted).toHaveLength(3);
    expect(accepted.reduce((sum, r) => sum + r.structuredContent.computed_max_risk, 0)).toBeLessThanOrEqual(netLiq * MAX_CONCENTRATION);
    for (const r of refused) expect(r.structuredContent.violations.map((v: any) => v.check)).toContain("concentration");
    expect(bridge.sent("place")).toHaveLength(3);
    const state = (await edge.admin("/api/state")).body;
    const concentration = state.limits.find((l: any) => l.name === "concentration");
    expect(concentration.used).toBeLessThanOrEqual(MAX_CONCENTRATION);
    expect(new Set(accepted.map((r) => r.structuredContent.trade_id)).size).toBe(3);
  });
});

describe("idempotency", () => {
  it("a replayed key returns the first answer and sends one order", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const order = condorOrder({ idempotency_key: "agent-run-42-order-1" });
    const first = await edge.call("place_order", order);
    const second = await edge.call("place_order", order);
    expect(first.isError).toBeFalsy();
    expect(second.structuredContent).toEqual(first.structuredContent);
    expect(bridge.sent("place")).toHaveLength(1);
    // Fired at once, the same key still sends one order.
    const burst = await Promise.all(Array.from({ length: 5 }, () => edge.call("place_order", condorOrder({ idempotency_key: "agent-run-42-order-2" }, 140))));
    expect(bridge.sent("place")).toHaveLength(2);
    expect(new Set(burst.map((r) => r.structuredContent.trade_id)).size).toBe(1);
    // The same key for a different order is refused, not treated as a replay.
    const other = await edge.call("place_order", condorOrder({ idempotency_key: "agent-run-42-order-1" }, 170));
    expect(other.isError).toBe(true);
    expect(other.structuredContent.violations[0].check).toBe("idempotency_key");
    expect(bridge.sent("place")).toHaveLength(2);
  });

  it("a refused order's key replays the refusal", async () => {
    const edge = new Edge();
    await FakeBridge.connect(edge);
    const order = condorOrder({ idempotency_key: "agent-run-43-order-1", max_risk: 600 });
    const first = await edge.call("place_order", order);
    expect(first.isError).toBe(true);
    expect(await edge.call("place_order", order)).toEqual(first);
  });
});
