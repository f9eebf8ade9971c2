// What the order desk, the event handler and the admin API need from the account's Durable
// Object: its storage, the bridge link, its settings, the audit append, the clock and its
// dashboard sockets.
import type { BridgeLink } from "../link/bridge-link";

/** The account's configuration, from the Worker's vars (account-do.ts builds it once). */
export interface Settings { accountId: string; readOnly: boolean; allowedSymbols: string[] | null; shadowDefault: boolean }

export interface DeskContext {
  sql: SqlStorage;
  link: BridgeLink;
  settings: Settings;
  /** Appends a hash-chained audit row (and tells the dashboards); returns its seq. */
  audit(actor: string, action: string, details: unknown): number;
  /** Asks the bridge to append to safety_violations.log / circuit_breaker.log; never throws. */
  writeLog(kind: "safety_violation" | "circuit_breaker", message: string, details: Record<string, unknown>): void;
  now(): Date;
  /** How far a test's clock runs from the machine's (edge/dashboard/test-clock.ts: its start and its moves); 0 outside tests. */
  clockShiftMs(): number;
  /** Closes the dashboard live sockets carrying this tag; returns how many. */
  closeDashboardSockets(tag: string, reason: string): number;
}
