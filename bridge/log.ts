// Structured JSON logs (pino) for the bridge. Tokens never reach a log line: authorization
// headers and anything named like a token or secret are redacted, and the edge URL is logged
// only without its credentials (see config.safeUrl).
import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger } from "pino";

/** Paths pino replaces with "[redacted]" wherever they appear (up to two levels deep). */
export const REDACT_PATHS = [
  "token",
  "bridgeToken",
  "BRIDGE_TOKEN",
  "authorization",
  "Authorization",
  "headers.authorization",
  "headers.Authorization",
  "*.token",
  "*.bridgeToken",
  "*.BRIDGE_TOKEN",
  "*.authorization",
  "*.Authorization",
  "*.headers.authorization",
  "*.headers.Authorization",
  "config.bridgeToken",
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: "ibkr-bridge" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
  };
  return destination ? pino(options, destination) : pino(options);
}
