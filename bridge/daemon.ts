// Wires the bridge together: TWS connection, mirror, operations, trade logs and the edge link.
// `startBridge(config)` runs it in-process (the CLI and the tests both use it) and returns the
// handle to stop it and read its health.
import type { DestinationStream } from "pino";
import packageJson from "../package.json";
import type { EventData, EventType, OpName, RequestMeta, TwsHealth } from "../shared/protocol";
import { type BridgeConfig, safeUrl } from "./config";
import { ContractResolver } from "./contracts";
import { EdgeLink, type EdgeLinkOptions } from "./edge-link";
import { createLogger, type Logger } from "./log";
import { MarketData } from "./market-data";
import { Mirror } from "./mirror";
import { createOperations, type EdgeStop, type Handlers } from "./operations";
import { TradeLogs } from "./trade-logs";
import { TwsConnection } from "./tws-connection";

/** The package's version (package.json is the one source; the edge reports the same). */
export const BRIDGE_VERSION: string = packageJson.version;

export interface StartOptions {
  /** Where pino writes (tests capture it); stdout when absent. */
  logDestination?: DestinationStream;
  logger?: Logger;
  /** Event queue bound of the edge link (tests use a small one). */
  maxQueuedEvents?: number;
  /** The edge link's socket, when the deterministic simulation (test/dst/) carries it. */
  openEdgeSocket?: EdgeLinkOptions["openSocket"];
}

export interface Bridge {
  /** The current event stream's id (see EdgeLink.newStream). */
  readonly bridgeId: string;
  readonly config: BridgeConfig;
  readonly logger: Logger;
  readonly tws: TwsConnection;
  readonly mirror: Mirror;
  readonly link: EdgeLink;
  readonly tradeLogs: TradeLogs;
  /** The operation handlers, as the edge link calls them (params already parsed). */
  readonly ops: Handlers;
  health(): TwsHealth;
  /** Resolves once TWS is connected (first session). */
  ready(): Promise<string>;
  /** Resolves with the reason when the bridge stopped itself (paper/live mismatch). */
  readonly fatal: Promise<Error>;
  stop(): Promise<void>;
}

export function startBridge(config: BridgeConfig, options: StartOptions = {}): Bridge {
  const logger = options.logger ?? createLogger(config.logLevel, options.logDestination, config.logFormat);
  const tws = new TwsConnection({
    host: config.host,
    port: config.port,
    clientId: config.clientId,
    mode: config.mode,
    accountId: config.accountId,
    marketDataType: config.marketDataType,
    timing: config.timing,
    logger,
  });
  const tradeLogs = new TradeLogs(config.logsDir, logger);
  let ops: Handlers | null = null;
  // The edge's stop as last pushed; kept while the link is down (the edge re-sends it on welcome).
  const edgeStop: EdgeStop = { on: false, reason: null, at: null, by: null };
  const link = new EdgeLink({
    url: config.edgeUrl,
    token: config.bridgeToken,
    logger,
    identityFile: config.identityFile,
    timing: config.timing,
    hello: () => ({ bridge_version: BRIDGE_VERSION, account_id: tws.account ?? config.accountId ?? "", mode: config.mode, tws: tws.health }),
    handle: (op: OpName, params: unknown, meta: RequestMeta) => (ops as Handlers)[op](params as never, meta),
    onEmergencyStop: ({ on, reason, at, by }) => {
      const changed = on !== edgeStop.on;
      Object.assign(edgeStop, { on, reason, at, by });
      if (changed) logger.warn({ emergency_stop: edgeStop }, on ? `edge emergency stop set by ${by ?? "?"}: ${reason ?? ""}; no opening order leaves the bridge` : "edge emergency stop cleared");
    },
    ...(options.maxQueuedEvents ? { maxQueuedEvents: options.maxQueuedEvents } : {}),
    ...(options.openEdgeSocket ? { openSocket: options.openEdgeSocket } : {}),
  });
  const publish = <T extends EventType>(event: T, data: EventData<T>) => {
    link.publish(event, data);
    tradeLogs.onEvent(event, data);
  };
  const mirror = new Mirror(tws, publish, logger);
  const contracts = new ContractResolver(tws);
  const market = new MarketData(tws, contracts);
  ops = createOperations({
    tws, mirror, contracts, market, tradeLogs, publish, logger, mode: config.mode,
    emergencyStopFile: config.emergencyStopFile, orderAckTimeoutMs: config.timing.orderAckTimeoutMs, edgeStop: () => edgeStop,
  });

  tws.on("health", (health: TwsHealth) => publish("tws_health", health));
  tws.on("clock", (clock: EventData<"tws_clock">) => publish("tws_clock", clock));
  link.onNewStream = () => {
    publish("tws_health", tws.health);
    mirror.publishSnapshot();
  };
  // The hello carries the account id: from IBKR_ACCOUNT_ID at once (the edge then hears that TWS
  // is down), otherwise from TWS, so the link starts after TWS's first session.
  const ready = new Promise<string>((resolve) => tws.once("ready", resolve));
  if (config.accountId) link.start();
  else void ready.then(() => link.start());
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      logger.info("bridge stopping");
      mirror.stop();
      await link.stop();
      await tws.stop();
      logger.info("bridge stopped");
    })();
    return stopping;
  };
  const fatal = new Promise<Error>((resolve) =>
    tws.once("fatal", (error: Error) => {
      logger.fatal(error.message);
      void stop().then(() => resolve(error));
    }),
  );

  logger.info(
    { mode: config.mode, tws: `${config.host}:${config.port}`, client_id: config.clientId, edge: safeUrl(config.edgeUrl), logs: config.logsDir, emergency_stop_file: config.emergencyStopFile, bridge_id: link.bridgeId },
    `ibkr-bridge ${BRIDGE_VERSION} starting`,
  );
  mirror.startHeartbeat(config.timing.accountHeartbeatMs, () => link.status.connected);
  tws.start();

  return {
    get bridgeId() {
      return link.bridgeId;
    },
    config, logger, tws, mirror, link, tradeLogs, ops,
    health: () => tws.health,
    ready: () => ready,
    fatal,
    stop,
  };
}
