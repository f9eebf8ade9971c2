// The bridge's settings, read from the environment and checked with one zod schema, so every
// bad or missing setting is named in a single error at start. Live trading needs a second,
// explicit opt-in (IBKR_ALLOW_LIVE=yes); nothing here can raise a limit of shared/limits.ts.
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { z } from "zod";
import { IbkrMode } from "../shared/protocol";

/** Default TWS/Gateway socket port of each mode (IBKR's defaults; `sim` uses the paper TWS port). */
export const MODE_PORTS: Record<IbkrMode, number> = {
  paper_tws: 7497,
  paper_gateway: 4002,
  live_tws: 7496,
  live_gateway: 4001,
  sim: 7497,
};

export const isLiveMode = (mode: IbkrMode): boolean => mode === "live_tws" || mode === "live_gateway";

/** Paper accounts at IBKR start with DU (individual) or DF (advisor). */
export const isPaperAccount = (account: string): boolean => /^D[UF]/i.test(account);

/** Every environment variable the bridge reads, with its default and meaning (for --help). */
export const ENV_DOCS: { name: string; default: string; meaning: string }[] = [
  { name: "IBKR_MODE", default: "sim", meaning: "paper_tws (7497) | paper_gateway (4002) | live_tws (7496) | live_gateway (4001) | sim (the bundled simulator, 7497)" },
  { name: "IBKR_HOST", default: "127.0.0.1", meaning: "host where TWS / IB Gateway listens" },
  { name: "IBKR_PORT", default: "(the mode's port)", meaning: "TWS / Gateway socket port; overrides the mode's port" },
  { name: "IBKR_CLIENT_ID", default: "0", meaning: "API client id (0-999999); must not be used by another API client" },
  { name: "IBKR_ALLOW_LIVE", default: "(unset)", meaning: "must be exactly `yes` to start in a live mode" },
  { name: "IBKR_ACCOUNT_ID", default: "(the first managed account)", meaning: "which managed account to trade when TWS manages several" },
  { name: "IBKR_MARKET_DATA_TYPE", default: "1", meaning: "1 live, 2 frozen, 3 delayed, 4 delayed-frozen (reqMarketDataType); quotes always say which they are" },
  { name: "EDGE_URL", default: "(required)", meaning: "the edge Worker's URL (http/https); the bridge dials EDGE_URL/bridge over ws/wss" },
  { name: "BRIDGE_TOKEN", default: "(required)", meaning: "bearer token of the /bridge route (at least 16 characters); never logged" },
  { name: "TRADING_WORKSPACE", default: "~/trading_workspace", meaning: "trade logs go to $TRADING_WORKSPACE/logs" },
  { name: "BRIDGE_IDENTITY_FILE", default: "$TRADING_WORKSPACE/bridge_identity.pem", meaning: "the bridge's Ed25519 private key (made at first run, mode 0600); its public key is the edge's BRIDGE_PUBLIC_KEY (`ibkr-bridge public-key` prints it)" },
  { name: "EMERGENCY_STOP_FILE", default: "$TRADING_WORKSPACE/EMERGENCY_STOP", meaning: "while this file exists every opening order is refused" },
  { name: "LOG_LEVEL", default: "info", meaning: "pino level: fatal, error, warn, info, debug, trace, silent" },
  { name: "LOG_FORMAT", default: "auto", meaning: "auto: readable lines (pino-pretty) when stdout is a terminal, JSON lines otherwise; or pretty, or json" },
  { name: "BRIDGE_LOG_REPEAT_MS", default: "60000", meaning: "a connection failure that repeats unchanged is logged once, then at most once per this long with how many were held back" },
  { name: "BRIDGE_TWS_HEARTBEAT_MS", default: "10000", meaning: "reqCurrentTime sent this often while connected" },
  { name: "BRIDGE_TWS_HEARTBEAT_TIMEOUT_MS", default: "5000", meaning: "no answer to a heartbeat within this time = TWS is dead, reconnect" },
  { name: "BRIDGE_TWS_CONNECT_TIMEOUT_MS", default: "10000", meaning: "a connect attempt without nextValidId in this time fails" },
  { name: "BRIDGE_TWS_BACKOFF_MIN_MS", default: "1000", meaning: "first TWS reconnect delay (doubles, with jitter)" },
  { name: "BRIDGE_TWS_BACKOFF_MAX_MS", default: "5000", meaning: "longest TWS reconnect delay (TWS is local: trading resumes within seconds of it recovering)" },
  { name: "BRIDGE_LINK_PING_MS", default: "10000", meaning: "ping to the edge this often" },
  { name: "BRIDGE_LINK_DEAD_MS", default: "30000", meaning: "no frame from the edge for this long = dead link, reconnect" },
  { name: "BRIDGE_LINK_BACKOFF_MIN_MS", default: "500", meaning: "first edge reconnect delay (doubles, with jitter)" },
  { name: "BRIDGE_LINK_BACKOFF_MAX_MS", default: "30000", meaning: "longest edge reconnect delay" },
  { name: "BRIDGE_ACCOUNT_HEARTBEAT_MS", default: "5000", meaning: "an `account` event at least this often while TWS is connected" },
  { name: "BRIDGE_ORDER_ACK_TIMEOUT_MS", default: "8000", meaning: "wait this long for TWS to acknowledge a new order (below the edge's 10 s)" },
];

