// The whole system on loopback: the TWS simulator (in sim mode), the edge in workerd via
// `wrangler dev`, and the bridge, each a real process. `npm start` and the end-to-end tests
// both start it from here, so the tests exercise exactly what a newcomer runs. A test stack pins
// the clocks (`startAt`): the simulator's (TWS's, which the bridge follows) and the edge's test
// clock start at the instant the test chooses and move together; `npm start` runs on real time.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { loadOrCreateIdentity } from "../../bridge/identity";
import type { IbkrMode } from "../../shared/protocol";
import { freePort, type ManagedProcess, portInUse, spawnManaged, stackEnv, waitUntil } from "./processes";
import type { LocalSecrets } from "./secrets";

export interface StackOptions {
  root: string;
  mode: IbkrMode;
  secrets: LocalSecrets;
  /** Wrangler's local Durable Object storage; kept between runs by `npm start`. */
  stateDir: string;
  /** The bridge's trade logs and emergency-stop file live here. */
  workDir: string;
  edgePort?: number;
  /** The secrets file wrangler reads (`npm start`: .dev.vars); default: written into stateDir. */
  envFile?: string;
  /** The edge's IBKR_ACCOUNT_ID; in sim mode the simulator's account by default. */
  accountId?: string;
  shadowMode?: boolean;
  /**
   * Run the edge from a bundle made once at start (`wrangler deploy --dry-run`) instead of the
   * watched sources, so edits to edge/ while tests run cannot restart the Worker mid-test.
   * `npm start` keeps live reload; the tests freeze.
   */
  frozenEdge?: boolean;
  /**
   * With frozenEdge: bundle this entry instead of wrangler.toml's main, and add `config` to the
   * frozen copy of wrangler.toml (the benchmark's floors beside the edge, test/bench/floor/).
   */
  edgeEntry?: { script: string; config: string };
  /** Where a real TWS/Gateway listens, when mode is not `sim`. */
  tws?: { host?: string; port?: number; clientId?: number };
  echo?: boolean;
  /** Extra env for the bridge (tests use it for fault timings). */
  bridgeEnv?: Record<string, string>;
  /** Extra Worker vars (e.g. ALLOWED_ORIGINS for a test proxy in front of /mcp). */
  edgeVars?: Record<string, string>;
  /**
   * Tests only: the instant (ISO with offset) the simulator's clock and the edge's test clock
   * (TEST_CLOCK=movable:<ISO>) start at; they are aligned once both run and move together with
   * moveClock. Unset (`npm start`, a real TWS): real time, no test clock.
   */
  startAt?: string;
}

/** What a clock read or move answers: the simulator's and the edge's now, aligned. */
export interface StackClock {
  now: string;
  sim: { now: string; expired: number; settled: unknown[] };
  edge: { now: string; shift_ms: number };
}

/** The part of the edge's GET /api/health the start-up and the tests read. */
export interface StackHealth {
  bridge: { connected: boolean };
  tws: { state: string; last_error: string | null } | null;
  can_open_new_trades?: boolean;
  blocked_by?: string[];
}

