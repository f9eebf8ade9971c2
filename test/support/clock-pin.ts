// The instant every test's clocks start at: the TWS simulator's, the edge's test clock and, through
// TWS's clock, the bridge's calendar. A Wednesday mid-session in the past, so no test depends on
// the hour it runs at. TEST_CLOCK_START=<ISO instant with offset> starts them elsewhere (a Friday
// night, a holiday eve) to try the suite at another hour; `npm start` stays on real time.
// Imported by vitest.config.ts too: keep this file free of imports.

/** Wednesday 2026-11-18, 11:00 New York (EST): a regular session under way. */
export const DEFAULT_TEST_START = "2026-11-18T11:00:00-05:00";

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** The start instant the tests use: TEST_CLOCK_START when set (checked), else the default. */
export function testStart(env: Record<string, string | undefined> = process.env): string {
  const chosen = env.TEST_CLOCK_START?.trim();
  if (!chosen) return DEFAULT_TEST_START;
  if (!INSTANT.test(chosen) || !Number.isFinite(Date.parse(chosen)))
    throw new Error(`TEST_CLOCK_START=${chosen} is not an ISO instant with its offset, e.g. 2026-12-04T23:30:00-05:00`);
  return chosen;
}
