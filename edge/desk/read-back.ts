// The read-back a person confirms before an order is sent (every leg, the net limit, the computed
// risk), and AskPerson: how the desk asks them and hears back, whoever carries the question (MCP
// elicitation, mcp/elicitation.ts). The desk depends on this contract, never on the MCP SDK.
import { formatUsd } from "../../shared/money";
import { isStockLeg, type Leg } from "../../shared/order";
import { type RiskAnalysis } from "../../shared/risk";
import { netLimitPrice } from "../../shared/combo-price";
import type { Violation } from "../../shared/tools";

export type PersonAnswer =
  | { confirmed: true }
  | { confirmed: false; outcome: "declined" | "cancelled" | "not_confirmed" | "unreachable"; violation: Violation };

/** Shows the read-back to the person and reports their answer; never throws. */
export type AskPerson = (readBack: string) => Promise<PersonAnswer>;

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