export interface Stack {
  edgeUrl: string;
  mcpUrl: string;
  dashboardUrl: string;
  account: string | null;
  /** The bridge's public key, as the edge was given it (BRIDGE_PUBLIC_KEY). */
  bridgePublicKey: string;
  sim: { port: number; controlUrl: string } | null;
  processes: () => ManagedProcess[];
  /** Call the simulator's HTTP control surface. */
  simControl(path: string, body?: unknown): Promise<unknown>;
  /** GET/POST the edge's admin API with the admin token. */
  admin(path: string, body?: unknown, method?: string): Promise<Response>;
  startBridge(): Promise<void>;
  killBridge(): Promise<void>;
  stopBridge(): Promise<void>;
  startEdge(): Promise<void>;
  stopEdge(): Promise<void>;
  waitBridgeLinked(timeoutMs?: number): Promise<void>;
  /**
   * Tests only (a stack with `startAt`): moves TWS's (the simulator's) and the edge's clock forward
   * together by `advanceMs`, then brings the one behind up to the other (both only move forward);
   * the bridge follows TWS's clock at its next heartbeat. `moveClock(0)` reads and aligns them.
   */
  moveClock(advanceMs: number): Promise<StackClock>;
  /** Waits until the bridge holds its link to the edge, whatever TWS's state (a real TWS may be down). */
  waitEdgeLinked(timeoutMs?: number): Promise<void>;
  /** The edge's /api/health (bridge link, TWS, can a trade be opened), or null while it does not answer. */
  health(): Promise<StackHealth | null>;
  /** Called once when a child dies without being asked to (a crash, a port clash, a typo). */
  onUnexpectedExit(listener: (process: ManagedProcess, code: number | null) => void): void;
  stop(): Promise<void>;
}

const bin = (root: string, name: string) => join(root, "node_modules", ".bin", name);

