// The approval link's page, for "confirm every order": the person must be logged in to the
// dashboard (the link alone is not enough); they see the order's read-back (legs, net
// credit/debit, worst-case loss, max gain, breakevens) and approve or decline. The link is
// `/approve#<token>`: the token sits in the fragment, which a browser never sends, so it is in no
// request line, trace or log. GET /approve serves a page whose own script (/approve/link.js, same
// origin, under the dashboard's CSP) reads the fragment, keeps it in this tab's sessionStorage
// (so it survives the login form), takes it out of the address bar and posts it in a form body to
// /approve/open; the decision goes to /approve/decide in a body too. The account's Durable Object
// checks and spends the link (edge/desk/approval-link-answer.ts); this page only shows what it answers.
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import { secureHeaders } from "hono/secure-headers";
import type { Env } from "../http/env";
import { APPROVAL_LINK_PATH, type LinkAnswer } from "../desk/approval-link-answer";
import { APPROVE_PAGE, hashLinkToken, LINK_TOKEN } from "../desk/approval-links";
import { clientAddress } from "../http/client-address";
import { CONTENT_SECURITY_POLICY } from "./routes";
import { loginPage } from "./page";
import { csrfTokenFor, readSession, verifyCsrfToken } from "../auth/session-cookie";
import { accountStub } from "../http/account-stub";
import { refuseForeignForm } from "../http/origin-guard";

const NO_STORE = { "cache-control": "no-store" };
const escape = (value: string) => value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** The page's script: every page here loads it; it forwards the code, or forgets it once answered. */
const LINK_SCRIPT = '<script src="/approve/link.js" defer></script>';

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escape(title)}</title>
<link rel="stylesheet" href="/dashboard/styles.css">${LINK_SCRIPT}</head>
<body class="login"><main>${body}<p><a href="/dashboard">Open the dashboard</a></p></main></body></html>`;
}

/**
 * The code's path through the browser: from the fragment into this tab's sessionStorage (out of
 * the address bar and the history), then into the form the page posts. Pages that show an
 * outcome or a refusal make it forget the code. Plain ES2020, no markup from data.
 */
export const LINK_JS = `"use strict";
(function () {
  var KEY = "ibkr-approval-link";
  var code = window.location.hash.slice(1);
  if (/^[A-Za-z0-9_-]{43}$/.test(code)) {
    window.sessionStorage.setItem(KEY, code);
    window.history.replaceState(null, "", window.location.pathname);
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (document.getElementById("outcome") || document.getElementById("link-error")) {
      window.sessionStorage.removeItem(KEY);
      return;
    }
    var form = document.getElementById("link-form");
    var kept = window.sessionStorage.getItem(KEY);
    if (!form) return;
    if (!kept) {
      document.getElementById("link-status").textContent = "No approval link code in this tab: open the confirmation link you were given (it ends with # and a code).";
      return;
    }
    document.getElementById("link-token").value = kept;
    form.submit();
  });
})();
`;

/** What GET /approve serves: no data, no token; the script posts the fragment's code. */
const SHELL = page("Approval link", `
<h1>Approval link</h1>
<p id="link-status" role="status">Opening the order…</p>
<form id="link-form" method="post" action="/approve/open"><input type="hidden" name="token" id="link-token" value=""><noscript><p>This page needs JavaScript: the link's code is read from the address bar's fragment, which never reaches the server.</p></noscript></form>`);

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

/** The code a form posted (an approval link's token), or "" when there is none. */
async function postedForm(c: Context<{ Bindings: Env }>): Promise<Record<string, unknown>> {
  return c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
}
const tokenOf = (form: Record<string, unknown>) => (typeof form.token === "string" ? form.token : "");

approvals.get("/", (c) => c.html(SHELL, 200, NO_STORE));
approvals.get("/link.js", (c) => c.body(LINK_JS, 200, { "content-type": "text/javascript; charset=utf-8", ...NO_STORE }));

approvals.post("/open", async (c) => {
  const token = tokenOf(await postedForm(c));
  const session = await readSession(c as unknown as Context, c.env);
  // Log in first; the login comes back to /approve, whose script posts the code kept in this tab.
  if (session === null) return c.html(loginPage(false, APPROVE_PAGE), 401, NO_STORE);
  const answer = await ask(c.env, { op: "view", token_hash: tokenHashOf(token), client: clientAddress(c.req.raw.headers) });
  if (!answer.ok) return c.html(page("Approval link refused", `<h1>Approval link refused</h1><p id="link-error" role="alert" class="error">${escape(answer.error)}</p>`), answer.status as 400, NO_STORE);
  const csrfToken = await csrfTokenFor(c.env.ADMIN_TOKEN, session.value);
  return c.html(page(`Confirm order ${answer.trade_id}`, `
<h1>Confirm this order?</h1>
<p>Trade <strong id="trade-id">${escape(answer.trade_id)}</strong> passed every safety check and waits for your answer until ${escape(answer.expires_at)}.</p>
${readBackList(answer.read_back)}
<form method="post" action="/approve/decide">
<input type="hidden" name="token" value="${escape(token)}">
<input type="hidden" name="csrf" value="${csrfToken}">
<p><button type="submit" name="decision" value="approve" id="approve">Approve and send</button>
<button type="submit" name="decision" value="reject" id="decline">Decline</button></p>
</form>
<p class="hint">Approving runs every check again with a fresh quote before the order goes to Interactive Brokers.</p>`), 200, NO_STORE);
});

approvals.post("/decide", async (c) => {
  const form = await postedForm(c);
  const token = tokenOf(form);
  const session = await readSession(c as unknown as Context, c.env);
  if (session === null) return c.html(loginPage(false, APPROVE_PAGE), 401, NO_STORE);
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
