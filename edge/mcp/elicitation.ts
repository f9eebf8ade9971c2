// Asks the person behind an MCP client to confirm a read-back of an order before it is sent (MCP
// elicitation). Only offered when the client declared form elicitation; any error, timeout or
// cancellation counts as "not confirmed" (fail closed), never as a yes. A 2025-11-25 client is
// asked on its session, the request riding the tool call's own response stream (below); a
// 2026-07-28 client gets the question back as the call's result and answers on its retry
// (mcp/elicitation-round-trip.ts).
import type { ClientCapabilities, ServerContext } from "@modelcontextprotocol/server";
import type { AskPerson, PersonAnswer } from "../desk/read-back";

/** How long a person has to answer before the order is refused as unconfirmed. */
export const CONFIRM_TIMEOUT_MS = 120_000;

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
