// The edge's own rules at every hour the exchange calendar makes different, inside workerd with a
// fake bridge and the account's clock started at each instant (harness edgeAt): a weekday
// mid-session, after the close, Friday night, Saturday, Sunday evening, Thanksgiving, Christmas,
// Good Friday, the early close after Thanksgiving and both 2026 daylight-saving switches. At each:
// a DAY order placed then is alive until exactly its session's close (one second before it, TWS
// no longer holding it, it is unaccounted with its risk reserved) and settled expired at it; the
// daily loss booked then counts until that same close (a loss booked Friday night counts to
// Monday) and not after; an option expiring on that calendar date is refused once its last session
// has closed. The expected sessions and closes are written out below from NYSE's published 2026-27
// calendar, not computed by shared/market-calendar.ts.
import { describe, expect, it } from "vitest";
import { bookLosingCondor, condorOrder, Edge, edgeAt, FakeBridge, ironCondor, reconciled, trades } from "./harness";

const DAY_MS = 86_400_000;

interface Case {
  name: string;
  /** When the orders are placed and the loss is booked. */
  at: string;
  /** The session a DAY order placed then works in, and its close (the trading day's end). */
  session: string;
  close: string;
  /** An option expiring on the calendar date of `at` can still be opened then. */
  expiringTodayOpen: boolean;
}

const CASES: Case[] = [
  { name: "a weekday mid-session", at: "2026-11-18T11:00:00-05:00", session: "2026-11-18", close: "2026-11-18T16:00:00-05:00", expiringTodayOpen: true },
  { name: "a weekday after the close", at: "2026-11-18T17:00:00-05:00", session: "2026-11-19", close: "2026-11-19T16:00:00-05:00", expiringTodayOpen: false },
  { name: "Friday night (Saturday in UTC)", at: "2026-12-04T23:30:00-05:00", session: "2026-12-07", close: "2026-12-07T16:00:00-05:00", expiringTodayOpen: false },
  { name: "Saturday", at: "2026-12-05T12:00:00-05:00", session: "2026-12-07", close: "2026-12-07T16:00:00-05:00", expiringTodayOpen: false },
  { name: "Sunday evening", at: "2026-12-06T19:00:00-05:00", session: "2026-12-07", close: "2026-12-07T16:00:00-05:00", expiringTodayOpen: false },
  { name: "Thanksgiving (closed; the next session closes early)", at: "2026-11-26T11:00:00-05:00", session: "2026-11-27", close: "2026-11-27T13:00:00-05:00", expiringTodayOpen: false },
  { name: "the day after Thanksgiving (early close 13:00)", at: "2026-11-27T11:00:00-05:00", session: "2026-11-27", close: "2026-11-27T13:00:00-05:00", expiringTodayOpen: true },
  { name: "Christmas (a Friday)", at: "2026-12-25T11:00:00-05:00", session: "2026-12-28", close: "2026-12-28T16:00:00-05:00", expiringTodayOpen: false },
  { name: "Good Friday 2027", at: "2027-03-26T11:00:00-04:00", session: "2027-03-29", close: "2027-03-29T16:00:00-04:00", expiringTodayOpen: false },
  { name: "the Thursday before Good Friday 2027 (a Good Friday expiry last trades today)", at: "2027-03-25T11:00:00-04:00", session: "2027-03-25", close: "2027-03-25T16:00:00-04:00", expiringTodayOpen: true },
  { name: "the spring-forward Sunday 2026-03-08, before 02:00", at: "2026-03-08T01:30:00-05:00", session: "2026-03-09", close: "2026-03-09T16:00:00-04:00", expiringTodayOpen: false },
  { name: "the fall-back Sunday 2026-11-01, before 02:00", at: "2026-11-01T00:30:00-04:00", session: "2026-11-02", close: "2026-11-02T16:00:00-05:00", expiringTodayOpen: false },
];

/** The New York calendar date of an instant written with its offset: the part before the T. */
const dateOf = (iso: string) => iso.slice(0, 10);
/** A calendar date some days after an instant (an expiry far enough out for every case). */
const daysAfter = (iso: string, days: number) => new Date(Date.parse(iso) + days * DAY_MS).toISOString().slice(0, 10);
/**
 * The day's realized loss: the daily-loss limit's use less the worst case of the opening orders
 * still working, which it also counts (issue 23 item 5) until TWS or reconciliation ends them.
 */
