// The exchange calendar against NYSE Group's published holiday and early-close tables (press
// releases of 2021-12-27 and 2024-11-08, plus the 2025-01-09 day of mourning), and its session
// rules at the instants the lifecycle matrix uses: mid-session, after the close, Friday night,
// the weekend, holidays, the early close after Thanksgiving and both daylight-saving switches.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  closedReason, dayOrderDead, expiryClose, isEarlyClose, isTradingDate, newYorkClock, newYorkInstant, orderSession, productOf, sessionOn, tradingDayOf,
} from "../../shared/market-calendar";

// As NYSE published them (observed dates).
const PUBLISHED_HOLIDAYS: Record<number, string[]> = {
  2022: ["2022-01-17", "2022-02-21", "2022-04-15", "2022-05-30", "2022-06-20", "2022-07-04", "2022-09-05", "2022-11-24", "2022-12-26"],
  2023: ["2023-01-02", "2023-01-16", "2023-02-20", "2023-04-07", "2023-05-29", "2023-06-19", "2023-07-04", "2023-09-04", "2023-11-23", "2023-12-25"],
  2024: ["2024-01-01", "2024-01-15", "2024-02-19", "2024-03-29", "2024-05-27", "2024-06-19", "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25"],
  2025: ["2025-01-01", "2025-01-09", "2025-01-20", "2025-02-17", "2025-04-18", "2025-05-26", "2025-06-19", "2025-07-04", "2025-09-01", "2025-11-27", "2025-12-25"],
  2026: ["2026-01-01", "2026-01-19", "2026-02-16", "2026-04-03", "2026-05-25", "2026-06-19", "2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25"],
  2027: ["2027-01-01", "2027-01-18", "2027-02-15", "2027-03-26", "2027-05-31", "2027-06-18", "2027-07-05", "2027-09-06", "2027-11-25", "2027-12-24"],
};
const PUBLISHED_EARLY_CLOSES: Record<number, string[]> = {
  2022: ["2022-11-25"],
  2023: ["2023-07-03", "2023-11-24"],
  2024: ["2024-07-03", "2024-11-29", "2024-12-24"],
  2025: ["2025-07-03", "2025-11-28", "2025-12-24"],
  2026: ["2026-11-27", "2026-12-24"],
  2027: ["2027-11-26"],
};

const weekdaysOf = (year: number): string[] => {
  const out: string[] = [];
  for (let t = Date.UTC(year, 0, 1); t < Date.UTC(year + 1, 0, 1); t += 86_400_000) {
    const d = new Date(t);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) out.push(d.toISOString().slice(0, 10));
  }
  return out;
};

/** A New York wall time as an instant, through a second path (explicit offsets) for the oracle. */
const ny = (date: string, hhmm: string, offsetHours: 4 | 5): number => Date.parse(`${date}T${hhmm}:00-0${offsetHours}:00`);

