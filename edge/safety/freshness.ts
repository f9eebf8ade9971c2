// Whether the account figures a read shows are live. The object keeps the bridge's last snapshot
// across restarts, so without this a read after TWS went down (or the bridge went away, or an
// earlier run's state) would show old figures as if they were now. Every read that shows account
// figures carries `stale` and one sentence of why (get_account, get_positions, list_trades,
// get_safety_status, the dashboard).
import { MAX_ACCOUNT_DATA_AGE_MS } from "../../shared/limits";
import type { DeskContext } from "../store/desk-context";
import { accountDataAgeMs, accountSnapshot, twsHealth } from "./safety-state";

export interface Freshness {
  /** The figures are the last the bridge reported and are not live (or there are none). */
  stale: boolean;
  stale_reason: string | null;
}

/** "45 s", "1 min 30 s", "10 min", "2 h 5 min", "3 d 4 h": an age a person reads at a glance. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return h ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m ? `${h} h ${m} min` : `${h} h`;
  return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
}

export function accountFreshness(ctx: DeskContext): Freshness {
  const snapshot = accountSnapshot(ctx.sql);
  const ageMs = accountDataAgeMs(snapshot, ctx.now().getTime());
  if (!snapshot || ageMs === null) return { stale: true, stale_reason: "No account data from the bridge yet" };
  const last = `these are the last figures the bridge reported, ${formatAge(ageMs)} ago (as of ${snapshot.summary.as_of})`;
  if (!ctx.link.socket()) return { stale: true, stale_reason: `No bridge is connected: ${last}` };
  const tws = twsHealth(ctx.sql);
  if (tws?.state !== "connected") return { stale: true, stale_reason: `TWS is ${tws?.state ?? "not reported"}${tws?.last_error ? ` (${tws.last_error})` : ""}: ${last}` };
  if (ageMs > MAX_ACCOUNT_DATA_AGE_MS)
    return { stale: true, stale_reason: `The figures are ${formatAge(ageMs)} old (as of ${snapshot.summary.as_of}); orders need them under ${MAX_ACCOUNT_DATA_AGE_MS / 1000} s` };
  return { stale: false, stale_reason: null };
}
