// The dashboard as a trader's cockpit (issue 25), in Chromium against the real stack, on a phone
// (390×844, mobile emulation) and a desk (1440 wide): with an open condor, an order TWS lost
// (unaccounted), an order waiting for approval and the audit log behind it, nothing is wider than
// the screen and every action button is on it; the summary strip says whether orders can be
// placed and why not; fills name their leg, premiums say credit or debit, times are New York time
// labelled ET; the payoff picture's ticks are round and its breakeven labels clear of their lines;
// with the bridge gone the figures are marked stale. Screenshots of both widths are kept.
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { longOption, quotedOptions, type SimChain } from "../e2e/faults";
import { type TestStack, startTestStack, waitUntil } from "../e2e/harness";
import { ironCondor, waitOrderStatus } from "../e2e/scenario";
import { type DashboardBrowser, openDashboardBrowser, SHOTS } from "./chromium";

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 3 };
const DESK = { viewport: { width: 1440, height: 900 } };

let t: TestStack;
const browsers: DashboardBrowser[] = [];
let condorId = "";
let lostId = "";
let waitingId = "";

beforeAll(async () => {
  t = await startTestStack("browser-cockpit");
  // A condor that fills: its payoff picture, its orders and its leg fills.
  const placed = await t.mcp.tool<{ trade_id: string; order_id: number }>("place_order", await ironCondor(t.mcp, "SPY", { width: 3, pricing: "touch" }));
  if (placed.isError) throw new Error(placed.text);
  condorId = placed.structured.trade_id;
  await waitOrderStatus(t.mcp, placed.structured.order_id, ["Filled"]);
  // A resting order TWS then loses (restarted while the bridge was away): unaccounted, with its settle buttons.
  const chain = (await t.stack.simControl("/chain")) as Record<string, SimChain>;
  const [option] = await quotedOptions(t.mcp, chain.SPY!, "SPY", "C", 1);
  const resting = await t.mcp.tool<{ trade_id: string; order_id: number }>("place_order", longOption(option!));
  if (resting.isError) throw new Error(resting.text);
  lostId = resting.structured.trade_id;
  await waitOrderStatus(t.mcp, resting.structured.order_id, ["Submitted"]);
  await t.stack.stopBridge();
  await t.stack.simControl("/fault", { name: "restartTws" });
  await t.stack.startBridge();
  await t.stack.waitBridgeLinked(60_000);
  const stateOf = async () => (await (await t.stack.admin("/api/state")).json()) as { trades: { trade_id: string; orders: { unaccounted: boolean }[] }[] };
  await waitUntil("the resting order to be unaccounted", async () => (await stateOf()).trades.find((x) => x.trade_id === lostId)?.orders[0]?.unaccounted === true, 30_000);
  // Shadow mode on, and an order waiting for approval.
  expect((await t.stack.admin("/api/shadow-mode", { on: true, reason: "cockpit test", by: "test" })).status).toBe(200);
  const waiting = await t.mcp.tool<{ trade_id: string; status: string }>("place_order", await ironCondor(t.mcp, "QQQ", { width: 3, pricing: "touch" }));
  if (waiting.isError) throw new Error(waiting.text);
  waitingId = waiting.structured.trade_id;
}, 240_000);

afterAll(async () => {
  for (const b of browsers) await b.close();
  await t?.stop();
});

async function open(screen: typeof PHONE | typeof DESK): Promise<DashboardBrowser> {
  const browser = await openDashboardBrowser(screen);
  browsers.push(browser);
  await browser.login(t.stack.dashboardUrl, t.secrets.ADMIN_TOKEN);
  await browser.page.locator(`#approvals-body tr[data-trade-id="${waitingId}"]`).waitFor({ timeout: 20_000 });
  return browser;
}

/** Every trade's details opened, so what they hold is measured too. */
async function openTrades(page: Page): Promise<void> {
  for (const box of await page.locator("#trades-list > details").all()) if ((await box.getAttribute("open")) === null) await box.locator("> summary").click();
}

/** What sticks out sideways: the page's scroll width, and each visible element whose box leaves the viewport. */
interface Overflow { scrollWidth: number; innerWidth: number; outside: string[] }
const OVERFLOW = `(() => {
  const doc = document.documentElement;
  const width = window.innerWidth;
  const out = [];
  for (const node of Array.from(document.querySelectorAll("body *"))) {
    const box = node.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (box.left < -0.5 || box.right > width + 0.5) out.push(node.tagName.toLowerCase() + (node.id ? "#" + node.id : "") + "." + node.className + " " + Math.round(box.left) + ".." + Math.round(box.right));
  }
  return { scrollWidth: Math.max(doc.scrollWidth, document.body.scrollWidth), innerWidth: width, outside: out.slice(0, 10) };
})()`;
const overflow = (page: Page) => page.evaluate(OVERFLOW) as Promise<Overflow>;
const toTop = (page: Page) => page.evaluate("window.scrollTo(0, 0)");

