// Append-only, hash-chained audit log in the account's SQLite.
// Hashing is synchronous (node:crypto under nodejs_compat) so an audit row can be written in the
// same synchronous turn as the decision it records, without an await between check and write.
import { createHash } from "node:crypto";

const GENESIS_HASH = "0".repeat(64);

// A type alias, not an interface, so it fits SqlStorage's Record<string, SqlStorageValue> rows.
export type AuditRow = {
  seq: number;
  at: string;
  actor: string;
  action: string;
  details_json: string;
  prev_hash: string;
  hash: string;
};

function rowHash(prevHash: string, row: Omit<AuditRow, "prev_hash" | "hash">): string {
  const canonical = JSON.stringify([row.seq, row.at, row.actor, row.action, row.details_json]);
  return createHash("sha256").update(prevHash + canonical).digest("hex");
}

export function appendAudit(sql: SqlStorage, actor: string, action: string, details: unknown, now = new Date()): AuditRow {
  const last = sql.exec<{ seq: number; hash: string }>("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").toArray()[0];
  const base = { seq: (last?.seq ?? 0) + 1, at: now.toISOString(), actor, action, details_json: JSON.stringify(details ?? {}) };
  const prev_hash = last?.hash ?? GENESIS_HASH;
  const row: AuditRow = { ...base, prev_hash, hash: rowHash(prev_hash, base) };
  sql.exec(
    "INSERT INTO audit (seq, at, actor, action, details_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
    row.seq, row.at, row.actor, row.action, row.details_json, row.prev_hash, row.hash,
  );
  return row;
}

/** `credential`: rows whose details name it (edge/ledger/credential.ts: an OAuth client id, `MCP_TOKEN`, `admin`). */
export interface AuditFilter { after?: number; limit?: number; action?: string | null; actor?: string | null; credential?: string | null }

export function readAudit(sql: SqlStorage, filter: AuditFilter = {}): AuditRow[] {
  const where = ["seq > ?"];
  const args: (string | number)[] = [filter.after ?? 0];
  if (filter.action) (where.push("action = ?"), args.push(filter.action));
  if (filter.actor) (where.push("actor = ?"), args.push(filter.actor));
  if (filter.credential) (where.push("json_extract(details_json, '$.credential.id') = ?"), args.push(filter.credential));
  return sql
    .exec<AuditRow>(`SELECT * FROM audit WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ?`, ...args, filter.limit ?? 1000)
    .toArray()
    .map((r) => ({ ...r }));
}

/** Walks the whole chain; the first row whose link or hash does not match is reported. */
export function verifyAudit(sql: SqlStorage): { ok: true; rows: number } | { ok: false; bad_seq: number; rows: number } {
  let prev = GENESIS_HASH;
  let rows = 0;
  for (const row of sql.exec<AuditRow>("SELECT * FROM audit ORDER BY seq")) {
    rows++;
    if (row.prev_hash !== prev || rowHash(prev, row) !== row.hash) return { ok: false, bad_seq: row.seq, rows };
    prev = row.hash;
  }
  return { ok: true, rows };
}
