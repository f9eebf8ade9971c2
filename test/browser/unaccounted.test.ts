// An order nobody can account for, in a real browser against the real stack (issue 16): two
// resting orders, then TWS restarts without them while the bridge is away; the dashboard shows each
// as "unaccounted" with its risk kept, and a person settles one as cancelled and the other as
// filled at a price they enter (the price is required), each with a reason — audited, and the
// ledger follows (risk released / trade open).
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { longOption, quotedOptions, type SimChain } from "../e2e/faults";
import { type TestStack, startTestStack, waitUntil } from "../e2e/harness";
import { waitOrderStatus } from "../e2e/scenario";
import { type DashboardBrowser, openDashboardBrowser, SHOTS } from "./chromium";

let t: TestStack;
let browser: DashboardBrowser;
let page: Page;

beforeAll(async () => {
  t = await startTestStack("browser-unaccounted");
  browser = await openDashboardBrowser();
  page = browser.page;
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

interface ViewTrade { trade_id: string; state: string; orders: { status: string; unaccounted: boolean; reason: string | null }[]; fills: unknown[] }
const tradeOf = async (id: string) => ((await (await t.stack.admin("/api/state")).json()) as { trades: ViewTrade[] }).trades.find((x) => x.trade_id === id)!;

describe("unaccounted orders on the dashboard", () => {
  it("shows orders TWS lost as unaccounted and settles them by hand, with a reason and (for a fill) a price", async () => {
    const chain = (await t.stack.simControl("/chain")) as Record<string, SimChain>;
    const options = await quotedOptions(t.mcp, chain.SPY!, "SPY", "C", 2);
    const ids: string[] = [];
    for (const q of options) {
      const placed = await t.mcp.tool<{ trade_id: string; order_id: number }>("place_order", longOption(q));
      expect(placed.isError, placed.text).toBe(false);
      await waitOrderStatus(t.mcp, placed.structured.order_id, ["Submitted"]);
      ids.push(placed.structured.trade_id);
    }
    await t.stack.stopBridge();
    await t.stack.simControl("/fault", { name: "restartTws" });
    await t.stack.startBridge();
    await t.stack.waitBridgeLinked(60_000);
    await waitUntil("both orders to be unaccounted", async () => (await Promise.all(ids.map(tradeOf))).every((x) => x.orders[0]?.unaccounted), 30_000);

    await browser.login(t.stack.dashboardUrl, t.secrets.ADMIN_TOKEN);
    await page.locator("#actor").fill("browser-ops");
    await page.locator("#actor").dispatchEvent("change");
    const [cancelId, fillId] = ids as [string, string];

    const cancelBox = page.locator(`#trades-list details[data-trade-id="${cancelId}"]`);
    await cancelBox.locator("summary").click();
    await expect.poll(() => cancelBox.locator("table").first().textContent()).toContain("unaccounted since");
    await cancelBox.locator(`p[data-unaccounted="${cancelId}"] button[data-settle="cancelled"]`).click();
    await browser.confirm("TWS restarted; the order is not at TWS any more");
    await waitUntil("the cancelled settlement", async () => (await tradeOf(cancelId)).state === "cancelled", 20_000);
    expect((await tradeOf(cancelId)).orders[0]!.reason).toMatch(/settled by browser-ops: TWS restarted/);

    const fillBox = page.locator(`#trades-list details[data-trade-id="${fillId}"]`);
    await fillBox.locator("summary").click();
    await fillBox.locator(`p[data-unaccounted="${fillId}"] button[data-settle="filled"]`).click();
    await page.locator("#confirm-dialog").waitFor({ state: "visible" });
    // The price is required: confirming without it keeps the dialog open and changes nothing.
    await page.locator("#confirm-reason").fill("the statement shows a fill");
    await page.locator("#confirm-ok").click();
    expect(await page.locator("#confirm-dialog").isVisible()).toBe(true);
    expect((await tradeOf(fillId)).state).toBe("working");
    await page.locator("#confirm-price").fill(String(options[1]!.mid));
    await page.locator("#confirm-ok").click();
    await page.locator("#confirm-dialog").waitFor({ state: "hidden" });
    await waitUntil("the filled settlement", async () => (await tradeOf(fillId)).state === "open", 20_000);
    expect((await tradeOf(fillId)).orders[0]).toMatchObject({ status: "Filled", unaccounted: false });
    await expect.poll(() => fillBox.locator("table").first().textContent(), { timeout: 20_000 }).toContain("Filled");
    expect(await page.locator("[data-unaccounted]").count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, "unaccounted-settled.png"), fullPage: true });

    const audit = (await (await t.stack.admin("/api/audit?action=order_settled_by_admin")).json()) as { rows: { details_json: string }[] };
    expect(audit.rows.map((r) => JSON.parse(r.details_json)).map((d) => [d.order_ref, d.as, d.by])).toEqual([[cancelId, "cancelled", "browser-ops"], [fillId, "filled", "browser-ops"]]);
    expect(browser.pageErrors).toEqual([]);
  });
});