/** Every visible button's box, after scrolling it into view: it must lie wholly within the screen's width and height. */
async function buttonsOffScreen(page: Page): Promise<string[]> {
  const off: string[] = [];
  const { width, height } = page.viewportSize()!;
  const buttons = await page.locator("button:visible").all();
  expect(buttons.length).toBeGreaterThan(8);
  for (const button of buttons) {
    await button.scrollIntoViewIfNeeded();
    const box = await button.boundingBox();
    const name = (await button.getAttribute("aria-label")) ?? (await button.textContent()) ?? "?";
    if (!box || box.x < 0 || box.y < 0 || box.x + box.width > width + 0.5 || box.y + box.height > height + 0.5 || box.width < 24 || box.height < 24) off.push(`${name.trim()} ${JSON.stringify(box)}`);
  }
  return off;
}

const NY = new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
function nyTime(iso: string): string {
  const p = Object.fromEntries(NY.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ET`;
}

describe("the dashboard as a trader's cockpit", () => {
  for (const [name, screen] of [["phone 390×844", PHONE], ["desk 1440", DESK]] as const) {
    it(`${name}: nothing sideways, every action button on screen, the summary strip first`, async () => {
      const { page } = await open(screen);
      // Before anything is opened: the audit log is folded away, not thousands of pixels.
      expect(await page.locator("#audit-panel").getAttribute("open")).toBeNull();
      expect((await page.locator("#audit").boundingBox())!.height).toBeLessThan(160);
      // The strip says whether orders can be placed, and the waiting approval and the lost order.
      await expect.poll(() => page.locator("#trade-now").textContent()).toMatch(/^Orders can be placed now — each waits for approval here \(shadow mode\)$/);
      expect(await page.locator("#sum-waiting").textContent()).toBe("1 approval, 1 unaccounted order");
      expect(await page.locator("#sum-stop").textContent()).toBe("off");
      expect(await page.locator("#sum-data").textContent()).toBe("live");
      const tag = screen === PHONE ? "phone-390" : "desk-1440";
      await page.screenshot({ path: join(SHOTS, `21-cockpit-${tag}-first-screen.png`) });
      // It is the first thing on the page, and the emergency stop button is on the first screen.
      const strip = (await page.locator("#summary").boundingBox())!;
      expect(strip.y).toBeLessThan(screen.viewport.height / 2);
      await toTop(page);
      const stop = (await page.locator("#estop-toggle").boundingBox())!;
      expect(stop.y + stop.height).toBeLessThanOrEqual(screen.viewport.height);

      await openTrades(page);
      await page.locator("#audit-panel > summary").click();
      await page.locator("#audit-body tr").first().waitFor();
      const sideways = await overflow(page);
      expect(sideways.outside, JSON.stringify(sideways)).toEqual([]);
      expect(sideways.scrollWidth).toBeLessThanOrEqual(sideways.innerWidth);
      // Approve, Reject, the stop, cancel-all, the toggles, settle-as, audit's… all within reach.
      const names = await page.locator("button:visible").allTextContents();
      for (const needed of ["Approve", "Reject", "Engage emergency stop", "Cancel all working orders", "Settle as cancelled", "Settle as filled…", "Filter", "Verify chain", "Turn shadow mode off"])
        expect(names.map((n) => n.trim()), needed).toContain(needed);
      expect(await buttonsOffScreen(page)).toEqual([]);
      // The confirm dialog too: the reason box and both buttons fit.
      await page.getByRole("button", { name: `Approve ${waitingId}` }).click();
      await page.locator("#confirm-dialog").waitFor({ state: "visible" });
      for (const id of ["#confirm-reason", "#confirm-ok", "#confirm-cancel"]) {
        const box = (await page.locator(id).boundingBox())!;
        expect(box.x, id).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width, id).toBeLessThanOrEqual(screen.viewport.width);
      }
      await page.locator("#confirm-cancel").click();
      await page.locator("#confirm-dialog").waitFor({ state: "hidden" });
      await toTop(page);
      await page.screenshot({ path: join(SHOTS, `20-cockpit-${tag}.png`), fullPage: true });
      // Each part on its own too, readable at full size (a 16,000 px page does not fit a review).
      for (const [part, selector] of [["approvals", "#approvals"], ["condor", `#trades-list details[data-trade-id="${condorId}"]`], ["lost-order", `#trades-list details[data-trade-id="${lostId}"]`], ["limits", "#limits"], ["health-account", "#health"]] as const)
        await page.locator(selector).screenshot({ path: join(SHOTS, `24-cockpit-${tag}-${part}.png`) });
      await toTop(page); // boxes are measured from the viewport: at the top, that is the page
      const audit = (await page.locator("#audit").boundingBox())!;
      await page.screenshot({ path: join(SHOTS, `24-cockpit-${tag}-audit.png`), fullPage: true, clip: { x: 0, y: audit.y, width: screen.viewport.width, height: Math.min(audit.height, 1600) } });
      const height = await page.evaluate("document.documentElement.scrollHeight");
      console.log(`cockpit ${tag}: page ${height} px tall with every trade and the audit log open`);
    });
  }

  it("fills name their leg, premiums say credit or debit, and times are New York time labelled ET", async () => {
    const { page } = browsers[0]!;
    const state = (await (await t.stack.admin("/api/state")).json()) as { trades: { trade_id: string; created_at: string; fills: { exec_id: string; time: string }[] }[] };
    const condor = state.trades.find((x) => x.trade_id === condorId)!;
    const box = page.locator(`#trades-list details[data-trade-id="${condorId}"]`);
    // Four leg fills, each naming its contract, its price a credit (sold) or a debit (bought), its time in ET.
    const rows = box.locator("table").nth(1).locator("tr:not(.head)");
    await expect.poll(() => rows.count()).toBe(4);
    for (const r of await rows.all()) {
      const cells = await r.locator("td").allTextContents();
      expect(cells[1]).toMatch(/^SPY \d{4}-\d{2}-\d{2} \d+(\.\d+)?[CP]$/);
      expect(cells[4]).toMatch(cells[2] === "BOT" ? /^\d+\.\d\d debit$/ : /^\d+\.\d\d credit$/);
      const fill = condor.fills.find((f) => f.exec_id === cells[0])!;
      expect(cells[6]).toBe(nyTime(fill.time));
    }
    expect(await box.textContent()).toContain(`created ${nyTime(condor.created_at)}`);
    expect(await box.textContent()).toMatch(/Limit \d+\.\d\d credit per unit \(\$[\d,]+\.\d\d credit in all\)/);
    expect(await box.locator("ul.legs li").allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^SELL 1 SPY .* @ \d+\.\d\d credit$/), expect.stringMatching(/^BUY 1 SPY .* @ \d+\.\d\d debit$/)]));
    // The waiting order's premium, and no time anywhere in another format (no AM/PM, no locale dates).
    const waitingRow = page.locator(`#approvals-body tr[data-trade-id="${waitingId}"]`);
    expect(await waitingRow.locator("td").nth(5).textContent()).toMatch(/^\$[\d,]+\.\d\d (credit|debit)$/);
    // The audit rows' details are the stored JSON (ISO times, as exported); everything else is in the one format.
    const text = (await page.locator("main > section:not(#audit)").allTextContents()).join("\n");
    expect(text).not.toMatch(/\d{1,2}:\d\d:\d\d\s?(AM|PM)|\d{1,2}\/\d{1,2}\/\d{4}|\d{4}-\d\d-\d\dT\d\d:\d\d/);
    expect(text).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ET/);
    // The lost order says what the edge says: since when, its risk kept, what settles it.
    expect(await page.locator(`p[data-unaccounted="${lostId}"]`).textContent()).toMatch(/^TWS neither holds order \d+ \(.*\) nor lists it as finished, since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d ET: .* reserved risk of \$[\d,]+\.\d\d stays reserved .* next bridge reconnect, or when you settle it here/);
  });

  it("the payoff picture has round ticks, and its breakeven labels stay clear of their lines and of each other", async () => {
    for (const browser of browsers) {
      const picture = await browser.page.locator(`svg.payoff[data-trade-id="${condorId}"]`).evaluate((node) => {
        type Box = { x: number; y: number; width: number; height: number };
        const svg = node as unknown as { dataset: Record<string, string>; querySelectorAll(s: string): Iterable<{ getAttribute(n: string): string | null; textContent: string | null; getBBox(): Box }> };
        const d = svg.dataset;
        const ticks = [...svg.querySelectorAll("text.x-label[data-tick]")].map((t) => ({ value: Number(t.getAttribute("data-tick")), text: t.textContent, x: Number(t.getAttribute("x")) }));
        const lines = [...svg.querySelectorAll("line.breakeven, line.underlying")].map((l) => ({ price: Number(l.getAttribute("data-price")), x: Number(l.getAttribute("x1")) }));
        const notes = [...svg.querySelectorAll("text.x-note[data-for]")].map((t) => {
          const b = t.getBBox(); // an SVGRect does not cross to Node whole: its numbers do
          return { price: Number(t.getAttribute("data-for")), text: t.textContent, box: { x: b.x, y: b.y, width: b.width, height: b.height } };
        });
        return { step: Number(d.xStep), xMin: Number(d.xMin), xMax: Number(d.xMax), left: Number(d.plotLeft), right: Number(d.plotRight), bottom: Number(d.plotBottom), ticks, lines, notes };
      });
      expect(picture.ticks.length).toBeGreaterThanOrEqual(3);
      const mantissa = picture.step / 10 ** Math.floor(Math.log10(picture.step));
      expect([1, 2, 2.5, 5].some((m) => Math.abs(m - mantissa) < 1e-9), `step ${picture.step}`).toBe(true);
      for (const tick of picture.ticks) {
        expect(Math.abs(tick.value / picture.step - Math.round(tick.value / picture.step))).toBeLessThan(1e-6);
        expect(Number(tick.text)).toBeCloseTo(tick.value, 6);
        const expectedX = picture.left + ((tick.value - picture.xMin) / (picture.xMax - picture.xMin)) * (picture.right - picture.left);
        expect(Math.abs(tick.x - expectedX)).toBeLessThan(0.5);
      }
      const breakevens = picture.notes.filter((n) => n.text?.startsWith("BE "));
      expect(breakevens).toHaveLength(2);
      // The underlying's note sits under the plot, where no marker line runs.
      const now = picture.notes.find((n) => n.text?.startsWith("▲ now "))!;
      expect(now.box.y).toBeGreaterThanOrEqual(picture.bottom);
      for (const note of breakevens) {
        const line = picture.lines.find((l) => l.price === note.price)!;
        // Clear of its own line and of every other marker line, and inside the plot.
        for (const l of picture.lines) expect(note.box.x > l.x + 1 || note.box.x + note.box.width < l.x - 1, `${note.text} over the line at ${l.price}: ${JSON.stringify({ note, lines: picture.lines })}`).toBe(true);
        expect(note.box.x).toBeGreaterThanOrEqual(picture.left);
        expect(note.box.x + note.box.width).toBeLessThanOrEqual(picture.right);
        expect(line).toBeDefined();
      }
      for (const [i, a] of picture.notes.entries())
        for (const b of picture.notes.slice(i + 1)) {
          const apart = a.box.x + a.box.width < b.box.x || b.box.x + b.box.width < a.box.x || a.box.y + a.box.height < b.box.y || b.box.y + b.box.height < a.box.y;
          expect(apart, `${a.text} overlaps ${b.text}`).toBe(true);
        }
    }
    await browsers[0]!.page.locator(`#trades-list details[data-trade-id="${condorId}"]`).screenshot({ path: join(SHOTS, "22-cockpit-phone-payoff.png") });
  });

  it("with the bridge gone, the strip says orders are refused and why, and the figures say stale", async () => {
    const { page } = browsers[0]!;
    await t.stack.stopBridge();
    await expect.poll(() => page.locator("#trade-now").textContent(), { timeout: 30_000 }).toBe("New trades are refused now");
    expect(await page.locator("#trade-now-why").textContent()).toContain("No bridge is connected");
    expect(await page.locator("#sum-data").textContent()).toMatch(/^STALE/);
    await expect.poll(() => page.locator("#account-stale").textContent()).toMatch(/^STALE — not live: No bridge is connected: these are the last figures the bridge reported/);
    expect(await page.locator("#tws-health").textContent()).toMatch(/^unknown \(no bridge\); last reported connected/);
    await toTop(page);
    await page.screenshot({ path: join(SHOTS, "23-cockpit-phone-bridge-gone.png") });
    await t.stack.startBridge();
    await t.stack.waitBridgeLinked(60_000);
    await expect.poll(() => page.locator("#sum-data").textContent(), { timeout: 30_000 }).toBe("live");
    for (const b of browsers) {
      expect(b.pageErrors).toEqual([]);
      expect(b.consoleErrors.filter((text) => /Content Security Policy|Refused to/i.test(text))).toEqual([]);
    }
  });
});
