// A clock the tests can start at an instant they choose and move forward, so the New York trading
// day and the sessions turn under a running edge (whose clock is otherwise the machine's) as they
// turn under the TWS simulator's clock. It exists only when the Worker var TEST_CLOCK is set —
// never in wrangler.toml; the test stack passes it with --var, the edge vitest project as a binding:
//   TEST_CLOCK=movable              starts at the machine's clock
//   TEST_CLOCK=movable:<ISO instant> starts at that instant when the Durable Object first runs
// Any other value (or none) is no test clock: the route is unknown (404) and nothing stored is read.
// The start is stored, so a restart keeps the clock where it was; it only ever moves forward. It
// moves ctx.now() only: alarms and the link's pings time real waits with Date.now().
import { z } from "zod";
import { parseBody } from "./admin-api";
import type { DeskContext } from "../store/desk-context";
import { getKv, setKv } from "../store/kv";

export const TEST_CLOCK_ROUTE = "/api/test/clock";
/** The whole shift of ctx.now() from the machine's clock (negative for a start in the past). */
const SHIFT_KEY = "test_clock_shift_ms";
/** Where the clock started: the instant asked for (null: the machine's clock) and the shift it made. */
const START_KEY = "test_clock_start";
const DAY_MS = 86_400_000;
/** The most one call may move the clock, and the most it may move from its start in all. */
export const MAX_TEST_CLOCK_SHIFT_MS = 400 * DAY_MS;
/** A start instant must fall in these years: a typo'd year is refused, not run. */
const EARLIEST_START = Date.UTC(2000, 0, 1);
const LATEST_START = Date.UTC(2100, 0, 1);
const PREFIX = "movable";

export type TestClockSetting = { movable: false } | { movable: true; startMs: number | null };

interface StoredStart { start: string | null; start_shift_ms: number }

const AdvanceBody = z.strictObject({
  advance_ms: z
    .number({ error: "must be a number of milliseconds" })
    .int("must be a whole number of milliseconds")
    .min(0, "must be at least 0: the test clock only moves forward")
    .max(MAX_TEST_CLOCK_SHIFT_MS, `must be at most ${MAX_TEST_CLOCK_SHIFT_MS} (400 days)`),
});

/**
 * What TEST_CLOCK asks for. A value that names a start which is not an instant with its offset
 * (e.g. `movable:2026-11-18T11:00:00-05:00`) throws: a test that chose its start must not run on
 * the machine's clock by mistake.
 */
export function testClockSetting(env: { TEST_CLOCK?: string }): TestClockSetting {
  const value = env.TEST_CLOCK;
  if (value === PREFIX) return { movable: true, startMs: null };
  if (value === undefined || !value.startsWith(`${PREFIX}:`)) return { movable: false };
  const text = value.slice(PREFIX.length + 1);
  const startMs = /(Z|[+-]\d{2}:\d{2})$/.test(text) ? Date.parse(text) : Number.NaN;
  if (!(startMs >= EARLIEST_START && startMs < LATEST_START))
    throw new Error(`TEST_CLOCK=${value}: the start must be an ISO instant with its offset (e.g. movable:2026-11-18T11:00:00-05:00) between 2000 and 2100`);
  return { movable: true, startMs };
}

export function testClockMovable(env: { TEST_CLOCK?: string }): boolean {
  return testClockSetting(env).movable;
}

function storedStart(sql: SqlStorage): StoredStart | null {
  const s = getKv<StoredStart | null>(sql, START_KEY, null);
  return s && Number.isSafeInteger(s.start_shift_ms) ? s : null;
}

/**
 * The clock's shift when the Durable Object starts (called only when the clock is movable). The
 * first start with a start instant stores where it began; later starts read it back (a restart
 * keeps the clock, and a later start var cannot move it back). A stored shift that is not a whole
 * number within 400 days forward of the start counts as no move.
 */
export function startTestClock(sql: SqlStorage, setting: Extract<TestClockSetting, { movable: true }>, machineNowMs = Date.now()): number {
  let start = storedStart(sql);
  if (!start && setting.startMs !== null) {
    start = { start: new Date(setting.startMs).toISOString(), start_shift_ms: setting.startMs - machineNowMs };
    setKv(sql, START_KEY, start);
    setKv(sql, SHIFT_KEY, start.start_shift_ms);
  }
  const from = start?.start_shift_ms ?? 0;
  const shift = getKv<unknown>(sql, SHIFT_KEY, from);
  return Number.isSafeInteger(shift) && (shift as number) >= from && (shift as number) - from <= MAX_TEST_CLOCK_SHIFT_MS ? (shift as number) : from;
}

/**
 * POST /api/test/clock {"advance_ms": n}: moves the desk's clock n ms forward, stored (a restart
 * keeps it) and audited; answers the new now, the whole shift from the machine's clock and the
 * start. `apply` sets the shift the Durable Object keeps in memory for ctx.now().
 */
export async function advanceTestClock(ctx: DeskContext, request: Request, apply: (shiftMs: number) => void): Promise<Response> {
  const body = await parseBody(request, AdvanceBody);
  if (!body.ok) return body.response;
  const before = ctx.clockShiftMs();
  const start = storedStart(ctx.sql);
  const moved = before - (start?.start_shift_ms ?? 0);
  const shift = before + body.data.advance_ms;
  if (moved + body.data.advance_ms > MAX_TEST_CLOCK_SHIFT_MS) {
    return Response.json({ error: `advance_ms: the test clock may move at most 400 days from its start in all; it has moved ${moved} ms, so at most ${MAX_TEST_CLOCK_SHIFT_MS - moved} more` }, { status: 400 });
  }
  setKv(ctx.sql, SHIFT_KEY, shift);
  apply(shift);
  const now = ctx.now().toISOString();
  ctx.audit("admin", "test_clock_advanced", { advance_ms: body.data.advance_ms, shift_ms: shift, shift_before_ms: before, now });
  return Response.json({ now, shift_ms: shift, start: start?.start ?? null });
}
