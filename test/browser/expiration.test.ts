// Expiry day and expiration on the dashboard, in a real browser against the real stack (issue 16):
// a filled iron condor on its expiry day with the underlying a dollar above its short call is
// shown as PIN RISK with the minutes left (by TWS's clock); past the close TWS assigns the short
// call and lets the rest lapse, and the dashboard tells each leg's end, marks the delivered stock,
// lists the short stock with its unbounded risk and shows the assignment breaker tripped until a
// person resets it there, with a reason.
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionClose } from "../tws-sim/orders";
import { simNow, type TestStack, startTestStack, waitUntil } from "../e2e/harness";
import { ironCondor, waitOrderStatus } from "../e2e/scenario";
import { type DashboardBrowser, openDashboardBrowser, SHOTS } from "./chromium";

let t: TestStack;
let browser: DashboardBrowser;
let page: Page;

beforeAll(async () => {
  // The heartbeat (reqCurrentTime) is how the bridge learns TWS's clock.
  t = await startTestStack("browser-expiration", { bridgeEnv: { BRIDGE_TWS_HEARTBEAT_MS: "500" } });
  browser = await openDashboardBrowser();
  page = browser.page;
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

type StateView = { trades: { trade_id: string; state: string }[]; breakers: { name: string; tripped: boolean }[] };
const state = async () => (await (await t.stack.admin("/api/state")).json()) as StateView;

describe("expiration on the dashboard", () => {
  it("flags pin risk on expiry day, then shows each leg's end, the assigned short stock with its risk, and the breaker a person resets", async () => {
    const condor = await ironCondor(t.mcp, "SPY", { pricing: "touch" });
    const placed = await t.mcp.tool<{ trade_id: string; order_id: number }>("place_order", condor);
    expect(placed.isError, placed.text).toBe(false);
    const tradeId = placed.structured.trade_id;
    await waitOrderStatus(t.mcp, placed.structured.order_id, ["Filled"]);
    await waitUntil("the trade to be open", async () => (await state()).trades.find((x) => x.trade_id === tradeId)?.state === "open", 20_000);

    const shortCall = condor.legs.map((l) => ({ action: l.action, c: l.contract as { strike: number; expiry: string; right: string } })).find((l) => l.action === "SELL" && l.c.right === "C")!.c;
    await t.stack.simControl("/price", { symbol: "SPY", price: shortCall.strike + 1 });
    const [y, m, d] = shortCall.expiry.split("-").map(Number) as [number, number, number];
    const close = sessionClose(Date.UTC(y, m - 1, d, 15));
    await t.stack.simControl("/clock", { advance_ms: close - 90 * 60_000 - (await simNow(t.stack)) });
    await waitUntil("the expiry-day flag", async () => ((await t.mcp.tool<{ expiry_day?: unknown[] }>("get_safety_status", {})).structured.expiry_day ?? []).length > 0, 20_000, 300);

    await browser.login(t.stack.dashboardUrl, t.secrets.ADMIN_TOKEN);
    await page.locator("#actor").fill("browser-ops");
    await page.locator("#actor").dispatchEvent("change");
    const box = page.locator(`#trades-list details[data-trade-id="${tradeId}"]`);
    await expect.poll(() => box.locator("summary").textContent(), { timeout: 20_000 }).toMatch(/PIN RISK, (89|90|91) min left/);
    await box.locator("summary").click();
    await expect.poll(() => box.locator(`p[data-expiry-day="${tradeId}"]`).textContent()).toMatch(/close_position/);
    await page.screenshot({ path: join(SHOTS, "expiry-day-pin-risk.png"), fullPage: true });

    // Past the close: TWS assigns the short call and lets the other legs lapse.
    await t.stack.simControl("/clock", { advance_ms: close + 60_000 - (await simNow(t.stack)) });
    await waitUntil("the expired trade to close", async () => (await state()).trades.find((x) => x.trade_id === tradeId)?.state === "closed", 30_000, 300);
    await expect.poll(() => box.locator("summary").textContent(), { timeout: 20_000 }).toMatch(/— closed —/);
    if (!(await box.evaluate((node) => (node as unknown as { open: boolean }).open))) await box.locator("summary").click();
    const ends = box.locator(`ul[data-leg-ends="${tradeId}"] li`);
    await expect.poll(async () => (await ends.evaluateAll((lis) => lis.map((li) => (li as unknown as { dataset: Record<string, string> }).dataset.outcome))).sort(), { timeout: 20_000 }).toEqual(["assigned", "lapsed", "lapsed", "lapsed"]);
    expect(await box.locator(`ul[data-leg-ends="${tradeId}"] li.bad`).textContent()).toContain(`SELL 1 SPY ${shortCall.expiry} ${shortCall.strike}C: ASSIGNED into stock`);
    await expect.poll(() => box.locator("table").nth(1).textContent()).toContain("stock delivered (not in this trade's P&L)");

    // The short stock the assignment left, with its risk; the breaker tripped.
    await expect.poll(() => page.locator("#positions-body").textContent(), { timeout: 20_000 }).toMatch(/STK — UNBOUNDED RISK: short stock/);
    expect(await page.locator("#positions-body").textContent()).toContain("-100");
    const breakerRow = page.locator('#breakers-body tr[data-breaker="assignment"]');
    await expect.poll(() => breakerRow.textContent(), { timeout: 20_000 }).toContain("TRIPPED");
    await page.screenshot({ path: join(SHOTS, "expiration-assigned.png"), fullPage: true });

    // A person resets it, with a reason; the stock stays listed with its risk.
    await breakerRow.getByRole("button", { name: "Reset assignment" }).click();
    await browser.confirm("buying the 100 SPY shares back in TWS");
    await waitUntil("the breaker reset", async () => (await state()).breakers.find((b) => b.name === "assignment")?.tripped === false, 20_000);
    await expect.poll(() => breakerRow.textContent(), { timeout: 20_000 }).not.toContain("TRIPPED");
    const { rows } = (await (await t.stack.admin("/api/audit?action=breaker_reset")).json()) as { rows: { details_json: string }[] };
    const reset = rows.map((r) => JSON.parse(r.details_json) as Record<string, unknown>).find((r) => r.breaker === "assignment");
    expect(JSON.stringify(reset)).toMatch(/browser-ops/);
    expect(JSON.stringify(reset)).toMatch(/buying the 100 SPY shares back/);
    expect(await page.locator("#positions-body").textContent()).toMatch(/UNBOUNDED RISK/);
  });
});
