// MCP server of one account: built fresh per request (both protocol eras, edge/mcp/mcp-http.ts), or
// once per 2025-11-25 elicitation session. Every tool has input and output schemas and annotations;
// write tools are left out entirely in read-only mode or without the trade scope. A refused order is
// a tool result with isError and every violated check. The tools' JSON Schemas are converted once
// per isolate (edge/mcp/json-schema-once.ts), so the SDK's own tools/list and result projection cost
// no conversion per request.
import { McpServer, type CallToolResult, type InputRequiredResult } from "@modelcontextprotocol/server";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/server/validators/cf-worker";
import { LIMITS } from "../../shared/limits";
import { LEGS_AS_STRING_NOTE } from "../../shared/order";
import {
  ClosePositionInput,
  ClosePositionOutput,
  GetAccountInput,
  GetAccountOutput,
  GetOrderStatusInput,
  GetOrderStatusOutput,
  GetPositionsInput,
  PlaceOrderInput,
  PlaceOrderOutput,
} from "../../shared/tools";
import { z } from "zod";
import { readAudit, type AuditRow } from "../audit/audit";
import type { DeskContext } from "../store/desk-context";
import { elicitationAsker } from "./elicitation";
import { askInClient, confirmationCodec, envelopeCanElicit, roundTripAsker } from "./elicitation-round-trip";
import { expiryDayFlags } from "../views/expiry-day";
import { jsonSchemaOnce } from "./json-schema-once";
import { getTrade, listTrades, resolveOrderId } from "../store/ledger";
import { unaccountedNote } from "../ledger/order-ends";
import { cancelOrder, closePosition, placeOrder, previewOrder } from "../desk/order-desk";
import { modifyOrder } from "../desk/modify-order";
import { recordUnderlyingPrice } from "../safety/underlying-prices";
import { accountSnapshot } from "../safety/safety-state";
import { accountFreshness } from "../safety/freshness";
import { PACKAGE_VERSION } from "./version";
import { netGreeks, openTradeStandings } from "../views/standing";
import { learnFromQuote } from "../desk/underlyings";
import { STATIC_CREDENTIAL, type Credential } from "../ledger/credential";
import {
  CancelOrderInput,
  CancelOrderOutput,
  GetOptionChainInput,
  GetOptionChainOutput,
  GetPriceHistoryInput,
  GetPriceHistoryOutput,
  GetQuoteInput,
  GetPositionsWithStandingOutput,
  GetQuoteOutput,
  HealthCheckOutput,
  ListTradesInput,
  ListTradesOutput,
  ModifyOrderInput,
  ModifyOrderOutput,
  PreviewOrderOutput,
  SafetyStatusOutput,
} from "./tool-schemas";
import { pendingModify } from "../ledger/pending-modify";
import { positionsAsOf, positionsView } from "../ledger/positions";
import { dataAgeSeconds, healthView, safetyStatusView, tradeView } from "../views/views";

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
const READ_MARKET = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true } as const;

/** Every tool's schemas, each converted to JSON Schema at most once per isolate. */
const NO_ARGUMENTS = jsonSchemaOnce(z.strictObject({}));
const SCHEMA = {
  getAccount: { in: jsonSchemaOnce(GetAccountInput), out: jsonSchemaOnce(GetAccountOutput) },
  getPositions: { in: jsonSchemaOnce(GetPositionsInput), out: jsonSchemaOnce(GetPositionsWithStandingOutput) },
  getOrderStatus: { in: jsonSchemaOnce(GetOrderStatusInput), out: jsonSchemaOnce(GetOrderStatusOutput) },
  safetyStatus: { in: NO_ARGUMENTS, out: jsonSchemaOnce(SafetyStatusOutput) },
  listTrades: { in: jsonSchemaOnce(ListTradesInput), out: jsonSchemaOnce(ListTradesOutput) },
  healthCheck: { in: NO_ARGUMENTS, out: jsonSchemaOnce(HealthCheckOutput) },
  getQuote: { in: jsonSchemaOnce(GetQuoteInput), out: jsonSchemaOnce(GetQuoteOutput) },
  optionChain: { in: jsonSchemaOnce(GetOptionChainInput), out: jsonSchemaOnce(GetOptionChainOutput) },
  priceHistory: { in: jsonSchemaOnce(GetPriceHistoryInput), out: jsonSchemaOnce(GetPriceHistoryOutput) },
  previewOrder: { in: jsonSchemaOnce(PlaceOrderInput), out: jsonSchemaOnce(PreviewOrderOutput) },
  placeOrder: { in: jsonSchemaOnce(PlaceOrderInput), out: jsonSchemaOnce(PlaceOrderOutput) },
  closePosition: { in: jsonSchemaOnce(ClosePositionInput), out: jsonSchemaOnce(ClosePositionOutput) },
  modifyOrder: { in: jsonSchemaOnce(ModifyOrderInput), out: jsonSchemaOnce(ModifyOrderOutput) },
  cancelOrder: { in: jsonSchemaOnce(CancelOrderInput), out: jsonSchemaOnce(CancelOrderOutput) },
};

