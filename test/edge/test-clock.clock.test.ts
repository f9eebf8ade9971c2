// The test-only movable clock (TEST_CLOCK=movable, this project's binding; edge/test-clock.ts):
// POST /api/test/clock moves the desk's clock forward only, refuses anything else with a clear 400
// that changes nothing, is audited, survives a restart, and turns the New York day the limits use.
// TWS's clock reported with the same shift leaves the broker's clock on the desk's.
import { evictDurableObject, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AccountDO } from "../../edge/account-do";
import type { DeskContext } from "../../edge/desk-context";
import { brokerNow } from "../../edge/expirations";
import { bookLosingCondor, Edge, FakeBridge, limitsUsed, reconciled } from "./harness";

const DAY_MS = 86_400_000;
const MAX_MS = 400 * DAY_MS;
const desk = (edge: Edge) => runInDurableObject(edge.stub(), async (o: AccountDO) => (o as unknown as { desk: DeskContext }).desk);
const clocks = (edge: Edge) =>
  runInDurableObject(edge.stub(), async (o: AccountDO) => {
    const d = (o as unknown as { desk: DeskContext }).desk;
    // The machine's clock first: it may tick between the readings, and must not make the shift look short.
    const machine = Date.now();
    const now = d.now().getTime();
    return { now, broker: brokerNow(d).getTime(), machine };
  });
const storedShift = (edge: Edge) => edge.inside((sql) => sql.exec<{ value_json: string }>("SELECT value_json FROM kv WHERE key = 'test_clock_shift_ms'").toArray()[0]?.value_json ?? null);

describe("the movable test clock", () => {
  it("needs the admin token through the Worker", async () => {
    for (const authorization of [null, "Bearer test-mcp-token", "Bearer test-bridge-token"]) {
      const res = await SELF.fetch("https://edge.test/api/test/clock", { method: "POST", headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) }, body: JSON.stringify({ advance_ms: 0 }) });
      expect(res.status, String(authorization)).toBe(401);
      await res.text();
    }
    const ok = await SELF.fetch("https://edge.test/api/test/clock", { method: "POST", headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" }, body: JSON.stringify({ advance_ms: 0 }) });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ shift_ms: 0 });
  });

  it("refuses every bad body with a 400 that says why, and changes nothing", async () => {
    const edge = new Edge();
    expect((await edge.admin("/api/test/clock", { advance_ms: 5_000 })).body).toMatchObject({ shift_ms: 5_000 });
    const bad: [unknown, RegExp][] = [
      [{}, /^advance_ms: must be a number of milliseconds$/],
      [{ advance_ms: "1000" }, /must be a number of milliseconds/],
      [{ advance_ms: null }, /must be a number of milliseconds/],
      [{ advance_ms: -1 }, /only moves forward/],
      [{ advance_ms: 1.5 }, /whole number of milliseconds/],
      [{ advance_ms: MAX_MS + 1 }, /at most 34560000000 \(400 days\)/],
      [{ advance_ms: MAX_MS }, /at most 400 days ahead in all; it is 5000 ms ahead, so at most 34559995000 more/],
      [{ advance_ms: 1, reason: "x" }, /Unrecognized key: "reason"/],
      [[1000], /^body: .*expected object/],
    ];
    for (const [body, message] of bad) {
      const res = await edge.admin("/api/test/clock", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error, JSON.stringify(body)).toMatch(message);
    }
    const notJson = await edge.stub().fetch("https://edge.test/api/test/clock", { method: "POST", headers: { "content-type": "application/json" }, body: "{advance_ms: 1" });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ error: "body must be JSON" });
    expect(await storedShift(edge)).toBe("5000");
    expect((await edge.audit("test_clock_advanced")).map((r) => JSON.parse(r.details_json).shift_ms)).toEqual([5_000]);
    const { now, machine } = await clocks(edge);
    expect(now - machine).toBeGreaterThanOrEqual(4_900);
    expect(now - machine).toBeLessThan(6_000);
    // Only POST moves it; any other method is an unknown route.
    expect(await edge.admin("/api/test/clock")).toEqual({ status: 404, body: { error: "no admin route GET /api/test/clock" } });
  });

  it("turns the New York day: today's realized loss is yesterday's; the loss streak stands; kept across a restart; audited", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    const losing = await bookLosingCondor(edge, bridge);
    expect(await limitsUsed(edge)).toMatchObject({ daily_loss: 128, consecutive_losses: 1 });

    const before = Date.now();
    const moved = await edge.admin("/api/test/clock", { advance_ms: DAY_MS });
    expect(moved.status).toBe(200);
    expect(moved.body.shift_ms).toBe(DAY_MS);
    expect(Date.parse(moved.body.now) - before).toBeGreaterThanOrEqual(DAY_MS);
    expect(Date.parse(moved.body.now) - Date.now()).toBeLessThanOrEqual(DAY_MS);
    expect(await limitsUsed(edge)).toMatchObject({ daily_loss: 0, consecutive_losses: 1 });
    const trades = (await edge.call("list_trades", {})).structuredContent.trades;
    expect(trades.find((t: { trade_id: string }) => t.trade_id === losing)).toMatchObject({ state: "closed", realized_pnl: -128 });
    const [row] = await edge.audit("test_clock_advanced");
    expect(row).toMatchObject({ actor: "admin" });
    expect(JSON.parse(row!.details_json)).toEqual({ advance_ms: DAY_MS, shift_ms: DAY_MS, shift_before_ms: 0, now: moved.body.now });

    // A restart keeps the shift (read from storage in the constructor), and it adds up.
    bridge.close();
    await evictDurableObject(edge.stub());
    expect(await limitsUsed(edge)).toMatchObject({ daily_loss: 0, consecutive_losses: 1 });
    expect((await edge.admin("/api/test/clock", { advance_ms: 1_000 })).body.shift_ms).toBe(DAY_MS + 1_000);
  });

  it("TWS's clock moved by the same shift leaves the broker's clock on the desk's", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    const shift = 3 * DAY_MS;
    await edge.admin("/api/test/clock", { advance_ms: shift });
    // The bridge measures TWS's clock against its own (the machine's): TWS runs `shift` ahead.
    await bridge.event("tws_clock", { tws_time: new Date(Date.now() + shift).toISOString(), skew_ms: shift });
    const { now, broker, machine } = await clocks(edge);
    expect(now - machine).toBeGreaterThanOrEqual(shift);
    expect(Math.abs(broker - now)).toBeLessThan(1_000);
    // TWS a minute ahead of everyone: the broker's clock is a minute ahead of the desk's.
    await bridge.event("tws_clock", { tws_time: new Date(Date.now() + shift + 60_000).toISOString(), skew_ms: shift + 60_000 });
    const later = await clocks(edge);
    expect(later.broker - later.now).toBeGreaterThan(59_000);
    expect(later.broker - later.now).toBeLessThan(61_000);
    expect((await desk(edge)).clockShiftMs()).toBe(shift);
    bridge.close();
  });
});
