// The agent's side of the core scenario, shared by the end-to-end tests and the paper smoke run:
// read the option chain through MCP, build a 1-lot iron condor from real strikes and quotes
// (marketable at the touch, or resting at mid), and wait for an order to reach a status.
import type { Leg } from "../../shared/order";
import type { McpClient } from "./harness";
import { waitUntil } from "../stack/processes";

interface ChainQuote { strike: number; right: "C" | "P"; bid: number | null; ask: number | null; mid: number | null }
interface Chain { symbol: string; underlying_price: number | null; expiries: string[]; strikes: number[]; expiry: string | null; quotes: ChainQuote[] }

export type CondorOrder = {
  symbol: string;
  strategy: string;
  legs: Leg[];
  max_risk: number;
  capital_required: number;
  metadata?: Record<string, unknown>;
  idempotency_key?: string;
};

const cents = (n: number) => Math.round(n * 100) / 100;
/** An expiry as TWS lists it (yyyymmdd) written as the tools take it (yyyy-mm-dd); any other form is kept. */
export const isoDate = (expiry: string) => (/^\d{8}$/.test(expiry) ? `${expiry.slice(0, 4)}-${expiry.slice(4, 6)}-${expiry.slice(6, 8)}` : expiry);

export async function optionChain(mcp: McpClient, symbol: string, expiry?: string, strikeRange?: number): Promise<Chain> {
  const answer = await mcp.tool<Chain>("get_option_chain", { symbol, ...(expiry ? { expiry } : {}), ...(strikeRange ? { strike_range: strikeRange } : {}) });
  if (answer.isError) throw new Error(`get_option_chain ${symbol}: ${answer.text}`);
  return answer.structured;
}

interface LegQuote { bid: number | null; ask: number | null; mid: number | null; data_type: string; reason: string | null }

async function legQuote(mcp: McpClient, symbol: string, expiry: string, strike: number, right: "C" | "P"): Promise<LegQuote> {
  const answer = await mcp.tool<LegQuote>("get_quote", { legs: [{ action: "BUY", contract: { symbol, expiry, strike, right }, quantity: 1 }] });
  if (answer.isError) throw new Error(`get_quote ${symbol} ${expiry} ${strike}${right}: ${answer.text}`);
  return answer.structured;
}

const usable = (q: LegQuote): q is LegQuote & { bid: number; ask: number; mid: number } => q.bid !== null && q.ask !== null && q.mid !== null && q.bid >= 0.1;

/**
 * A 1-lot iron condor about 3% out of the money on each side with `width`-point wings, from the
 * chain's expiries and strikes and a quote of each leg (get_quote).
 * `pricing: "touch"` sells at the bid and buys at the ask (the natural price, marketable);
 * `"mid"` prices each leg at its mid, which rests on a market whose spreads are not zero.
 */
export async function ironCondor(mcp: McpClient, symbol: string, options: { width?: number; pricing?: "touch" | "mid"; strategy?: string; metadata?: Record<string, unknown> } = {}): Promise<CondorOrder> {
  const width = options.width ?? 3;
  // Without an expiry the chain answers expiries and strikes only (no quote per strike).
  const chain = await optionChain(mcp, symbol, undefined, 0.2);
  const expiry = chain.expiries[1] ?? chain.expiries[0];
  const price = chain.underlying_price;
  if (!expiry || price === null) throw new Error(`no expiry or underlying price for ${symbol}: ${JSON.stringify(chain).slice(0, 300)}`);
  const strikes = new Set(chain.strikes);
  const iso = isoDate(expiry);
  // Walk from 3% out of the money towards the money until both the short and its wing quote.
  const side = async (right: "C" | "P") => {
    const sign = right === "P" ? -1 : 1;
    const outside = (k: number) => (right === "P" ? k <= price * 0.97 : k >= price * 1.03);
    const nearest = chain.strikes.filter((k) => outside(k) && strikes.has(k + sign * width)).sort((a, b) => sign * (a - b))[0];
    const inside = chain.strikes.filter((k) => !outside(k) && sign * (k - price) > 0 && strikes.has(k + sign * width)).sort((a, b) => sign * (b - a));
    const ordered = [...(nearest === undefined ? [] : [nearest]), ...inside];
    for (const short of ordered.slice(0, 6)) {
      const [shortQuote, wingQuote] = await Promise.all([legQuote(mcp, symbol, iso, short, right), legQuote(mcp, symbol, iso, short + sign * width, right)]);
      if (usable(shortQuote) && usable(wingQuote)) return { short, wing: short + sign * width, shortQuote, wingQuote };
    }
    throw new Error(`no ${width}-wide ${right === "P" ? "put" : "call"} spread with quotes on ${symbol} @ ${price} for ${iso}`);
  };
  const puts = await side("P");
  const calls = await side("C");
  const touch = options.pricing !== "mid";
  const leg = (action: "BUY" | "SELL", strike: number, right: "C" | "P", q: LegQuote & { bid: number; ask: number; mid: number }): Leg => ({
    action,
    contract: { symbol, expiry: iso, strike, right },
    quantity: 1,
    price: cents(touch ? (action === "SELL" ? q.bid : q.ask) : q.mid),
  });
  const legs = [
    leg("BUY", puts.wing, "P", puts.wingQuote),
    leg("SELL", puts.short, "P", puts.shortQuote),
    leg("SELL", calls.short, "C", calls.shortQuote),
    leg("BUY", calls.wing, "C", calls.wingQuote),
  ];
  const credit = legs.reduce((sum, l) => sum + (l.action === "SELL" ? l.price : -l.price), 0);
  const maxRisk = cents((width - credit) * 100);
  return { symbol, strategy: options.strategy ?? "IRON_CONDOR", legs, max_risk: maxRisk, capital_required: maxRisk, ...(options.metadata ? { metadata: options.metadata } : {}) };
}

export interface OrderStatusView { order_id: number; trade_id: string | null; status: string; filled: number; remaining: number; avg_fill_price: number | null }

export async function waitOrderStatus(mcp: McpClient, orderId: number, statuses: string[], timeoutMs = 30_000): Promise<OrderStatusView> {
  let last: OrderStatusView | null = null;
  await waitUntil(`order ${orderId} to reach ${statuses.join("/")}`, async () => {
    const answer = await mcp.tool<OrderStatusView>("get_order_status", { order_id: orderId });
    if (answer.isError) throw new Error(answer.text);
    last = answer.structured;
    return statuses.includes(last.status);
  }, timeoutMs, 250).catch((error: Error) => {
    throw new Error(`${error.message} (last: ${JSON.stringify(last)})`);
  });
  return last!;
}
