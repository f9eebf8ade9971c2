// A clock the end-to-end tests can move forward, so the New York trading day turns under a running
// `wrangler dev` (whose clock is the machine's) as it turns under the TWS simulator's moved clock.
// It exists only when the Worker var TEST_CLOCK is exactly "movable" — never set in wrangler.toml,
// passed by the test stack with --var; without it the route is unknown (404) and a stored shift is
// never read. It moves ctx.now() only: alarms and the link's pings time real waits with Date.now().
import { z } from "zod";
import { parseBody } from "./admin-api";
import type { DeskContext } from "./desk-context";
import { getKv, setKv } from "./kv";

export const TEST_CLOCK_ROUTE = "/api/test/clock";
const SHIFT_KEY = "test_clock_shift_ms";
const DAY_MS = 86_400_000;
/** The most one call may move the clock, and the most it may run ahead of the machine's in all. */
export const MAX_TEST_CLOCK_SHIFT_MS = 400 * DAY_MS;

const AdvanceBody = z.strictObject({
  advance_ms: z
    .number({ error: "must be a number of milliseconds" })
    .int("must be a whole number of milliseconds")
    .min(0, "must be at least 0: the test clock only moves forward")
    .max(MAX_TEST_CLOCK_SHIFT_MS, `must be at most ${MAX_TEST_CLOCK_SHIFT_MS} (400 days)`),
});

export function testClockMovable(env: { TEST_CLOCK?: string }): boolean {
  return env.TEST_CLOCK === "movable";
}

/** The stored shift (read only when the clock is movable); anything but a bounded whole number counts as none. */
export function storedTestClockShift(sql: SqlStorage): number {
  const shift = getKv<unknown>(sql, SHIFT_KEY, 0);
  return Number.isSafeInteger(shift) && (shift as number) >= 0 && (shift as number) <= MAX_TEST_CLOCK_SHIFT_MS ? (shift as number) : 0;
}

/**
 * POST /api/test/clock {"advance_ms": n}: moves the desk's clock n ms further ahead of the
 * machine's, stored (a restart keeps it) and audited; answers the new now and the whole shift.
 * `apply` sets the shift the Durable Object keeps in memory for ctx.now().
 */
export async function advanceTestClock(ctx: DeskContext, request: Request, apply: (shiftMs: number) => void): Promise<Response> {
  const body = await parseBody(request, AdvanceBody);
  if (!body.ok) return body.response;
  const before = ctx.clockShiftMs();
  const shift = before + body.data.advance_ms;
  if (shift > MAX_TEST_CLOCK_SHIFT_MS) {
    return Response.json({ error: `advance_ms: the test clock may run at most 400 days ahead in all; it is ${before} ms ahead, so at most ${MAX_TEST_CLOCK_SHIFT_MS - before} more` }, { status: 400 });
  }
  setKv(ctx.sql, SHIFT_KEY, shift);
  apply(shift);
  const now = ctx.now().toISOString();
  ctx.audit("admin", "test_clock_advanced", { advance_ms: body.data.advance_ms, shift_ms: shift, shift_before_ms: before, now });
  return Response.json({ now, shift_ms: shift });
}
