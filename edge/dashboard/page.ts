// The dashboard's HTML: a login form and the page skeleton. No data is ever put in this markup —
// the client script (app-js.ts) fills every table with DOM APIs and textContent — so hostile
// strategy or metadata text cannot become markup. The only value inserted is the CSRF token,
// which is checked to be hex before it is.

const HEAD = (title: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="stylesheet" href="/dashboard/styles.css">`;

/** Where a login may send the person back to: the approval link's page (edge/dashboard/approval-page.ts), which carries no token. */
export const LOGIN_NEXT = /^\/approve$/;

export function loginPage(failed: boolean, next?: string): string {
  const back = next !== undefined && LOGIN_NEXT.test(next) ? `\n  <input type="hidden" name="next" value="${next}">` : "";
  return `${HEAD("IBKR MCP — dashboard login")}
</head>
<body class="login">
<main>
<h1>IBKR MCP dashboard</h1>
<form method="post" action="/dashboard/login">${back}
  <p><label for="token">Admin token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus></p>
  ${failed ? '<p id="login-error" role="alert" class="error">That admin token is not valid.</p>' : ""}
  <p><button type="submit">Log in</button></p>
</form>
<p class="hint">The admin token is <code>ADMIN_TOKEN</code> (locally in <code>.dev.vars</code>). The session lasts 12 hours.</p>
</main>
</body>
</html>`;
}

export function dashboardPage(csrfToken: string): string {
  if (!/^[0-9a-f]{64}$/.test(csrfToken)) throw new Error("csrf token must be hex");
  return `${HEAD("IBKR MCP — dashboard")}
<meta name="csrf-token" content="${csrfToken}">
<script src="/dashboard/charts.js" defer></script>
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header>
  <h1>IBKR MCP <span id="account-id"></span></h1>
  <p class="status"><span id="live-status" role="status" aria-live="polite">Connecting…</span> · <span class="note">times are New York (ET)</span></p>
  <p class="actor"><label for="actor">Your name (for the audit log)</label> <input id="actor" autocomplete="name" maxlength="60" size="14"></p>
  <form method="post" action="/dashboard/logout" class="logout"><button type="submit">Log out</button> <button type="button" id="logout-everywhere">Log out everywhere</button></form>
</header>
<div id="announcer" class="visually-hidden" aria-live="assertive" role="alert"></div>
<main>
<section id="summary" aria-labelledby="trade-now">
  <h2 class="visually-hidden">At a glance</h2>
  <p id="trade-now" class="headline" aria-live="polite">Loading…</p>
  <ul id="trade-now-why"></ul>
  <dl class="tiles">
    <div><dt>Emergency stop</dt><dd id="sum-stop">—</dd></div>
    <div><dt>Breakers</dt><dd id="sum-breakers">—</dd></div>
    <div><dt>Today's P&amp;L</dt><dd id="sum-pnl">—</dd></div>
    <div><dt>Risk in use</dt><dd id="sum-risk">—</dd></div>
    <div><dt>Account data</dt><dd id="sum-data">—</dd></div>
    <div><dt>Waiting for you</dt><dd id="sum-waiting">—</dd></div>
  </dl>
</section>

<section id="kill-switch" aria-labelledby="kill-heading">
  <h2 id="kill-heading">Emergency stop</h2>
  <p id="estop-state" class="estop-state" aria-live="assertive">Unknown</p>
  <p id="estop-detail"></p>
  <fieldset>
    <legend>When engaging the stop, also</legend>
    <span class="choice"><input type="checkbox" id="estop-cancel"> <label for="estop-cancel">cancel all working orders</label></span>
    <span class="choice"><input type="checkbox" id="estop-close"> <label for="estop-close">close all positions</label></span>
  </fieldset>
  <p class="actions"><button type="button" id="estop-toggle" class="danger">Engage emergency stop</button>
  <button type="button" id="cancel-all">Cancel all working orders</button></p>
</section>

<section id="approvals" aria-labelledby="approvals-heading">
  <h2 id="approvals-heading">Pending approvals</h2>
  <table class="cards"><thead><tr><th scope="col">Trade</th><th scope="col">Symbol</th><th scope="col">Strategy</th><th scope="col">Legs</th><th scope="col">Max risk</th><th scope="col">Net premium</th><th scope="col">Expires</th><th scope="col">Decision</th></tr></thead>
  <tbody id="approvals-body"></tbody></table>
  <p class="toggle">Shadow mode: <strong id="shadow-state">—</strong> <button type="button" id="shadow-toggle">Turn shadow mode on</button></p>
  <p class="toggle">Confirm every order: <strong id="confirm-state">—</strong> <button type="button" id="confirm-toggle">Turn confirm every order on</button></p>
</section>

<section id="health" aria-labelledby="health-heading">
  <h2 id="health-heading">Health</h2>
  <dl>
    <dt>Bridge</dt><dd id="bridge-health">—</dd>
    <dt>TWS</dt><dd id="tws-health">—</dd>
    <dt>Account data age</dt><dd id="data-age">—</dd>
    <dt>Mode</dt><dd id="modes">—</dd>
    <dt>Storage</dt><dd id="storage-health">—</dd>
  </dl>
</section>

<section id="account" aria-labelledby="account-heading">
  <h2 id="account-heading">Account</h2>
  <p id="account-stale" class="stale" hidden></p>
  <dl>
    <dt>Net liquidation</dt><dd id="net-liquidation">—</dd>
    <dt>Cash</dt><dd id="total-cash">—</dd>
    <dt>Buying power</dt><dd id="buying-power">—</dd>
    <dt>Daily P&amp;L</dt><dd id="daily-pnl">—</dd>
    <dt>As of</dt><dd id="account-as-of">—</dd>
  </dl>
</section>

<section id="pnl" aria-labelledby="pnl-heading">
  <h2 id="pnl-heading">Today's P&amp;L</h2>
  <div id="pnl-chart"></div>
</section>

<section id="limits" aria-labelledby="limits-heading">
  <h2 id="limits-heading">Limits</h2>
  <div id="limit-bars"></div>
  <table class="cards"><thead><tr><th scope="col">Limit</th><th scope="col">Value</th><th scope="col">Used</th><th scope="col">Remaining</th><th scope="col">Share used</th></tr></thead>
  <tbody id="limits-body"></tbody></table>
</section>

<section id="breakers" aria-labelledby="breakers-heading">
  <h2 id="breakers-heading">Circuit breakers</h2>
  <table class="cards"><thead><tr><th scope="col">Breaker</th><th scope="col">State</th><th scope="col">Reason</th><th scope="col">Since</th><th scope="col">Action</th></tr></thead>
  <tbody id="breakers-body"></tbody></table>
</section>

<section id="positions" aria-labelledby="positions-heading">
  <h2 id="positions-heading">Positions</h2>
  <p id="positions-stale" class="stale" hidden></p>
  <table class="cards"><thead><tr><th scope="col">Symbol</th><th scope="col">Contract</th><th scope="col">Quantity</th><th scope="col">Avg cost</th><th scope="col">Price</th><th scope="col">Market value</th><th scope="col">Unrealized P&amp;L</th></tr></thead>
  <tbody id="positions-body"></tbody></table>
</section>

<section id="trades" aria-labelledby="trades-heading">
  <h2 id="trades-heading">Trades</h2>
  <form id="trades-filter"><label for="trades-credential">Placed, modified, closed or cancelled by (OAuth client id, MCP_TOKEN or admin)</label> <input id="trades-credential" name="credential"> <button type="submit">Show trades</button></form>
  <div id="trades-list"></div>
</section>

<section id="connected-apps" aria-labelledby="apps-heading">
  <h2 id="apps-heading">Connected apps (OAuth)</h2>
  <table class="cards"><thead><tr><th scope="col">App</th><th scope="col">Scopes</th><th scope="col">Granted</th><th scope="col">Last used</th><th scope="col">Revoke</th></tr></thead>
  <tbody id="apps-body"></tbody></table>
</section>

<section id="audit" aria-labelledby="audit-heading">
  <h2 id="audit-heading">Audit log</h2>
  <details id="audit-panel">
  <summary id="audit-summary">Show the audit log</summary>
  <form id="audit-filter">
    <p><label for="audit-action">Action</label> <input id="audit-action" name="action">
    <label for="audit-actor">Actor</label> <input id="audit-actor" name="actor">
    <label for="audit-credential">Credential</label> <input id="audit-credential" name="credential">
    <button type="submit">Filter</button></p>
    <p><a href="/api/audit/export" download="audit.jsonl">Export JSONL</a>
    <button type="button" id="audit-verify">Verify chain</button>
    <span id="audit-verify-result" role="status" aria-live="polite"></span></p>
  </form>
  <table class="cards audit"><thead><tr><th scope="col">Seq</th><th scope="col">Time</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Details</th></tr></thead>
  <tbody id="audit-body"></tbody></table>
  <p><button type="button" id="audit-more" hidden>Show older rows</button></p>
  </details>
</section>
</main>

<dialog id="confirm-dialog" aria-labelledby="confirm-title">
  <form method="dialog" id="confirm-form">
    <h2 id="confirm-title"></h2>
    <p id="confirm-text"></p>
    <div id="confirm-extra"></div>
    <p><label for="confirm-reason">Reason (required, goes to the audit log)</label><br>
    <textarea id="confirm-reason" required rows="2" maxlength="500"></textarea></p>
    <p><button type="submit" value="ok" id="confirm-ok">Confirm</button> <button type="button" id="confirm-cancel">Cancel</button></p>
  </form>
</dialog>
</body>
</html>`;
}
