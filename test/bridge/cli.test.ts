// The bridge as the operator starts it: the CLI as a real process (tsx bridge/cli.ts and the
// bin launcher). Bad settings are all named in one error; a live mode without IBKR_ALLOW_LIVE is
// refused; --help lists every variable; a running bridge stops cleanly on SIGTERM (exit 0).
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ENV_DOCS } from "../../bridge/config";
import { startPinnedSimulator } from "../support/pinned-sim";
import { TestEdge, TOKEN, until, workspace } from "./helpers";

const root = join(import.meta.dirname, "..", "..");
const tsx = join(root, "node_modules", ".bin", "tsx");
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.pid) child.kill("SIGKILL");
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** Only the variables given, plus PATH/HOME so node and tsx run: no leak from the test's env. */
function run(args: string[], env: Record<string, string>, command = tsx) {
  const child = spawn(command, args, { cwd: root, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => (stdout += d));
  child.stderr?.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe("bridge CLI", () => {
  it("--public-key makes the identity key once (0600) and prints its public key; an exposed key file stops the bridge", async () => {
    const dir = workspace();
    const first = run(["bridge/cli.ts", "--public-key"], { TRADING_WORKSPACE: dir });
    expect(await first.exited).toBe(0);
    const key = first.out().trim();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.err()).toContain("wrangler secret put BRIDGE_PUBLIC_KEY");
    const file = join(dir, "bridge_identity.pem");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = run(["bridge/cli.ts", "--public-key"], { TRADING_WORKSPACE: dir });
    expect(await again.exited).toBe(0);
    expect(again.out().trim()).toBe(key);
    chmodSync(file, 0o640);
    const exposed = run(["bridge/cli.ts"], { TRADING_WORKSPACE: dir, EDGE_URL: "http://127.0.0.1:9", BRIDGE_TOKEN: TOKEN });
    expect(await exposed.exited).toBe(2);
    expect(exposed.err()).toContain("is readable by others (mode 640)");
  });

  it("names every bad or missing setting in one error and exits 2", async () => {
    const p = run(["bridge/cli.ts"], { IBKR_MODE: "papertws", IBKR_PORT: "99999", IBKR_CLIENT_ID: "-1", EDGE_URL: "not a url", BRIDGE_TWS_HEARTBEAT_MS: "soon" });
    expect(await p.exited).toBe(2);
    const err = p.err();
    expect(err).toContain("The bridge cannot start; fix these 6 settings:");
    for (const needle of ['IBKR_MODE must be one of paper_tws, paper_gateway, live_tws, live_gateway, sim (got "papertws")', 'IBKR_PORT must be a TCP port 1-65535 (got "99999")', "IBKR_CLIENT_ID must be a whole number", "EDGE_URL is not a valid URL", "BRIDGE_TOKEN is required", 'BRIDGE_TWS_HEARTBEAT_MS must be a whole number of milliseconds ≥ 50 (got "soon")'])
      expect(err).toContain(needle);
    expect(err.trim().split("\n")).toHaveLength(7); // one error: a headline and one line per setting
  });

  it("refuses a live mode without IBKR_ALLOW_LIVE=yes, saying why", async () => {
    const p = run(["bridge/cli.ts"], { IBKR_MODE: "live_gateway", IBKR_ALLOW_LIVE: "true", EDGE_URL: "https://edge.example.com", BRIDGE_TOKEN: TOKEN });
    expect(await p.exited).toBe(2);
    expect(p.err()).toContain("IBKR_MODE=live_gateway trades real money: refusing to start unless IBKR_ALLOW_LIVE=yes is also set");
    expect(p.err()).not.toContain(TOKEN);
  });

  it("--help lists every environment variable with its default and the emergency-stop policy (bin launcher)", async () => {
    const p = run([join(root, "bridge", "bin.js"), "--help"], {}, process.execPath);
    expect(await p.exited).toBe(0);
    for (const doc of ENV_DOCS) expect(p.out()).toContain(doc.name);
    expect(p.out()).toContain("default: ~/trading_workspace");
    expect(p.out()).toContain("default: 127.0.0.1");
    expect(p.out()).toContain("Emergency stop file");
    expect(p.out()).toContain("reduce-only");
  });

  it("runs against the simulator and an edge, and stops cleanly on SIGTERM", async () => {
    const sim = await startPinnedSimulator({ port: 0 });
    const edge = await TestEdge.start();
    cleanups.push(async () => {
      await edge.stop();
      await sim.stop();
    });
    const p = run(["bridge/cli.ts"], { IBKR_MODE: "sim", IBKR_PORT: String(sim.port), IBKR_CLIENT_ID: "77", EDGE_URL: edge.url, BRIDGE_TOKEN: TOKEN, TRADING_WORKSPACE: workspace() });
    await until(() => edge.hellos.length > 0, 15_000, "the CLI bridge's hello");
    expect(await edge.ok("health")).toMatchObject({ state: "connected" });
    expect(sim.connections()).toBe(1);
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    await until(() => sim.connections() === 0, 3000, "TWS disconnected");
    await until(() => !edge.connected, 3000, "link closed");
    const lines = p.out().trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.some((l) => l.msg === "bridge stopped")).toBe(true);
    expect(p.out()).not.toContain(TOKEN);
  }, 20_000);
});
