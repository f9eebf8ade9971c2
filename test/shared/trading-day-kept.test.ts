// tradingDay() keeps its last answers (shared/trade-id.ts): a kept answer must be the calendar's
// own for that instant, whatever order instants come in, repeated or not, and after older ones were
// dropped to make room. The calendar (shared/market-calendar.ts tradingDayOf) is the oracle.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tradingDayOf } from "../../shared/market-calendar";
import { tradingDay } from "../../shared/trade-id";

// 2025-01-01 .. 2028-01-01, with instants clustered around New York session closes and midnights,
// where the answer changes.
const YEARS = [Date.UTC(2025, 0, 1), Date.UTC(2028, 0, 1)] as const;
const anyInstant = fc.integer({ min: YEARS[0], max: YEARS[1] });
const nearBoundary = fc.tuple(fc.integer({ min: 0, max: 1095 }), fc.constantFrom(21, 22, 4, 5), fc.integer({ min: -120_000, max: 120_000 }))
  .map(([day, hourUtc, offset]) => YEARS[0] + day * 86_400_000 + hourUtc * 3_600_000 + offset);

describe("tradingDay keeps the calendar's answers", () => {
  it("answers as the calendar does for any sequence of instants, repeats and more than it keeps included", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(anyInstant, nearBoundary), { minLength: 1, maxLength: 300 }), fc.array(fc.nat(), { maxLength: 300 }), (instants, repeats) => {
        const sequence = [...instants, ...repeats.map((r) => instants[r % instants.length]!)];
        for (const ms of sequence) expect(tradingDay(new Date(ms))).toBe(tradingDayOf(ms));
      }),
      { numRuns: 200 },
    );
  });

  it("gives the same instant the same day from a new Date object, and a different instant its own", () => {
    const friday = Date.UTC(2026, 10, 20, 20, 59, 59, 999); // 15:59:59.999 New York, before the close
    expect(tradingDay(new Date(friday))).toBe("2026-11-20");
    expect(tradingDay(new Date(friday + 1))).toBe("2026-11-23"); // the close: the next session's day
    expect(tradingDay(new Date(friday))).toBe("2026-11-20");
  });

  it("tells apart instants that share a clock time on different days (weekend and holiday included)", () => {
    const start = Date.UTC(2026, 10, 20, 15, 30); // a Friday 10:30 New York, then the same clock time for 14 days
    for (let day = 0; day < 14; day++) {
      const ms = start + day * 86_400_000;
      expect(tradingDay(new Date(ms))).toBe(tradingDayOf(ms));
    }
  });
});
