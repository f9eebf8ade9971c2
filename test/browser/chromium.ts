// Chromium (from npm, see chromium-binary.ts) driven by playwright-core for the dashboard tests: a
// fresh profile per file, headless, and everything the page says that a test should hear (dialogs,
// page errors, console errors incl. CSP violations, /api/live "changed" frames).
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { OUTPUT } from "../e2e/harness";
import { dashboardChromium } from "./chromium-binary";

export const SHOTS = join(OUTPUT, "screenshots");
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export interface DashboardBrowser {
  context: BrowserContext;
  page: Page;
  dialogs: string[];
  pageErrors: string[];
  /** Console errors, which include every Content-Security-Policy violation. */
  consoleErrors: string[];
  /** "changed" frames the page received on /api/live, with the time they arrived. */
  liveFrames: { at: number; seq: number }[];
  /** Log in through the form and wait for the first state and the live socket. */
  login(dashboardUrl: string, adminToken: string): Promise<void>;
  /** Fill the confirm dialog's reason (and its required boxes) and confirm. */
  confirm(reason: string, extraChecks?: number): Promise<void>;
  close(): Promise<void>;
}

/** A desk's screen by default; a phone is `{ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 3 }`. */
export interface Screen { viewport: { width: number; height: number }; isMobile?: boolean; hasTouch?: boolean; deviceScaleFactor?: number }

export async function openDashboardBrowser(screen: Screen = { viewport: { width: 1280, height: 1000 } }): Promise<DashboardBrowser> {
  mkdirSync(SHOTS, { recursive: true });
  const userDataDir = mkdtempSync(join(tmpdir(), "ibkr-dashboard-chromium-"));
  const binary = dashboardChromium();
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: binary.executablePath, env: { ...process.env, ...binary.env }, headless: true, args: FLAGS, ...screen });
  const page = context.pages()[0] ?? (await context.newPage());
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const liveFrames: { at: number; seq: number }[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("websocket", (socket) => {
    if (!socket.url().endsWith("/api/live")) return;
    socket.on("framereceived", (frame) => {
      try {
        const message = JSON.parse(String(frame.payload)) as { type?: string; seq?: number };
        if (message.type === "changed") liveFrames.push({ at: Date.now(), seq: message.seq ?? 0 });
      } catch {
        // not JSON: not ours
      }
    });
  });
  return {
    context,
    page,
    dialogs,
    pageErrors,
    consoleErrors,
    liveFrames,
    async login(dashboardUrl, adminToken) {
      await page.goto(dashboardUrl);
      await page.getByLabel("Admin token").fill(adminToken);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForSelector("body[data-loaded=true]");
      await page.waitForSelector("body[data-live=true]");
    },
    async confirm(reason, extraChecks = 0) {
      const dialog = page.locator("#confirm-dialog");
      await dialog.waitFor({ state: "visible" });
      for (let i = 0; i < extraChecks; i++) await page.locator(`#confirm-extra-${i}`).check();
      await page.locator("#confirm-reason").fill(reason);
      await page.locator("#confirm-ok").click();
      await dialog.waitFor({ state: "hidden" });
    },
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
