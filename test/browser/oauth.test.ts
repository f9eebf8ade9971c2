// The hosted URL with real clients, against the real stack (wrangler dev, bridge, simulator): the
// MCP SDK's own OAuth client (RFC 9728/8414 discovery, dynamic registration, PKCE S256, resource
// indicator) with the consent page submitted by Chromium; token, tool call, refresh rotation,
// revocation; a read-only grant that cannot see or call place_order; and "confirm every order"
// answered through the one-time approval link in the browser.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { auth, type OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestStack, startTestStack, waitUntil } from "../e2e/harness";
import { ironCondor } from "../e2e/scenario";
import { type DashboardBrowser, openDashboardBrowser, SHOTS } from "./chromium";

let t: TestStack;
let browser: DashboardBrowser;
let page: Page;
let callback: Server;
let redirectUrl: string;
const codes: Array<(code: string) => void> = [];

/** An OAuth client as a desktop agent keeps it: in memory, the browser does the consent. */
class AgentOAuth implements OAuthClientProvider {
  client?: OAuthClientInformationMixed;
  saved?: OAuthTokens;
  verifier = "";
  authorizations: URL[] = [];
  /** Set by a test: what the owner does on the consent page; null = do not open the browser. */
  consent: ((url: URL) => Promise<void>) | null = null;
  constructor(readonly name: string) {}
  get redirectUrl() { return redirectUrl; }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: this.name, redirect_uris: [redirectUrl], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" };
  }
  clientInformation() { return this.client; }
  saveClientInformation(info: OAuthClientInformationMixed) { this.client = info; }
  tokens() { return this.saved; }
  saveTokens(tokens: OAuthTokens) { this.saved = tokens; }
  saveCodeVerifier(v: string) { this.verifier = v; }
  codeVerifier() { return this.verifier; }
  invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery") {
    if (scope === "all" || scope === "tokens") this.saved = undefined;
    if (scope === "all" || scope === "client") this.client = undefined;
  }
  async redirectToAuthorization(url: URL) {
    this.authorizations.push(url);
    if (this.consent) await this.consent(url);
  }
}

/** The owner in Chromium: consent page, optional admin token, the scopes to grant, Allow. */
function ownerGrants(scopes: Array<"read" | "trade">, shot: string) {
  return async (url: URL) => {
    await page.goto(url.toString());
    await page.waitForSelector("#client-name");
    if (await page.locator("#token").count()) await page.locator("#token").fill(t.secrets.ADMIN_TOKEN);
    for (const scope of ["read", "trade"] as const) await page.locator(`#scope-${scope}`).setChecked(scopes.includes(scope));
    await page.screenshot({ path: join(SHOTS, shot), fullPage: true });
    await page.locator("#approve").click();
  };
}

function nextCode(): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no authorization code reached the callback")), 60_000);
    codes.push((code) => { clearTimeout(timer); resolve(code); });
  });
}

/** The SDK's whole flow: 401 → discovery → registration → consent in the browser → code → token. */
async function connectWithOAuth(provider: AgentOAuth): Promise<Client> {
  const first = new StreamableHTTPClientTransport(new URL(t.stack.mcpUrl), { authProvider: provider });
  const code = nextCode();
  await expect(new Client({ name: provider.name, version: "1.0.0" }).connect(first)).rejects.toThrow(/Unauthorized/);
  await first.finishAuth(await code);
  const client = new Client({ name: provider.name, version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(t.stack.mcpUrl), { authProvider: provider }));
  return client;
}

async function audit(action: string): Promise<Array<Record<string, unknown>>> {
  const res = await fetch(`${t.stack.edgeUrl}/api/audit?limit=1000&action=${action}`, { headers: { authorization: `Bearer ${t.secrets.ADMIN_TOKEN}` } });
  return ((await res.json()) as { rows: Array<{ details_json: string }> }).rows.map((r) => JSON.parse(r.details_json));
}

beforeAll(async () => {
  callback = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const code = url.searchParams.get("code");
    res.end(code ? "Authorized: you can close this window." : `No code: ${url.searchParams.get("error")}`);
    if (code) codes.shift()?.(code);
  });
  await new Promise<void>((r) => callback.listen(0, "127.0.0.1", r));
  redirectUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
  t = await startTestStack("oauth");
  browser = await openDashboardBrowser();
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
  callback?.close();
});

