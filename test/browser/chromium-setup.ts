// Global setup of the e2e project: the dashboard tests' browser is unpacked (first run only) and
// started once before any test, so a missing or broken one stops the run saying what to do,
// instead of failing in a beforeAll that leaves its tests reported as skipped.
import { chromium } from "playwright-core";
import { dashboardChromium } from "./chromium-binary";

export default async function setup(): Promise<void> {
  const binary = dashboardChromium();
  const browser = await chromium.launch({ executablePath: binary.executablePath, env: { ...process.env, ...binary.env }, args: ["--no-sandbox", "--disable-gpu"], timeout: 60_000 }).catch((error: Error) => {
    throw new Error(`The dashboard tests' browser (${binary.describe}) does not start: ${error.message}\nRun \`npm ci\` again, or set CHROMIUM_PATH to a Chromium that starts here.`);
  });
  console.log(`Dashboard tests' browser: Chromium ${browser.version()}, ${binary.describe}`);
  await browser.close();
}
