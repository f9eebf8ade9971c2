// The Worker's bindings and vars (wrangler.toml, secrets, test vars): one type for the Worker
// (index.ts), its guards and pages, and the account's Durable Object (account-do.ts).
export interface Env {
  /**
   * The account's Durable Object (account-do.ts, AccountDO), reached with fetch only. Untyped here:
   * naming AccountDO would make this file, which every layer's Worker code reads, import the entry.
   */
  ACCOUNT: DurableObjectNamespace;
  IBKR_ACCOUNT_ID: string;
  MCP_TOKEN: string;
  BRIDGE_TOKEN: string;
  /** The bridge's Ed25519 public key, base64url of the raw 32 bytes (`ibkr-bridge --public-key`). */
  BRIDGE_PUBLIC_KEY?: string;
  ADMIN_TOKEN: string;
  /** Initial shadow mode; afterwards the persisted per-account setting (admin API) decides. */
  SHADOW_MODE?: string;
  /** "true" registers no write tool at all. */
  READ_ONLY?: string;
  /** Comma-separated underlyings; when set, only these may be traded (it can only narrow). */
  ALLOWED_SYMBOLS?: string;
  /** OAuth grants, clients and token hashes (edge/auth/oauth.ts; @cloudflare/workers-oauth-provider). */
  OAUTH_KV: KVNamespace;
  /** This edge's public origin (https://…) when it differs from the request's, e.g. behind a proxy. */
  PUBLIC_ORIGIN?: string;
  /** Comma-separated extra browser origins allowed on /mcp (edge/http/origin-guard.ts). */
  ALLOWED_ORIGINS?: string;
  /** Tests only: "movable" or "movable:<ISO instant>" starts the desk's clock there and lets POST /api/test/clock move it (edge/dashboard/test-clock.ts). */
  TEST_CLOCK?: string;
}