const ms = (name: string, fallback: number, min: number) =>
  z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text.trim() === "") return fallback;
      const value = Number(text);
      if (!Number.isInteger(value) || value < min) {
        ctx.addIssue({ code: "custom", message: `${name} must be a whole number of milliseconds ≥ ${min} (got "${text}")` });
        return z.NEVER;
      }
      return value;
    });

const EnvSchema = z
  .object({
    IBKR_MODE: z
      .string()
      .optional()
      .transform((text, ctx) => {
        const mode = IbkrMode.safeParse(text === undefined || text.trim() === "" ? "sim" : text.trim());
        if (!mode.success) {
          ctx.addIssue({ code: "custom", message: `IBKR_MODE must be one of ${IbkrMode.options.join(", ")} (got "${text}")` });
          return z.NEVER;
        }
        return mode.data;
      }),
    IBKR_HOST: z.string().optional().transform((text) => (text?.trim() ? text.trim() : "127.0.0.1")),
    IBKR_PORT: z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (text === undefined || text.trim() === "") return null;
        const port = Number(text);
        if (!Number.isInteger(port) || port < 1 || port > 65_535) {
          ctx.addIssue({ code: "custom", message: `IBKR_PORT must be a TCP port 1-65535 (got "${text}")` });
          return z.NEVER;
        }
        return port;
      }),
    IBKR_CLIENT_ID: z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (text === undefined || text.trim() === "") return 0;
        const id = Number(text);
        if (!Number.isInteger(id) || id < 0 || id > 999_999) {
          ctx.addIssue({ code: "custom", message: `IBKR_CLIENT_ID must be a whole number 0-999999 (got "${text}")` });
          return z.NEVER;
        }
        return id;
      }),
    IBKR_ALLOW_LIVE: z.string().optional(),
    IBKR_ACCOUNT_ID: z.string().optional().transform((text) => (text?.trim() ? text.trim() : null)),
    IBKR_MARKET_DATA_TYPE: z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (text === undefined || text.trim() === "") return 1;
        const type = Number(text);
        if (![1, 2, 3, 4].includes(type)) {
          ctx.addIssue({ code: "custom", message: `IBKR_MARKET_DATA_TYPE must be 1, 2, 3 or 4 (got "${text}")` });
          return z.NEVER;
        }
        return type as 1 | 2 | 3 | 4;
      }),
    EDGE_URL: z
      .string({ error: "EDGE_URL is required (the edge Worker's URL, e.g. https://ibkr-mcp.example.workers.dev)" })
      .transform((text, ctx) => {
        let url: URL;
        try {
          url = new URL(text.trim());
        } catch {
          ctx.addIssue({ code: "custom", message: "EDGE_URL is not a valid URL" });
          return z.NEVER;
        }
        if (!["http:", "https:", "ws:", "wss:"].includes(url.protocol)) {
          ctx.addIssue({ code: "custom", message: `EDGE_URL must start with http://, https://, ws:// or wss:// (got ${url.protocol}//)` });
          return z.NEVER;
        }
        return url;
      }),
    BRIDGE_TOKEN: z
      .string({ error: "BRIDGE_TOKEN is required (the bearer token of the edge's /bridge route)" })
      .refine((token) => token.trim().length >= 16, "BRIDGE_TOKEN must be at least 16 characters"),
    TRADING_WORKSPACE: z.string().optional(),
    EMERGENCY_STOP_FILE: z.string().optional(),
    BRIDGE_IDENTITY_FILE: z.string().optional(),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], { error: "LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent" }).optional(),
    LOG_FORMAT: z
      .string()
      .optional()
      .transform((text, ctx) => {
        const format = text?.trim() || "auto";
        if (format !== "auto" && format !== "pretty" && format !== "json") {
          ctx.addIssue({ code: "custom", message: `LOG_FORMAT must be auto, pretty or json (got "${text}")` });
          return z.NEVER;
        }
        return format;
      }),
    BRIDGE_LOG_REPEAT_MS: ms("BRIDGE_LOG_REPEAT_MS", 60_000, 10),
    BRIDGE_TWS_HEARTBEAT_MS: ms("BRIDGE_TWS_HEARTBEAT_MS", 10_000, 50),
    BRIDGE_TWS_HEARTBEAT_TIMEOUT_MS: ms("BRIDGE_TWS_HEARTBEAT_TIMEOUT_MS", 5_000, 50),
    BRIDGE_TWS_CONNECT_TIMEOUT_MS: ms("BRIDGE_TWS_CONNECT_TIMEOUT_MS", 10_000, 100),
    BRIDGE_TWS_BACKOFF_MIN_MS: ms("BRIDGE_TWS_BACKOFF_MIN_MS", 1_000, 10),
    BRIDGE_TWS_BACKOFF_MAX_MS: ms("BRIDGE_TWS_BACKOFF_MAX_MS", 5_000, 10),
    BRIDGE_LINK_PING_MS: ms("BRIDGE_LINK_PING_MS", 10_000, 50),
    BRIDGE_LINK_DEAD_MS: ms("BRIDGE_LINK_DEAD_MS", 30_000, 100),
    BRIDGE_LINK_BACKOFF_MIN_MS: ms("BRIDGE_LINK_BACKOFF_MIN_MS", 500, 10),
    BRIDGE_LINK_BACKOFF_MAX_MS: ms("BRIDGE_LINK_BACKOFF_MAX_MS", 30_000, 10),
    BRIDGE_ACCOUNT_HEARTBEAT_MS: ms("BRIDGE_ACCOUNT_HEARTBEAT_MS", 5_000, 100),
    BRIDGE_ORDER_ACK_TIMEOUT_MS: ms("BRIDGE_ORDER_ACK_TIMEOUT_MS", 8_000, 100),
  });

