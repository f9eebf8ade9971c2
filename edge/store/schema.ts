// SQLite schema of the account's Durable Object: the authoritative safety state.
// Applied once in the constructor; statements are idempotent so a restart reapplies them safely.
// Audit rows are append-only and hash-chained (see audit.ts).
export const SCHEMA = [
  // One row per trade the edge approved (refusals live only in the audit log). `exposure` is what
  // counts toward concentration while the trade is active; `reserved_risk` is its effective risk.
  `CREATE TABLE IF NOT EXISTS trades (trade_id TEXT PRIMARY KEY, symbol TEXT NOT NULL, strategy TEXT NOT NULL,
     state TEXT NOT NULL, reserved_risk REAL NOT NULL, exposure REAL NOT NULL, computed_max_risk REAL,
     claimed_max_risk REAL NOT NULL, capital_required REAL NOT NULL, net_premium REAL NOT NULL, max_gain REAL,
     breakevens_json TEXT NOT NULL, legs_json TEXT NOT NULL, limit_price REAL NOT NULL, fingerprint TEXT NOT NULL,
     metadata_json TEXT, idempotency_key TEXT, created_at TEXT NOT NULL, created_ms INTEGER NOT NULL,
     updated_at TEXT NOT NULL, expires_at TEXT, realized_pnl REAL, closed_at TEXT)`,
  `CREATE INDEX IF NOT EXISTS trades_state ON trades(state)`,
  // One IBKR order per order_ref: the trade's opening order (ref = trade_id) and its close (ref = trade_id_CLOSE).
  `CREATE TABLE IF NOT EXISTS orders (order_ref TEXT PRIMARY KEY, trade_id TEXT NOT NULL, intent TEXT NOT NULL,
     order_id INTEGER, perm_id INTEGER, status TEXT NOT NULL, filled REAL NOT NULL DEFAULT 0, remaining REAL NOT NULL DEFAULT 0,
     avg_fill_price REAL, why_held TEXT, reason TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS orders_order_id ON orders(order_id)`,
  `CREATE TABLE IF NOT EXISTS fills (exec_id TEXT PRIMARY KEY, order_ref TEXT, trade_id TEXT, order_id INTEGER,
     symbol TEXT NOT NULL, sec_type TEXT NOT NULL, side TEXT NOT NULL, shares REAL NOT NULL, price REAL NOT NULL,
     commission REAL, time TEXT NOT NULL, received_at TEXT NOT NULL, details_json TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS fills_trade ON fills(trade_id)`,
  // Key is scoped by tool (`place:KEY`); args_hash catches a key reused for a different order.
  `CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, args_hash TEXT NOT NULL, trade_id TEXT, answer_json TEXT, at TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS daily_pnl (trading_day TEXT PRIMARY KEY, pnl REAL NOT NULL)`,
  // Send (or queue) times of orders, for the per-minute rate limit.
  `CREATE TABLE IF NOT EXISTS order_times (id INTEGER PRIMARY KEY AUTOINCREMENT, trade_id TEXT NOT NULL, at_ms INTEGER NOT NULL)`,
  // Today's P&L over time (edge/safety/pnl-points.ts), for the dashboard's P&L line (edge/views/pictures.ts).
  `CREATE TABLE IF NOT EXISTS pnl_points (at_ms INTEGER PRIMARY KEY, trading_day TEXT NOT NULL, pnl REAL NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS positions (con_id INTEGER PRIMARY KEY, position_json TEXT NOT NULL, updated_at TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value_json TEXT NOT NULL)`,
  // Failed dashboard logins per client address, for the lockout window (see login-gate.ts). The
  // older global table counted every address together; its rows only held lockout timing.
  `DROP TABLE IF EXISTS login_failures`,
  `CREATE TABLE IF NOT EXISTS login_failures_by_client (client TEXT NOT NULL, at_ms INTEGER NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS login_failures_by_client_client ON login_failures_by_client(client, at_ms)`,
  // Live dashboard sessions: the SHA-256 of the cookie's session value, never the value (dashboard-sessions.ts).
  `CREATE TABLE IF NOT EXISTS dashboard_sessions (id_hash TEXT PRIMARY KEY, created_ms INTEGER NOT NULL,
     expires_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, client TEXT NOT NULL)`,
  // When each OAuth grant last called /mcp (grants themselves live in OAUTH_KV; edge/auth/oauth-grants.ts).
  `CREATE TABLE IF NOT EXISTS oauth_grant_use (grant_id TEXT PRIMARY KEY, last_used_ms INTEGER NOT NULL, uses INTEGER NOT NULL)`,
  // Grants the owner revoked: refused here at once, whatever a KV replica elsewhere still says.
  `CREATE TABLE IF NOT EXISTS oauth_revoked_grants (grant_id TEXT PRIMARY KEY, revoked_ms INTEGER NOT NULL)`,
  // Refresh tokens the provider accepted, by SHA-256 (edge/auth/refresh-tokens.ts): spent once, one retry, reuse revokes the grant.
  `CREATE TABLE IF NOT EXISTS oauth_refresh_tokens (token_hash TEXT PRIMARY KEY, grant_id TEXT NOT NULL, issued_ms INTEGER NOT NULL,
     spent_ms INTEGER, retries INTEGER NOT NULL DEFAULT 0, superseded INTEGER NOT NULL DEFAULT 0, parent_hash TEXT)`,
  `CREATE INDEX IF NOT EXISTS oauth_refresh_tokens_grant ON oauth_refresh_tokens(grant_id, issued_ms)`,
  // One-time approval links of "confirm every order" (edge/desk/approval-links.ts): the token's SHA-256, never the token.
  `CREATE TABLE IF NOT EXISTS approval_links (token_hash TEXT PRIMARY KEY, trade_id TEXT NOT NULL, created_ms INTEGER NOT NULL,
     expires_ms INTEGER NOT NULL, used_ms INTEGER)`,
  // Counts of unauthenticated audit causes in the open window (edge/audit/audit-flood.ts); closed windows are summarized and deleted.
  `CREATE TABLE IF NOT EXISTS audit_flood (window_start_ms INTEGER NOT NULL, action TEXT NOT NULL, client TEXT NOT NULL,
     written INTEGER NOT NULL, suppressed INTEGER NOT NULL, PRIMARY KEY (window_start_ms, action, client))`,
  // OAuth dynamic client registrations let through, per address, and the clients they stored (edge/auth/registration-gate.ts).
  `CREATE TABLE IF NOT EXISTS oauth_registrations (client TEXT NOT NULL, at_ms INTEGER NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS oauth_registrations_client ON oauth_registrations(client, at_ms)`,
  // Who placed, modified, closed or cancelled each trade, by credential (edge/ledger/trade-acts.ts).
  `CREATE TABLE IF NOT EXISTS trade_acts (id INTEGER PRIMARY KEY AUTOINCREMENT, trade_id TEXT NOT NULL, act TEXT NOT NULL,
     credential_id TEXT NOT NULL, credential_json TEXT NOT NULL, at TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS trade_acts_trade ON trade_acts(trade_id)`,
  `CREATE INDEX IF NOT EXISTS trade_acts_credential ON trade_acts(credential_id)`,
  `CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
     details_json TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)`,
];

