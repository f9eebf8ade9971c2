// How much of the account object's storage is used, for get_safety_status and the dashboard. A
// SQLite-backed Durable Object holds at most 10 GB (Cloudflare's limit per object; a Free-plan
// account holds 5 GB in all); a full object refuses every write — orders, bridge events, audit
// rows — so the owner is warned long before: at STORAGE_ALERT_BYTES.

/** Cloudflare's limit per SQLite-backed Durable Object (1 GB = 10^9 bytes, as Cloudflare counts). */
export const STORAGE_LIMIT_BYTES = 10_000_000_000;
/** The alert: a tenth of the per-object limit, a fifth of a Free-plan account's 5 GB. */
export const STORAGE_ALERT_BYTES = 1_000_000_000;

export interface StorageStatus {
  /** The object's SQLite file now (ctx.storage.sql.databaseSize). */
  database_bytes: number;
  alert_at_bytes: number;
  limit_bytes: number;
  alert: boolean;
  /** What to do, in words, once the alert is on; null below it. */
  message: string | null;
}

const gb = (bytes: number) => `${(bytes / 1_000_000_000).toFixed(2)} GB`;

export function storageStatus(databaseBytes: number): StorageStatus {
  const alert = !(databaseBytes < STORAGE_ALERT_BYTES);
  return {
    database_bytes: databaseBytes, alert_at_bytes: STORAGE_ALERT_BYTES, limit_bytes: STORAGE_LIMIT_BYTES, alert,
    message: alert
      ? `Storage: ${gb(databaseBytes)} of the ${gb(STORAGE_LIMIT_BYTES)} a Durable Object may hold is used (alert from ${gb(STORAGE_ALERT_BYTES)}). A full object refuses orders, bridge events and audit rows: export the audit log and find what is growing.`
      : null,
  };
}
