// The Durable Object's side of the admin API (see the team brief's contract). The Worker has
// already authenticated the caller. Admin acts can only make things safer or reset a breaker;
// each takes a non-empty reason and is audited with who and why before the answer goes out.
import { z } from "zod";
import { NetLimitPrice, TradeId } from "../../shared/tools";
import { confirmEveryOrder, setConfirmEveryOrder } from "../desk/approval-links";
import { readAudit, verifyAudit } from "../audit/audit";
import { adminCredential } from "../ledger/credential";
import { resetBreaker } from "../safety/breakers";
import { endAllDashboardSessions } from "../auth/dashboard-sessions";
import type { DeskContext } from "../store/desk-context";
import { setKv } from "../store/kv";
import { flattenTrade, reassessTrades, uncoveredPositions } from "../desk/flatten";
import { listTrades } from "../store/ledger";
import { clearLoginLockout } from "../auth/login-gate";
import { closeLostAtTws, closePosition, decideApproval } from "../desk/order-desk";
import { adminSettleOrder } from "../ledger/order-ends";
import { expiryDayFlags } from "../views/expiry-day";
import { emergencyStop, emergencyStopFrame, setEmergencyStop } from "../safety/safety-state";
import { healthView, stateView } from "../views/views";

const Reason = z.string().trim().min(1, "reason must be a non-empty string").max(500, "reason must be at most 500 characters");
const By = z.string().trim().min(1).max(80).optional();
const StopBody = z.strictObject({ on: z.boolean(), reason: Reason, by: By, cancel_orders: z.boolean().optional(), close_positions: z.boolean().optional() });
const ResetBody = z.strictObject({ breaker: z.enum(["daily_loss", "drawdown", "consecutive_losses", "assignment"]), reason: Reason, by: By });
const ShadowBody = z.strictObject({ on: z.boolean(), reason: Reason, by: By });
const ApprovalBody = z.strictObject({ decision: z.enum(["approve", "reject"]), reason: Reason, by: By });
const CancelAllBody = z.strictObject({ reason: Reason, by: By });
const ReasonBody = z.strictObject({ reason: Reason, by: By });
/** A person closes one trade: at the natural price, or at a limit (the closing order's net per unit, debit positive). */
const CloseBody = z.strictObject({ trade_id: TradeId, limit_price: NetLimitPrice.optional(), reason: Reason, by: By });
const SettleBody = z.strictObject({
  order_ref: z.string().trim().min(1).max(120),
  as: z.enum(["cancelled", "filled"]),
  /** Net fill price per combo unit paid by this order (negative: a credit); only with `filled`. */
  price: z.number().finite().gte(-100_000).lte(100_000).optional(),
  reason: Reason,
  by: By,
}).refine((b) => b.as === "filled" || b.price === undefined, { message: "price is only for settling as filled", path: ["price"] });

/** Tells the connected bridge the current emergency stop; false when no bridge heard it (it hears on welcome). */
export function pushEmergencyStop(ctx: DeskContext): boolean {
  const ws = ctx.link.socket();
  if (!ws) return false;
  try {
    ws.send(emergencyStopFrame(ctx.sql));
    return true;
  } catch {
    return false;
  }
}

const json = (body: unknown, status = 200): Response => Response.json(body, { status });
const error = (message: string, status = 400): Response => json({ error: message }, status);

/** A JSON body checked against its schema; a refusal names the first bad field. */
export async function parseBody<T>(request: Request, schema: z.ZodType<T>): Promise<{ ok: true; data: T } | { ok: false; response: Response }> {
  const raw = await request.json().catch(() => undefined);
  if (raw === undefined) return { ok: false, response: error("body must be JSON") };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, response: error(`${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`) };
  }
  return { ok: true, data: parsed.data };
}

async function cancelAll(ctx: DeskContext, by: string, reason: string): Promise<{ requested: boolean; error?: string }> {
  try {
    await ctx.link.request("cancel_all", {});
    ctx.audit("admin", "cancel_all_sent", { by, reason });
    return { requested: true };
  } catch (e) {
    ctx.audit("admin", "cancel_all_failed", { by, reason, message: (e as Error).message });
    return { requested: false, error: (e as Error).message };
  }
}

