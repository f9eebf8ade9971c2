// Issue 24, item 7, through the real Worker (SELF): an approval link's one-time token never sits
// in a URL path or query, where request traces and logs keep it. The confirmation_url carries it
// after `#` (a fragment never leaves the browser); the page's own script (same origin, under the
// CSP) reads it and posts it in a form body; the decision goes in a body too. The old path form
// reveals nothing and does nothing.
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { condorOrder, Edge, FakeBridge } from "./harness";
import { ADMIN, ADMIN_TOKEN, audit, MCP_HEADERS, ORIGIN } from "./oauth-flow";

let bridge: FakeBridge;
let cookie = "";

async function placeAwaiting(center: number): Promise<{ trade_id: string; confirmation_url: string }> {
  const res = await SELF.fetch(`${ORIGIN}/mcp`, { method: "POST", headers: { ...MCP_HEADERS, authorization: "Bearer test-mcp-token" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "place_order", arguments: condorOrder({}, center) } }) });
  const placed = ((await res.json()) as any).result.structuredContent;
  expect(placed.status, JSON.stringify(placed.violations)).toBe("awaiting_confirmation");
  return placed;
}
const form = (body: Record<string, string>, withCookie = true) => ({
  method: "POST", redirect: "manual" as const, headers: { ...(withCookie ? { cookie } : {}), origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(body),
});

beforeAll(async () => {
  bridge = await FakeBridge.connect(new Edge("sim"), { account: 100_000 });
  const login = await SELF.fetch(`${ORIGIN}/dashboard/login`, { method: "POST", redirect: "manual", headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: ADMIN_TOKEN }) });
  cookie = login.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const on = await SELF.fetch(`${ORIGIN}/api/confirm-every-order`, { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify({ on: true, reason: "fragment links" }) });
  expect(on.status).toBe(200);
});

describe("approval link tokens stay out of URLs", () => {
  it("the confirmation_url holds the token after # only: its path and query carry nothing secret", async () => {
    const placed = await placeAwaiting(100);
    const url = new URL(placed.confirmation_url);
    expect(url.origin).toBe(ORIGIN);
    expect(url.pathname).toBe("/approve");
    expect(url.search).toBe("");
    expect(url.hash).toMatch(/^#[A-Za-z0-9_-]{43}$/);
    // Rejected, so its reserved worst case leaves the day's loss room (issue 23 item 5) to the tests below.
    const rejected = await SELF.fetch(`${ORIGIN}/api/approvals/${placed.trade_id}`, { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify({ decision: "reject", reason: "test: done with it" }) });
    expect(rejected.status).toBe(200);
  });

  it("the page reads the fragment with its own script and posts it in a body; the person logs in, reads back, approves", async () => {
    const placed = await placeAwaiting(130);
    const token = new URL(placed.confirmation_url).hash.slice(1);
    // What the browser asks for when the link is opened: the path, never the fragment.
    const shell = await SELF.fetch(`${ORIGIN}/approve`);
    expect(shell.status).toBe(200);
    const shellHtml = await shell.text();
    expect(shellHtml).toContain('<script src="/approve/link.js" defer></script>');
    expect(shellHtml).toContain('<form id="link-form" method="post" action="/approve/open">');
    expect(shell.headers.get("content-security-policy")).toContain("script-src 'self'");
    const script = await (await SELF.fetch(`${ORIGIN}/approve/link.js`)).text();
    for (const part of ["location.hash", "sessionStorage", "history.replaceState", "link-token"]) expect(script).toContain(part);

    // Not logged in: the login form, which comes back to /approve (no token in the address).
    const anonymous = await SELF.fetch(`${ORIGIN}/approve/open`, form({ token }, false));
    expect(anonymous.status).toBe(401);
    const login = await anonymous.text();
    expect(login).toContain('name="next" value="/approve"');
    expect(login).not.toContain(token);

    const page = await SELF.fetch(`${ORIGIN}/approve/open`, form({ token }));
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Worst-case loss (computed from the legs): $400.00");
    expect(html).toContain('<form method="post" action="/approve/decide">');
    const csrf = /name="csrf" value="([0-9a-f]{64})"/.exec(html)![1]!;
    const decided = await SELF.fetch(`${ORIGIN}/approve/decide`, form({ token, decision: "approve", csrf }));
    expect(decided.status).toBe(200);
    const outcome = await decided.text();
    expect(outcome).toContain("Approved and sent");
    // The outcome page's script forgets the code this tab kept.
    expect(outcome).toContain('<script src="/approve/link.js" defer></script>');
    expect(bridge.sent("place").some((r) => r.params.trade_id === placed.trade_id)).toBe(true);
    const again = await SELF.fetch(`${ORIGIN}/approve/decide`, form({ token, decision: "approve", csrf }));
    expect(again.status).toBe(410);
  });

  it("the old form, the token in the path, is not served: 404 without a lookup, an audit row or a change", async () => {
    const placed = await placeAwaiting(160);
    // Wherever the link carries it (the old form had it as the path's last segment).
    const url = new URL(placed.confirmation_url);
    const token = url.hash.slice(1) || url.pathname.split("/").at(-1)!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const before = (await audit("approval_link_opened")).length + (await audit("approval_link_refused")).length;
    for (const method of ["GET", "POST"]) {
      const res = await SELF.fetch(`${ORIGIN}/approve/${token}`, { method, headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" }, ...(method === "POST" ? { body: "decision=approve" } : {}) });
      expect(res.status, method).toBe(404);
      expect(await res.text()).not.toContain("Confirm this order");
    }
    expect((await audit("approval_link_opened")).length + (await audit("approval_link_refused")).length).toBe(before);
    expect(bridge.sent("place").some((r) => r.params.trade_id === placed.trade_id)).toBe(false);
  });
});