/** Live modes need IBKR_ALLOW_LIVE=yes; checked apart from the schema so it is reported with every other problem. */
function liveRefusal(env: NodeJS.ProcessEnv): string | null {
  const mode = env.IBKR_MODE?.trim();
  if ((mode === "live_tws" || mode === "live_gateway") && env.IBKR_ALLOW_LIVE !== "yes")
    return `IBKR_MODE=${mode} trades real money: refusing to start unless IBKR_ALLOW_LIVE=yes is also set`;
  return null;
}

export interface BridgeConfig {
  mode: IbkrMode;
  host: string;
  port: number;
  clientId: number;
  /** Only this managed account; null = the first one TWS reports. */
  accountId: string | null;
  marketDataType: 1 | 2 | 3 | 4;
  edgeUrl: URL;
  bridgeToken: string;
  workspace: string;
  logsDir: string;
  emergencyStopFile: string;
  /** The Ed25519 identity key the bridge signs its hello with (bridge/identity.ts). */
  identityFile: string;
  logLevel: string;
  /** auto: pretty when stdout is a terminal, JSON otherwise. */
  logFormat: "auto" | "pretty" | "json";
  timing: {
    twsHeartbeatMs: number;
    twsHeartbeatTimeoutMs: number;
    twsConnectTimeoutMs: number;
    twsBackoffMinMs: number;
    twsBackoffMaxMs: number;
    linkPingMs: number;
    linkDeadMs: number;
    linkBackoffMinMs: number;
    linkBackoffMaxMs: number;
    accountHeartbeatMs: number;
    orderAckTimeoutMs: number;
    /** An unchanged repeating failure is logged at most once per this long (with the count held back). */
    logRepeatMs: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`The bridge cannot start; fix ${problems.length === 1 ? "this setting" : `these ${problems.length} settings`}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

function expandHome(path: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return join(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(path);
}

/** Read and check every setting at once; throws ConfigError naming each problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): BridgeConfig {
  const parsed = EnvSchema.safeParse(env);
  const live = liveRefusal(env);
  if (!parsed.success || live) {
    const problems = (parsed.error?.issues ?? []).map((issue) => {
      const name = String(issue.path[0] ?? "");
      // zod's own messages ("expected string") do not name the variable; ours all do.
      return issue.message.includes(name) || name === "" ? issue.message : `${name}: ${issue.message}`;
    });
    if (live) problems.unshift(live);
    throw new ConfigError([...new Set(problems)]);
  }
  const e = parsed.data as z.infer<typeof EnvSchema>;
  const workspace = expandHome(e.TRADING_WORKSPACE?.trim() || "~/trading_workspace");
  return {
    mode: e.IBKR_MODE,
    host: e.IBKR_HOST,
    port: e.IBKR_PORT ?? MODE_PORTS[e.IBKR_MODE],
    clientId: e.IBKR_CLIENT_ID,
    accountId: e.IBKR_ACCOUNT_ID,
    marketDataType: e.IBKR_MARKET_DATA_TYPE,
    edgeUrl: e.EDGE_URL,
    bridgeToken: e.BRIDGE_TOKEN.trim(),
    workspace,
    logsDir: join(workspace, "logs"),
    emergencyStopFile: e.EMERGENCY_STOP_FILE?.trim() ? expandHome(e.EMERGENCY_STOP_FILE.trim()) : join(workspace, "EMERGENCY_STOP"),
    identityFile: e.BRIDGE_IDENTITY_FILE?.trim() ? expandHome(e.BRIDGE_IDENTITY_FILE.trim()) : join(workspace, "bridge_identity.pem"),
    logLevel: e.LOG_LEVEL ?? "info",
    logFormat: e.LOG_FORMAT,
    timing: {
      twsHeartbeatMs: e.BRIDGE_TWS_HEARTBEAT_MS,
      twsHeartbeatTimeoutMs: e.BRIDGE_TWS_HEARTBEAT_TIMEOUT_MS,
      twsConnectTimeoutMs: e.BRIDGE_TWS_CONNECT_TIMEOUT_MS,
      twsBackoffMinMs: e.BRIDGE_TWS_BACKOFF_MIN_MS,
      twsBackoffMaxMs: Math.max(e.BRIDGE_TWS_BACKOFF_MAX_MS, e.BRIDGE_TWS_BACKOFF_MIN_MS),
      linkPingMs: e.BRIDGE_LINK_PING_MS,
      linkDeadMs: e.BRIDGE_LINK_DEAD_MS,
      linkBackoffMinMs: e.BRIDGE_LINK_BACKOFF_MIN_MS,
      linkBackoffMaxMs: Math.max(e.BRIDGE_LINK_BACKOFF_MAX_MS, e.BRIDGE_LINK_BACKOFF_MIN_MS),
      accountHeartbeatMs: e.BRIDGE_ACCOUNT_HEARTBEAT_MS,
      orderAckTimeoutMs: e.BRIDGE_ORDER_ACK_TIMEOUT_MS,
      logRepeatMs: e.BRIDGE_LOG_REPEAT_MS,
    },
  };
}

/** EDGE_URL without user/password or query, safe to log. */
export function safeUrl(url: URL): string {
  const copy = new URL(url.href);
  copy.username = "";
  copy.password = "";
  copy.search = "";
  copy.hash = "";
  return copy.href;
}
