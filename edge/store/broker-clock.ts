// The broker's clock: the desk's own (DeskContext.now, a test's moved clock included), or TWS's when
// the bridge reported that it runs apart (the tws_clock event's skew). Expiries, an expiry day's
// close and the window of an assignment are judged by it, as TWS judges them.
import type { DeskContext } from "./desk-context";
import { getKv } from "./kv";

/** The broker's clock: ours, or TWS's when the bridge told us it runs apart (tws_clock). */
export function brokerNow(ctx: DeskContext): Date {
  const now = ctx.now();
  const clock = getKv<{ skew_ms: number } | null>(ctx.sql, "tws_clock", null);
  // The bridge measures the skew against its own clock, the machine's: a test's shift of ours is not in it.
  return clock && Number.isFinite(clock.skew_ms) ? new Date(now.getTime() - ctx.clockShiftMs() + clock.skew_ms) : now;
}