describe("OAuth with the MCP SDK's client and a real browser", () => {
  const agent = new AgentOAuth("Cloud Agent (e2e)");
  let client: Client;

  it("registers, gets the owner's consent in Chromium (PKCE S256, resource bound) and calls a tool", async () => {
    agent.consent = ownerGrants(["read", "trade"], "oauth-consent.png");
    client = await connectWithOAuth(agent);
    const authorize = agent.authorizations[0]!;
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("resource")).toBe(t.stack.mcpUrl);
    expect(agent.client?.client_id).toBeTruthy();
    expect(agent.saved?.scope?.split(" ").sort()).toEqual(["read", "trade"]);
    const tools = (await client.listTools()).tools.map((x) => x.name);
    expect(tools).toEqual(expect.arrayContaining(["place_order", "get_account", "get_safety_status"]));
    const account = await client.callTool({ name: "get_account", arguments: {} });
    expect(account.isError).toBeFalsy();
    expect((account.structuredContent as { net_liquidation: number }).net_liquidation).toBeGreaterThan(0);
    expect((await audit("oauth_grant")).at(-1)).toMatchObject({ client_id: agent.client!.client_id, client_name: "Cloud Agent (e2e)", scopes: ["read", "trade"] });
  });

  it("refreshes with rotation: the new token works; a spent refresh token used again ends the grant, and the agent connects anew", async () => {
    const first = agent.saved!;
    expect(await auth(agent, { serverUrl: new URL(t.stack.mcpUrl) })).toBe("AUTHORIZED");
    const second = agent.saved!;
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(await auth(agent, { serverUrl: new URL(t.stack.mcpUrl) })).toBe("AUTHORIZED");
    const old = await fetch(`${t.stack.edgeUrl}/oauth/token`, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: first.refresh_token!, client_id: agent.client!.client_id }),
    });
    expect(old.status).toBe(400);
    // Issue 24: its replacement was already used, so this is someone else's copy: the grant ends,
    // for the agent too.
    expect((await audit("oauth_refresh_token_reused")).some((r) => r.client_id === agent.client!.client_id)).toBe(true);
    const ended = await fetch(t.stack.mcpUrl, { method: "POST", headers: { authorization: `Bearer ${agent.saved!.access_token}`, "content-type": "application/json", accept: "application/json, text/event-stream" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }) });
    expect(ended.status).toBe(401);
    expect((await audit("oauth_token_refreshed")).filter((r) => r.client_id === agent.client!.client_id).length).toBeGreaterThanOrEqual(2);
    expect((await audit("oauth_token_refused")).some((r) => r.client_id === agent.client!.client_id && r.grant_type === "refresh_token")).toBe(true);
    // The agent's next connection goes back through the owner's consent and works.
    agent.consent = ownerGrants(["read", "trade"], "oauth-consent-again.png");
    const fresh = await connectWithOAuth(agent);
    expect((await fresh.callTool({ name: "get_safety_status", arguments: {} })).isError).toBeFalsy();
    await fresh.close();
  });

  it("the dashboard lists the connected app", async () => {
    await page.goto(t.stack.dashboardUrl);
    await page.waitForSelector("body[data-loaded=true]");
    const row = page.locator("#apps-body tr").filter({ hasText: "Cloud Agent (e2e)" });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain("read, trade");
    await page.screenshot({ path: join(SHOTS, "oauth-connected-apps.png"), fullPage: true });
  });

  it("revocation ends the grant: the next call fails and the SDK asks for a new authorization", async () => {
    const tokens = agent.saved!;
    const revoke = await fetch(`${t.stack.edgeUrl}/oauth/token`, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: tokens.refresh_token!, token_type_hint: "refresh_token", client_id: agent.client!.client_id }),
    });
    expect(revoke.status).toBe(200);
    agent.consent = null;
    const before = agent.authorizations.length;
    const again = new Client({ name: "after revoke", version: "1.0.0" });
    await expect(again.connect(new StreamableHTTPClientTransport(new URL(t.stack.mcpUrl), { authProvider: agent }))).rejects.toThrow(/Unauthorized/);
    expect(agent.authorizations.length).toBe(before + 1);
    const raw = await fetch(t.stack.mcpUrl, { method: "POST", headers: { authorization: `Bearer ${tokens.access_token}`, "content-type": "application/json", accept: "application/json, text/event-stream" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }) });
    expect(raw.status).toBe(401);
    expect((await audit("oauth_token_revoked")).some((r) => r.client_id === agent.client!.client_id)).toBe(true);
  });

  const reader = new AgentOAuth("Read-only Agent (e2e)");

  it("a read-only grant cannot see place_order, and calling it is refused (insufficient_scope)", async () => {
    reader.consent = ownerGrants(["read"], "oauth-consent-read-only.png");
    const client = await connectWithOAuth(reader);
    expect(reader.saved?.scope).toBe("read");
    const tools = (await client.listTools()).tools.map((x) => x.name);
    expect(tools).toContain("get_positions");
    for (const write of ["place_order", "close_position", "cancel_order"]) expect(tools).not.toContain(write);
    reader.consent = null;
    const placesBefore = (await t.simState()).orders.length;
    const order = await ironCondor(t.mcp, "SPY", { width: 3, pricing: "touch" });
    await expect(client.callTool({ name: "place_order", arguments: order })).rejects.toThrow(/403|insufficient|Unauthorized/i);
    expect((await t.simState()).orders.length).toBe(placesBefore);
    expect((await audit("mcp_scope_refused")).some((r) => (r.tools as string[]).includes("place_order"))).toBe(true);
    await client.close();
  });

  it("the owner revokes an app in the dashboard; its token fails on the next call", async () => {
    const access = reader.saved!.access_token;
    const call = () => fetch(t.stack.mcpUrl, { method: "POST", headers: { authorization: `Bearer ${access}`, "content-type": "application/json", accept: "application/json, text/event-stream" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }) });
    expect((await call()).status).toBe(200);
    await page.goto(t.stack.dashboardUrl);
    await page.waitForSelector("body[data-loaded=true]");
    await page.getByRole("button", { name: "Revoke Read-only Agent (e2e)" }).click();
    await browser.confirm("e2e: no longer needed");
    await expect.poll(() => page.locator("#apps-body tr").filter({ hasText: "Read-only Agent (e2e)" }).count()).toBe(0);
    expect((await call()).status).toBe(401);
    expect((await audit("oauth_grant_revoked")).at(-1)).toMatchObject({ reason: "e2e: no longer needed", client_id: reader.client!.client_id });
  });
});

