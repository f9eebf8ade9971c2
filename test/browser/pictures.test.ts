// The dashboard's pictures in a real browser against the real stack (simulator, bridge, edge):
// an agent's iron condor fills, and its payoff diagram is read back from the SVG — the line's
// zero crossings and the breakeven markers must land on the breakevens place_order computed, its
// floor on the worst case, the underlying's marker on the simulator's price; today's P&L is drawn
// against the daily loss limit and each limit's use as a bar; screenshots are kept.
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DAILY_LOSS_LIMIT } from "../../shared/limits";
import { type TestStack, startTestStack } from "../e2e/harness";
import { ironCondor, waitOrderStatus } from "../e2e/scenario";
import { type DashboardBrowser, openDashboardBrowser, SHOTS } from "./chromium";

let t: TestStack;
let browser: DashboardBrowser;
let page: Page;

beforeAll(async () => {
  t = await startTestStack("browser-pictures");
  browser = await openDashboardBrowser();
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

/** The payoff SVG read back into prices and dollars through the scale it carries. */
interface ReadBack { crossings: number[]; markers: { price: number; atX: number }[]; floor: number; worstLine: number | null; underlying: number | null; underlyingAtX: number | null }

function readPayoff(page: Page, tradeId: string): Promise<ReadBack> {
  return page.locator(`svg.payoff[data-trade-id="${tradeId}"]`).evaluate((node) => {
    // No DOM types in this project's tsconfig: the few members used, typed by hand.
    type El = { getAttribute(name: string): string | null };
    const svg = node as unknown as { dataset: Record<string, string>; querySelector(s: string): El | null; querySelectorAll(s: string): Iterable<El> };
    const d = svg.dataset;
    const [left, right, top, bottom] = [d.plotLeft, d.plotRight, d.plotTop, d.plotBottom].map(Number) as [number, number, number, number];
    const [xMin, xMax, yMin, yMax] = [d.xMin, d.xMax, d.yMin, d.yMax].map(Number) as [number, number, number, number];
    const toPrice = (px: number) => xMin + ((px - left) / (right - left)) * (xMax - xMin);
    const toUsd = (py: number) => yMax - ((py - top) / (bottom - top)) * (yMax - yMin);
    const line = svg.querySelector("polyline.payoff-line")!.getAttribute("points")!.trim().split(/\s+/).map((p: string) => p.split(",").map(Number) as [number, number]);
    const pts = line.map(([px, py]: [number, number]) => [toPrice(px), toUsd(py)] as [number, number]);
    const crossings: number[] = [];
    for (let i = 1; i < pts.length; i++) {
      const [x0, y0] = pts[i - 1]!;
      const [x1, y1] = pts[i]!;
      if ((y0 < 0 && y1 > 0) || (y0 > 0 && y1 < 0)) crossings.push(x0 + ((0 - y0) * (x1 - x0)) / (y1 - y0));
    }
    const markers = [...svg.querySelectorAll("line.breakeven")].map((l) => ({ price: Number(l.getAttribute("data-price")), atX: toPrice(Number(l.getAttribute("x1"))) }));
    const worst = svg.querySelector("line.worst");
    const under = svg.querySelector("line.underlying");
    return {
      crossings, markers, floor: Math.min(...pts.map((p: [number, number]) => p[1])),
      worstLine: worst ? toUsd(Number(worst.getAttribute("y1"))) : null,
      underlying: under ? Number(under.getAttribute("data-price")) : null,
      underlyingAtX: under ? toPrice(Number(under.getAttribute("x1"))) : null,
    };
  });
}

describe("dashboard pictures in Chromium", () => {
  it("draws a filled condor's payoff with its breakevens, worst case and the underlying's price where the numbers say", async () => {
    const order = await ironCondor(t.mcp, "SPY", { width: 3, pricing: "touch" });
    const placed = await t.mcp.tool<{ trade_id: string; order_id: number; breakevens: number[]; computed_max_risk: number; max_gain: number }>("place_order", order);
    expect(placed.isError, placed.text).toBe(false);
    const { trade_id: tradeId, breakevens, computed_max_risk: worst } = placed.structured;
    expect(breakevens).toHaveLength(2);
    await waitOrderStatus(t.mcp, placed.structured.order_id, ["Filled"]);

    await browser.login(t.stack.dashboardUrl, t.secrets.ADMIN_TOKEN);
    const trade = page.locator(`#trades-list details[data-trade-id="${tradeId}"]`);
    await trade.waitFor({ timeout: 20_000 });
    await trade.locator("summary").click();
    await page.locator(`svg.payoff[data-trade-id="${tradeId}"]`).waitFor({ timeout: 20_000 });

    const back = await readPayoff(page, tradeId);
    const tolerance = 0.02; // prices are drawn to 1/100 px; a pixel here is about $0.05
    expect(back.crossings).toHaveLength(2);
    back.crossings.forEach((x, i) => expect(Math.abs(x - breakevens[i]!)).toBeLessThan(tolerance));
    expect(back.markers.map((m) => m.price)).toEqual(breakevens);
    back.markers.forEach((m) => expect(Math.abs(m.atX - m.price)).toBeLessThan(tolerance));
    expect(Math.abs(back.floor + worst)).toBeLessThan(0.5);
    expect(Math.abs((back.worstLine as number) + worst)).toBeLessThan(0.5);
    // The underlying's marker: the price the quotes' greeks referred to (the simulator's SPY).
    const sim = await t.simState();
    expect(back.underlying).toBe(sim.prices.SPY);
    expect(Math.abs((back.underlyingAtX as number) - (back.underlying as number))).toBeLessThan(tolerance);
    // The label says it in words too, for a screen reader.
    expect(await page.locator(`svg.payoff[data-trade-id="${tradeId}"]`).getAttribute("aria-label")).toContain(breakevens.map((b) => b.toFixed(2)).join(" and "));
    await trade.screenshot({ path: join(SHOTS, "10-payoff.png") });
  });

  it("draws today's P&L against the daily loss limit and each limit's use as a bar", async () => {
    const chart = page.locator("#pnl-chart svg.pnl");
    await chart.waitFor({ timeout: 20_000 });
    expect(Number(await chart.locator("line.limit").getAttribute("data-value"))).toBe(-DAILY_LOSS_LIMIT);
    await expect.poll(() => chart.locator("polyline.pnl-line").count(), { timeout: 20_000 }).toBe(1);
    const state = (await (await t.stack.admin("/api/state")).json()) as { limits: { name: string; used: number; limit: number }[]; pnl_series: { current: number } };
    expect(Number(await chart.locator("circle.pnl-now").getAttribute("data-value"))).toBeCloseTo(state.pnl_series.current, 0);
    const bars = await page.locator("#limit-bars g.limit-bar").evaluateAll((gs) => gs.map((g) => ({ name: g.getAttribute("data-limit"), share: Number(g.getAttribute("data-share")) })));
    expect(bars.map((b) => b.name)).toEqual(state.limits.map((l) => l.name));
    bars.forEach((b, i) => expect(b.share).toBeCloseTo(state.limits[i]!.limit ? state.limits[i]!.used / state.limits[i]!.limit : 0, 6));
    await page.locator("#pnl").screenshot({ path: join(SHOTS, "11-pnl.png") });
    await page.locator("#limits").screenshot({ path: join(SHOTS, "12-limit-bars.png") });
    await page.screenshot({ path: join(SHOTS, "13-dashboard-pictures.png"), fullPage: true });
  });

  it("raised no page error or CSP violation", async () => {
    expect(browser.pageErrors).toEqual([]);
    expect(browser.consoleErrors.filter((text) => /Content Security Policy|Refused to/i.test(text))).toEqual([]);
  });
});