/**
 * Columns added after a table first shipped. SQLite has no ADD COLUMN IF NOT EXISTS, so each is
 * applied once and its "duplicate column" error on later starts is expected and ignored.
 */
export const COLUMN_MIGRATIONS = [
  // The underlying group (index family) a trade's exposure counts in; null on rows made before it.
  `ALTER TABLE trades ADD COLUMN exposure_group TEXT`,
  // The TWS session that issued the order's id: an id means something only within its session.
  `ALTER TABLE orders ADD COLUMN tws_session TEXT`,
  // Set while reconciliation cannot account for a working order (TWS neither holds nor finished
  // it): its risk stays reserved, the dashboard shows it, and an admin may settle it.
  `ALTER TABLE orders ADD COLUMN unaccounted_at TEXT`,
  `CREATE INDEX IF NOT EXISTS orders_perm_id ON orders(perm_id)`,
  // Executions no order made (edge/ledger/settlements.ts): "option" (exercise, assignment, lapse) or "delivery" (its stock).
  `ALTER TABLE fills ADD COLUMN settlement TEXT`,
  `ALTER TABLE fills ADD COLUMN paired_exec_id TEXT`,
  // What an order_times row was sent as (ledger.ts OrderKind); null on rows made before it (counted as openings).
  `ALTER TABLE order_times ADD COLUMN kind TEXT`,
  // Realized P&L of stock the trade's options delivered, booked so far (edge/ledger/delivered-stock.ts); null: none.
  `ALTER TABLE trades ADD COLUMN delivered_stock_pnl REAL`,
  // The client a let-through registration stored, and whether the owner granted it (edge/auth/registration-gate.ts).
  `ALTER TABLE oauth_registrations ADD COLUMN client_id TEXT`,
  `ALTER TABLE oauth_registrations ADD COLUMN granted INTEGER NOT NULL DEFAULT 0`,
  `CREATE INDEX IF NOT EXISTS oauth_registrations_client_id ON oauth_registrations(client_id)`,
  // The evidence sequence of the write that last changed the row (ledger.ts nextEvidence): a
  // reconciliation's snapshot, read before that write, must not overwrite it.
  `ALTER TABLE orders ADD COLUMN evidence_seq INTEGER NOT NULL DEFAULT 0`,
  `ALTER TABLE positions ADD COLUMN evidence_seq INTEGER NOT NULL DEFAULT 0`,
];