describe("the exchange calendar", () => {
  for (const year of Object.keys(PUBLISHED_HOLIDAYS).map(Number)) {
    it(`closes on exactly NYSE's published ${year} holidays and closes early on exactly its early-close days`, () => {
      const closed = weekdaysOf(year).filter((d) => !isTradingDate(d));
      expect(closed).toEqual(PUBLISHED_HOLIDAYS[year]);
      expect(weekdaysOf(year).filter(isEarlyClose)).toEqual(PUBLISHED_EARLY_CLOSES[year]);
    });
  }

  it("names why a date is closed, and does not observe a Saturday New Year's Day on the Friday before (Rule 7.2)", () => {
    expect(closedReason("2026-11-26")).toBe("Thanksgiving Day");
    expect(closedReason("2026-04-03")).toBe("Good Friday");
    expect(closedReason("2026-12-05")).toBe("Saturday");
    expect(closedReason("2021-12-31")).toBeNull(); // 2022-01-01 was a Saturday
    expect(closedReason("2026-11-27")).toBeNull();
  });

  it("opens at 9:30 and closes at 16:00 New York time on both sides of each daylight-saving switch", () => {
    // 2026: DST starts Sunday March 8 (UTC-4 from then), ends Sunday November 1 (UTC-5 again).
    expect(sessionOn("2026-03-06")).toMatchObject({ open: ny("2026-03-06", "09:30", 5), close: ny("2026-03-06", "16:00", 5), early: false });
    expect(sessionOn("2026-03-08")).toBeNull();
    expect(sessionOn("2026-03-09")).toMatchObject({ open: ny("2026-03-09", "09:30", 4), close: ny("2026-03-09", "16:00", 4) });
    expect(sessionOn("2026-10-30")).toMatchObject({ close: ny("2026-10-30", "16:00", 4) });
    expect(sessionOn("2026-11-01")).toBeNull();
    expect(sessionOn("2026-11-02")).toMatchObject({ open: ny("2026-11-02", "09:30", 5), close: ny("2026-11-02", "16:00", 5) });
  });

  it("closes at 13:00 on the day after Thanksgiving, index options at 13:15 and 16:15 on regular days", () => {
    expect(sessionOn("2026-11-27")).toMatchObject({ close: ny("2026-11-27", "13:00", 5), early: true });
    expect(sessionOn("2026-11-27", "index")).toMatchObject({ close: ny("2026-11-27", "13:15", 5) });
    expect(sessionOn("2026-11-25", "index")).toMatchObject({ close: ny("2026-11-25", "16:15", 5) });
    expect(productOf("SPXW")).toBe("index");
    expect(productOf("XSP")).toBe("index");
    expect(productOf("SPY")).toBe("equity");
    // Concentration counts SPY with SPX; its options still close with equity options.
    expect(productOf("VOO")).toBe("equity");
    expect(productOf("NDXP")).toBe("index");
  });

  it("puts a DAY order in the session under way, or the next one after a close, a weekend or a holiday", () => {
    // Wednesday 2026-11-18, mid-session.
    expect(orderSession(ny("2026-11-18", "11:00", 5)).date).toBe("2026-11-18");
    // Before the open it works in that day's session.
    expect(orderSession(ny("2026-11-18", "07:00", 5)).date).toBe("2026-11-18");
    // After the close: the next day's.
    expect(orderSession(ny("2026-11-18", "16:00", 5)).date).toBe("2026-11-19");
    // Friday night (Saturday in UTC), Saturday, Sunday evening: Monday's.
    for (const at of [ny("2026-12-04", "23:30", 5), ny("2026-12-05", "12:00", 5), ny("2026-12-06", "19:00", 5)]) expect(orderSession(at).date).toBe("2026-12-07");
    // The evening before Thanksgiving and Thanksgiving itself: the early-close Friday.
    expect(orderSession(ny("2026-11-25", "17:00", 5))).toMatchObject({ date: "2026-11-27", early: true });
    expect(orderSession(ny("2026-11-26", "10:00", 5)).date).toBe("2026-11-27");
    // Christmas Eve after its 13:00 close, through Christmas: the Monday after.
    expect(orderSession(ny("2026-12-24", "13:30", 5)).date).toBe("2026-12-28");
    // Good Friday: Monday's. An index option placed at 16:05 still works in today's session.
    expect(orderSession(ny("2026-04-03", "10:00", 4)).date).toBe("2026-04-06");
    expect(orderSession(ny("2026-11-18", "16:05", 5), "index").date).toBe("2026-11-18");
  });

  it("counts a trading day from one close to the next, so a weekend is Monday's and Friday after the close is Monday's", () => {
    expect(tradingDayOf(ny("2026-12-04", "15:59", 5))).toBe("2026-12-04");
    expect(tradingDayOf(ny("2026-12-04", "16:00", 5))).toBe("2026-12-07");
    expect(tradingDayOf(ny("2026-12-04", "23:30", 5))).toBe("2026-12-07");
    expect(tradingDayOf(ny("2026-12-07", "15:00", 5))).toBe("2026-12-07");
    expect(tradingDayOf(ny("2026-11-27", "13:00", 5))).toBe("2026-11-30");
  });

  it("says a DAY order is dead exactly at its session's close", () => {
    const placed = ny("2026-12-04", "23:30", 5);
    expect(dayOrderDead(placed, ny("2026-12-07", "15:59", 5))).toBe(false);
    expect(dayOrderDead(placed, ny("2026-12-07", "16:00", 5))).toBe(true);
    expect(dayOrderDead(ny("2026-11-27", "10:00", 5), ny("2026-11-27", "13:00", 5))).toBe(true);
  });

  it("moves an expiry on a holiday to the trading day before it", () => {
    expect(expiryClose("2026-04-03")).toBe(ny("2026-04-02", "16:00", 4));
    expect(expiryClose("2026-11-20")).toBe(ny("2026-11-20", "16:00", 5));
  });

  it("stops expiring PM-settled index options at the equity close, not at 16:15 (Cboe: expiring SPXW/NDX/RUT stop at 3:00 p.m. Chicago)", () => {
    // The series that do not expire that day keep trading to 16:15; the expiring ones stop at 16:00.
    expect(sessionOn("2026-11-20", "index")!.close).toBe(ny("2026-11-20", "16:15", 5));
    expect(expiryClose("2026-11-20", "index")).toBe(ny("2026-11-20", "16:00", 5));
    expect(expiryClose("2026-11-27", "index")).toBe(ny("2026-11-27", "13:00", 5));
    expect(expiryClose("2026-04-03", "index")).toBe(ny("2026-04-02", "16:00", 4));
  });

  it("law: the order session is the first session that has not closed, on a trading date", () => {
    const from = Date.UTC(2022, 0, 1), to = Date.UTC(2027, 11, 20);
    fc.assert(
      fc.property(fc.integer({ min: from, max: to }), (t) => {
        const s = orderSession(t);
        expect(isTradingDate(s.date)).toBe(true);
        expect(s.close).toBeGreaterThan(t);
        expect(s.open).toBeLessThan(s.close);
        // No session in between: the previous trading date's close is at or before t.
        const prev = sessionOn(previousOf(s.date))!;
        expect(prev.close).toBeLessThanOrEqual(t);
        expect(newYorkInstant(s.date, 9, 30)).toBe(s.open);
      }),
      { numRuns: 2_000 },
    );
  });
});

