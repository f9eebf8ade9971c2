// The bridge's output for a person and for a machine (issue 25): in a real terminal (a pty made by
// util-linux `script`) its log lines are pino-pretty's, and a TWS that stays down is one line a
// minute with a count, not one every few seconds; piped, the lines are JSON, rate-limited the same
// way (the count in `held_back`); LOG_FORMAT chooses explicitly and a bad value is refused.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../stack/processes";
import { sleep, TOKEN, until, workspace } from "./helpers";

const root = join(import.meta.dirname, "..", "..");
const tsx = join(root, "node_modules", ".bin", "tsx");
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.pid) child.kill("SIGKILL");
});

/** The notice a first run prints on stderr (a pty carries it on stdout): not a log line. */
const IDENTITY_NOTICE = /^Made a new bridge identity key/;

/** A bridge whose TWS and edge are both unreachable, retrying every 20-40 ms, for `ms`; its stdout. */
async function unreachableBridge(ms: number, env: Record<string, string>, terminal: boolean): Promise<string> {
  const [twsPort, edgePort] = [await freePort(), await freePort()];
  const vars = {
    PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", TERM: "xterm",
    IBKR_MODE: "paper_tws", IBKR_PORT: String(twsPort), IBKR_ACCOUNT_ID: "DU1234567", EDGE_URL: `http://127.0.0.1:${edgePort}`, BRIDGE_TOKEN: TOKEN, TRADING_WORKSPACE: workspace(),
    BRIDGE_TWS_BACKOFF_MIN_MS: "20", BRIDGE_TWS_BACKOFF_MAX_MS: "40", BRIDGE_LINK_BACKOFF_MIN_MS: "20", BRIDGE_LINK_BACKOFF_MAX_MS: "40",
    ...env,
  };
  // `script` gives the bridge a pseudo-terminal as stdout, as a person's shell would.
  const child = terminal
    ? spawn("script", ["-qfec", `${tsx} bridge/cli.ts`, "/dev/null"], { cwd: root, env: vars, stdio: ["pipe", "pipe", "pipe"] })
    : spawn(tsx, ["bridge/cli.ts"], { cwd: root, env: vars, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  // stdout only: the log lines (in a terminal, `script` carries stderr there too).
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  // tsx compiles for a second or more first: count the window from the bridge's own start line.
  await until(() => /ibkr-bridge \d+\.\d+\.\d+ starting/.test(out), 20_000, "the bridge to start");
  await sleep(ms);
  // In the terminal, Ctrl-C typed into the pty (SIGINT to the bridge, as a person stops it).
  if (terminal) child.stdin!.write("\x03");
  else child.kill("SIGTERM");
  await exited;
  // The pty turns \n into \r\n and echoes the Ctrl-C as ^C; colours are the terminal's business.
  return out.replace(/\r/g, "").replace(/\^C/g, "").replace(/\x1b\[[0-9;]*m/g, "");
}

const count = (text: string, needle: string) => text.split("\n").filter((line) => line.includes(needle)).length;

describe("the bridge's terminal output", () => {
  it("in a terminal: pretty lines, and a TWS that stays down is told once, not at every retry", { timeout: 30_000 }, async () => {
    const out = await unreachableBridge(3_000, {}, true);
    const lines = out.split("\n").filter((l) => l.trim() && !IDENTITY_NOTICE.test(l));
    expect(lines.length).toBeGreaterThan(3);
    // No JSON, and no numeric levels: a time, a level word, the message.
    expect(lines.filter((l) => l.trimStart().startsWith("{"))).toEqual([]);
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\] WARN: TWS connect failed: cannot reach TWS at 127\.0\.0\.1:\d+: connect ECONNREFUSED/m);
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: ibkr-bridge \d+\.\d+\.\d+ starting/m);
    // About a hundred attempts in 3 s, each failing the same way: the first is told, the rest wait for the minute.
    expect(count(out, "TWS connect failed")).toBe(1);
    expect(count(out, "edge link failed")).toBe(1);
    // A clean stop is still said.
    expect(out).toContain("bridge stopped");
  });

  it("piped: JSON lines, rate-limited the same way, each repeat carrying how many were held back", { timeout: 30_000 }, async () => {
    const out = await unreachableBridge(2_500, { BRIDGE_LOG_REPEAT_MS: "500" }, false);
    const lines = out.trim().split("\n").map((l) => JSON.parse(l) as { level: number; msg: string; held_back?: number; attempt?: number });
    const failures = lines.filter((l) => l.msg.startsWith("TWS connect failed"));
    // One line per 500 ms over 2.5 s, where unlimited there were ~80.
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(failures.length).toBeLessThanOrEqual(7);
    expect(failures.every((l) => l.level === 40)).toBe(true);
    expect(failures[0]!.held_back).toBeUndefined();
    const later = failures.slice(1);
    expect(later.every((l) => (l.held_back ?? 0) > 0)).toBe(true);
    // Nothing is lost: the attempts told plus those held back are every attempt made.
    const last = failures.at(-1)!;
    expect(failures.reduce((sum, l) => sum + 1 + (l.held_back ?? 0), 0)).toBe(last.attempt);
    expect(later[0]!.msg).toMatch(/^TWS connect failed \d+ times since \d\d:\d\d:\d\d: cannot reach TWS/);
  });

  it("LOG_FORMAT chooses: json in a terminal, pretty in a pipe", { timeout: 40_000 }, async () => {
    const json = await unreachableBridge(800, { LOG_FORMAT: "json" }, true);
    const jsonLines = json.split("\n").filter((l) => l.trim() && !IDENTITY_NOTICE.test(l));
    expect(jsonLines.length).toBeGreaterThan(2);
    expect(jsonLines.filter((l) => !l.trimStart().startsWith("{"))).toEqual([]);
    const pretty = await unreachableBridge(800, { LOG_FORMAT: "pretty" }, false);
    expect(pretty).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: ibkr-bridge/m);
  });

  it("a bad LOG_FORMAT is refused, named with the other settings", async () => {
    const bad = spawn(tsx, ["bridge/cli.ts"], { cwd: root, env: { PATH: process.env.PATH ?? "", LOG_FORMAT: "fancy", EDGE_URL: "http://127.0.0.1:1", BRIDGE_TOKEN: TOKEN, TRADING_WORKSPACE: workspace() }, stdio: ["ignore", "pipe", "pipe"] });
    children.push(bad);
    let err = "";
    bad.stderr!.on("data", (d) => (err += d));
    expect(await new Promise((resolve) => bad.once("exit", resolve))).toBe(2);
    expect(err).toContain('LOG_FORMAT must be auto, pretty or json (got "fancy")');
  });
});
