// Small JSON key-value settings of the account (flags, snapshots, breaker records) in SQLite.
// Every read goes to storage, so nothing here lives only in memory across a restart.

export function getKv<T>(sql: SqlStorage, key: string, fallback: T): T {
  const row = sql.exec<{ value_json: string }>("SELECT value_json FROM kv WHERE key = ?", key).toArray()[0];
  return row ? (JSON.parse(row.value_json) as T) : fallback;
}

export function setKv(sql: SqlStorage, key: string, value: unknown): void {
  sql.exec(
    "INSERT INTO kv (key, value_json) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json",
    key,
    JSON.stringify(value),
  );
}