async function lossToday(edge: Edge): Promise<number> {
  const status = (await edge.call("get_safety_status", {})).structuredContent;
  const used = status.limits.find((l: { name: string }) => l.name === "daily_loss").used as number;
  return Math.round((used - status.remaining_risk_budget.working_orders_worst_case) * 100) / 100;
}

/** The bridge is away while the clock moves; a new one connects and TWS holds none of the orders. */
async function reconnect(edge: Edge, count: number) {
  const bridge = new FakeBridge(edge);
  await bridge.open();
  await bridge.account(100_000);
  return { bridge, report: await reconciled(edge, count) };
}

/** The Thursday-before-Good-Friday case opens the Good Friday expiry; the others the calendar date of their instant. */
const expiringToday = (c: Case) => (c.at.startsWith("2027-03-25") ? "2027-03-26" : dateOf(c.at));

describe("the exchange calendar in the edge's rules", () => {
  for (const c of CASES) {
    it(`${c.name}: a DAY order lives to its session's close, the day's loss counts to it, an expiring option is refused once its session closed`, async () => {
      const at = Date.parse(c.at);
      const close = Date.parse(c.close);
      const edge = await edgeAt(at);
      const first = await FakeBridge.connect(edge);
      await reconciled(edge, 1);
      const far = daysAfter(c.at, 30);

      // A $128 realized loss booked now, a DAY order resting, and an option expiring today.
      await bookLosingCondor(edge, first, far);
      expect(await lossToday(edge)).toBe(128);
      const resting = (await edge.call("place_order", condorOrder({ legs: ironCondor("AAPL", 130, 1, far) }, 130))).structuredContent;
      expect(resting.success, JSON.stringify(resting)).toBe(true);
      const today = expiringToday(c);
      const expiring = await edge.call("place_order", condorOrder({ legs: ironCondor("AAPL", 160, 1, today) }, 160));
      if (c.expiringTodayOpen) expect(expiring.structuredContent.success, JSON.stringify(expiring.structuredContent)).toBe(true);
      else {
        expect(expiring.isError).toBe(true);
        expect(expiring.structuredContent.violations.map((v: any) => v.check)).toContain("expiry");
      }
      first.close();

      // One second before the session's close: the order is still alive (TWS does not hold it, so
      // it is unaccounted, its risk reserved), and the loss still counts.
      await edge.moveClock(close - 1_000 - edge.now().getTime());
      expect(await lossToday(edge)).toBe(128);
      const before = await reconnect(edge, 2);
      expect(before.report.settled).toEqual([]);
      expect(before.report.unaccounted).toContain(resting.trade_id);
      expect((await trades(edge))[resting.trade_id]).toMatchObject({ state: "working", reserved_risk: 400 });
      before.bridge.close();

      // At the close: the order is over (expired, its risk released), the day's loss starts again,
      // and an option expiring today can no longer be opened.
      await edge.moveClock(close - edge.now().getTime());
      expect(await lossToday(edge)).toBe(0);
      const after = await reconnect(edge, 3);
      expect(after.report.settled).toContainEqual(expect.objectContaining({ order_ref: resting.trade_id, end: "Expired" }));
      const ended = (await edge.audit("order_ended_offline")).map((r) => JSON.parse(r.details_json)).find((d) => d.order_ref === resting.trade_id);
      expect(ended).toMatchObject({ end: "Expired", trading_day: c.session });
      expect((await trades(edge))[resting.trade_id].state).toBe("expired");
      const released = (await edge.audit("trade_state")).map((r) => JSON.parse(r.details_json)).find((d) => d.trade_id === resting.trade_id && d.to === "expired");
      expect(released).toMatchObject({ reserved_risk_released: 400 });
      const late = await edge.call("place_order", condorOrder({ legs: ironCondor("AAPL", 190, 1, today) }, 190));
      expect(late.isError).toBe(true);
      expect(late.structuredContent.violations.map((v: any) => v.check)).toContain("expiry");
      after.bridge.close();
    });
  }
});
