// Where the edge's own time goes on a read, measured in Node (V8, as in workerd) with the edge's
// code unchanged: the Worker's fetch (origin guard, OAuth provider with the static token, Hono,
// secure headers, the bounded body) and the account's Durable Object on node:sqlite (the
// deterministic simulation's stand-in for workerd's storage). No network, no workerd: what is
// left is the CPU the edge spends per request, and how many SQL statements it runs.
// `npx tsx test/bench/edge-micro.ts` (CPU profile: `node --cpu-prof --import tsx …`).
import { register } from "node:module";

register("../dst/resolve-workers.mjs", import.meta.url);

const { AccountDO, default: worker } = await import("../../edge/index");
const { SimDurableObjectState } = await import("../dst/durable-object");
const { openDatabase } = await import("../dst/sql-storage");

const MCP_TOKEN = "bench-mcp-token-0123456789abcdef";
const ADMIN_TOKEN = "bench-admin-token-0123456789abcd";
let alarmAt: number | null = null;
const state = new SimDurableObjectState(openDatabase(), { get: () => alarmAt, set: (at) => (alarmAt = at) });
let statements = 0;
let dump = false;
const exec = state.storage.sql.exec.bind(state.storage.sql);
state.storage.sql.exec = ((query: string, ...bindings: unknown[]) => {
  statements++;
  if (dump) console.log("  SQL", query.replace(/\s+/g, " ").slice(0, 150), query.includes("FROM kv") ? bindings[0] : "");
  return exec(query, ...bindings);
}) as typeof state.storage.sql.exec;

const kv = new Map<string, string>();
const env = {
  IBKR_ACCOUNT_ID: "DU123456", MCP_TOKEN, ADMIN_TOKEN, BRIDGE_TOKEN: "bench-bridge-token-0123456789abcd",
  OAUTH_KV: {
    get: async (key: string, type?: string) => (kv.has(key) ? (type === "json" ? JSON.parse(kv.get(key)!) : kv.get(key)) : null),
    put: async (key: string, value: string) => void kv.set(key, value),
    delete: async (key: string) => void kv.delete(key),
    list: async () => ({ keys: [], list_complete: true }),
  },
} as Record<string, unknown>;
const account = new AccountDO(state as unknown as DurableObjectState, env as never);
env.ACCOUNT = {
  idFromName: (name: string) => ({ name, toString: () => name }),
  get: () => ({ fetch: (input: RequestInfo, init?: RequestInit) => account.fetch(new Request(input, init)) }),
};
// What the bridge reports of an account with a few option positions, applied as the object applies it.
const { applyEvent } = await import("../../edge/ledger/bridge-events");
const desk = (account as unknown as { desk: Parameters<typeof applyEvent>[0] }).desk;
const at = new Date().toISOString();
const money = { net_liquidation: 100_000, total_cash: 80_000, buying_power: 160_000, available_funds: 75_000, excess_liquidity: 75_000, maintenance_margin: 5_000, unrealized_pnl: 120, realized_pnl: 0, daily_pnl: 35 };
applyEvent(desk, { v: 1, type: "event", seq: 1, at, event: "account", data: { account_id: "DU123456", currency: "USD", as_of: at, ...money } } as never);
for (const [i, [strike, right, quantity]] of ([[560, "P", -1], [555, "P", 1], [600, "C", -1], [605, "C", 1]] as const).entries()) {
  applyEvent(desk, { v: 1, type: "event", seq: 2 + i, at, event: "position", data: {
    account: "DU123456", symbol: "SPY", sec_type: "OPT", expiry: "2027-01-15", strike, right, con_id: 1000 + i, quantity, avg_cost: 150,
    current_price: 1.2, market_value: quantity * 120, unrealized_pnl: 30, unrealized_pnl_pct: 0.2,
  } } as never);
}
const ctx = { waitUntil: (p: Promise<unknown>) => void p.catch(() => undefined), passThroughOnException: () => undefined, props: {} } as unknown as ExecutionContext;

let id = 0;
const mcp = (method: string, params: Record<string, unknown>) => () =>
  worker.fetch(new Request("http://127.0.0.1:8787/mcp", {
    method: "POST",
    headers: { authorization: `Bearer ${MCP_TOKEN}`, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" },
    body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
  }), env as never, ctx);
const tool = (name: string) => mcp("tools/call", { name, arguments: {} });
const health = () => worker.fetch(new Request("http://127.0.0.1:8787/api/health", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }), env as never, ctx);
const direct = (name: string) => () => account.fetch(new Request("http://account/mcp", {
  method: "POST",
  headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25", "x-mcp-scopes": "read trade" },
  body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method: "tools/call", params: { name, arguments: {} } }),
}));

const N = Number(process.env.N ?? 2000);
const only = process.env.ONLY;
async function per(name: string, op: () => Promise<Response>) {
  if (only && !name.includes(only)) return;
  dump = Boolean(process.env.DUMP);
  const first = await op();
  dump = false;
  const text = await first.text();
  if (!first.ok || text.includes('"isError":true')) throw new Error(`${name}: ${first.status} ${text.slice(0, 300)}`);
  for (let i = 0; i < 200; i++) await (await op()).text();
  statements = 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await (await op()).text();
  const us = ((performance.now() - t0) / N) * 1000;
  console.log(`${name.padEnd(44)} ${us.toFixed(0).padStart(6)} µs   ${(statements / N).toFixed(1)} SQL statements`);
}

await per("/api/health (Worker + object)", health);
await per("MCP tools/list (Worker + object)", mcp("tools/list", {}));
for (const name of ["health_check", "get_account", "get_positions", "list_trades", "get_safety_status"]) await per(`MCP ${name} (Worker + object)`, tool(name));
await per("MCP get_safety_status (object only)", direct("get_safety_status"));
