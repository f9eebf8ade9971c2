// The seed's log files on the trading box, under $TRADING_WORKSPACE/logs: trades/{trade_id}.json
// (written when an order is placed, updated with its status and fills), trades/{trade_id}_close.json
// for its close, and the append-only safety_violations.log and circuit_breaker.log (one JSON line
// per entry). JSON files are replaced atomically (temp file + rename); appends are single writes.
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EventData } from "../shared/protocol";
import type { Logger } from "./log";

/** Ids become file names: letters, digits, `_`, `.`, `-`, starting with a letter or digit. */
export const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const CLOSE_SUFFIX = "_CLOSE";

export interface TradeRecord {
  trade_id: string;
  order_ref: string;
  symbol: string;
  strategy: string | null;
  intent: "open" | "close";
  legs: unknown[];
  max_risk: number | null;
  order_type: string;
  limit_price: number;
  order_id: number;
  perm_id: number | null;
  status: string;
  filled: number;
  remaining: number;
  avg_fill_price: number | null;
  reason: string | null;
  fills: EventData<"execution">[];
  commission_total: number;
  account: string | null;
  mode: string;
  placed_at: string;
  updated_at: string;
}

export class TradeLogs {
  readonly tradesDir: string;

  constructor(
    readonly logsDir: string,
    private readonly logger: Logger,
  ) {
    this.tradesDir = join(logsDir, "trades");
  }

  /** trades/{trade_id}.json, or trades/{trade_id}_close.json for orderRef `{trade_id}_CLOSE`. */
  fileFor(orderRef: string): string | null {
    if (!SAFE_ID.test(orderRef) || orderRef.includes("..")) return null;
    const name = orderRef.endsWith(CLOSE_SUFFIX) ? `${orderRef.slice(0, -CLOSE_SUFFIX.length)}_close.json` : `${orderRef}.json`;
    return join(this.tradesDir, name);
  }

  /** Write the record of an order the bridge is about to send. */
  recordPlaced(record: TradeRecord, fileRef: string): void {
    const file = this.fileFor(fileRef);
    if (!file) return;
    this.writeAtomic(file, record);
  }

  /** Fold a status or fill into its trade file, when the order is one of ours. */
  onEvent(event: string, data: unknown): void {
    try {
      if (event === "order_status") this.update(data as EventData<"order_status">);
      else if (event === "execution") this.addFill(data as EventData<"execution">);
    } catch (error) {
      this.logger.error({ err: (error as Error).message }, "could not update a trade log");
    }
  }

  private read(orderRef: string | null): { file: string; record: TradeRecord } | null {
    if (!orderRef) return null;
    const file = this.fileFor(orderRef);
    if (!file || !existsSync(file)) return null;
    return { file, record: JSON.parse(readFileSync(file, "utf8")) as TradeRecord };
  }

  private update(status: EventData<"order_status">): void {
    const found = this.read(status.order_ref);
    if (!found || found.record.order_id !== status.order_id) return;
    const r = found.record;
    Object.assign(r, {
      status: status.status,
      filled: status.filled,
      remaining: status.remaining,
      avg_fill_price: status.avg_fill_price,
      perm_id: status.perm_id ?? r.perm_id,
      reason: status.reason ?? r.reason,
      updated_at: new Date().toISOString(),
    });
    this.writeAtomic(found.file, r);
  }

  private addFill(fill: EventData<"execution">): void {
    const found = this.read(fill.order_ref);
    if (!found || found.record.order_id !== fill.order_id) return;
    const r = found.record;
    if (r.fills.some((f) => f.exec_id === fill.exec_id)) return;
    r.fills.push(fill);
    r.commission_total = Math.round(r.fills.reduce((sum, f) => sum + (f.commission ?? 0), 0) * 100) / 100;
    r.updated_at = new Date().toISOString();
    this.writeAtomic(found.file, r);
  }

  /** One line in safety_violations.log or circuit_breaker.log. */
  append(kind: "safety_violation" | "circuit_breaker", entry: { at: string; message: string; details?: Record<string, unknown> }): void {
    mkdirSync(this.logsDir, { recursive: true });
    const file = join(this.logsDir, kind === "safety_violation" ? "safety_violations.log" : "circuit_breaker.log");
    appendFileSync(file, `${JSON.stringify({ at: entry.at, kind, message: entry.message, details: entry.details ?? {} })}\n`);
  }

  private writeAtomic(file: string, record: unknown): void {
    mkdirSync(this.tradesDir, { recursive: true });
    const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    writeFileSync(temp, `${JSON.stringify(record, null, 2)}\n`);
    renameSync(temp, file);
  }
}
