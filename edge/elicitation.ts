// Asks the person behind an MCP client to confirm a read-back of an order before it is sent (MCP
// elicitation). Only offered when the client declared form elicitation; any error, timeout or
// cancellation counts as "not confirmed" (fail closed), never as a yes. A 2025-11-25 client is
// asked on its session, the request riding the tool call's own response stream (below); a
// 2026-07-28 client gets the question back as the call's result and answers on its retry
// (edge/elicitation-round-trip.ts).
import type { ClientCapabilities, ServerContext } from "@modelcontextprotocol/server";
import { formatUsd } from "../shared/money";
import { isStockLeg, type Leg } from "../shared/order";
import { type RiskAnalysis } from "../shared/risk";
import { netLimitPrice } from "../shared/combo-price";
import type { Violation } from "../shared/tools";

/** How long a person has to answer before the order is refused as unconfirmed. */
export const CONFIRM_TIMEOUT_MS = 120_000;

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

export const CONFIRM_SCHEMA = {
  type: "object" as const,
  properties: { confirm: { type: "boolean" as const, title: "Send this order", description: "Yes sends the order as read back above; no refuses it." } },
  required: ["confirm"],
};

function declined(outcome: "declined" | "cancelled" | "not_confirmed", how: string): PersonAnswer {
  return { confirmed: false, outcome, violation: { check: "person_declined", message: `The person did not confirm the order in their MCP client (${how}): nothing was sent` } };
}

/** The client's elicitation answer in the edge's words: a yes only for accept with confirm === true. */
export function personAnswer(action: string, content: Record<string, unknown> | undefined): PersonAnswer {
  if (action === "decline") return declined("declined", "declined");
  if (action === "cancel") return declined("cancelled", "dismissed the question");
  if (action !== "accept" || content?.confirm !== true) return declined("not_confirmed", "answered confirm = false");
  return { confirmed: true };
}

/** True when the client declared form elicitation (`{}` meant form before modes existed). */
export function canElicitForm(capabilities: ClientCapabilities | undefined): boolean {
  const elicitation = capabilities?.elicitation;
  if (!elicitation || typeof elicitation !== "object") return false;
  return Object.keys(elicitation).length === 0 || Boolean((elicitation as { form?: unknown }).form);
}

/**
 * An AskPerson for a 2025-11-25 session, or null when its client did not declare form elicitation
 * (then place_order runs as before). The request rides the tool call's own response stream.
 */
export function elicitationAsker(call: ServerContext, capabilities: ClientCapabilities | undefined): AskPerson | null {
  if (!canElicitForm(capabilities)) return null;
  return async (message, asked) => {
    asked();
    try {
      const result = await call.mcpReq.elicitInput(
        { mode: "form", message, requestedSchema: CONFIRM_SCHEMA },
        { relatedRequestId: call.mcpReq.id, signal: call.mcpReq.signal, timeout: CONFIRM_TIMEOUT_MS },
      );
      return personAnswer(result.action, result.content);
    } catch (error) {
      return {
        confirmed: false, outcome: "unreachable",
        violation: { check: "person_unreachable", message: `The person could not be asked to confirm the order (${(error as Error).message}): refusing (fail closed), nothing was sent` },
      };
    }
  };
}
