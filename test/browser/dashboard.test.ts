// The dashboard in a real browser (the Chromium from npm, via playwright-core) against the real stack:
// log in, see health and limits, turn shadow mode on, watch an agent's order with a hostile
// strategy and metadata arrive live and render as inert text, approve it, and flip the kill switch.
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestStack, startTestStack, waitUntil } from "../e2e/harness";
import { ironCondor } from "../e2e/scenario";
import { type DashboardBrowser, openDashboardBrowser, SHOTS } from "./chromium";

const HOSTILE_STRATEGY = "<img src=x onerror=window.__pwned=1>";
const HOSTILE_NOTE = '"><script>window.__pwned=2</script><img src=x onerror="window.__pwned=3;alert(1)">';

let t: TestStack;
let browser: DashboardBrowser;
let page: Page;

beforeAll(async () => {
  t = await startTestStack("browser");
  browser = await openDashboardBrowser();
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

const confirmDialog = (reason: string, extraChecks = 0) => browser.confirm(reason, extraChecks);

describe("dashboard in Chromium", () => {
  it("logs in with the admin token and shows health, account and limits", async () => {
    const first = await page.goto(t.stack.dashboardUrl);
    expect(first?.headers()["content-security-policy"]).toContain("script-src 'self'");
    await page.getByLabel("Admin token").fill(t.secrets.ADMIN_TOKEN);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForSelector("body[data-loaded=true]");
    await page.waitForSelector("body[data-live=true]");
    const cookies = await browser.context.cookies();
    const session = cookies.find((c) => c.name === "ibkr_dashboard");
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe("Strict");
    expect(session?.value).not.toContain(t.secrets.ADMIN_TOKEN);

    await expect.poll(() => page.locator("#bridge-health").textContent()).toMatch(/^connected since/);
    await expect.poll(() => page.locator("#tws-health").textContent()).toMatch(/^connected/);
    expect(await page.locator("#net-liquidation").textContent()).toMatch(/^\$[\d,]+\.\d\d$/);
    const limitNames = await page.locator("#limits-body tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-limit")));
    expect(limitNames.length).toBeGreaterThanOrEqual(5);
    expect(await page.locator("#estop-state").textContent()).toContain("off");
    await page.screenshot({ path: join(SHOTS, "01-overview.png"), fullPage: true });
  });

  it("shows a hostile strategy and metadata as text, live, and approves it in shadow mode", async () => {
    await page.locator("#actor").fill("browser-test");
    await page.locator("#actor").dispatchEvent("change");
    await page.getByRole("button", { name: "Turn shadow mode on" }).click();
    await confirmDialog("browser test: review every order");
    await expect.poll(() => page.locator("#shadow-state").textContent()).toMatch(/^on/);

    const order = await ironCondor(t.mcp, "SPY", { width: 3, pricing: "touch", strategy: HOSTILE_STRATEGY, metadata: { note: HOSTILE_NOTE } });
    const placedAt = Date.now();
    const placed = await t.mcp.tool<{ trade_id: string; status: string }>("place_order", order);
    expect(placed.isError, placed.text).toBe(false);
    expect(placed.structured.status).toBe("PendingApproval");
    const tradeId = placed.structured.trade_id;

    // No reload: the row arrives over the /api/live WebSocket.
    const row = page.locator(`#approvals-body tr[data-trade-id="${tradeId}"]`);
    await row.waitFor({ timeout: 10_000 });
    // The Durable Object pushed "changed" over the socket after the order was recorded.
    expect(browser.liveFrames.some((f) => f.at >= placedAt)).toBe(true);
    expect(await row.locator("td").nth(2).textContent()).toBe(HOSTILE_STRATEGY);
    expect(await page.locator("main img").count()).toBe(0);
    // The metadata reaches the page through the audit log, as text.
    await expect.poll(async () => (await page.locator("#audit-body").textContent()) ?? "", { timeout: 20_000 }).toContain("window.__pwned=3");
    expect(await page.locator("#audit-body img, #audit-body script").count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, "02-pending-approval.png"), fullPage: true });

    await row.getByRole("button", { name: `Approve ${tradeId}` }).click();
    await confirmDialog("browser test: approved after review");
    await row.waitFor({ state: "detached", timeout: 20_000 });
    await waitUntil("the approved order at the simulator", async () => (await t.simState()).orders.some((o) => o.orderRef === tradeId), 20_000);
    const trade = page.locator(`#trades-list details[data-trade-id="${tradeId}"]`);
    await expect.poll(() => trade.locator("summary").textContent(), { timeout: 20_000 }).toContain(HOSTILE_STRATEGY);
    // Its order and its four leg fills, as the simulator has them.
    await trade.locator("summary").click();
    await expect.poll(() => trade.locator("table").first().locator("tr td:nth-child(2)").allTextContents(), { timeout: 20_000 }).toContain("Filled");
    const simFills = (await t.simState()).executions.filter((e) => e.orderRef === tradeId).map((e) => e.execId).sort();
    expect(simFills).toHaveLength(4);
    await expect.poll(async () => (await trade.locator("table").nth(1).locator("tr td:nth-child(1)").allTextContents()).sort(), { timeout: 20_000 }).toEqual(simFills);
    expect(await trade.getAttribute("open")).not.toBeNull();
  });

  it("flips the kill switch with its confirmations, and the edge refuses the next order", async () => {
    await page.locator("#estop-cancel").check();
    await page.getByRole("button", { name: "Engage emergency stop" }).click();
    await expect.poll(() => page.locator("#confirm-extra label").allTextContents()).toEqual(["Yes, also cancel every working order at IBKR"]);
    // The confirmation box is required: confirming without it keeps the dialog open.
    await page.locator("#confirm-reason").fill("browser test: stop everything");
    await page.locator("#confirm-ok").click();
    expect(await page.locator("#confirm-dialog").isVisible()).toBe(true);
    await confirmDialog("browser test: stop everything", 1);
    await expect.poll(() => page.locator("#estop-state").textContent()).toContain("EMERGENCY STOP IS ON");
    expect(await page.locator("#estop-detail").textContent()).toContain("browser-test");
    await page.screenshot({ path: join(SHOTS, "03-emergency-stop.png"), fullPage: true });

    const state = (await (await t.stack.admin("/api/state")).json()) as { emergency_stop: { on: boolean; by: string | null } };
    expect(state.emergency_stop).toMatchObject({ on: true, by: "browser-test" });
    const refused = await t.mcp.tool("place_order", await ironCondor(t.mcp, "QQQ", { width: 3, pricing: "touch" }));
    expect(refused.isError).toBe(true);

    await page.getByRole("button", { name: "Release emergency stop" }).click();
    await confirmDialog("browser test: all clear");
    await expect.poll(() => page.locator("#estop-state").textContent()).toContain("off");
  });

  it("is keyboard usable: the kill switch is reachable by Tab, Enter opens its dialog, Escape backs out", async () => {
    await page.locator("#actor").focus();
    let focused = "";
    // The summary tiles above the kill switch are links, and how many depends on what is waiting
    // (a lost trade makes "Waiting for you" one more): bound the walk by the page, not a guess.
    const stops = (await page.evaluate("document.querySelectorAll('a[href], button, input, select, textarea, summary').length")) as number;
    for (let i = 0; i < stops && focused !== "estop-toggle"; i++) {
      await page.keyboard.press("Tab");
      focused = await page.evaluate("document.activeElement && document.activeElement.id");
    }
    expect(focused).toBe("estop-toggle");
    await page.keyboard.press("Enter");
    await page.locator("#confirm-dialog").waitFor({ state: "visible" });
    expect(await page.evaluate("document.activeElement.id")).toBe("confirm-reason");
    await page.keyboard.press("Escape");
    await page.locator("#confirm-dialog").waitFor({ state: "hidden" });
    expect(await page.locator("#estop-state").textContent()).toContain("off");
  });

  it("filters the audit log by action", async () => {
    // Folded away until asked for (a day's log is thousands of rows).
    expect(await page.locator("#audit-panel").getAttribute("open")).toBeNull();
    await page.locator("#audit-panel > summary").click();
    await page.locator("#audit-action").fill("emergency_stop_set");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => page.locator("#audit-body tr td:nth-child(4)").allTextContents()).toEqual(["emergency_stop_set"]);
    await page.locator("#audit-action").fill("");
    await page.getByRole("button", { name: "Filter" }).click();
    // The export link, fetched with the page's own cookie: one JSON audit row per line.
    const href = await page.locator('a[download="audit.jsonl"]').evaluate((a) => (a as unknown as { href: string }).href);
    const exported = await page.evaluate(async (url) => {
      const res = await fetch(url, { credentials: "same-origin" });
      return { status: res.status, text: await res.text() };
    }, href);
    expect(exported.status).toBe(200);
    const rows = exported.text.trim().split("\n").map((line) => JSON.parse(line) as { seq: number; action: string });
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    expect(rows.map((r) => r.action)).toContain("emergency_stop_set");
  });

  it("names who acted on each trade and filters the trades and the audit log by credential (issue 24)", async () => {
    // The shadow-mode order above was placed by the test's MCP client with the static token.
    await expect.poll(() => page.locator("#trades-list p.acts").allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining("placed by static MCP_TOKEN")]));
    await page.locator("#trades-credential").fill("no-such-client");
    await page.getByRole("button", { name: "Show trades" }).click();
    await expect.poll(() => page.locator("#trades-list").textContent()).toContain("No trades yet");
    await page.locator("#trades-credential").fill("MCP_TOKEN");
    await page.getByRole("button", { name: "Show trades" }).click();
    await expect.poll(() => page.locator("#trades-list p.acts").count()).toBeGreaterThan(0);
    await page.locator("#audit-credential").fill("MCP_TOKEN");
    await page.getByRole("button", { name: "Filter", exact: true }).click();
    await expect.poll(() => page.locator("#audit-body tr td:nth-child(4)").allTextContents()).toContain("tool_call");
    const details = await page.locator("#audit-body tr td:nth-child(5)").allTextContents();
    expect(details.length).toBeGreaterThan(0);
    expect(details.every((d) => d.includes('"id":"MCP_TOKEN"'))).toBe(true);
    await page.locator("#audit-credential").fill("");
    await page.getByRole("button", { name: "Filter", exact: true }).click();
  });

  it("ran no injected script and raised no dialog, page error or CSP violation", async () => {
    expect(await page.evaluate("typeof window.__pwned")).toBe("undefined");
    expect(browser.dialogs).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
    expect(browser.consoleErrors.filter((text) => /Content Security Policy|Refused to/i.test(text))).toEqual([]);
  });
});
