// A bound on the audit rows that anyone on the internet can cause without a credential (a refused
// token, a refused client registration, a foreign Origin, a failed dashboard login): per cause and client
// address (edge/http/client-address.ts) at most ROWS_PER_CAUSE_AND_ADDRESS rows per FLOOD_WINDOW_MS, and
// at most ROWS_PER_WINDOW such rows in all. Beyond the bound an event is counted, not written; once
// its window has closed, ONE `audit_suppressed` row says how many of which kind were left out and
// from how many addresses. Only the actions in UNAUTHENTICATED_ACTIONS can be held back: every
// other row (orders, fills, breakers, admin acts, grants) goes through ctx.audit untouched.
// The counts live in the `audit_flood` table: one row per (window, cause, address), at most
// TRACKED_PER_WINDOW of them (later addresses are counted together), and only the open window's.
import type { DeskContext } from "../store/desk-context";

export const FLOOD_WINDOW_MS = 60 * 60_000;
export const ROWS_PER_CAUSE_AND_ADDRESS = 20;
export const ROWS_PER_WINDOW = 100;
/** Distinct (cause, address) pairs counted one by one in a window; the rest share OVERFLOW_ADDRESS. */
export const TRACKED_PER_WINDOW = 1000;
export const OVERFLOW_ADDRESS = "(more addresses)";
export const AUDIT_SUPPRESSED = "audit_suppressed";

/**
 * The allowlist: events a caller without any credential can cause. `oauth_token_revoked` is here
 * because RFC 7009 answers 200 to a revocation of an unknown token, so a public client's id (no
 * secret) is enough to make one.
 */
export const UNAUTHENTICATED_ACTIONS = [
  "mcp_token_refused", "mcp_origin_refused", "form_origin_refused",
  "oauth_token_refused", "oauth_authorize_refused", "oauth_revocation_refused", "oauth_token_revoked",
  "oauth_registration_refused",
  "dashboard_login_failed", "dashboard_login_locked",
  // The consent page's Deny needs no login (denying grants nothing), so anyone can press it.
  "oauth_consent_denied",
  // Registration needs no credential; the clients it stores are bounded (edge/auth/registration-gate.ts).
  "oauth_client_registered", "oauth_client_evicted",
  // A socket holding the bridge token but not the bridge key (or any text on an upgrade refused
  // before it reaches the object): the token alone must not buy unbounded rows.
  "bridge_refused",
] as const;
export type UnauthenticatedAction = (typeof UNAUTHENTICATED_ACTIONS)[number];

export function isUnauthenticated(action: string): action is UnauthenticatedAction {
  return (UNAUTHENTICATED_ACTIONS as readonly string[]).includes(action);
}

const windowStart = (nowMs: number) => Math.floor(nowMs / FLOOD_WINDOW_MS) * FLOOD_WINDOW_MS;

type CountRow = { action: string; client: string; written: number; suppressed: number };

/**
 * Writes the summary of every closed window that held something back, then forgets the closed
 * windows' counts. Called before each bounded row and on every request to the object, so a
 * count is written at the first chance after its window ends and is never dropped.
 */
export function writeClosedFloodWindows(ctx: DeskContext): void {
  const open = windowStart(ctx.now().getTime());
  const closed = ctx.sql.exec<{ window_start_ms: number }>("SELECT DISTINCT window_start_ms FROM audit_flood WHERE window_start_ms < ? ORDER BY window_start_ms", open).toArray();
  for (const { window_start_ms: start } of closed) {
    const rows = ctx.sql.exec<CountRow>("SELECT action, client, written, suppressed FROM audit_flood WHERE window_start_ms = ? AND suppressed > 0", start).toArray();
    // Forgotten before the summary is appended, in the same synchronous turn as the append.
    ctx.sql.exec("DELETE FROM audit_flood WHERE window_start_ms = ?", start);
    if (rows.length === 0) continue;
    const byAction: Record<string, { rows: number; addresses: number }> = {};
    const addresses = new Set<string>();
    let total = 0;
    for (const row of rows) {
      const entry = (byAction[row.action] ??= { rows: 0, addresses: 0 });
      entry.rows += row.suppressed;
      entry.addresses += 1;
      addresses.add(row.client);
      total += row.suppressed;
    }
    ctx.audit("edge", AUDIT_SUPPRESSED, {
      window_start: new Date(start).toISOString(),
      window_end: new Date(start + FLOOD_WINDOW_MS).toISOString(),
      suppressed: total,
      addresses: addresses.size,
      // False when more than TRACKED_PER_WINDOW addresses were seen: then `addresses` is a floor.
      addresses_exact: !addresses.has(OVERFLOW_ADDRESS),
      by_action: byAction,
      bound: { per_cause_and_address: ROWS_PER_CAUSE_AND_ADDRESS, per_window: ROWS_PER_WINDOW, window_minutes: FLOOD_WINDOW_MS / 60_000 },
    });
  }
}

/**
 * Appends the row when the bound allows it and returns its seq; otherwise counts it and returns
 * null. Synchronous from the count to the append. The last row a bound lets through says so.
 */
export function auditUnauthenticated(ctx: DeskContext, actor: string, action: UnauthenticatedAction, client: string, details: Record<string, unknown>): number | null {
  writeClosedFloodWindows(ctx);
  const start = windowStart(ctx.now().getTime());
  const find = (address: string) =>
    ctx.sql.exec<{ written: number }>("SELECT written FROM audit_flood WHERE window_start_ms = ? AND action = ? AND client = ?", start, action, address).toArray()[0];
  let address = client;
  let row = find(address);
  if (!row) {
    const tracked = ctx.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM audit_flood WHERE window_start_ms = ?", start).toArray()[0]?.n ?? 0;
    if (tracked >= TRACKED_PER_WINDOW) (address = OVERFLOW_ADDRESS), (row = find(address));
  }
  const inWindow = ctx.sql.exec<{ n: number }>("SELECT COALESCE(SUM(written), 0) AS n FROM audit_flood WHERE window_start_ms = ?", start).toArray()[0]?.n ?? 0;
  const written = row?.written ?? 0;
  // The overflow bucket stands for many addresses: it gets no budget of its own.
  const allowed = address !== OVERFLOW_ADDRESS && written < ROWS_PER_CAUSE_AND_ADDRESS && inWindow < ROWS_PER_WINDOW;
  ctx.sql.exec(
    `INSERT INTO audit_flood (window_start_ms, action, client, written, suppressed) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(window_start_ms, action, client) DO UPDATE SET written = written + excluded.written, suppressed = suppressed + excluded.suppressed`,
    start, action, address, allowed ? 1 : 0, allowed ? 0 : 1,
  );
  if (!allowed) return null;
  const lastForAddress = written + 1 === ROWS_PER_CAUSE_AND_ADDRESS;
  const lastForWindow = inWindow + 1 === ROWS_PER_WINDOW;
  if (!lastForAddress && !lastForWindow) return ctx.audit(actor, action, details);
  return ctx.audit(actor, action, {
    ...details,
    audit_bound_reached: lastForWindow ? "all addresses" : "this cause and address",
    counted_not_written_until: new Date(start + FLOOD_WINDOW_MS).toISOString(),
  });
}
