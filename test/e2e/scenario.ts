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
const isoDate = (expiry: string) => (/^\d{8}$/.test(expiry) ? `${expiry.slice(0, 4)}-${expiry.slice(4, 6)}-${expiry.slice(6, 8)}` : expiry);

export async function optionChain(mcp: McpClient, symbol: string, expiry?: string): Promise<Chain> {
  const answer = await mcp.tool<Chain>("get_option_chain", { symbol, ...(expiry ? { expiry } : {}) });
  if (answer.isError) throw new Error(`get_option_chain ${symbol}: ${answer.text}`);
  return answer.structured;
}

/**
 * A 1-lot iron condor about 3% out of the money on each side with `width`-point wings.
 * `pricing: "touch"` sells at the bid and buys at the ask (the natural price, marketable);
 * `"mid"` prices each leg at its mid, which rests on a market whose spreads are not zero.
 */
export async function ironCondor(mcp: McpClient, symbol: string, options: { width?: number; pricing?: "touch" | "mid"; strategy?: string; metadata?: Record<string, unknown> } = {}): Promise<CondorOrder> {
  const width = options.width ?? 3;
  const first = await optionChain(mcp, symbol);
  const expiry = first.expiries[1] ?? first.expiries[0];
  if (!expiry) throw new Error(`no expiries for ${symbol}`);
  const chain = await optionChain(mcp, symbol, expiry);
  const price = chain.underlying_price;
  if (price === null) throw new Error(`no underlying price for ${symbol}`);
  const quote = (strike: number, right: "C" | "P") => chain.quotes.find((q) => q.strike === strike && q.right === right);
  const usable = (q: ChainQuote | undefined): q is ChainQuote & { bid: number; ask: number; mid: number } => !!q && q.bid !== null && q.ask !== null && q.mid !== null && q.bid >= 0.1;
  const puts = chain.quotes.filter((q) => q.right === "P" && q.strike <= price * 0.97 && usable(q) && usable(quote(q.strike - width, "P"))).sort((a, b) => b.strike - a.strike);
  const calls = chain.quotes.filter((q) => q.right === "C" && q.strike >= price * 1.03 && usable(q) && usable(quote(q.strike + width, "C"))).sort((a, b) => a.strike - b.strike);
  const shortPut = puts[0];
  const shortCall = calls[0];
  if (!shortPut || !shortCall) throw new Error(`no usable ${width}-wide condor strikes for ${symbol} @ ${price} on ${expiry}`);
  const longPut = quote(shortPut.strike - width, "P")!;
  const longCall = quote(shortCall.strike + width, "C")!;
  const touch = options.pricing !== "mid";
  const leg = (action: "BUY" | "SELL", q: ChainQuote): Leg => ({
    action,
    contract: { symbol, expiry: isoDate(expiry), strike: q.strike, right: q.right },
    quantity: 1,
    price: cents(touch ? (action === "SELL" ? q.bid! : q.ask!) : q.mid!),
  });
  const legs = [leg("BUY", longPut), leg("SELL", shortPut), leg("SELL", shortCall), leg("BUY", longCall)];
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
