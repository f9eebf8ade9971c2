// One scrubber for the edge's three secrets (MCP_TOKEN, BRIDGE_TOKEN, ADMIN_TOKEN): every text a
// person or agent can write passes through it where it enters — MCP request bodies and admin API
// bodies — so nothing downstream (the ledger, views, the audit, the bridge's log files) ever holds a
// pasted token. The audit and the bridge log writer scrub again, in case a secret arrives another way.
export const REDACTED = "[redacted]";
/** Shorter values are not scrubbed: replacing a short common string would mangle ordinary text. */
const MIN_SECRET_CHARS = 8;
/** JSON from a 64 KB body cannot nest deeper than this in practice; deeper is cut, not walked. */
const MAX_DEPTH = 64;

export function secretsOf(env: { MCP_TOKEN?: string; BRIDGE_TOKEN?: string; ADMIN_TOKEN?: string }): string[] {
  // Longest first, so a token that contains another is replaced whole.
  return [env.MCP_TOKEN, env.BRIDGE_TOKEN, env.ADMIN_TOKEN]
    .filter((s): s is string => typeof s === "string" && s.length >= MIN_SECRET_CHARS)
    .sort((a, b) => b.length - a.length);
}

export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

/** A copy of a JSON-like value with every string (keys too) scrubbed of the secrets. */
export function redact<T>(value: T, secrets: readonly string[], depth = 0): T {
  if (secrets.length === 0) return value;
  if (typeof value === "string") return redactText(value, secrets) as T;
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return REDACTED as T;
  if (Array.isArray(value)) return value.map((v) => redact(v, secrets, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[redactText(k, secrets)] = redact(v, secrets, depth + 1);
  return out as T;
}

/**
 * The request with its JSON body scrubbed (parsed first, so a token spelled with JSON escapes is
 * caught too). A body that is not JSON is passed on unchanged for its handler to refuse.
 */
export async function redactJsonRequest(request: Request, secrets: readonly string[]): Promise<Request> {
  if (request.method !== "POST" || secrets.length === 0) return request;
  const text = await request.text();
  let body = text;
  try {
    body = JSON.stringify(redact(JSON.parse(text) as unknown, secrets));
  } catch {
    // not JSON: left for the handler to refuse
  }
  const headers = new Headers(request.headers);
  headers.delete("content-length");
  return new Request(request.url, { method: request.method, headers, body, signal: request.signal });
}

/**
 * A POST's JSON body parsed once and scrubbed, for handlers that take a parsed body (the MCP
 * transports): no second parse, no re-serialised copy of the request. `body` is undefined when
 * the text is not JSON; the request returned then carries the text, for its handler to refuse.
 */
export async function redactedJsonBody(request: Request, secrets: readonly string[]): Promise<{ request: Request; body: unknown }> {
  if (request.method !== "POST") return { request, body: undefined };
  const text = await request.text();
  try {
    return { request, body: redact(JSON.parse(text) as unknown, secrets) };
  } catch {
    return { request: new Request(request.url, { method: request.method, headers: request.headers, body: text, signal: request.signal }), body: undefined };
  }
}
