// Account snapshots are evidence, checked before they move anything. A net liquidation that jumps
// beyond a plausible bound from the last confirmed value is held as suspect: it moves neither the
// high-water mark nor any limit, and while it is held no opening order passes (fail closed;
// closes stay allowed). The bridge is asked again at once, and the value is confirmed only by
// CONFIRMATIONS consecutive agreeing snapshots spread over CONFIRM_SPAN_MS; a snapshot back
// within the bound of the confirmed value withdraws it.
//
// The bound: a move of more than 5% of the last confirmed net liquidation AND more than $1,000.
// 5% is half the 10% drawdown breaker, so no single unconfirmed value can lift the high-water mark
// far enough for the real value to trip the breaker, nor widen the 30% concentration room by more
// than a twentieth; $1,000 (the daily loss limit) keeps ordinary trading of a small account from
// counting as a jump. Deposits and withdrawals above it cost ~10 s of refused openings.
import { formatUsd, roundCents } from "../../shared/money";
import type { AccountSummary, Violation } from "../../shared/tools";
import { checkBreakers } from "./breakers";
import type { DeskContext } from "../store/desk-context";
import { getKv, setKv } from "../store/kv";
import { accountSnapshot, highWaterMark } from "./safety-state";

export const JUMP_FRACTION = 0.05;
export const JUMP_MIN_USD = 1_000;
export const CONFIRMATIONS = 3;
export const CONFIRM_SPAN_MS = 10_000;

export interface SuspectAccount {
  summary: AccountSummary;
  /** The confirmed net liquidation it jumped from. */
  from: number;
  first_ms: number;
  seen: number;
}

export function isJump(from: number, to: number): boolean {
  return Math.abs(to - from) > Math.max(JUMP_FRACTION * Math.abs(from), JUMP_MIN_USD);
}

export function suspectAccount(sql: SqlStorage): SuspectAccount | null {
  return getKv<SuspectAccount | null>(sql, "account_suspect", null);
}

/** Opening orders wait while an account value is unconfirmed. */
export function suspectViolations(sql: SqlStorage): Violation[] {
  const suspect = suspectAccount(sql);
  if (!suspect) return [];
  return [{
    check: "account_data_suspect",
    message: `Net liquidation jumped from ${formatUsd(suspect.from)} to ${formatUsd(suspect.summary.net_liquidation)} (more than ${JUMP_FRACTION * 100}% and ${formatUsd(JUMP_MIN_USD)}); it is held until TWS confirms it: refusing opening orders (fail closed)`,
  }];
}

function accept(ctx: DeskContext, summary: AccountSummary, nowMs: number): void {
  setKv(ctx.sql, "account", { summary, received_at_ms: nowMs });
  const hwm = highWaterMark(ctx.sql);
  if (hwm === null || summary.net_liquidation > hwm) setKv(ctx.sql, "high_water_mark", roundCents(summary.net_liquidation));
  checkBreakers(ctx);
}

/** Applies one account snapshot of this edge's account (from an event or a re-ask). */
export function applyAccountSnapshot(ctx: DeskContext, summary: AccountSummary, source: "event" | "re-ask" = "event"): void {
  const now = ctx.now().getTime();
  const confirmed = accountSnapshot(ctx.sql)?.summary.net_liquidation ?? null;
  const suspect = suspectAccount(ctx.sql);
  // The first value ever has nothing to be checked against.
  if (confirmed === null || !isJump(confirmed, summary.net_liquidation)) {
    if (suspect) {
      setKv(ctx.sql, "account_suspect", null);
      ctx.audit("edge", "account_jump_withdrawn", { from: suspect.from, suspect: suspect.summary.net_liquidation, now: summary.net_liquidation, source });
    }
    accept(ctx, summary, now);
    return;
  }
  if (suspect && !isJump(suspect.summary.net_liquidation, summary.net_liquidation)) {
    const seen = suspect.seen + 1;
    if (seen >= CONFIRMATIONS && now - suspect.first_ms >= CONFIRM_SPAN_MS) {
      setKv(ctx.sql, "account_suspect", null);
      ctx.audit("edge", "account_jump_confirmed", { from: suspect.from, to: summary.net_liquidation, snapshots: seen, over_ms: now - suspect.first_ms, source });
      accept(ctx, summary, now);
    } else setKv(ctx.sql, "account_suspect", { ...suspect, summary, seen } satisfies SuspectAccount);
    return;
  }
  setKv(ctx.sql, "account_suspect", { summary, from: confirmed, first_ms: now, seen: 1 } satisfies SuspectAccount);
  ctx.audit("edge", "account_jump_suspect", { from: confirmed, to: summary.net_liquidation, source, bound: { fraction: JUMP_FRACTION, min_usd: JUMP_MIN_USD }, confirm: { snapshots: CONFIRMATIONS, over_ms: CONFIRM_SPAN_MS } });
  // Ask again now rather than wait for the next heartbeat; its answer is one more snapshot.
  if (source === "event" && ctx.link.socket())
    ctx.link.request("account", {}).then(
      (again) => {
        if (again.account_id === ctx.settings.accountId) applyAccountSnapshot(ctx, again, "re-ask");
      },
      () => undefined,
    );
}
