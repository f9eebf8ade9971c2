// The read-back a person confirms before an order is sent (every leg, the net limit, the computed
// risk), and AskPerson: how the desk asks them and hears back, whoever carries the question (MCP
// elicitation on a 2025-11-25 session, mcp/elicitation.ts; an input-required round trip for a
// 2026-07-28 client, mcp/elicitation-round-trip.ts). The desk depends on this contract, never on
// the MCP SDK.
import { formatUsd } from "../../shared/money";
import { isStockLeg, type Leg } from "../../shared/order";
import { type RiskAnalysis } from "../../shared/risk";
import { netLimitPrice } from "../../shared/combo-price";
import type { Violation } from "../../shared/tools";

export type PersonAnswer =
  | { confirmed: true }
  | { confirmed: false; outcome: "declined" | "cancelled" | "not_confirmed" | "unreachable"; violation: Violation }
  /** 2026-07-28: this call carries no answer to this read-back; the question goes back in its result. */
  | { confirmed: "ask" };

/**
 * Shows the read-back to the person and reports their answer; never throws. `asked` is called
 * when the question goes out to the client (for the audit), not when an answer is read.
 */
export type AskPerson = (readBack: string, asked: () => void) => Promise<PersonAnswer>;

/** The question on its way to a 2026-07-28 client: what placeOrder answers instead of a result. */
export interface QuestionForClient {
  question: string;
}

const price = (value: number) => Math.abs(value).toFixed(2);

/** "SELL 1 SPY 2026-12-18 590C @ 1.50" or "BUY 100 SPY shares @ 450.00". */
export function legLine(leg: Leg): string {
  const c = leg.contract;
  const what = isStockLeg(leg) ? `${c.symbol} shares` : `${c.symbol} ${"expiry" in c ? c.expiry : ""} ${"strike" in c ? c.strike : ""}${"right" in c ? c.right : ""}`;
  return `${leg.action} ${leg.quantity} ${what} @ ${price(leg.price)}`;
}

/** The plain-words read-back the person confirms: every leg, the net limit and the computed risk. */
export function readBack(order: { symbol: string; strategy: string; legs: readonly Leg[] }, analysis: RiskAnalysis): string {
  const limit = netLimitPrice([...order.legs]);
  const lines = [
    `Confirm this order before it is sent to Interactive Brokers:`,
    `${order.symbol} ${order.strategy}`,
    ...order.legs.map((leg) => `  ${legLine(leg)}`),
    `Net limit: ${price(limit)} ${limit >= 0 ? "debit" : "credit"} (one combo limit order)`,
    `Worst-case loss (computed from the legs): ${analysis.worstCaseLoss === null ? "not computable" : formatUsd(analysis.worstCaseLoss)}`,
    `Max gain: ${analysis.worstCaseGain !== null ? formatUsd(analysis.worstCaseGain) : analysis.gainUnbounded ? "unbounded" : "unknown"}`,
    `Breakevens: ${analysis.breakevens.length ? analysis.breakevens.map((b) => b.toFixed(2)).join(", ") : "none"}`,
    `The safety checks still run after your answer; in shadow mode the dashboard approval is still required.`,
  ];
  return lines.join("\n");
}
