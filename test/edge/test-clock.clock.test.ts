// The test-only clock (TEST_CLOCK=movable:<ISO>, this project's binding; edge/dashboard/test-clock.ts): each
// Durable Object starts at the pinned instant, not the machine's clock, and keeps it across a
// restart; POST /api/test/clock moves it forward only, refuses anything else with a clear 400 that
// changes nothing, is audited, and turns the New York trading day the limits use. TWS's clock
// reported with the same shift leaves the broker's clock on the desk's. The setting itself is
// parsed strictly: a start that is not an instant is refused, never run on the machine's clock.
import { evictDurableObject, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AccountDO } from "../../edge/account-do";
import type { DeskContext } from "../../edge/store/desk-context";
import { brokerNow } from "../../edge/store/broker-clock";
import { startTestClock, testClockSetting } from "../../edge/dashboard/test-clock";
import { forgetKvReads } from "../../edge/store/kv";
import { tradingDay } from "../../shared/trade-id";
import { bookLosingCondor, Edge, FakeBridge, limitsUsed, PINNED_START_MS, reconciled } from "./harness";

const DAY_MS = 86_400_000;
const MAX_MS = 400 * DAY_MS;
const PIN = PINNED_START_MS!;
const desk = (edge: Edge) => runInDurableObject(edge.stub(), async (o: AccountDO) => (o as unknown as { desk: DeskContext }).desk);
const clocks = (edge: Edge) =>
  runInDurableObject(edge.stub(), async (o: AccountDO) => {
    const d = (o as unknown as { desk: DeskContext }).desk;
    const machine = Date.now();
    return { now: d.now().getTime(), broker: brokerNow(d).getTime(), machine, shift: d.clockShiftMs() };
  });
const stored = (edge: Edge, key: string) => edge.inside((sql) => sql.exec<{ value_json: string }>("SELECT value_json FROM kv WHERE key = ?", key).toArray()[0]?.value_json ?? null);