describe("confirm every order through the approval link, in the browser", () => {
  it("the order waits; the person logs in from the link, reads it back, approves; it is sent", async () => {
    // The owner turns the setting on in the dashboard (logged in since the consent page).
    await page.goto(t.stack.dashboardUrl);
    await page.waitForSelector("body[data-loaded=true]");
    await page.getByRole("button", { name: "Turn confirm every order on" }).click();
    await browser.confirm("e2e: no elicitation in this client");
    await expect.poll(() => page.locator("#confirm-state").textContent()).toMatch(/^on/);
    expect((await audit("confirm_every_order_on")).at(-1)).toMatchObject({ reason: "e2e: no elicitation in this client" });
    // t.mcp is the SDK client with the static token and no elicitation capability.
    const placed = await t.mcp.tool<{ status: string; trade_id: string; confirmation_url: string }>("place_order", await ironCondor(t.mcp, "SPY", { width: 3, pricing: "touch" }));
    expect(placed.isError, placed.text).toBe(false);
    expect(placed.structured.status).toBe("awaiting_confirmation");
    const ordersBefore = (await t.simState()).orders.length;

    await browser.context.clearCookies();
    await page.goto(placed.structured.confirmation_url);
    await page.getByLabel("Admin token").fill(t.secrets.ADMIN_TOKEN);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForSelector("#read-back");
    const readBack = await page.locator("#read-back").textContent();
    for (const part of ["SPY IRON_CONDOR", "Net limit:", "Worst-case loss (computed from the legs): $", "Max gain:", "Breakevens:"]) expect(readBack).toContain(part);
    await page.screenshot({ path: join(SHOTS, "approval-link.png"), fullPage: true });
    await page.locator("#approve").click();
    await page.waitForSelector("#outcome");
    expect(await page.locator("#outcome").textContent()).toBe("Approved and sent");
    await waitUntil("the simulator to receive the order", async () => (await t.simState()).orders.length > ordersBefore, 20_000);
    const trades = await t.mcp.tool<{ trades: Array<{ trade_id: string; state: string }> }>("list_trades", {});
    expect(["working", "open"]).toContain(trades.structured.trades.find((x) => x.trade_id === placed.structured.trade_id)?.state);

    // The link works once.
    await page.goto(placed.structured.confirmation_url);
    expect(await page.locator("#link-error").textContent()).toContain("already used");
    expect(browser.consoleErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  });
});
