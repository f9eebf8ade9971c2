// The circuit-breaker panel in Chromium against the real stack: five losing round trips (opened
// and closed at the natural price) trip the consecutive-losses breaker, the page shows it with its
// reason, and its Reset button asks for a reason and clears it (audited with who and why).
// Its own stack, so the order-rate limit is this file's alone; the test clocks skip its minutes.
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestStack, startTestStack, waitUntil } from "../e2e/harness";
import { ironCondor, waitOrderStatus } from "../e2e/scenario";
import { type DashboardBrowser, openDashboardBrowser, SHOTS } from "./chromium";

let t: TestStack;
let browser: DashboardBrowser;
let page: Page;

beforeAll(async () => {
  t = await startTestStack("browser-breaker");
  browser = await openDashboardBrowser();
  page = browser.page;
  await browser.login(t.stack.dashboardUrl, t.secrets.ADMIN_TOKEN);
  await page.locator("#actor").fill("browser-test");
  await page.locator("#actor").dispatchEvent("change");
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe("circuit breakers in Chromium", () => {
  it("shows a tripped consecutive-losses breaker with its reason and resets it with a reason", { timeout: 180_000 }, async () => {
    expect(await page.locator('#breakers-body tr[data-breaker="consecutive_losses"] td').nth(1).textContent()).toBe("ok");
    // Five round trips, each opened and closed at the natural price: five small losses in a row.
    for (let i = 0; i < 5; i++) {
      const order = await ironCondor(t.mcp, "SPY", { width: 3, pricing: "touch" });
      let placed: { isError: boolean; text: string; structured: { trade_id: string; order_id: number; violations?: { check: string }[] } } | null = null;
      // The order-rate limit (5 orders of any kind a minute before an opening one) paces this loop:
      // rather than wait the minute out, both clocks move past it (and the account data catches up).
      await waitUntil(`round trip ${i + 1} to be accepted`, async () => {
        placed = await t.mcp.tool<{ trade_id: string; order_id: number; violations?: { check: string }[] }>("place_order", order);
        if (!placed.isError) return true;
        if (!placed.structured.violations?.every((v) => v.check === "order_rate" || v.check === "stale_data")) throw new Error(placed.text);
        if (placed.structured.violations.some((v) => v.check === "order_rate")) await t.stack.moveClock(61_000);
        return false;
      }, 60_000, 1_000);
      const opened = placed!.structured;
      await waitOrderStatus(t.mcp, opened.order_id, ["Filled"]);
      const closed = await t.mcp.tool<{ close_order_id: number }>("close_position", { trade_id: opened.trade_id });
      expect(closed.isError, closed.text).toBe(false);
      await waitOrderStatus(t.mcp, closed.structured.close_order_id, ["Filled"]);
    }
    const row = page.locator('#breakers-body tr[data-breaker="consecutive_losses"]');
    await expect.poll(() => row.locator("td").nth(1).textContent(), { timeout: 20_000 }).toBe("TRIPPED");
    expect(await row.locator("td").nth(2).textContent()).toMatch(/5 losing trades in a row/);
    await page.locator("#breakers").screenshot({ path: join(SHOTS, "04-breaker-tripped.png") });

    await row.getByRole("button", { name: "Reset consecutive losses" }).click();
    await browser.confirm("browser test: reviewed the losing streak");
    await expect.poll(() => row.locator("td").nth(1).textContent(), { timeout: 20_000 }).toBe("ok");
    const audit = (await (await t.stack.admin("/api/audit?action=breaker_reset")).json()) as { rows: { actor: string; details_json: string }[] };
    expect(audit.rows.some((r) => r.details_json.includes("browser test: reviewed the losing streak") && r.details_json.includes("browser-test"))).toBe(true);
  });

  it("raised no dialog, page error or CSP violation", () => {
    expect(browser.dialogs).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
    expect(browser.consoleErrors.filter((text) => /Content Security Policy|Refused to/i.test(text))).toEqual([]);
  });
});
