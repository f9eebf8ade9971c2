// The bridge's logs (pino): JSON lines for machines (systemd's journal, the test stacks), readable
// lines (pino-pretty) for a person at a terminal. Tokens never reach a log line in either form:
// authorization headers and anything named like a token or secret are redacted before the line is
// written, and the edge URL is logged only without its credentials (see config.safeUrl). A
// connection failure that repeats unchanged is told once, then once per interval with a count
// (RepeatGate), so a TWS down overnight is a line a minute, and nothing is lost from the count.
import { type DestinationStream, type Logger, pino } from "pino";
import pretty from "pino-pretty";

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

export type LogFormat = "auto" | "pretty" | "json";

/** `auto` is pretty exactly when stdout is a terminal: a person reads it; anything else parses it. */
export function resolveLogFormat(format: LogFormat, stdoutIsTerminal = process.stdout.isTTY === true): "pretty" | "json" {
  return format === "auto" ? (stdoutIsTerminal ? "pretty" : "json") : format;
}

/**
 * A logger writing JSON to `destination` (tests capture it) or to stdout, or readable lines to
 * stdout when `format` resolves to pretty. Both pass through the same redaction.
 */
export function createLogger(level: string, destination?: DestinationStream, format: LogFormat = "json"): Logger {
  const options = {
    level,
    base: { service: "ibkr-bridge" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
  };
  if (destination) return pino(options, destination);
  if (resolveLogFormat(format) === "json") return pino(options);
  const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
  // In-process and synchronous: a line is on the screen before the next one, and before an exit.
  return pino(options, pretty({ destination: 1, sync: true, colorize: colour, translateTime: "SYS:HH:MM:ss", ignore: "pid,hostname,service", singleLine: true }));
}

/**
 * Lets the first of a run of identical messages of one kind through, then at most one per
 * `intervalMs`, saying how many were held back since the last one shown. A different message of
 * the kind (a new error) passes at once; `clear` ends the run (the connection came up).
 */
export class RepeatGate {
  private readonly runs = new Map<string, { message: string; shownAt: number; heldBack: number; count: number; since: number }>();

  constructor(private readonly intervalMs: number, private readonly now: () => number = Date.now) {}

  /**
   * null: hold this one back. Otherwise how many were held back since the last one shown (of any
   * message of the kind), and how often this message has repeated since when (its run).
   */
  pass(kind: string, message: string): Shown | null {
    const at = this.now();
    const run = this.runs.get(kind);
    const same = run !== undefined && run.message === message;
    if (same && at - run.shownAt < this.intervalMs) {
      run.heldBack++;
      run.count++;
      return null;
    }
    const shown: Shown = { heldBack: run?.heldBack ?? 0, same, count: same ? run.count + 1 : 1, since: new Date(same ? run.since : at) };
    this.runs.set(kind, { message, shownAt: at, heldBack: 0, count: shown.count, since: shown.since.getTime() });
    return shown;
  }

  clear(kind: string): void {
    this.runs.delete(kind);
  }
}

export interface Shown {
  /** Lines of the kind held back since the last one shown. */
  heldBack: number;
  /** The same message as the last one shown. */
  same: boolean;
  /** How many times this message has come in a row, this one included, since `since`. */
  count: number;
  since: Date;
}

/**
 * "TWS connect failed: …"; "TWS connect failed 12 times since 09:03:11: …" while it repeats; or,
 * when the failure changed, the new one and how often the earlier one repeated unseen.
 */
export function repeatedMessage(what: string, detail: string, shown: Shown): string {
  if (shown.same && shown.count > 1) return `${what} ${shown.count} times since ${shown.since.toTimeString().slice(0, 8)}: ${detail}`;
  if (!shown.same && shown.heldBack > 0) return `${what}: ${detail} (the failure before it repeated ${shown.heldBack} more times, not shown)`;
  return `${what}: ${detail}`;
}

/** The fields a shown line carries: the count held back before it, when there is one. */
export const heldBackField = (shown: Shown): { held_back?: number } => (shown.heldBack > 0 ? { held_back: shown.heldBack } : {});
