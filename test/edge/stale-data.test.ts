// What an agent and a person read when the account figures are not live (issue 25): TWS down with
// an earlier run's state, the bridge gone, or figures older than the 60 s trading needs. Every read
// that shows account figures marks them stale with the reason, and health_check, get_safety_status
// and the dashboard's state say whether a new trade can be opened now and, if not, why not.
import { describe, expect, it } from "vitest";
import { MAX_ACCOUNT_DATA_AGE_MS } from "../../shared/limits";
import { Edge, FakeBridge } from "./harness";

const tws = (state: "connected" | "down", lastError: string | null = null) => ({ state, since: new Date().toISOString(), last_error: lastError, server_version: state === "connected" ? 193 : null });

/** The four MCP reads that show account figures, and the dashboard's state. */
async function reads(edge: Edge) {
  const [account, positions, safety, trades] = await Promise.all(["get_account", "get_positions", "get_safety_status", "list_trades"].map((name) => edge.call(name, {})));
  const state = (await edge.admin("/api/state")).body;
  return { account: account!, positions: positions!, safety: safety!.structuredContent, trades: trades!.structuredContent, state };
}

describe("stale account figures and whether orders can be placed now", () => {
  it("live figures are not stale, and a new trade can be opened", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge, { account: 80_000 });
    const r = await reads(edge);
    expect(r.account.isError).toBeFalsy();
    expect(r.account.structuredContent).toMatchObject({ stale: false, stale_reason: null, net_liquidation: 80_000 });
    expect(r.positions.structuredContent).toMatchObject({ stale: false, stale_reason: null });
    expect(r.safety).toMatchObject({ stale: false, stale_reason: null, can_open_new_trades: true, blocked_by: [] });
    expect(r.trades).toMatchObject({ stale: false, stale_reason: null });
    expect(r.state).toMatchObject({ stale: false, stale_reason: null, can_open_new_trades: true, blocked_by: [], ready_to_trade: true });
    const health = (await edge.call("health_check", {})).structuredContent;
    expect(health).toMatchObject({ ready_to_trade: true, can_open_new_trades: true, blocked_by: [] });
    bridge.close();
  });

  it("TWS down with figures from an earlier run: every read says stale and why, and nothing can be opened", async () => {
    const edge = new Edge();
    // An earlier run left an account snapshot behind, ten minutes old.
    const earlier = await FakeBridge.connect(edge, { account: null });
    await earlier.account(80_000, 10 * 60_000);
    earlier.close();
    await earlier.closed;
    // This run: the bridge is up, TWS is not.
    const bridge = await FakeBridge.connect(edge, { tws: "down", account: null });
    await bridge.event("tws_health", tws("down", "connect ECONNREFUSED 127.0.0.1:7497"));
    const r = await reads(edge);
    expect(r.account.isError).toBeFalsy();
    expect(r.account.structuredContent).toMatchObject({ stale: true, net_liquidation: 80_000 });
    for (const reason of [r.account.structuredContent.stale_reason, r.positions.structuredContent.stale_reason, r.safety.stale_reason, r.trades.stale_reason, r.state.stale_reason]) {
      expect(reason).toMatch(/TWS is down \(connect ECONNREFUSED 127\.0\.0\.1:7497\)/);
      expect(reason).toMatch(/last figures .* 10 min/);
    }
    // The first thing an agent reads of get_account is that the figures are stale.
    expect(Object.keys(r.account.structuredContent).slice(0, 2)).toEqual(["stale", "stale_reason"]);
    const health = (await edge.call("health_check", {})).structuredContent;
    expect(health.can_open_new_trades).toBe(false);
    expect(health.blocked_by.join(" | ")).toMatch(/TWS is down/);
    expect(r.safety.can_open_new_trades).toBe(false);
    expect(r.state).toMatchObject({ can_open_new_trades: false, ready_to_trade: false });
    // The same answer (ages aside: "Account data is 600.2 s old" moves between the two reads).
    const ageless = (reasons: string[]) => reasons.map((x) => x.replace(/[\d.]+ s old/, "N s old"));
    expect(ageless(r.state.blocked_by)).toEqual(ageless(health.blocked_by));
    expect(r.state.blocked_by.length).toBeGreaterThanOrEqual(2);
    bridge.close();
  });

  it("the bridge gone: the last figures it reported are stale, and the reason says the bridge", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge, { account: 80_000 });
    bridge.close();
    await bridge.closed;
    const r = await reads(edge);
    expect(r.account.structuredContent.stale).toBe(true);
    expect(r.account.structuredContent.stale_reason).toMatch(/no bridge is connected/i);
    expect(r.state).toMatchObject({ stale: true, can_open_new_trades: false, ready_to_trade: false });
    expect(r.state.blocked_by.join(" | ")).toMatch(/No bridge is connected/);
  });

  it("figures older than trading allows are stale even with everything connected", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge, { account: null });
    await bridge.account(80_000, MAX_ACCOUNT_DATA_AGE_MS + 30_000);
    const r = await reads(edge);
    expect(r.account.structuredContent.stale).toBe(true);
    expect(r.account.structuredContent.stale_reason).toMatch(/1 min 30 s old .*60 s/);
    expect(r.safety.can_open_new_trades).toBe(false);
    bridge.close();
  });

  it("under the emergency stop the figures are live but no new trade can be opened, and closes still can go", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge, { account: 80_000 });
    expect((await edge.admin("/api/emergency-stop", { on: true, reason: "stale-data test", by: "test" })).status).toBe(200);
    const health = (await edge.call("health_check", {})).structuredContent;
    expect(health).toMatchObject({ ready_to_trade: true, can_open_new_trades: false });
    expect(health.blocked_by).toEqual(["emergency stop: stale-data test"]);
    const r = await reads(edge);
    expect(r.account.structuredContent.stale).toBe(false);
    expect(r.state).toMatchObject({ can_open_new_trades: false, ready_to_trade: true, blocked_by: ["emergency stop: stale-data test"] });
    bridge.close();
  });
});