export async function startStack(options: StackOptions): Promise<Stack> {
  const { root, secrets } = options;
  // wrangler dev does not check its port: a second instance would start and never be reached.
  if (options.edgePort !== undefined && (await portInUse(options.edgePort))) {
    throw new Error(`Port ${options.edgePort} is already in use on 127.0.0.1: stop whatever listens there (another npm start?) or set EDGE_PORT`);
  }
  const exitListeners: ((process: ManagedProcess, code: number | null) => void)[] = [];
  const watch = (managed: ManagedProcess): ManagedProcess => {
    void managed.exited.then((code) => {
      if (!managed.stopRequested) for (const listener of exitListeners) listener(managed, code);
    });
    return managed;
  };
  mkdirSync(options.stateDir, { recursive: true });
  mkdirSync(options.workDir, { recursive: true });
  const env = stackEnv(root);

  // First, before any process runs (a failed build leaves nothing behind): the config wrangler
  // dev runs, the project's own or a copy whose main is a frozen bundle.
  let configArgs: string[] = [];
  if (options.frozenEdge) {
    const bundleDir = join(options.stateDir, "edge-bundle");
    // With a script, wrangler looks for its config beside the script: the edge's is named.
    const build = spawnManaged("edge-build", bin(root, "wrangler"), ["deploy", "--dry-run", "--outdir", bundleDir, ...(options.edgeEntry ? ["--config", join(root, "wrangler.toml"), options.edgeEntry.script] : [])], { cwd: root, env, echo: options.echo });
    const code = await build.exited;
    if (code !== 0) throw new Error(`bundling the edge failed (${code}):\n${build.output().slice(-3000)}`);
    const config = readFileSync(join(root, "wrangler.toml"), "utf8");
    if (!/^main\s*=.*$/m.test(config)) throw new Error("wrangler.toml has no main = line to point at the bundle");
    const frozen = join(options.stateDir, "wrangler.frozen.toml");
    writeFileSync(frozen, config.replace(/^main\s*=.*$/m, `main = ${JSON.stringify(join(bundleDir, options.edgeEntry ? basename(options.edgeEntry.script).replace(/\.ts$/, ".js") : "index.js"))}\nno_bundle = true`) + (options.edgeEntry?.config ?? ""));
    configArgs = ["--config", frozen];
  }

  let simProcess: ManagedProcess | null = null;
  let sim: Stack["sim"] = null;
  let account: string | null = null;
  if (options.startAt !== undefined && options.mode !== "sim") throw new Error("startAt pins the simulator's clock: it needs IBKR_MODE=sim (a real TWS keeps its own)");
  if (options.mode === "sim") {
    const clockArgs = options.startAt === undefined ? [] : ["--now", options.startAt];
    simProcess = watch(spawnManaged("sim", bin(root, "tsx"), [join(root, "test/tws-sim/cli.ts"), "--port", "0", "--control-port", "0", ...clockArgs], { cwd: root, env, echo: options.echo }));
    const line = await simProcess.waitForLine(/^\{.*"port"/, 30_000).catch(async (error: unknown) => {
      await simProcess?.stop();
      throw error;
    });
    const ports = JSON.parse(line) as { port: number; controlPort: number; account?: string };
    sim = { port: ports.port, controlUrl: `http://127.0.0.1:${ports.controlPort}` };
    account = ports.account ?? null;
  }
  if (options.accountId) account = options.accountId;

  const edgePort = options.edgePort ?? (await freePort());
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  let envFile = options.envFile;
  if (!envFile) {
    envFile = join(options.stateDir, "stack.env");
    writeFileSync(envFile, Object.entries(secrets).map(([k, v]) => `${k}=${v}`).join("\n") + "\n", { mode: 0o600 });
  }

  // The bridge's identity key, made here on first run exactly as the bridge makes it, so the edge
  // can be given its public key (BRIDGE_PUBLIC_KEY; public, so a --var is enough locally).
  const identityFile = options.bridgeEnv?.BRIDGE_IDENTITY_FILE ?? join(options.workDir, "bridge_identity.pem");
  const bridgePublicKey = loadOrCreateIdentity(identityFile).identity.publicKey;

  let edge: ManagedProcess | null = null;
  const startEdge = async () => {
    if (await portInUse(edgePort)) throw new Error(`Port ${edgePort} is already in use on 127.0.0.1: stop whatever listens there or set EDGE_PORT`);
    const inspector = await freePort();
    // PUBLIC_ORIGIN pins the edge's own origin (OAuth resource, Origin check) whatever Host a caller sends.
    const vars = [`SHADOW_MODE:${options.shadowMode ? "true" : "false"}`, `BRIDGE_PUBLIC_KEY:${bridgePublicKey}`, `PUBLIC_ORIGIN:${edgeUrl}`];
    if (account) vars.push(`IBKR_ACCOUNT_ID:${account}`);
    // The edge's test clock starts where the simulator's did (aligned after both run: moveClock(0)).
    if (options.startAt !== undefined) vars.push(`TEST_CLOCK:movable:${options.startAt}`);
    for (const [k, v] of Object.entries(options.edgeVars ?? {})) vars.push(`${k}:${v}`);
    edge = watch(spawnManaged(
      "edge",
      bin(root, "wrangler"),
      ["dev", ...configArgs, "--ip", "127.0.0.1", "--port", String(edgePort), "--inspector-port", String(inspector), "--persist-to", options.stateDir, "--env-file", envFile, "--show-interactive-dev-session=false", "--log-level", "warn", ...vars.flatMap((v) => ["--var", v])],
      { cwd: root, env, echo: options.echo },
    ));
    const current = edge;
    await waitUntil("the edge (wrangler dev) to answer", async () => {
      if (current.child.exitCode !== null) throw new Error(`wrangler dev exited:\n${current.output().slice(-3000)}`);
      const res = await fetch(`${edgeUrl}/mcp`, { method: "GET" });
      return res.status > 0;
    }, 90_000, 300);
  };
  const stopEdge = async () => {
    await edge?.stop();
    edge = null;
  };

  let bridge: ManagedProcess | null = null;
  const bridgeEnv = {
    ...env,
    IBKR_MODE: options.mode,
    IBKR_HOST: options.tws?.host ?? "127.0.0.1",
    ...(sim ? { IBKR_PORT: String(sim.port) } : options.tws?.port ? { IBKR_PORT: String(options.tws.port) } : {}),
    IBKR_CLIENT_ID: String(options.tws?.clientId ?? 0),
    EDGE_URL: edgeUrl,
    BRIDGE_TOKEN: secrets.BRIDGE_TOKEN,
    TRADING_WORKSPACE: options.workDir,
    BRIDGE_IDENTITY_FILE: identityFile,
    ...options.bridgeEnv,
  };
  const startBridge = async () => {
    bridge = watch(spawnManaged("bridge", bin(root, "tsx"), [join(root, "bridge/cli.ts")], { cwd: root, env: bridgeEnv, echo: options.echo }));
  };

  const admin = (path: string, body?: unknown, method?: string) =>
    fetch(`${edgeUrl}${path}`, {
      method: method ?? (body === undefined ? "GET" : "POST"),
      headers: { authorization: `Bearer ${secrets.ADMIN_TOKEN}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  const health = async (): Promise<StackHealth | null> => {
    const res = await admin("/api/health");
    if (!res.ok) {
      await res.body?.cancel();
      return null;
    }
    return (await res.json()) as StackHealth;
  };
  const waitBridgeLinked = async (timeoutMs = 60_000) => {
    await waitUntil("the bridge to link to the edge and TWS", async () => {
      const now = await health();
      return now?.bridge.connected === true && now.tws?.state === "connected";
    }, timeoutMs, 300);
  };
  const waitEdgeLinked = async (timeoutMs = 60_000) => {
    await waitUntil("the bridge to link to the edge", async () => (await health())?.bridge.connected === true, timeoutMs, 300);
  };

  /** The two clocks: each read (0) or moved, then the one behind brought up to the other. */
  const moveClock = async (advanceMs: number): Promise<StackClock> => {
    if (options.startAt === undefined || !sim) throw new Error("moveClock needs a stack started with startAt (the test clocks)");
    if (!Number.isSafeInteger(advanceMs) || advanceMs < 0) throw new Error(`moveClock: advance_ms must be a whole number of ms ≥ 0, got ${advanceMs}`);
    const simMove = (ms: number) => stack.simControl("/clock", { advance_ms: ms }) as Promise<StackClock["sim"]>;
    const edgeMove = async (ms: number): Promise<StackClock["edge"]> => {
      const res = await admin("/api/test/clock", { advance_ms: ms });
      if (!res.ok) throw new Error(`edge test clock: ${res.status} ${await res.text()}`);
      return (await res.json()) as StackClock["edge"];
    };
    let simClock = await simMove(advanceMs);
    let edgeClock = await edgeMove(advanceMs);
    const gap = Date.parse(simClock.now) - Date.parse(edgeClock.now);
    if (gap > 0) edgeClock = await edgeMove(gap);
    else if (gap < 0) {
      // What TWS did in the catch-up counts with the move itself.
      const more = await simMove(-gap);
      simClock = { now: more.now, expired: simClock.expired + more.expired, settled: [...simClock.settled, ...more.settled] };
    }
    return { now: simClock.now, sim: simClock, edge: edgeClock };
  };

  const stack: Stack = {
    edgeUrl,
    mcpUrl: `${edgeUrl}/mcp`,
    dashboardUrl: `${edgeUrl}/dashboard`,
    account,
    bridgePublicKey,
    sim,
    processes: () => [simProcess, edge, bridge].filter((p): p is ManagedProcess => p !== null),
    async simControl(path, body) {
      if (!sim) throw new Error("No simulator in this stack (a real TWS is configured)");
      const res = await fetch(`${sim.controlUrl}${path}`, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`sim control ${path}: ${res.status} ${await res.text()}`);
      return res.json();
    },
    admin,
    startBridge,
    killBridge: async () => {
      await bridge?.kill();
      bridge = null;
    },
    stopBridge: async () => {
      await bridge?.stop();
      bridge = null;
    },
    startEdge,
    stopEdge,
    waitBridgeLinked,
    moveClock,
    waitEdgeLinked,
    health,
    onUnexpectedExit(listener) {
      exitListeners.push(listener);
    },
    async stop() {
      await Promise.all([bridge?.stop(), edge?.stop()]);
      await simProcess?.stop();
    },
  };

  try {
    await startEdge();
    // Before the bridge reads either: wrangler took seconds to start, so the edge's clock began behind TWS's.
    if (options.startAt !== undefined) await moveClock(0);
    await startBridge();
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}