export async function handleAdmin(ctx: DeskContext, request: Request, url: URL): Promise<Response> {
  const route = `${request.method} ${url.pathname}`;
  const { sql } = ctx;

  if (route === "GET /api/state") {
    const expiring = await expiryDayFlags(ctx);
    return json({ ...stateView(ctx, { credential: url.searchParams.get("credential") }), expiry_day: expiring });
  }
  if (route === "GET /api/health") {
    const h = healthView(ctx);
    return json({ bridge: h.bridge, tws: h.tws, data_age_seconds: h.data_age_seconds, can_open_new_trades: h.can_open_new_trades, blocked_by: h.blocked_by });
  }
  // The benchmark's probe: the bridge link's own round trip and the requests sent per op so far.
  if (route === "GET /api/link") {
    const rttMs = await ctx.link.ping().catch(() => null);
    return json({ ping_ms: rttMs, requests_sent: ctx.link.sentByOp });
  }
  if (route === "GET /api/audit") {
    const after = Number(url.searchParams.get("after") ?? 0);
    const limit = Number(url.searchParams.get("limit") ?? 200);
    if (!Number.isInteger(after) || after < 0) return error("after must be a non-negative integer");
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return error("limit must be an integer from 1 to 1000");
    return json({ rows: readAudit(sql, { after, limit, action: url.searchParams.get("action"), actor: url.searchParams.get("actor"), credential: url.searchParams.get("credential") }) });
  }
  if (route === "GET /api/audit/export") {
    const lines: string[] = [];
    for (let after = 0; ; ) {
      const rows = readAudit(sql, { after, limit: 1000 });
      if (rows.length === 0) break;
      for (const r of rows) lines.push(JSON.stringify(r));
      after = rows[rows.length - 1]!.seq;
    }
    return new Response(lines.length ? `${lines.join("\n")}\n` : "", { headers: { "content-type": "application/x-ndjson; charset=utf-8", "content-disposition": 'attachment; filename="audit.jsonl"' } });
  }
  if (route === "GET /api/audit/verify") return json(verifyAudit(sql));

  if (route === "POST /api/emergency-stop") {
    const body = await parseBody(request, StopBody);
    if (!body.ok) return body.response;
    const { on, reason, cancel_orders, close_positions } = body.data;
    const by = body.data.by ?? "admin";
    const stop = { on, reason, at: ctx.now().toISOString(), by };
    setEmergencyStop(sql, stop);
    // At once, in the same turn: the bridge holds back any opening order it has not yet sent.
    const pushed = pushEmergencyStop(ctx);
    ctx.audit("admin", on ? "emergency_stop_set" : "emergency_stop_cleared", { reason, by, cancel_orders: cancel_orders ?? false, close_positions: close_positions ?? false, pushed_to_bridge: pushed });
    const result: Record<string, unknown> = { emergency_stop: emergencyStop(sql) };
    if (on) ctx.writeLog("circuit_breaker", `Emergency stop set by ${by}: ${reason}`, { by });
    if (on && cancel_orders) result.cancel_all = await cancelAll(ctx, by, reason);
    if (on && close_positions) {
      const closes = [];
      // Trades first, each brought up to its fills; then whatever TWS holds that no trade accounts for.
      reassessTrades(ctx);
      // Open trades, and closing ones whose close TWS lost (its position is held with nothing working to close it).
      const closable = [...listTrades(sql, { state: "open", limit: 1000 }), ...listTrades(sql, { state: "closing", limit: 1000 }).filter((t) => closeLostAtTws(ctx, t.trade_id))];
      for (const trade of closable) {
        const closed = await closePosition(ctx, { trade_id: trade.trade_id }, "admin", adminCredential(by));
        closes.push({ trade_id: trade.trade_id, success: closed.output.success, status: closed.output.status, message: closed.output.message });
      }
      for (const { position, quantity } of uncoveredPositions(ctx)) {
        const tradeId = flattenTrade(ctx, position, quantity);
        if (!tradeId) {
          closes.push({ trade_id: null, con_id: position.con_id, success: false, status: "Refused", message: `${position.symbol} ${position.sec_type} position (con_id ${position.con_id}) cannot be closed from here; close it in TWS` });
          continue;
        }
        const closed = await closePosition(ctx, { trade_id: tradeId }, "admin", adminCredential(by));
        closes.push({ trade_id: tradeId, con_id: position.con_id, success: closed.output.success, status: closed.output.status, message: closed.output.message });
      }
      result.closes = closes;
    }
    return json(result);
  }
  if (route === "POST /api/trades/close") {
    // A person's close of one trade: it reduces risk, so it may pay past the close cap an agent's
    // close is held to (shared/close-cap.ts) and is never refused by the closes' rate allowance.
    // Every other check of a close runs (reduce-only at the bridge, the collar on a limit).
    const body = await parseBody(request, CloseBody);
    if (!body.ok) return body.response;
    const by = body.data.by ?? "admin";
    ctx.audit("admin", "close_by_person", { trade_id: body.data.trade_id, by, reason: body.data.reason, limit_price: body.data.limit_price ?? null });
    const closed = await closePosition(ctx, { trade_id: body.data.trade_id, limit_price: body.data.limit_price }, "admin");
    return json(closed.output, closed.output.success ? 200 : 409);
  }
  if (route === "POST /api/breakers/reset") {
    const body = await parseBody(request, ResetBody);
    if (!body.ok) return body.response;
    const r = resetBreaker(ctx, body.data.breaker, body.data.by ?? "admin", body.data.reason);
    return json(r.body, r.status);
  }
  if (route === "POST /api/shadow-mode") {
    const body = await parseBody(request, ShadowBody);
    if (!body.ok) return body.response;
    setKv(sql, "shadow_mode", body.data.on);
    ctx.audit("admin", body.data.on ? "shadow_mode_on" : "shadow_mode_off", { reason: body.data.reason, by: body.data.by ?? "admin" });
    return json({ shadow_mode: body.data.on });
  }
  if (route === "POST /api/confirm-every-order") {
    // Each order then needs its person's answer (elicitation, or the one-time approval link).
    const body = await parseBody(request, ShadowBody);
    if (!body.ok) return body.response;
    setConfirmEveryOrder(ctx, body.data.on, body.data.by ?? "admin", body.data.reason);
    return json({ confirm_every_order: confirmEveryOrder(sql) });
  }
  if (route === "POST /api/cancel-all") {
    const body = await parseBody(request, CancelAllBody);
    if (!body.ok) return body.response;
    const r = await cancelAll(ctx, body.data.by ?? "admin", body.data.reason);
    return r.requested ? json(r) : json({ error: `cancel_all could not be sent: ${r.error}` }, 409);
  }
  if (route === "POST /api/sessions/end-all") {
    // "Log out everywhere": every dashboard session (the caller's own too) ends now.
    const body = await parseBody(request, ReasonBody);
    if (!body.ok) return body.response;
    return json({ sessions_ended: endAllDashboardSessions(ctx, body.data.by ?? "admin", body.data.reason) });
  }
  if (route === "POST /api/login-lockout/clear") {
    // The owner's way back into a login form locked by someone else's guesses (bearer token).
    const body = await parseBody(request, ReasonBody);
    if (!body.ok) return body.response;
    return json({ failures_cleared: clearLoginLockout(ctx, body.data.by ?? "admin", body.data.reason) });
  }
  if (route === "POST /api/orders/settle") {
    // An order reconciliation cannot account for: the person decides how it ended, never silently.
    const body = await parseBody(request, SettleBody);
    if (!body.ok) return body.response;
    const r = adminSettleOrder(ctx, { ...body.data, by: body.data.by ?? "admin" });
    return json(r.body, r.status);
  }
  const approval = /^\/api\/approvals\/([^/]+)$/.exec(url.pathname);
  if (approval && request.method === "POST") {
    // A malformed escape (%zz) must be a 400 like any other bad id, not a URIError (500).
    const decoded = (() => { try { return decodeURIComponent(approval[1]!); } catch { return null; } })();
    const tradeId = TradeId.safeParse(decoded);
    if (!tradeId.success) return error("trade_id looks like IRON_CONDOR_AAPL_20251119_103045");
    const body = await parseBody(request, ApprovalBody);
    if (!body.ok) return body.response;
    const r = await decideApproval(ctx, tradeId.data, body.data.decision, body.data.by ?? "admin", body.data.reason);
    return json(r.body, r.status);
  }
  return error(`no admin route ${route}`, 404);
}
