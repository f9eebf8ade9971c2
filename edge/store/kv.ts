// Small JSON key-value settings of the account (flags, snapshots, breaker records) in SQLite.
// Every write goes to storage at once and nothing outlives a restart in memory. A value read is
// kept only until the current synchronous turn ends (a microtask clears it): one request asks the
// same few keys dozens of times while it decides (get_safety_status: 44 reads of about a dozen
// keys), and nothing else can run in between. Every change to the kv table goes through this file
// (setKv, deleteKv) and updates the kept value; a transaction that rolls back calls
// forgetKvReads, as its writes are undone.

interface Turn {
  sql: SqlStorage;
  /** The stored JSON text, or null for a key that is not stored. */
  values: Map<string, string | null>;
}
let turn: Turn | null = null;

function turnValues(sql: SqlStorage): Map<string, string | null> {
  if (turn?.sql !== sql) {
    const current: Turn = { sql, values: new Map() };
    turn = current;
    queueMicrotask(() => {
      if (turn === current) turn = null;
    });
  }
  return turn.values;
}

/** Drops every value kept this turn (a transaction rolled back: storage no longer holds its writes). */
export function forgetKvReads(): void {
  turn = null;
}

/**
 * Keys a request reads together (the account's snapshot, P&L, breakers, stop, shadow mode, TWS's
 * health): the first read of one of them in a turn reads them all in one statement. A name missing
 * here costs a statement of its own, never a wrong value.
 */
const READ_TOGETHER = [
  "account", "account_suspect", "pnl", "loss_streak", "high_water_mark", "tws_health", "tws_clock", "emergency_stop", "shadow_mode",
  "breaker:daily_loss", "breaker:drawdown", "breaker:consecutive_losses", "breaker:assignment",
];
const TOGETHER = new Set(READ_TOGETHER);
const TOGETHER_SQL = `SELECT key, value_json FROM kv WHERE key IN (${READ_TOGETHER.map(() => "?").join(",")})`;

function readTogether(sql: SqlStorage, values: Map<string, string | null>): void {
  const stored = new Map<string, string>();
  for (const row of sql.exec<{ key: string; value_json: string }>(TOGETHER_SQL, ...READ_TOGETHER)) stored.set(row.key, row.value_json);
  for (const key of READ_TOGETHER) values.set(key, stored.get(key) ?? null);
}

export function getKv<T>(sql: SqlStorage, key: string, fallback: T): T {
  const values = turnValues(sql);
  let json = values.get(key);
  if (json === undefined) {
    if (TOGETHER.has(key)) readTogether(sql, values);
    else values.set(key, sql.exec<{ value_json: string }>("SELECT value_json FROM kv WHERE key = ?", key).toArray()[0]?.value_json ?? null);
    json = values.get(key)!;
  }
  // Parsed on every read: callers may change what they get without changing the kept value.
  return json === null ? fallback : (JSON.parse(json) as T);
}

export function setKv(sql: SqlStorage, key: string, value: unknown): void {
  const json = JSON.stringify(value);
  sql.exec("INSERT INTO kv (key, value_json) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json", key, json);
  turnValues(sql).set(key, json);
}

export function deleteKv(sql: SqlStorage, key: string): void {
  sql.exec("DELETE FROM kv WHERE key = ?", key);
  turnValues(sql).set(key, null);
}