describe("the pinned test clock", () => {
  it("is pinned: this project runs with TEST_CLOCK=movable:<instant>", () => {
    expect(PINNED_START_MS).not.toBeNull();
  });

  it("starts each Durable Object at the pinned instant, whatever the machine's clock says, and keeps its start across a restart", async () => {
    const edge = new Edge();
    const first = await clocks(edge);
    // Started at the pin when it first ran: a few ms of this test's own requests since.
    expect(first.now - PIN).toBeGreaterThanOrEqual(0);
    expect(first.now - PIN).toBeLessThan(5_000);
    expect(first.now - first.machine).toBe(first.shift);
    expect(JSON.parse((await stored(edge, "test_clock_start"))!)).toEqual({ start: new Date(PIN).toISOString(), start_shift_ms: first.shift });
    // A restart reads the start back: the clock runs on from where it was, it does not start again.
    await evictDurableObject(edge.stub());
    const again = await clocks(edge);
    expect(again.shift).toBe(first.shift);
    expect(again.now).toBeGreaterThanOrEqual(first.now);
  });

  it("needs the admin token through the Worker", async () => {
    for (const authorization of [null, "Bearer test-mcp-token", "Bearer test-bridge-token"]) {
      const res = await SELF.fetch("https://edge.test/api/test/clock", { method: "POST", headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) }, body: JSON.stringify({ advance_ms: 0 }) });
      expect(res.status, String(authorization)).toBe(401);
      await res.text();
    }
    const ok = await SELF.fetch("https://edge.test/api/test/clock", { method: "POST", headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" }, body: JSON.stringify({ advance_ms: 0 }) });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { now: string; shift_ms: number; start: string };
    expect(body.start).toBe(new Date(PIN).toISOString());
    expect(Date.parse(body.now)).toBeGreaterThanOrEqual(PIN);
  });

  it("refuses every bad body with a 400 that says why, and changes nothing", async () => {
    const edge = new Edge();
    const start = (await clocks(edge)).shift;
    expect((await edge.admin("/api/test/clock", { advance_ms: 5_000 })).body).toMatchObject({ shift_ms: start + 5_000 });
    const bad: [unknown, RegExp][] = [
      [{}, /^advance_ms: must be a number of milliseconds$/],
      [{ advance_ms: "1000" }, /must be a number of milliseconds/],
      [{ advance_ms: null }, /must be a number of milliseconds/],
      [{ advance_ms: -1 }, /only moves forward/],
      [{ advance_ms: 1.5 }, /whole number of milliseconds/],
      [{ advance_ms: MAX_MS + 1 }, /at most 34560000000 \(400 days\)/],
      [{ advance_ms: MAX_MS }, /at most 400 days from its start in all; it has moved 5000 ms, so at most 34559995000 more/],
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
    expect(await stored(edge, "test_clock_shift_ms")).toBe(String(start + 5_000));
    expect((await edge.audit("test_clock_advanced")).map((r) => JSON.parse(r.details_json).shift_ms)).toEqual([start + 5_000]);
    const { now, machine } = await clocks(edge);
    expect(now - machine).toBe(start + 5_000);
    // Only POST moves it; any other method is an unknown route.
    expect(await edge.admin("/api/test/clock")).toEqual({ status: 404, body: { error: "no admin route GET /api/test/clock" } });
  });

  it("turns the New York trading day: today's realized loss is yesterday's; the loss streak stands; kept across a restart; audited", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    const losing = await bookLosingCondor(edge, bridge);
    expect(await limitsUsed(edge)).toMatchObject({ daily_loss: 128, consecutive_losses: 1 });

    const before = edge.now();
    const moved = await edge.admin("/api/test/clock", { advance_ms: DAY_MS });
    expect(moved.status).toBe(200);
    expect(Date.parse(moved.body.now) - before.getTime()).toBeGreaterThanOrEqual(DAY_MS);
    expect(Date.parse(moved.body.now) - before.getTime()).toBeLessThan(DAY_MS + 5_000);
    expect(tradingDay(new Date(moved.body.now)) > tradingDay(before)).toBe(true);
    expect(await limitsUsed(edge)).toMatchObject({ daily_loss: 0, consecutive_losses: 1 });
    const trades = (await edge.call("list_trades", {})).structuredContent.trades;
    expect(trades.find((t: { trade_id: string }) => t.trade_id === losing)).toMatchObject({ state: "closed", realized_pnl: -128 });
    const [row] = await edge.audit("test_clock_advanced");
    expect(row).toMatchObject({ actor: "admin" });
    expect(JSON.parse(row!.details_json)).toEqual({ advance_ms: DAY_MS, shift_ms: moved.body.shift_ms, shift_before_ms: moved.body.shift_ms - DAY_MS, now: moved.body.now });

    // A restart keeps the shift (read from storage in the constructor), and it adds up.
    bridge.close();
    await evictDurableObject(edge.stub());
    expect(await limitsUsed(edge)).toMatchObject({ daily_loss: 0, consecutive_losses: 1 });
    expect((await edge.admin("/api/test/clock", { advance_ms: 1_000 })).body.shift_ms).toBe(moved.body.shift_ms + 1_000);
  });

  it("TWS's clock moved by the same shift leaves the broker's clock on the desk's", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await edge.moveClock(3 * DAY_MS);
    // The bridge measures TWS's clock against its own (the machine's): TWS runs on the edge's clock.
    const tws = edge.now().getTime();
    await bridge.event("tws_clock", { tws_time: new Date(tws).toISOString(), skew_ms: tws - Date.now() });
    const { now, broker, machine, shift } = await clocks(edge);
    expect(now - machine).toBe(shift);
    expect(Math.abs(broker - now)).toBeLessThan(1_000);
    // TWS a minute ahead of everyone: the broker's clock is a minute ahead of the desk's.
    const ahead = edge.now().getTime() + 60_000;
    await bridge.event("tws_clock", { tws_time: new Date(ahead).toISOString(), skew_ms: ahead - Date.now() });
    const later = await clocks(edge);
    expect(later.broker - later.now).toBeGreaterThan(59_000);
    expect(later.broker - later.now).toBeLessThan(61_000);
    expect((await desk(edge)).clockShiftMs()).toBe(shift);
    bridge.close();
  });
});

