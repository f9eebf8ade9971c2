// Test projects: "node" runs shared/, the TWS simulator and the bridge in Node 22;
// edge tests (workerd via @cloudflare/vitest-plugin) join as their own project.
import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
// The public half of the tests' fixed bridge key (test/support/bridge-test-key.ts), written out:
// importing it here would make the config load TypeScript without extensions.
const TEST_BRIDGE_PUBLIC_KEY = "NV_ejCHOVAgLdx28o76Rbt3DwIJntr7M0Ms6RoPqx-k";
const EDGE_BINDINGS = { MCP_TOKEN: "test-mcp-token", BRIDGE_TOKEN: "test-bridge-token", BRIDGE_PUBLIC_KEY: TEST_BRIDGE_PUBLIC_KEY, ADMIN_TOKEN: "test-admin-token", ALLOWED_SYMBOLS: "AAPL,MSFT,SPY,QQQ,IWM,SPX,SPXW,XSP,MRUT,XND" };

export default defineConfig({
  test: {
    reporters: ["default", "./test/support/project-times.ts"],
    // Two workers on the 2-core machines (the default would be one): the e2e files, one at a
    // time and mostly waiting on real processes and the order-rate limit, run beside the node and
    // edge files instead of after them.
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/**/*.test.ts"],
          exclude: ["test/edge/**", "test/e2e/**", "test/browser/**", "test/dst/**", "node_modules/**"],
          testTimeout: 20_000,
          hookTimeout: 20_000,
        },
      },
      {
        // The deterministic simulation (test/dst/): the edge's Durable Object code in Node on
        // node:sqlite, with the real bridge and the simulator, on one virtual clock.
        resolve: { alias: { "cloudflare:workers": fileURLToPath(new URL("./test/dst/cloudflare-workers.ts", import.meta.url)) } },
        test: {
          name: "dst",
          environment: "node",
          include: ["test/dst/**/*.test.ts"],
          server: { deps: { inline: [/workers-oauth-provider/] } },
          testTimeout: 180_000,
        },
      },
      {
        plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" }, miniflare: { bindings: EDGE_BINDINGS } })],
        test: { name: "edge", include: ["test/edge/**/*.test.ts"], exclude: ["test/edge/**/*.clock.test.ts"], testTimeout: 20_000, hookTimeout: 20_000 },
      },
      {
        // The same edge with the test-only movable clock (edge/test-clock.ts): bindings are per
        // project, so the files that move it run in their own workerd.
        plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" }, miniflare: { bindings: { ...EDGE_BINDINGS, TEST_CLOCK: "movable" } } })],
        test: { name: "edge-clock", include: ["test/edge/**/*.clock.test.ts"], testTimeout: 20_000, hookTimeout: 20_000 },
      },
      {
        // Real processes (wrangler dev, bridge, simulator) on loopback and a real Chromium: one
        // stack per file, started in beforeAll, files one after another (2 cores).
        test: {
          name: "e2e",
          environment: "node",
          include: ["test/e2e/**/*.e2e.test.ts", "test/browser/**/*.test.ts"],
          fileParallelism: false,
          globalSetup: ["test/browser/chromium-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
