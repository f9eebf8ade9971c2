// SQLite schema of the account's Durable Object: the authoritative safety state.
// Applied once in the constructor; statements are idempotent so a restart reapplies them safely.
// Audit rows are append-only and hash-chained (see audit.ts).
export const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS trades (trade_id TEXT PRIMARY KEY, symbol TEXT NOT NULL, strategy TEXT NOT NULL,
     state TEXT NOT NULL, reserved_risk REAL NOT NULL, idempotency_key TEXT, created_at TEXT NOT NULL, details_json TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS orders (order_id INTEGER, trade_id TEXT NOT NULL, status TEXT NOT NULL, updated_at TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS fills (exec_id TEXT PRIMARY KEY, trade_id TEXT, details_json TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, answer_json TEXT NOT NULL, at TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS daily_pnl (trading_day TEXT PRIMARY KEY, pnl REAL NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value_json TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
     details_json TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)`,
];
