// Which redirect URIs a client may register here: only ones this edge would ever send a code to —
// https, or http on a loopback host (RFC 8252 §7.3) — parseable, without userinfo or a fragment.
// The provider (@cloudflare/workers-oauth-provider 1.2) accepts a registration as long as ONE
// listed URI is usable and stores the others (a private-use scheme, a remote http URL) beside it;
// a client's metadata then names callbacks no person ever consented to see. Refused whole instead.

/** Why a redirect URI cannot be registered, or null when it is usable. */
export function unusableRedirectUri(value: unknown): string | null {
  if (typeof value !== "string" || value.length === 0) return "is not a non-empty string";
  if (value.length > 2000) return "is longer than 2000 characters";
  if (/[\u0000-\u001f\u007f-\u009f\s]/.test(value)) return "contains whitespace or control characters";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not an absolute URL";
  }
  if (value.includes("#")) return "has a fragment";
  if (url.username || url.password) return "carries userinfo";
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:") return loopbackHost(url.hostname) ? null : "uses http on a host that is not loopback (only https, or http on 127.0.0.1, [::1] or localhost)";
  return `uses the ${url.protocol} scheme (only https, or http on a loopback host)`;
}

function loopbackHost(hostname: string): boolean {
  if (hostname === "localhost" || hostname === "[::1]") return true;
  const parts = hostname.split(".");
  return parts.length === 4 && parts[0] === "127" && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/**
 * The 400 for a registration body listing any unusable redirect URI (RFC 7591 §3.2.2), or null
 * when every listed URI is usable or the body has no list (the provider answers that itself).
 */
export function refuseRedirectUris(body: unknown): Response | null {
  const uris = (body as { redirect_uris?: unknown } | null)?.redirect_uris;
  if (!Array.isArray(uris)) return null;
  for (const [index, uri] of uris.entries()) {
    const why = unusableRedirectUri(uri);
    if (why) {
      return Response.json(
        { error: "invalid_redirect_uri", error_description: `redirect_uris[${index}] ${why}: every listed redirect URI must be one this server could send a code to` },
        { status: 400, headers: { "cache-control": "no-store" } },
      );
    }
  }
  return null;
}
