// What an MCP caller may do, as OAuth scopes: `read` (read tools and resources) and `trade` (adds
// the write tools). The Worker alone sets MCP_SCOPES_HEADER on the request it forwards to the
// account's Durable Object (a caller's copy is dropped), from the OAuth token's scopes or, for
// the static MCP_TOKEN, both. The Durable Object lists only the tools those scopes allow.
export const SCOPES = ["read", "trade"] as const;
export type Scope = (typeof SCOPES)[number];
/** Set by the Worker alone: the caller's scopes, space-separated. */
export const MCP_SCOPES_HEADER = "x-ibkr-mcp-scopes";
/** Set by the Worker alone: the OAuth grant behind the call (for "last used"), absent for the static token. */
export const MCP_GRANT_HEADER = "x-ibkr-mcp-grant";

/** Tools that change orders or positions: they need `trade`. Every other tool needs `read`. */
export const WRITE_TOOLS: ReadonlySet<string> = new Set(["place_order", "close_position", "cancel_order", "modify_order"]);

export function parseScopes(value: string | null | undefined): Set<Scope> {
  const out = new Set<Scope>();
  for (const word of (value ?? "").split(/\s+/)) if ((SCOPES as readonly string[]).includes(word)) out.add(word as Scope);
  return out;
}

/** `trade` includes `read`: a client that may trade must see what it trades. */
export function canTrade(scopes: ReadonlySet<Scope>): boolean {
  return scopes.has("trade");
}
export function canRead(scopes: ReadonlySet<Scope>): boolean {
  return scopes.has("read") || scopes.has("trade");
}

/** The scope a tool call needs. */
export function scopeForTool(name: string): Scope {
  return WRITE_TOOLS.has(name) ? "trade" : "read";
}
