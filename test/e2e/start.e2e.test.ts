// `npm start` as a newcomer runs it: secrets generated on first run and kept, the MCP URL, token
// and client configuration printed and usable (the SDK client, and mcp-remote as Claude Desktop
// runs it), local state kept between runs, a real-TWS mode with no TWS saying "Ready" with TWS
// named as what is missing (and saying when it connects), Ctrl-C stopping everything, a dying
// child stopping the rest with a clear message, and a busy port refused.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { canConnect, freePort, portInUse } from "../stack/processes";
import { startSimulator } from "../tws-sim/index";
import { parseDevVars } from "../stack/secrets";
import { OUTPUT, ROOT, waitUntil } from "./harness";
import { connectMcp } from "./mcp-client";

interface Run { child: ChildProcess; output: () => string; exited: Promise<number | null> }

let base = "";
let edgePort = 0;
beforeAll(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  base = mkdtempSync(join(OUTPUT, "npm-start-"));
  edgePort = await freePort();
});

function npmStart(extraEnv: Record<string, string> = {}): Run {
  const child = spawn("npm", ["start"], {
    cwd: ROOT,
    // Its own process group, so a "Ctrl-C" reaches npm, tsx and start.ts as a terminal's would.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      PATH: `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
      IBKR_MODE: "sim",
      EDGE_PORT: String(edgePort),
      DEV_VARS_FILE: join(base, "dev.vars"),
      STATE_DIR: join(base, "state"),
      TRADING_WORKSPACE: join(base, "trading_workspace"),
      QUIET: "1",
      ...extraEnv,
    },
  });
  let text = "";
  child.stdout!.on("data", (b: Buffer) => (text += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (text += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function waitReady(run: Run): Promise<void> {
  await waitUntil("npm start to print its client configuration", async () => {
    if (run.child.exitCode !== null) throw new Error(`npm start exited ${run.child.exitCode}:\n${run.output()}`);
    return run.output().includes("Ctrl-C stops everything.");
  }, 120_000, 250);
}

/** Pids of every process below `pid` (from /proc), to find the bridge npm start spawned. */
function descendants(pid: number): { pid: number; cmdline: string }[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: { pid: number; cmdline: string }[] = [];
  const walk = (p: number) => {
    for (const [child, ppid] of parent) {
      if (ppid !== p) continue;
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${child}/cmdline`, "utf8").replaceAll("\0", " ");
      } catch {
        // gone meanwhile
      }
      out.push({ pid: child, cmdline });
      walk(child);
    }
  };
  walk(pid);
  return out;
}

const runs: Run[] = [];
/** The JSON block printed right after `label` (npm start prints two client configurations). */
function jsonAfter<T>(out: string, label: string): T {
  const at = out.indexOf("{", out.indexOf(label));
  return JSON.parse(out.slice(at, out.indexOf("\n}\n", at) + 2)) as T;
}

// After each test, so one failure leaves no npm start holding the port for the next test.
afterEach(async () => {
  for (const run of runs) {
    if (run.child.exitCode !== null || !run.child.pid) continue;
    // Ctrl-C first, so start.ts stops its children (their own process groups); a SIGKILL alone
    // would leave wrangler, the bridge and the simulator running after a failed test.
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-run.child.pid!, name);
      } catch {
        // already gone
      }
    };
    signal("SIGINT");
    await Promise.race([run.exited, new Promise((r) => setTimeout(r, 20_000))]);
    signal("SIGKILL");
  }
});

describe("npm start", () => {
  let token = "";
  let simControl = "";

  it("generates secrets, prints a working MCP configuration, and Ctrl-C stops everything", async () => {
    const run = npmStart();
    runs.push(run);
    await waitReady(run);
    const out = run.output();

    const devVars = join(base, "dev.vars");
    expect(statSync(devVars).mode & 0o777).toBe(0o600);
    const secrets = parseDevVars(readFileSync(devVars, "utf8"));
    token = secrets.MCP_TOKEN!;
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(out).toContain("Generated local secrets into");
    expect(out).toContain(`MCP URL:    http://127.0.0.1:${edgePort}/mcp`);
    expect(out).toContain(`claude mcp add --transport http ibkr http://127.0.0.1:${edgePort}/mcp --header "Authorization: Bearer ${token}"`);
    expect(out).toContain(`npx mcp-remote http://127.0.0.1:${edgePort}/mcp --header "Authorization: Bearer ${token}"`);
    // Where the dashboard's login is, without printing it.
    expect(out).toContain(`log in with ADMIN_TOKEN, kept in ${devVars}: grep ADMIN_TOKEN ${devVars}`);
    expect(out).toMatch(/^Ready\.$/m);
    expect(out).toMatch(/TWS: {8}connected \(the simulator at 127\.0\.0\.1:\d+\)/);
    // Tokens other than the MCP one are never printed.
    expect(out).not.toContain(secrets.ADMIN_TOKEN!);
    expect(out).not.toContain(secrets.BRIDGE_TOKEN!);

    // The printed JSON entry, as a client would paste it, connects and trades data flows.
    const json = jsonAfter<{ mcpServers: { ibkr: { url: string; headers: { Authorization: string } } } }>(out, "Any MCP client (JSON):");
    const entry = json.mcpServers.ibkr;
    expect(entry.headers.Authorization).toBe(`Bearer ${token}`);
    const client = await connectMcp(entry.url, token, "npm-start-check");
    const account = await client.tool<{ account_id: string; net_liquidation: number }>("get_account");
    expect(account.isError, account.text).toBe(false);
    expect(account.structured.account_id).toBe("DU1234567");
    await client.close();

    // The Claude Desktop entry, run as Claude Desktop runs it: `npx mcp-remote …` over stdio, with its env.
    const desktop = jsonAfter<{ mcpServers: { ibkr: { command: string; args: string[]; env: Record<string, string> } } }>(out, "as claude_desktop_config.json:");
    const server = desktop.mcpServers.ibkr;
    expect(server.command).toBe("npx");
    const remote = new Client({ name: "npm-start-mcp-remote", version: "1.0.0" });
    await remote.connect(new StdioClientTransport({
      command: server.command,
      args: server.args,
      env: { PATH: process.env.PATH ?? "", HOME: base, MCP_REMOTE_CONFIG_DIR: join(base, "mcp-auth"), ...server.env },
      stderr: "pipe",
    }));
    const listed = await remote.listTools();
    expect(listed.tools.map((t) => t.name)).toContain("place_order");
    const viaRemote = await remote.callTool({ name: "get_account", arguments: {} });
    expect((viaRemote.structuredContent as { account_id: string }).account_id).toBe("DU1234567");
    await remote.close();

    simControl = /control (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    expect(await canConnect("127.0.0.1", Number(new URL(simControl).port))).toBe(true);

    process.kill(-run.child.pid!, "SIGINT");
    // npm itself re-raises SIGINT once its child is done; start.ts's own goodbye is the proof.
    await run.exited;
    await waitUntil("start.ts to report everything stopped", async () => run.output().includes("Ctrl-C: stopping the bridge, the edge and the simulator") && run.output().includes("Stopped."), 20_000);
    expect(await portInUse(edgePort)).toBe(false);
    expect(await canConnect("127.0.0.1", Number(new URL(simControl).port), 500)).toBe(false);
  });

  it("keeps secrets and local state on the next run, and stops everything when the bridge dies", async () => {
    const run = npmStart();
    runs.push(run);
    await waitReady(run);
    expect(run.output()).not.toContain("Generated local secrets");
    expect(run.output()).toContain(`Bearer ${token}`);

    // The Durable Object's SQLite survived the restart: both runs' bridge links are in the audit log.
    const admin = parseDevVars(readFileSync(join(base, "dev.vars"), "utf8")).ADMIN_TOKEN!;
    const audit = (await (await fetch(`http://127.0.0.1:${edgePort}/api/audit?action=bridge_connected`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { rows: unknown[] };
    expect(audit.rows.length).toBeGreaterThanOrEqual(2);

    const bridge = descendants(run.child.pid!).filter((p) => p.cmdline.includes("bridge/cli.ts"));
    expect(bridge.length).toBeGreaterThan(0);
    for (const p of bridge) process.kill(p.pid, "SIGKILL");
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/The bridge process exited on its own/);
    expect(run.output()).toContain("Stopped.");
    expect(await portInUse(edgePort)).toBe(false);
  });

  it("with a real-TWS mode and no TWS: Ready at once with TWS named as missing, the earlier run's figures stale, and a line when TWS connects", async () => {
    const twsPort = await freePort();
    const startedAt = Date.now();
    const run = npmStart({ IBKR_MODE: "paper_tws", IBKR_PORT: String(twsPort), IBKR_ACCOUNT_ID: "DU1234567", BRIDGE_TWS_BACKOFF_MIN_MS: "200", BRIDGE_TWS_BACKOFF_MAX_MS: "500" });
    runs.push(run);
    await waitReady(run);
    const readyAfterMs = Date.now() - startedAt;
    const out = run.output();
    expect(out).toContain("Ready — but TWS is not connected, so the edge refuses every order until it is.");
    expect(out).toMatch(new RegExp(`TWS: {8}NOT connected at 127\\.0\\.0\\.1:${twsPort} \\(.*ECONNREFUSED`));
    expect(out).not.toContain("has not linked");
    // Told as soon as the link is up, not after a 60 s wait (wrangler dev's own start-up is most of it).
    console.log(`npm start with no TWS said Ready after ${(readyAfterMs / 1000).toFixed(1)} s`);
    expect(readyAfterMs).toBeLessThan(55_000);

    // The earlier runs' account figures are still in .wrangler/state: shown, and marked stale with the reason.
    const client = await connectMcp(`http://127.0.0.1:${edgePort}/mcp`, token, "npm-start-no-tws");
    const account = await client.tool<{ stale: boolean; stale_reason: string; net_liquidation: number }>("get_account");
    expect(account.isError, account.text).toBe(false);
    expect(account.structured.stale).toBe(true);
    expect(account.structured.stale_reason).toMatch(/^TWS is down \(.*ECONNREFUSED.*\): these are the last figures the bridge reported/);
    const health = await client.tool<{ can_open_new_trades: boolean; blocked_by: string[] }>("health_check");
    expect(health.structured.can_open_new_trades).toBe(false);
    expect(health.structured.blocked_by.join(" ")).toMatch(/TWS is down/);
    await client.close();

    // TWS comes up: the window says so.
    const tws = await startSimulator({ port: twsPort });
    try {
      await waitUntil("npm start to say TWS connected", async () => run.output().includes(`TWS connected (127.0.0.1:${twsPort}). Orders can be placed.`), 30_000, 250);
    } finally {
      process.kill(-run.child.pid!, "SIGINT");
      await run.exited;
      await tws.stop();
    }
    await waitUntil("start.ts to report everything stopped", async () => run.output().includes("Stopped."), 20_000);
    expect(await portInUse(edgePort)).toBe(false);
  });

  it("refuses a port that is already in use before starting anything", async () => {
    const { createServer } = await import("node:net");
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(edgePort, "127.0.0.1", resolve));
    try {
      const run = npmStart();
      runs.push(run);
      expect(await run.exited).toBe(2);
      expect(run.output()).toContain(`port ${edgePort} on 127.0.0.1 is already in use`);
      expect(run.output()).not.toContain("Starting");
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
