// Issue 24, item 5, through the real Worker and the provider: a global cap on client registrations
// let five addresses lock the owner out of connecting a new app for an hour. Now each address is
// limited (10 an hour) and storage is bounded instead: registered clients nobody granted are kept
// up to MAX_PENDING_CLIENTS; past it the busiest address's oldest such client is deleted (in KV
// too), never a granted one — so the owner's own lone registration survives a flood from many
// addresses, and the owner connects and trades.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_PENDING_CLIENTS, REGISTRATIONS_PER_ADDRESS } from "../../edge/auth/registration-gate";
import { callTool, clientMetadata, consent, exchange, inAccount, ORIGIN, pkce, REDIRECT, registerRequest } from "./oauth-flow";

const clientInKv = async (clientId: string) => (await env.OAUTH_KV.get(`client:${clientId}`)) !== null;
const clientsInKv = async () => (await env.OAUTH_KV.list({ prefix: "client:" })).keys.length;

async function registerFrom(address: string, name = "Flood"): Promise<{ status: number; clientId: string | null }> {
  const res = await registerRequest(clientMetadata(name), address);
  const body = (await res.json().catch(() => null)) as { client_id?: string } | null;
  return { status: res.status, clientId: body?.client_id ?? null };
}

/** The owner's app: registered from the owner's address, consented to, exchanged, and used to trade-scope calls. */
async function ownerConnects(clientId: string): Promise<number> {
  const { verifier, challenge } = await pkce();
  const approved = await consent(clientId, challenge, ["read"]);
  expect(approved.status).toBe(302);
  const code = new URL(approved.headers.get("location")!).searchParams.get("code")!;
  const res = await exchange({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier, resource: `${ORIGIN}/mcp` });
  expect(res.status).toBe(200);
  const { access_token } = (await res.json()) as { access_token: string };
  return (await callTool(access_token, "get_safety_status", {})).status;
}

describe("registrations cannot lock the owner out", () => {
  it("more than 50 registrations an hour from a handful of addresses leave the owner free to register, consent and connect", async () => {
    for (let a = 1; a <= 6; a++)
      for (let i = 0; i < REGISTRATIONS_PER_ADDRESS; i++) expect((await registerFrom(`198.51.100.${a}`)).status).toBe(201);
    const owner = await registerFrom("203.0.113.77", "Owner's New App");
    expect(owner.status).toBe(201);
    expect(await ownerConnects(owner.clientId!)).toBe(200);
    // One address stays limited.
    expect((await registerFrom("198.51.100.1")).status).toBe(429);
  });

  it(`keeps at most ${MAX_PENDING_CLIENTS} never-granted clients: the busiest address's oldest go (KV too), not a granted one nor the owner's lone one`, async () => {
    const granted = await registerFrom("203.0.113.78", "Granted Earlier");
    expect(await ownerConnects(granted.clientId!)).toBe(200);
    const owner = await registerFrom("203.0.113.79", "Owner Pending");
    const flood: string[] = [];
    const addresses = Math.ceil((MAX_PENDING_CLIENTS + 50) / REGISTRATIONS_PER_ADDRESS);
    for (let a = 0; a < addresses; a++) {
      const registered = await Promise.all(Array.from({ length: REGISTRATIONS_PER_ADDRESS }, () => registerFrom(`100.72.${a}.1`)));
      for (const r of registered) {
        expect(r.status).toBe(201);
        flood.push(r.clientId!);
      }
    }
    const pending = await inAccount((sql) => sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM oauth_registrations WHERE client_id IS NOT NULL AND granted = 0").one().n);
    expect(pending).toBeLessThanOrEqual(MAX_PENDING_CLIENTS);
    expect(await clientInKv(owner.clientId!)).toBe(true);
    expect(await clientInKv(granted.clientId!)).toBe(true);
    const survivors = (await Promise.all(flood.map(clientInKv))).filter(Boolean).length;
    expect(survivors).toBeLessThan(flood.length);
    expect(await clientsInKv()).toBeLessThanOrEqual(MAX_PENDING_CLIENTS + 40);
    // The owner's pending app still completes.
    expect(await ownerConnects(owner.clientId!)).toBe(200);
  }, 120_000);
});
