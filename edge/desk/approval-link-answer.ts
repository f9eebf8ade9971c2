// The person's answer through an approval link (edge/desk/approval-links.ts), on the Durable Object:
// the link is checked and spent in one synchronous turn, then decideApproval — the same machinery
// as a shadow-mode approval in the dashboard — re-runs every check with a fresh quote and sends.
import { z } from "zod";
import { analyzeOrder } from "../../shared/risk";
import { tradingDay } from "../../shared/trade-id";
import type { DeskContext } from "../store/desk-context";
import { readBack } from "./read-back";
import { getTrade, legsOf } from "../store/ledger";
import { decideApproval } from "./order-desk";
import { settlementFor } from "./settlement-styles";

export const APPROVAL_LINK_PATH = "/internal/approval-link";

type LinkRow = { token_hash: string; trade_id: string; expires_ms: number; used_ms: number | null };

export const ApprovalLinkRequest = z.discriminatedUnion("op", [
  z.strictObject({ op: z.literal("view"), token_hash: z.string().regex(/^[0-9a-f]{64}$/), client: z.string().min(1).max(64) }),
  z.strictObject({ op: z.literal("decide"), token_hash: z.string().regex(/^[0-9a-f]{64}$/), client: z.string().min(1).max(64), decision: z.enum(["approve", "reject"]) }),
]);
export type ApprovalLinkRequest = z.infer<typeof ApprovalLinkRequest>;

export type LinkAnswer =
  | { ok: true; trade_id: string; state: string; read_back: string[]; expires_at: string; message?: string; outcome?: unknown }
  | { ok: false; status: number; error: string };

/** A link that may still be answered, or the refusal (audited). Synchronous. */
function usableLink(ctx: DeskContext, tokenHash: string, client: string, op: string): { row: LinkRow } | { refused: LinkAnswer } {
  const row = ctx.sql.exec<LinkRow>("SELECT token_hash, trade_id, expires_ms, used_ms FROM approval_links WHERE token_hash = ?", tokenHash).toArray()[0];
  const nowMs = ctx.now().getTime();
  const refuse = (status: number, reason: string, error: string): { refused: LinkAnswer } => {
    ctx.audit("person", "approval_link_refused", { op, reason, trade_id: row?.trade_id ?? null, client });
    return { refused: { ok: false, status, error } };
  };
  if (!row) return refuse(404, "unknown", "This approval link is not valid. Nothing was changed.");
  if (row.used_ms !== null) return refuse(410, "used", "This approval link was already used. Nothing was changed; see the dashboard for the order's state.");
  if (row.expires_ms <= nowMs) return refuse(410, "expired", "This approval link has expired (links last 10 minutes). Nothing was sent; the order's reserved risk is released.");
  const trade = getTrade(ctx.sql, row.trade_id);
  if (trade?.state !== "pending_approval") return refuse(409, `trade ${trade?.state ?? "gone"}`, `This order is ${trade?.state ?? "gone"}, no longer waiting for a decision. Nothing was changed.`);
  return { row };
}

function readBackOf(ctx: DeskContext, tradeId: string): string[] {
  const trade = getTrade(ctx.sql, tradeId)!;
  const legs = legsOf(trade);
  const analysis = analyzeOrder(legs, { symbol: trade.symbol, today: tradingDay(ctx.now()), settlement: settlementFor(ctx.link, legs) });
  return readBack({ symbol: trade.symbol, strategy: trade.strategy, legs }, analysis).split("\n").slice(1, -1);
}

export async function handleApprovalLink(ctx: DeskContext, request: ApprovalLinkRequest): Promise<LinkAnswer> {
  const usable = usableLink(ctx, request.token_hash, request.client, request.op);
  if ("refused" in usable) return usable.refused;
  const { row } = usable;
  const expiresAt = new Date(row.expires_ms).toISOString();
  if (request.op === "view") {
    ctx.audit("person", "approval_link_opened", { trade_id: row.trade_id, client: request.client });
    return { ok: true, trade_id: row.trade_id, state: "pending_approval", read_back: readBackOf(ctx, row.trade_id), expires_at: expiresAt };
  }
  // One-time: spent in the same synchronous turn as the check above, before any await.
  ctx.sql.exec("UPDATE approval_links SET used_ms = ? WHERE token_hash = ?", ctx.now().getTime(), row.token_hash);
  const readBackLines = readBackOf(ctx, row.trade_id);
  const reason = request.decision === "approve" ? "approved by the person through the approval link" : "declined by the person through the approval link";
  const decided = await decideApproval(ctx, row.trade_id, request.decision, "person (approval link)", reason);
  const state = getTrade(ctx.sql, row.trade_id)?.state ?? "unknown";
  const body = decided.body as { error?: string; message?: string };
  const message = body.error ?? body.message ?? (request.decision === "approve" ? "Approved." : "Declined: nothing was sent.");
  return { ok: true, trade_id: row.trade_id, state, read_back: readBackLines, expires_at: expiresAt, message, outcome: decided.body };
}
