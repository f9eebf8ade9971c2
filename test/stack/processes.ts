// Child processes of the local stack (wrangler dev, the bridge, the simulator): spawned in their
// own process group so a stop reaches grandchildren (workerd), with output kept for diagnosis.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type ChildProcess, spawn } from "node:child_process";
import { connect, createServer } from "node:net";

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** Everything the process printed, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with the first stdout line matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** SIGTERM the group, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL the whole group at once: a crash, not a shutdown. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
  /** True once stop() or kill() was called: an exit after that is expected, not a crash. */
  readonly stopRequested: boolean;
}

export interface SpawnOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Echo the child's output to this process's stdout, prefixed with its name. */
  echo?: boolean;
}

const live = new Set<ManagedProcess>();
// Children run in their own process groups (so Ctrl-C reaches them only through us): when this
// process exits by any path, take every group still running down with it, never leave orphans.
process.once("exit", () => {
  for (const managed of live) {
    try {
      if (managed.child.pid) process.kill(-managed.child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

/** Stop every child this process started and that is still running (Ctrl-C during start-up). */
/**
 * The environment every child of the local stack gets: the project's own binaries first (Node 22
 * from the `node` package, wrangler), wrangler's writes kept in the project, no metrics, no colour.
 */
export function stackEnv(root: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    XDG_CONFIG_HOME: join(root, ".config"),
    FORCE_COLOR: "0",
  };
}

export async function stopAllManaged(): Promise<void> {
  await Promise.all([...live].map((managed) => managed.stop()));
}

export function spawnManaged(name: string, command: string, args: string[], options: SpawnOptions): ManagedProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  const lineWaiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let stdoutBuffer = "";
  const onData = (isStdout: boolean) => (chunk: Buffer) => {
    const s = chunk.toString("utf8");
    text += s;
    if (options.echo) for (const line of s.split("\n")) if (line.trim()) process.stdout.write(`[${name}] ${line}\n`);
    if (!isStdout) return;
    stdoutBuffer += s;
    let newline: number;
    while ((newline = stdoutBuffer.indexOf("\n")) >= 0) {
      const line = stdoutBuffer.slice(0, newline);
      stdoutBuffer = stdoutBuffer.slice(newline + 1);
      for (const waiter of [...lineWaiters]) {
        if (waiter.pattern.test(line)) {
          lineWaiters.splice(lineWaiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  };
  child.stdout!.on("data", onData(true));
  child.stderr!.on("data", onData(false));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  // A command that cannot start (ENOENT) emits "error" and no "exit"; report it as an exit.
  child.once("error", (error) => {
    text += `\n${name}: could not start ${command}: ${error.message}\n`;
    child.emit("exit", null, null);
  });
  let stopRequested = false;

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };

  const managed: ManagedProcess = {
    name,
    child,
    exited,
    get stopRequested() {
      return stopRequested;
    },
    output: () => text,
    waitForLine(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms. Output:\n${text.slice(-4000)}`)), timeoutMs);
        const waiter = { pattern, resolve: (line: string) => (clearTimeout(timer), resolve(line)) };
        lineWaiters.push(waiter);
        void exited.then((code) => {
          if (lineWaiters.includes(waiter)) {
            clearTimeout(timer);
            reject(new Error(`${name} exited (${code}) before printing ${pattern}. Output:\n${text.slice(-4000)}`));
          }
        });
      });
    },
    async stop(graceMs = 5_000) {
      stopRequested = true;
      if (child.exitCode !== null || child.signalCode !== null) {
        signalGroup("SIGKILL"); // the leader died; its grandchildren (workerd) may not have
        return;
      }
      signalGroup("SIGTERM");
      const timer = setTimeout(() => signalGroup("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      signalGroup("SIGKILL"); // grandchildren that ignored SIGTERM
    },
    async kill() {
      stopRequested = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      signalGroup("SIGKILL");
      await exited;
    },
  };
  live.add(managed);
  void exited.then(() => live.delete(managed));
  return managed;
}

/**
 * A port nothing listens on right now (wrangler dev does not check; we must), chosen below the
 * kernel's ephemeral range: a port handed out by `listen(0)` and closed again could be handed to
 * the next `listen(0)` of a parallel test (a simulator) before its taker binds it, and a bridge
 * told to dial a deliberately unbound port would then greet that simulator over HTTP.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const [ephemeralLow] = ephemeralRange();
  const low = 10_000;
  const high = Math.max(low + 1_000, ephemeralLow) - 1;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (!(await portInUse(port, host))) return port;
  }
  throw new Error(`no free port found between ${low} and ${high}`);
}

function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi)) return [lo!, hi!];
  } catch {
    // Not Linux: the IANA range is the usual default.
  }
  return [49_152, 65_535];
}

/** True when something accepts connections on the port. */
export async function portInUse(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(true));
    server.listen(port, host, () => server.close(() => resolve(false)));
  });
}

/** True when a TCP connect to host:port succeeds within `timeoutMs` (is TWS/Gateway there?). */
export async function canConnect(host: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Poll `check` until it returns true, or fail with `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
}
