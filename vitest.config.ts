// Test projects: "node" runs shared/, the TWS simulator and the bridge in Node 22;
// edge tests (workerd via @cloudflare/vitest-plugin) join as their own project.
import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { testStart } from "./test/support/clock-pin.js";
import type { Plugin } from "vite";
// The public half of the tests' fixed bridge key (test/support/bridge-test-key.ts), written out:
// importing it here would make the config load TypeScript without extensions.
const TEST_BRIDGE_PUBLIC_KEY = "NV_ejCHOVAgLdx28o76Rbt3DwIJntr7M0Ms6RoPqx-k";
const EDGE_BINDINGS = { MCP_TOKEN: "test-mcp-token", BRIDGE_TOKEN: "test-bridge-token", BRIDGE_PUBLIC_KEY: TEST_BRIDGE_PUBLIC_KEY, ADMIN_TOKEN: "test-admin-token", ALLOWED_SYMBOLS: "AAPL,MSFT,SPY,QQQ,IWM,SPX,SPXW,XSP,MRUT,XND,VOO,UPRO" };
/** The test clock file that must run without TEST_CLOCK (production's case). */
const CLOCK_ABSENT = "test/edge/test-clock-absent.test.ts";

/**
 * Vite warns once per file when a package's source map names sources the package does not ship
 * (the MCP SDK's do: 19 lines per edge project on a fresh clone). Nothing here can fix it and it
 * says nothing about this project's code, so exactly that warning, for files under node_modules,
 * is dropped; every other warning passes. (Vitest replaces `customLogger`, so the resolved logger is wrapped.)
 */
const THIRD_PARTY_SOURCEMAP = /^Sourcemap for ".*\/node_modules\/.*" points to missing source files$/;
function quietThirdPartySourcemaps(): Plugin {
  return {
    name: "ibkr:quiet-third-party-sourcemaps",
    configResolved(config) {
      const { warn, warnOnce } = config.logger;
      config.logger.warn = (msg, options) => (THIRD_PARTY_SOURCEMAP.test(msg) ? undefined : warn(msg, options));
      config.logger.warnOnce = (msg, options) => (THIRD_PARTY_SOURCEMAP.test(msg) ? undefined : warnOnce(msg, options));
    },
  };
}

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
        // Every Durable Object starts its clock at the pinned instant (edge/dashboard/test-clock.ts), not
        // the machine's, and the harness computes dates from it (test/edge/harness.ts).
        plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" }, miniflare: { bindings: { ...EDGE_BINDINGS, TEST_CLOCK: `movable:${testStart()}` } } }), quietThirdPartySourcemaps()],
        test: { name: "edge", include: ["test/edge/**/*.test.ts"], exclude: [CLOCK_ABSENT], testTimeout: 20_000, hookTimeout: 20_000 },
      },
      {
        // Without TEST_CLOCK, as in production: bindings are per project, so this file runs in its own workerd.
        plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" }, miniflare: { bindings: EDGE_BINDINGS } }), quietThirdPartySourcemaps()],
        test: { name: "edge-no-clock", include: [CLOCK_ABSENT], testTimeout: 20_000, hookTimeout: 20_000 },
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
