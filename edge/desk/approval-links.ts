// "Confirm every order" for clients that cannot ask their person (no MCP elicitation, e.g. the
// claude.ai connector): the order passes every check, reserves its risk and waits in the same
// approval list as shadow mode, and place_order answers awaiting_confirmation with a one-time
// link. The person opens it on the edge, logged in to the dashboard, sees the read-back and
// approves or declines; approving runs decideApproval (every check again, fresh quote) and sends.
// The link's token is stored only as its SHA-256; it works once and for LINK_TTL_MS. Every refused
// link (unknown, expired, used) is audited and changes nothing.
import { createHash } from "node:crypto";
import type { DeskContext } from "../store/desk-context";
import { getKv, setKv } from "../store/kv";

/** How long an approval link (and the order's reserved risk) waits for the person. */
export const LINK_TTL_MS = 10 * 60_000;
/**
 * The link's page on the edge. The link is `<origin>/approve#<token>` (43 base64url characters):
 * the token rides in the fragment, which browsers never send, so no request line, trace or log
 * holds it (edge/dashboard/approval-page.ts).
 */
export const APPROVE_PAGE = "/approve";
export const approvalUrl = (origin: string, token: string) => `${origin}${APPROVE_PAGE}#${token}`;
export const LINK_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export const hashLinkToken = (token: string): string => createHash("sha256").update(token).digest("hex");

export function confirmEveryOrder(sql: SqlStorage): boolean {
  return getKv<boolean>(sql, "confirm_every_order", false);
}

export function setConfirmEveryOrder(ctx: DeskContext, on: boolean, by: string, reason: string): void {
  setKv(ctx.sql, "confirm_every_order", on);
  ctx.audit("admin", on ? "confirm_every_order_on" : "confirm_every_order_off", { by, reason });
}

/** Creates the one-time link of a trade that now waits for its person; returns the token (never stored). */
export function createApprovalLink(ctx: DeskContext, tradeId: string, nowMs: number): { token: string; expiresAt: string } {
  // Links a day past their expiry can only be refused as unknown instead of expired: drop them.
  ctx.sql.exec("DELETE FROM approval_links WHERE expires_ms < ?", nowMs - 24 * 60 * 60_000);
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const token = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  ctx.sql.exec("INSERT INTO approval_links (token_hash, trade_id, created_ms, expires_ms, used_ms) VALUES (?, ?, ?, ?, NULL)", hashLinkToken(token), tradeId, nowMs, nowMs + LINK_TTL_MS);
  const expiresAt = new Date(nowMs + LINK_TTL_MS).toISOString();
  ctx.audit("edge", "approval_link_created", { trade_id: tradeId, expires_at: expiresAt });
  return { token, expiresAt };
}
