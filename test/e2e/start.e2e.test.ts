// `npm start` as a newcomer runs it: secrets generated on first run and kept, the MCP URL, token
// and client configuration printed and usable, local state kept between runs, Ctrl-C stopping
// everything, a dying child stopping the rest with a clear message, and a busy port refused.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canConnect, freePort, portInUse } from "../stack/processes";
import { parseDevVars } from "../stack/secrets";
import { OUTPUT, ROOT, waitUntil } from "./harness";
import { connectMcp } from "./mcp-client";

interface Run { child: ChildProcess; output: () => string; exited: Promise<number | null> }

let base = "";
let edgePort = 0;
beforeAll(async () => {
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
afterAll(async () => {
  for (const run of runs) {
    if (run.child.exitCode === null && run.child.pid) {
      try {
        process.kill(-run.child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
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
    // Tokens other than the MCP one are never printed.
    expect(out).not.toContain(secrets.ADMIN_TOKEN!);
    expect(out).not.toContain(secrets.BRIDGE_TOKEN!);

    // The printed JSON entry, as a client would paste it, connects and trades data flows.
    const json = JSON.parse(out.slice(out.indexOf('{\n  "mcpServers"'), out.indexOf("\n}\n", out.indexOf('{\n  "mcpServers"')) + 2)) as { mcpServers: { ibkr: { url: string; headers: { Authorization: string } } } };
    const entry = json.mcpServers.ibkr;
    expect(entry.headers.Authorization).toBe(`Bearer ${token}`);
    const client = await connectMcp(entry.url, token, "npm-start-check");
    const account = await client.tool<{ account_id: string; net_liquidation: number }>("get_account");
    expect(account.isError, account.text).toBe(false);
    expect(account.structured.account_id).toBe("DU1234567");
    await client.close();

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
