// One real stack per end-to-end test file: simulator, wrangler dev and bridge as processes on
// free loopback ports, fresh secrets and a fresh Durable Object store, an MCP SDK client, and the
// dashboard's cookie session. Each process's output is saved under test-output/logs/ at the end.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { IbkrMode } from "../../shared/protocol";
import { type Stack, startStack } from "../stack/local-stack";
import { waitUntil } from "../stack/processes";
import { type LocalSecrets, newSecrets } from "../stack/secrets";
import { testStart } from "../support/clock-pin";
import { connectMcp } from "./mcp-client";

export const ROOT = join(import.meta.dirname, "..", "..");
export const OUTPUT = join(ROOT, "test-output");

export type McpClient = Awaited<ReturnType<typeof connectMcp>>;

export interface TestStack {
  stack: Stack;
  secrets: LocalSecrets;
  mcp: McpClient;
  /** The bridge's TRADING_WORKSPACE (its trade logs are under logs/). */
  workDir: string;
  /** A fresh MCP client (e.g. after the edge restarted). */
  reconnectMcp(): Promise<McpClient>;
  /** The dashboard's session: login with the admin token, then cookie + CSRF token. */
  dashboard(): Promise<DashboardSession>;
  /** Sim control /state (orders, executions, positions, account). */
  simState(): Promise<SimStateView>;
  stop(): Promise<void>;
}

export interface SimOrderView {
  orderId: number;
  orderRef: string;
  status: string;
  filled: number;
  remaining: number;
  avgFillPrice: number;
  lmtPrice?: number;
  secType: string;
  legs: { conId: number; ratio: number; action: string }[];
}
export interface SimExecutionView {
  execId: string;
  orderId: number;
  orderRef: string;
  side: string;
  shares: number;
  price: number;
  commission: number;
  realizedPnL?: number;
}
export interface SimStateView {
  account: { netLiquidation: number; cash: number; realizedPnL: number; dailyPnL: number; buyingPower: number };
  orders: SimOrderView[];
  executions: SimExecutionView[];
  positions: { conId: number; symbol: string; position: number; strike: number; right: string; expiry: string }[];
  prices: Record<string, number>;
  protocolWarnings: string[];
}

export interface DashboardSession {
  cookie: string;
  csrf: string;
  /** POST a state-changing admin call the way the page does it (cookie, Origin, CSRF header). */
  post(path: string, body: unknown): Promise<Response>;
  get(path: string): Promise<Response>;
}

/** Fast reconnects, so a killed bridge or a dropped link is noticed and back within seconds. */
export const FAST_BRIDGE_ENV: Readonly<Record<string, string>> = {
  LOG_LEVEL: "info",
  BRIDGE_LINK_BACKOFF_MIN_MS: "100",
  BRIDGE_LINK_BACKOFF_MAX_MS: "1000",
  BRIDGE_TWS_BACKOFF_MIN_MS: "100",
  BRIDGE_TWS_BACKOFF_MAX_MS: "1000",
};

/** Every process's output so far, under test-output/logs/NAME-PROCESS.log. */
export function saveStackLogs(name: string, stack: Stack): void {
  mkdirSync(join(OUTPUT, "logs"), { recursive: true });
  for (const p of stack.processes()) writeFileSync(join(OUTPUT, "logs", `${name}-${p.name}.log`), p.output());
}

/**
 * In sim mode the simulator's clock and the edge's test clock start at `startAt` (default: the
 * tests' pinned instant, test/support/clock-pin.ts) and move together with `stack.moveClock`.
 */
export async function startTestStack(name: string, options: { mode?: IbkrMode; shadowMode?: boolean; bridgeEnv?: Record<string, string>; edgeVars?: Record<string, string>; tws?: { host?: string; port?: number; clientId?: number }; accountId?: string; startAt?: string; edgeEntry?: { script: string; config: string } } = {}): Promise<TestStack> {
  mkdirSync(join(OUTPUT, "stacks"), { recursive: true });
  const base = mkdtempSync(join(OUTPUT, "stacks", `${name}-`));
  const secrets = newSecrets();
  const stack = await startStack({
    root: ROOT,
    mode: options.mode ?? "sim",
    secrets,
    stateDir: join(base, "state"),
    workDir: join(base, "trading_workspace"),
    shadowMode: options.shadowMode ?? false,
    frozenEdge: true,
    accountId: options.accountId,
    tws: options.tws,
    echo: process.env.E2E_ECHO === "1",
    bridgeEnv: { ...FAST_BRIDGE_ENV, ...options.bridgeEnv },
    ...(options.edgeVars ? { edgeVars: options.edgeVars } : {}),
    ...(options.edgeEntry ? { edgeEntry: options.edgeEntry } : {}),
    ...((options.mode ?? "sim") === "sim" ? { startAt: options.startAt ?? testStart() } : {}),
  });
  const saveLogs = () => saveStackLogs(name, stack);
  try {
    await stack.waitBridgeLinked(90_000);
  } catch (error) {
    saveLogs();
    await stack.stop();
    throw new Error(`${(error as Error).message}\n--- bridge output ---\n${stack.processes().find((p) => p.name === "bridge")?.output().slice(-3000) ?? "(none)"}`);
  }
  const mcp = await connectMcp(stack.mcpUrl, secrets.MCP_TOKEN);
  return {
    stack,
    secrets,
    mcp,
    workDir: join(base, "trading_workspace"),
    reconnectMcp: () => connectMcp(stack.mcpUrl, secrets.MCP_TOKEN),
    dashboard: () => dashboardLogin(stack.edgeUrl, secrets.ADMIN_TOKEN),
    simState: async () => (await stack.simControl("/state")) as SimStateView,
    async stop() {
      saveLogs();
      await mcp.close().catch(() => undefined);
      await stack.stop();
      saveLogs();
    },
  };
}


/** The simulator's clock (TWS's), read without moving it. */
export async function simNow(stack: Pick<Stack, "simControl">): Promise<number> {
  return Date.parse(((await stack.simControl("/clock", { advance_ms: 0 })) as { now: string }).now);
}
/** Logs in through the real form and reads the CSRF token from the page, as a browser would. */
export async function dashboardLogin(edgeUrl: string, adminToken: string): Promise<DashboardSession> {
  const res = await fetch(`${edgeUrl}/dashboard/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: edgeUrl },
    body: new URLSearchParams({ token: adminToken }).toString(),
  });
  if (res.status !== 303) throw new Error(`dashboard login answered ${res.status}: ${await res.text()}`);
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0]!;
  const page = await (await fetch(`${edgeUrl}/dashboard`, { headers: { cookie } })).text();
  const csrf = /<meta name="csrf-token" content="([0-9a-f]{64})">/.exec(page)?.[1];
  if (!csrf) throw new Error("the dashboard page carries no CSRF token after login");
  return {
    cookie,
    csrf,
    post: (path, body) =>
      fetch(`${edgeUrl}${path}`, {
        method: "POST",
        headers: { cookie, origin: edgeUrl, "x-csrf-token": csrf, "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
    get: (path) => fetch(`${edgeUrl}${path}`, { headers: { cookie } }),
  };
}

export { waitUntil };
