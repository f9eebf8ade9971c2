// The approval link's page (/approve/<token>), for "confirm every order" when the agent's client
// cannot ask its person. The person must be logged in to the dashboard (the link alone is not
// enough); they see the order's read-back (legs, net credit/debit, worst-case loss, max gain,
// breakevens) and approve or decline. The account's Durable Object checks and spends the link
// (edge/approval-link-answer.ts); this page only shows what it answers. Same strict CSP as the
// dashboard; the decision is a same-origin form post carrying the session's CSRF token.
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import { secureHeaders } from "hono/secure-headers";
import type { Env } from "./account-do";
import { APPROVAL_LINK_PATH, type LinkAnswer } from "./approval-link-answer";
import { hashLinkToken, LINK_TOKEN } from "./approval-links";
import { clientAddress } from "./client-address";
import { CONTENT_SECURITY_POLICY } from "./dashboard/routes";
import { loginPage } from "./dashboard/page";
import { csrfTokenFor, readSession, verifyCsrfToken } from "./dashboard/session";
import { accountStub } from "./oauth";
import { refuseForeignForm } from "./origin-guard";

const NO_STORE = { "cache-control": "no-store" };
const escape = (value: string) => value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escape(title)}</title>
<link rel="stylesheet" href="/dashboard/styles.css"></head>
<body class="login"><main>${body}<p><a href="/dashboard">Open the dashboard</a></p></main></body></html>`;
}

const readBackList = (lines: string[]) => `<pre id="read-back">${lines.map(escape).join("\n")}</pre>`;

async function ask(env: Env, body: unknown): Promise<LinkAnswer> {
  const res = await accountStub(env).fetch(`https://account${APPROVAL_LINK_PATH}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) return { ok: false, status: 400, error: ((await res.json().catch(() => null)) as { error?: string } | null)?.error ?? "the approval link could not be checked" };
  return (await res.json()) as LinkAnswer;
}

/** Any text is hashed and looked up: a malformed link is "unknown" (and audited) like any other. */
const tokenHashOf = (token: string) => hashLinkToken(LINK_TOKEN.test(token) ? token : `malformed:${token.slice(0, 100)}`);

export const approvals = new Hono<{ Bindings: Env }>();
approvals.use("*", secureHeaders({ contentSecurityPolicy: CONTENT_SECURITY_POLICY, referrerPolicy: "no-referrer", xFrameOptions: "DENY" }));
approvals.use("*", refuseForeignForm("approval_link"));
approvals.use("*", csrf());
approvals.use("*", bodyLimit({ maxSize: 4 * 1024 }));

approvals.get("/:token", async (c) => {
  const token = c.req.param("token");
  const session = await readSession(c as unknown as Context, c.env);
  // Log in first; the dashboard login sends the person back to this link.
  if (session === null) return c.html(loginPage(false, `/approve/${token}`), 401, NO_STORE);
  const answer = await ask(c.env, { op: "view", token_hash: tokenHashOf(token), client: clientAddress(c.req.raw.headers) });
  if (!answer.ok) return c.html(page("Approval link refused", `<h1>Approval link refused</h1><p id="link-error" role="alert" class="error">${escape(answer.error)}</p>`), answer.status as 400, NO_STORE);
  const csrfToken = await csrfTokenFor(c.env.ADMIN_TOKEN, session.value);
  return c.html(page(`Confirm order ${answer.trade_id}`, `
<h1>Confirm this order?</h1>
<p>Trade <strong id="trade-id">${escape(answer.trade_id)}</strong> passed every safety check and waits for your answer until ${escape(answer.expires_at)}.</p>
${readBackList(answer.read_back)}
<form method="post" action="/approve/${escape(token)}">
<input type="hidden" name="csrf" value="${csrfToken}">
<p><button type="submit" name="decision" value="approve" id="approve">Approve and send</button>
<button type="submit" name="decision" value="reject" id="decline">Decline</button></p>
</form>
<p class="hint">Approving runs every check again with a fresh quote before the order goes to Interactive Brokers.</p>`), 200, NO_STORE);
});

approvals.post("/:token", async (c) => {
  const token = c.req.param("token");
  const session = await readSession(c as unknown as Context, c.env);
  if (session === null) return c.html(loginPage(false, `/approve/${token}`), 401, NO_STORE);
  const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  if (!(await verifyCsrfToken(c.env.ADMIN_TOKEN, session.value, typeof form.csrf === "string" ? form.csrf : undefined)))
    return c.html(page("Refused", `<h1>Refused</h1><p id="link-error" role="alert" class="error">This form is stale or was not sent from the approval page. Nothing was changed.</p>`), 403, NO_STORE);
  if (form.decision !== "approve" && form.decision !== "reject")
    return c.html(page("Refused", `<h1>Refused</h1><p id="link-error" role="alert" class="error">Choose Approve or Decline. Nothing was changed.</p>`), 400, NO_STORE);
  const answer = await ask(c.env, { op: "decide", token_hash: tokenHashOf(token), client: clientAddress(c.req.raw.headers), decision: form.decision });
  if (!answer.ok) return c.html(page("Approval link refused", `<h1>Approval link refused</h1><p id="link-error" role="alert" class="error">${escape(answer.error)}</p>`), answer.status as 400, NO_STORE);
  const sent = answer.state === "working" || answer.state === "open" || answer.state === "submitting";
  const heading = form.decision === "reject" ? "Declined: nothing was sent" : sent ? "Approved and sent" : "Approved, but the re-check refused it";
  return c.html(page(heading, `
<h1 id="outcome">${escape(heading)}</h1>
<p>Trade <strong id="trade-id">${escape(answer.trade_id)}</strong> is now <strong id="trade-state">${escape(answer.state)}</strong>.</p>
<p id="outcome-message">${escape(answer.message ?? "")}</p>
${readBackList(answer.read_back)}`), 200, NO_STORE);
});