describe("the TEST_CLOCK setting", () => {
  it("is absent for no value or any other value, movable from the machine's clock, or pinned to an instant with its offset", () => {
    expect(testClockSetting({})).toEqual({ movable: false });
    for (const value of ["", "Movable", "movable ", "fixed:2026-11-18T11:00:00Z", "true"]) expect(testClockSetting({ TEST_CLOCK: value }), value).toEqual({ movable: false });
    expect(testClockSetting({ TEST_CLOCK: "movable" })).toEqual({ movable: true, startMs: null });
    expect(testClockSetting({ TEST_CLOCK: "movable:2026-11-18T11:00:00-05:00" })).toEqual({ movable: true, startMs: Date.UTC(2026, 10, 18, 16) });
    expect(testClockSetting({ TEST_CLOCK: "movable:2026-12-05T04:30:00Z" })).toEqual({ movable: true, startMs: Date.UTC(2026, 11, 5, 4, 30) });
  });

  it("refuses a start that is not an instant: no offset, not a date, out of range", () => {
    for (const start of ["2026-11-18T11:00:00", "2026-11-18", "tomorrow", "", "1999-12-31T23:00:00Z", "2100-01-01T00:00:00Z", "2026-13-01T00:00:00Z"])
      expect(() => testClockSetting({ TEST_CLOCK: `movable:${start}` }), start).toThrow(/the start must be an ISO instant with its offset/);
  });

  it("starts from the stored start, not a later var; from the machine's clock without one; a bad stored shift is no move", async () => {
    const edge = new Edge();
    await clocks(edge);
    await edge.inside((sql) => {
      const machine = 1_800_000_000_000;
      const pinned = { movable: true as const, startMs: PIN };
      const stored = JSON.parse(sql.exec<{ value_json: string }>("SELECT value_json FROM kv WHERE key = 'test_clock_start'").one().value_json);
      // Stored: a later var (or a restart at another machine time) reads the stored start back.
      expect(startTestClock(sql, { movable: true, startMs: PIN + DAY_MS }, machine)).toBe(stored.start_shift_ms);
      expect(startTestClock(sql, { movable: true, startMs: null }, machine)).toBe(stored.start_shift_ms);
      // A stored shift behind its start, too far ahead of it, or not a whole number counts as no move.
      for (const bad of [stored.start_shift_ms - 1, stored.start_shift_ms + MAX_MS + 1, 1.5, "x", null]) {
        sql.exec("UPDATE kv SET value_json = ? WHERE key = 'test_clock_shift_ms'", JSON.stringify(bad));
        // Written behind the store's back (edge/store/kv.ts keeps this turn's reads): tell it.
        forgetKvReads();
        expect(startTestClock(sql, pinned, machine), String(bad)).toBe(stored.start_shift_ms);
      }
      // Nothing stored: a pinned start is stored as the shift it makes now; plain "movable" is the machine's clock.
      sql.exec("DELETE FROM kv WHERE key IN ('test_clock_start', 'test_clock_shift_ms')");
      forgetKvReads();
      expect(startTestClock(sql, { movable: true, startMs: null }, machine)).toBe(0);
      expect(startTestClock(sql, pinned, machine)).toBe(PIN - machine);
      expect(JSON.parse(sql.exec<{ value_json: string }>("SELECT value_json FROM kv WHERE key = 'test_clock_start'").one().value_json)).toEqual({ start: new Date(PIN).toISOString(), start_shift_ms: PIN - machine });
    });
  });
});
