// Which credential made an MCP call: an OAuth app (its client id and registered name, and the
// grant) or the static MCP_TOKEN. The Worker alone sets MCP_CREDENTIAL_HEADER on the /mcp request
// it forwards (a caller's copy is dropped), after the provider accepted the token; the account's
// Durable Object records it on every write tool's audit row and on the trade's acts (placed,
// modified, closed, cancelled), so the owner sees and filters who did what.
import { z } from "zod";

export const MCP_CREDENTIAL_HEADER = "x-ibkr-mcp-credential";

export const Credential = z.strictObject({
  kind: z.enum(["static", "oauth", "admin"]),
  /** What the owner filters by: the OAuth client id, `MCP_TOKEN`, or `admin`. */
  id: z.string().min(1).max(300),
  /** The app's registered name (chosen by whoever registered it: shown as text only), or a label. */
  name: z.string().max(100),
  grant_id: z.string().max(128).nullable(),
});
export type Credential = z.infer<typeof Credential>;

export const STATIC_CREDENTIAL: Credential = { kind: "static", id: "MCP_TOKEN", name: "static MCP_TOKEN", grant_id: null };

export function oauthCredential(clientId: string, clientName: string | null, grantId: string | null): Credential {
  const id = clientId.slice(0, 300);
  return { kind: "oauth", id, name: (clientName ?? id).slice(0, 100), grant_id: grantId };
}

/** An admin or dashboard act (flatten, approvals): who, by the name the admin gave. */
export function adminCredential(by: string): Credential {
  return { kind: "admin", id: "admin", name: by.slice(0, 100), grant_id: null };
}

/** Header values are bytes: the JSON is percent-encoded, names may hold any character. */
export function encodeCredential(credential: Credential): string {
  return encodeURIComponent(JSON.stringify(credential));
}

/**
 * The credential the Worker named. Without the header the request came from inside (tests that
 * talk to the object directly), with the static token's access; a header that does not parse is
 * never trusted as an app's name.
 */
export function credentialOf(header: string | null): Credential {
  if (header === null) return STATIC_CREDENTIAL;
  try {
    const parsed = Credential.safeParse(JSON.parse(decodeURIComponent(header)));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through
  }
  return { kind: "static", id: "unknown", name: "unreadable credential header", grant_id: null };
}
