// DNS-rebinding protection for /mcp (MCP transport spec): a request that carries an Origin header
// naming anything but this edge's own origin, or one listed in ALLOWED_ORIGINS, is answered 403
// before it reaches authentication or the account. A request without Origin (a server-side MCP
// client) passes; browsers always send one on a cross-origin fetch.
import type { MiddlewareHandler } from "hono";
import type { Env } from "./env";
import { clientAddress } from "./client-address";
import { auditOAuth } from "./account-stub";

/** PUBLIC_ORIGIN parsed once per value (every request asks; a URL parse is dear in workerd). */
let configuredOrigin: { text: string; origin: string } | null = null;

/** The edge's own origin: PUBLIC_ORIGIN when configured (behind a custom domain), else the request's. */
export function edgeOrigin(env: Pick<Env, "PUBLIC_ORIGIN">, request: Request): string {
  const configured = env.PUBLIC_ORIGIN?.trim();
  if (!configured) return new URL(request.url).origin;
  if (configuredOrigin?.text !== configured) configuredOrigin = { text: configured, origin: new URL(configured).origin };
  return configuredOrigin.origin;
}

/** The origins /mcp accepts from a browser: this edge's own, plus ALLOWED_ORIGINS (comma-separated). */
export function allowedOrigins(env: Pick<Env, "PUBLIC_ORIGIN" | "ALLOWED_ORIGINS">, request: Request): Set<string> {
  const out = new Set([edgeOrigin(env, request)]);
  for (const entry of (env.ALLOWED_ORIGINS ?? "").split(",")) {
    const trimmed = entry.trim();
    if (!trimmed) continue;
    try {
      out.add(new URL(trimmed).origin);
    } catch {
      // A malformed entry allows nothing.
    }
  }
  return out;
}

/** A 403 for a foreign Origin on /mcp (audited), or null when the request may go on. */
export async function refuseForeignOrigin(env: Env, request: Request): Promise<Response | null> {
  const origin = request.headers.get("origin");
  if (origin === null || allowedOrigins(env, request).has(origin)) return null;
  await auditOAuth(env, "mcp_origin_refused", { origin: origin.slice(0, 200), client: clientAddress(request.headers) });
  await request.body?.cancel();
  return Response.json(
    { jsonrpc: "2.0", error: { code: -32000, message: `Forbidden: Origin ${origin.slice(0, 200)} is not allowed on this MCP endpoint` }, id: null },
    { status: 403 },
  );
}

/**
 * The consent and approval forms post only from this edge's own origin: a POST whose Origin (or,
 * when it is absent or `null`, Sec-Fetch-Site) says otherwise is refused with 403 and audited before hono's csrf
 * check would refuse it silently.
 * @example consent.use("*", refuseForeignForm("consent"));
 */
export function refuseForeignForm(form: "consent" | "approval_link"): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    if (c.req.method !== "POST") return next();
    const origin = c.req.header("origin");
    const own = edgeOrigin(c.env, c.req.raw);
    // Our pages' no-referrer policy makes a browser send `Origin: null` on their own forms: then
    // Sec-Fetch-Site (set by the browser, not by page script) tells same-origin from not.
    const site = c.req.header("sec-fetch-site");
    const foreign = origin !== undefined && origin !== "null" ? origin !== own : site !== undefined && site !== "same-origin" && site !== "none";
    if (!foreign) return next();
    await auditOAuth(c.env, "form_origin_refused", { form, origin: (origin ?? "(none, cross-site)").slice(0, 200), client: clientAddress(c.req.raw.headers) });
    return c.text(`Refused: this form can only be sent from ${own}. Nothing was changed.`, 403, { "cache-control": "no-store" });
  };
}
