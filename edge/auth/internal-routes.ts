// The Durable Object's internal routes, reached only by the Worker's own code (it forwards no
// outside path under /internal/): one login attempt, the check or end of a dashboard session, an
// OAuth audit row, an OAuth client registration's slot, the grants' last use, and the record of
// spent refresh tokens.
import { APPROVAL_LINK_PATH, ApprovalLinkRequest, handleApprovalLink } from "../desk/approval-link-answer";
import { checkDashboardSession, endDashboardSession, SessionRequest } from "./dashboard-sessions";
import { LOGIN_GATE_PATH, SESSION_PATH } from "./login-client";
import type { DeskContext } from "../store/desk-context";
import { LoginAttempt, loginAttempt } from "./login-gate";
import { OAUTH_AUDIT_PATH } from "../http/account-stub";
import { OAUTH_GRANT_USE_PATH } from "./oauth";
import { appendOAuthAudit, grantUses, OAuthAuditRequest } from "./oauth-grants";
import { checkRefresh, recordRotation, REFRESH_TOKEN_PATH, RefreshRequest } from "./refresh-tokens";
import { REGISTRATION_DONE_PATH, REGISTRATION_GATE_PATH, RegistrationAttempt, registrationAttempt, RegistrationDone, registrationDone } from "./registration-gate";

export async function handleInternal(ctx: DeskContext, request: Request, url: URL): Promise<Response | null> {
  if (request.method === "POST" && url.pathname === OAUTH_AUDIT_PATH) {
    const parsed = OAuthAuditRequest.safeParse(await request.json().catch(() => null));
    if (!parsed.success) return Response.json({ error: `oauth audit: ${parsed.error.issues[0]?.message ?? "invalid"}` }, { status: 400 });
    return Response.json({ seq: appendOAuthAudit(ctx, parsed.data) });
  }
  if (request.method === "POST" && url.pathname === REGISTRATION_GATE_PATH) {
    const parsed = RegistrationAttempt.safeParse(await request.json().catch(() => null));
    if (!parsed.success) return Response.json({ error: `registration attempt: ${parsed.error.issues[0]?.message ?? "invalid"}` }, { status: 400 });
    return Response.json(registrationAttempt(ctx, parsed.data));
  }
  if (request.method === "POST" && url.pathname === REGISTRATION_DONE_PATH) {
    const parsed = RegistrationDone.safeParse(await request.json().catch(() => null));
    if (!parsed.success) return Response.json({ error: `registration: ${parsed.error.issues[0]?.message ?? "invalid"}` }, { status: 400 });
    return Response.json(registrationDone(ctx, parsed.data));
  }
  if (request.method === "POST" && url.pathname === OAUTH_GRANT_USE_PATH) return Response.json(grantUses(ctx));
  if (request.method === "POST" && url.pathname === REFRESH_TOKEN_PATH) {
    const parsed = RefreshRequest.safeParse(await request.json().catch(() => null));
    if (!parsed.success) return Response.json({ error: `refresh record: ${parsed.error.issues[0]?.message ?? "invalid"}` }, { status: 400 });
    return Response.json(parsed.data.op === "check" ? checkRefresh(ctx, parsed.data) : recordRotation(ctx, parsed.data));
  }
  if (request.method === "POST" && url.pathname === APPROVAL_LINK_PATH) {
    const parsed = ApprovalLinkRequest.safeParse(await request.json().catch(() => null));
    if (!parsed.success) return Response.json({ error: `approval link: ${parsed.error.issues[0]?.message ?? "invalid"}` }, { status: 400 });
    return Response.json(await handleApprovalLink(ctx, parsed.data));
  }
  if (request.method !== "POST" || (url.pathname !== LOGIN_GATE_PATH && url.pathname !== SESSION_PATH)) return null;
  const raw = (await request.json().catch(() => null)) as unknown;
  if (url.pathname === LOGIN_GATE_PATH) {
    const attempt = LoginAttempt.safeParse(raw);
    if (!attempt.success) return Response.json({ error: `login attempt: ${attempt.error.issues[0]?.message ?? "invalid"}` }, { status: 400 });
    return Response.json(loginAttempt(ctx, attempt.data));
  }
  const op = SessionRequest.safeParse(raw);
  if (!op.success) return Response.json({ error: `session request: ${op.error.issues[0]?.message ?? "invalid"}` }, { status: 400 });
  if (op.data.op === "check") return Response.json({ live: checkDashboardSession(ctx, op.data.id_hash) });
  const wasLive = endDashboardSession(ctx, op.data.id_hash, op.data.client);
  return Response.json({ live: false, was_live: wasLive });
}