function previousOf(date: string): string {
  let t = Date.parse(`${date}T00:00:00Z`);
  for (;;) {
    t -= 86_400_000;
    const d = new Date(t).toISOString().slice(0, 10);
    if (isTradingDate(d)) return d;
  }
}

describe("the New York wall clock", () => {
  // The oracle: the time-zone database through a formatter of the test's own, asked every time.
  const oracle = new Intl.DateTimeFormat("en-US", {
    timeZone: "America/New_York", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  const expected = (at: number) => {
    const p = Object.fromEntries(oracle.formatToParts(new Date(at)).map((x) => [x.type, x.value]));
    return { date: `${p.year}-${p.month}-${p.day}`, hour: Number(p.hour), minute: Number(p.minute), second: Number(p.second) };
  };

  it("reads as the time-zone database every 5 s (the switches included) around each daylight-saving switch of 2020–2030", () => {
    for (let year = 2020; year <= 2030; year++) {
      for (const month of [3, 11]) {
        // The second Sunday of March and the first of November, 2:00 a.m. local: 06:00–07:00 UTC.
        const sunday = newYorkInstant(month === 3 ? `${year}-03-08` : `${year}-11-01`, 12, 0);
        for (let day = 0; day < 7; day++) {
          const noon = sunday + day * 86_400_000;
          if (new Date(noon).getUTCDay() !== 0) continue;
          const from = Date.UTC(new Date(noon).getUTCFullYear(), new Date(noon).getUTCMonth(), new Date(noon).getUTCDate(), 4);
          for (let at = from; at < from + 4 * 3_600_000; at += 5_000) expect(newYorkClock(at)).toEqual(expected(at));
        }
      }
    }
  });

  it("reads as the time-zone database at random instants of years 1000–9999 and beyond", () => {
    fc.assert(fc.property(fc.integer({ min: -40_000_000_000_000, max: 260_000_000_000_000 }), (at) => {
      expect(newYorkClock(at)).toEqual(expected(at));
    }), { numRuns: 20_000 });
  });
});