function ok(output: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(output) }], structuredContent: output };
}
function answer(output: Record<string, unknown>, isError: boolean): CallToolResult {
  return { ...ok(output), ...(isError ? { isError: true } : {}) };
}
function fail(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}

/** What the caller's credential allows (edge/mcp/mcp-scopes.ts), who it is (edge/ledger/credential.ts), and the edge's origin for approval links. */
export interface McpAccess { trade: boolean; origin: string; credential?: Credential }

/** Which protocol era this server answers (the SDK's word): 2025-11-25 and before, or 2026-07-28. */
export type McpEra = "legacy" | "modern";

export function buildMcpServer(ctx: DeskContext, access: McpAccess = { trade: true, origin: "" }, era: McpEra = "legacy"): McpServer {
  return registerAll(ctx, access, era);
}

function registerAll(ctx: DeskContext, access: McpAccess, era: McpEra): McpServer {
  const server = new McpServer({ name: "ibkr-mcp", version: PACKAGE_VERSION }, {
    // The lists never change while a client holds them (scopes and READ_ONLY are per credential
    // and per deployment): a 2026-07-28 listen stream is acknowledged and carries nothing.
    capabilities: { tools: { listChanged: false }, resources: { listChanged: false } },
    // Ajv (the SDK's default validator of elicitation answers in Node) compiles code, which workerd forbids.
    jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
    // A 2026-07-28 retry's state is checked before any handler runs: forged or expired → -32602.
    requestState: { verify: (state, call) => confirmationCodec(ctx.sql).verify(state, call) },
  });
  const credential = access.credential ?? STATIC_CREDENTIAL;

  server.registerTool("get_account", {
    description: "Account summary (net liquidation, cash, buying power, margin, P&L) from the bridge's latest snapshot, with its age. stale: true (with stale_reason) when these are the last figures reported and not live: no bridge, TWS not connected, or older than trading allows.",
    inputSchema: SCHEMA.getAccount.in, outputSchema: SCHEMA.getAccount.out, annotations: READ,
  }, async () => {
    const snapshot = accountSnapshot(ctx.sql);
    if (!snapshot) return fail("No account data yet: the bridge has not reported this account (is it connected?)");
    // Staleness first: an agent reads it before the figures it qualifies.
    return ok({ ...accountFreshness(ctx), ...snapshot.summary, data_age_seconds: dataAgeSeconds(ctx) ?? 0 });
  });

  server.registerTool("get_positions", {
    description: "Open positions (per leg, signed quantity) from the bridge's latest snapshot, optionally for one symbol; and each open trade's standing: mark (net per combo unit), unrealized P&L, distance to its worst case, days to expiry.",
    inputSchema: SCHEMA.getPositions.in, outputSchema: SCHEMA.getPositions.out, annotations: READ,
  }, async ({ symbol }) => {
    // Positions stream on change, so their freshness is the link's: the account heartbeat's age.
    const account = accountSnapshot(ctx.sql);
    const asOf = account?.summary.as_of ?? positionsAsOf(ctx.sql);
    if (!asOf) return fail("No position data yet: the bridge has not reported this account (is it connected?)");
    const trades = openTradeStandings(ctx.sql, ctx.now()).filter((t) => !symbol || t.symbol === symbol);
    return ok({ ...accountFreshness(ctx), positions: positionsView(ctx.sql, symbol), as_of: asOf, data_age_seconds: dataAgeSeconds(ctx) ?? 0, trades });
  });

  server.registerTool("get_order_status", {
    description: "Status of one IBKR order by its order_id, from the ledger kept in sync with TWS. unaccounted: true means TWS neither holds the order nor lists it as finished: status is the last TWS reported, the trade's risk stays reserved, and unaccounted_note says since when and what settles it.",
    inputSchema: SCHEMA.getOrderStatus.in, outputSchema: SCHEMA.getOrderStatus.out, annotations: READ,
  }, async ({ order_id }) => {
    const lookup = resolveOrderId(ctx.sql, order_id);
    if (!lookup.order && lookup.ambiguous.length > 0)
      return fail(`Order id ${order_id} is ambiguous: TWS reuses ids across sessions, and ${lookup.ambiguous.length} orders in this ledger held it (trades ${lookup.ambiguous.map((o) => o.trade_id).join(", ")}), none of them in the current TWS session. Use list_trades with the trade_id instead.`);
    const order = lookup.order;
    if (!order) {
      // Not placed through this edge (e.g. by hand in TWS): ask TWS through the bridge.
      if (ctx.link.socket()) {
        try {
          return ok(await ctx.link.request("order_status", { order_id }));
        } catch (error) {
          return fail(`No order ${order_id} in this account's ledger, and TWS says: ${(error as Error).message}`);
        }
      }
      return fail(`No order ${order_id} in this account's ledger (orders waiting for approval have no order_id yet: see list_trades)`);
    }
    const pending = pendingModify(ctx.sql, order.order_ref);
    return ok({
      order_id, trade_id: order.trade_id, status: order.status, filled: order.filled, remaining: order.remaining, avg_fill_price: order.avg_fill_price, last_update: order.updated_at, why_held: order.why_held,
      unaccounted: order.unaccounted_at !== null, unaccounted_since: order.unaccounted_at, unaccounted_note: unaccountedNote(order, getTrade(ctx.sql, order.trade_id)),
      ...(pending ? { pending_modify: { from: pending.from, to: pending.to, since: pending.since } } : {}),
    });
  });

  server.registerTool("get_safety_status", {
    description: "Hard limits and what is used of each today, breakers, emergency stop, remaining risk budget, whether new trades can be opened now, the open trades' net greeks per underlying (from TWS), and trades expiring today with their pin risk.",
    inputSchema: SCHEMA.safetyStatus.in, outputSchema: SCHEMA.safetyStatus.out, annotations: READ_MARKET,
  }, async () => {
    const expiring = await expiryDayFlags(ctx);
    return ok({ ...safetyStatusView(ctx), net_greeks: await netGreeks(ctx), ...(expiring.length ? { expiry_day: expiring } : {}) });
  });

  server.registerTool("list_trades", {
    description: "Trades in the ledger, newest first, with their orders and fills (state pending_approval means waiting for a person in shadow mode); an open trade's standing gives its mark, unrealized P&L, distance to its worst case and days to expiry.",
    inputSchema: SCHEMA.listTrades.in, outputSchema: SCHEMA.listTrades.out, annotations: READ,
  }, async (input) => {
    const trades = listTrades(ctx.sql, input);
    const expiring = new Map((await expiryDayFlags(ctx, trades)).map((f) => [f.trade_id, f]));
    return ok({ ...accountFreshness(ctx), trades: trades.map((t) => ({ ...tradeView(ctx.sql, t, ctx.now()), ...(expiring.has(t.trade_id) ? { expiry_day: expiring.get(t.trade_id) } : {}) })) });
  });

  server.registerTool("health_check", {
    description: "Bridge link, TWS connection and the age of the account data. can_open_new_trades says whether a new trade can be opened now, and blocked_by every reason it cannot (emergency stop, breakers, read-only mode, link or data problems); ready_to_trade is false with problems when not even a close could reach TWS.",
    inputSchema: SCHEMA.healthCheck.in, outputSchema: SCHEMA.healthCheck.out, annotations: READ,
  }, async () => ok(healthView(ctx)));

  server.registerTool("get_quote", {
    description: "Current bid/ask/mid of a stock, an option, or a whole combo (net per combo unit, positive = debit), from TWS through the bridge. An option's quote carries TWS's model IV and greeks (delta, gamma, theta per day, vega per vol point, per share) with the underlying price they refer to, their data_type and age; a combo gives them per leg (leg_greeks). Greeks TWS did not send are null with greeks_reason, never estimated. " + LEGS_AS_STRING_NOTE,
    inputSchema: SCHEMA.getQuote.in, outputSchema: SCHEMA.getQuote.out, annotations: READ_MARKET,
  }, async ({ legs }) => {
    try {
      const quote = await ctx.link.request("quote", { legs });
      learnFromQuote(ctx, legs, quote);
      return ok(quote);
    } catch (error) {
      return fail(`Quote unavailable: ${(error as Error).message}`);
    }
  });

  server.registerTool("get_option_chain", {
    description: "Expiries and strikes of a symbol's options, and for one expiry quotes with TWS's IV and greeks. Choose strikes with a strike window (min_strike/max_strike, or strike_range as a fraction of the underlying), right (C or P) and/or an absolute delta range (delta_min/delta_max, e.g. 0.10-0.20 for short strikes; below 0.5 only out-of-the-money options are looked at): every strike of the window is quoted. Each quoted option is one TWS market-data line; one answer may use 90 (TWS allows about 100 at once), and a wider request is refused with the count, never truncated. Without a window or delta range the 25 strikes nearest the money are quoted and `note` says so.",
    inputSchema: SCHEMA.optionChain.in, outputSchema: SCHEMA.optionChain.out, annotations: READ_MARKET,
  }, async (input) => {
    try {
      const chain = await ctx.link.request("option_chain", input);
      recordUnderlyingPrice(ctx.sql, chain.symbol, chain.underlying_price, ctx.now().toISOString());
      return ok(chain);
    } catch (error) {
      return fail(`Option chain unavailable: ${(error as Error).message}`);
    }
  });

  server.registerTool("get_price_history", {
    description: `Price bars of an underlying from TWS's historical data (trades, regular hours), the most recent last: bar_size one of 1 min, 5 mins, 15 mins, 30 mins, 1 hour, 1 day (default), count 1-500 (default 30). IBKR paces historical requests (about 60 per 10 minutes); the same request within 15 s is answered from the last answer.`,
    inputSchema: SCHEMA.priceHistory.in, outputSchema: SCHEMA.priceHistory.out, annotations: READ_MARKET,
  }, async (input) => {
    try {
      return ok(await ctx.link.request("price_history", input, 12_000));
    } catch (error) {
      return fail(`Price history unavailable: ${(error as Error).message}`);
    }
  });

  server.registerTool("preview_order", {
    description: "Runs every safety check on an order and asks IBKR for its what-if margin, without placing it. Same arguments as place_order; " + LEGS_AS_STRING_NOTE,
    inputSchema: SCHEMA.previewOrder.in, outputSchema: SCHEMA.previewOrder.out, annotations: READ_MARKET,
  }, async (input) => ok(await previewOrder(ctx, input)));

  // Write tools: not in read-only mode, and only for a credential with the trade scope.
  if (!ctx.settings.readOnly && access.trade) {
    server.registerTool("place_order", {
      description:
        "Places a defined-risk options order (or a single stock leg) as ONE combo limit order after every safety check. The price IBKR binds is the legs' net per combo unit (debit positive, credit negative); risk is computed from that net price held to expiry, never from one leg's price. Combos mixing stock and option legs are refused. max_risk is your claim of the worst-case loss; the edge computes it and refuses a claim below it. A refused order lists every violated check. In shadow mode the order waits for a person's approval. Send an idempotency_key to retry safely. When the account's \"confirm every order\" is on, every order passes the checks and then waits (status awaiting_confirmation) until a person approves it by the one-time confirmation_url or in the dashboard, whatever your client can do. Otherwise, when your MCP client supports elicitation, it is first asked to confirm a read-back of the order (legs, net limit, computed worst-case loss); a decline refuses it (check person_declined), no answer within 2 minutes refuses it (person_unreachable). Shadow mode still applies after a confirmation: the dashboard approval is a separate gate. " + LEGS_AS_STRING_NOTE,
      inputSchema: SCHEMA.placeOrder.in, outputSchema: SCHEMA.placeOrder.out,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    }, async (input, call): Promise<CallToolResult | InputRequiredResult> => {
      // A 2025-11-25 session is asked on the call's stream; a 2026-07-28 call gets the question as
      // its result and is asked again, with the answer, on the client's retry.
      const asker = era === "modern"
        ? (envelopeCanElicit(call) ? roundTripAsker(call, input, credential) : null)
        : elicitationAsker(call, server.server.getClientCapabilities());
      const result = await placeOrder(ctx, input, asker ?? undefined, access.origin, credential);
      if ("question" in result) return askInClient(ctx.sql, result.question, input, credential);
      return answer(result.output, result.isError);
    });

    server.registerTool("close_position", {
      description: "Closes an open trade with the reverse combo at a marketable limit, or at limit_price (the closing order's net per combo unit: positive = you pay, negative = you receive; checked against the quote) — walk a resting close with modify_order. Allowed under an emergency stop or a tripped breaker (it reduces risk), at most 5 closes and walks of them a minute; it may never pay more than the legs it closes can cost at expiry at worst plus $0.10 a share (refused as close_over_worst_case, with the highest limit allowed; a person can close beyond it). A trade whose opening order is partly filled and still working has the rest cancelled first (waiting up to 8 s for TWS to confirm), then closes what filled; legs TWS already exercised or assigned are left out.",
      inputSchema: SCHEMA.closePosition.in, outputSchema: SCHEMA.closePosition.out,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    }, async (input) => {
      const result = await closePosition(ctx, input, "agent", credential);
      return answer(result.output, result.isError);
    });

    server.registerTool("modify_order", {
      description:
        "Changes the limit price of a trade's working order in place (IBKR's modify: same order id and orderRef), to walk it toward the market. limit_price is the new net per combo unit, debit positive and credit negative (as list_trades shows it); for a trade whose close is working, it is the closing order's net. An opening order passes every check of place_order again at the new price: risk recomputed from the net price, price collar, daily loss, concentration, and the order rate (a modify counts as an order). Only the price can change: for other legs or sizes cancel_order and place_order. Send max_risk when the new price raises the worst-case loss above your first claim. When its answer is lost (status Unknown), list_trades shows pending_modify until TWS shows which price took, and the order cannot be modified again until then.",
      inputSchema: SCHEMA.modifyOrder.in, outputSchema: SCHEMA.modifyOrder.out,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    }, async (input) => {
      const result = await modifyOrder(ctx, input, "agent", credential);
      return answer(result.output as unknown as Record<string, unknown>, result.isError);
    });

    server.registerTool("cancel_order", {
      description: "Cancels a working order (by order_id) or a trade's working order or pending approval (by trade_id).",
      inputSchema: SCHEMA.cancelOrder.in, outputSchema: SCHEMA.cancelOrder.out,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    }, async (input) => {
      const result = await cancelOrder(ctx, input, "agent", credential);
      return result.ok
        ? ok({ success: true, trade_id: result.trade_id, order_id: result.order_id, status: result.status, message: result.message })
        : answer({ success: false, trade_id: input.trade_id ?? null, order_id: input.order_id ?? null, status: null, message: result.message }, true);
    });
  }

  server.registerResource("limits", "ibkr://limits", { description: "The hard safety limits (code constants; nothing can raise them).", mimeType: "application/json" }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(LIMITS, null, 2) }],
  }));
  server.registerResource("audit-recent", "ibkr://audit/recent", { description: "The last 50 rows of the hash-chained audit log.", mimeType: "application/json" }, async (uri) => {
    const last = ctx.sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM audit").toArray()[0]?.seq ?? 0;
    return { contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(readAudit(ctx.sql, { after: Math.max(0, last - 50), limit: 50 }).map(withoutBridgeIds)) }] };
  });
  return server;
}

/**
 * An audit row as an agent may see it: the bridge's ids hidden (the dashboard and the admin API
 * keep them). Knowing the id gave an impostor a stream to hijack before bridges proved their key;
 * it is still nothing an agent needs. The row's hash covers the stored text, not this copy.
 */
export function withoutBridgeIds(row: AuditRow): AuditRow {
  const hide = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(hide);
    if (value && typeof value === "object")
      return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, /bridge_id$/.test(key) && v !== null ? "[hidden]" : hide(v)]));
    return typeof value === "string" ? value.replace(/\bbridge-[0-9a-f-]{8,}\b/gi, "[hidden]") : value;
  };
  return { ...row, details_json: JSON.stringify(hide(JSON.parse(row.details_json))) };
}
