// Asks the person behind an MCP client to confirm a read-back of an order before it is sent (MCP
// elicitation). Only offered when the client declared the capability in its session; any error,
// timeout or cancellation counts as "not confirmed" (fail closed), never as a yes.
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { RequestId } from "@modelcontextprotocol/sdk/types.js";
import type { AskPerson, PersonAnswer } from "../desk/read-back";

/** How long a person has to answer before the order is refused as unconfirmed. */
export const CONFIRM_TIMEOUT_MS = 120_000;

const REQUESTED_SCHEMA = {
  type: "object" as const,
  properties: { confirm: { type: "boolean" as const, title: "Send this order", description: "Yes sends the order as read back above; no refuses it." } },
  required: ["confirm"],
};

function declined(outcome: "declined" | "cancelled" | "not_confirmed", how: string): PersonAnswer {
  return { confirmed: false, outcome, violation: { check: "person_declined", message: `The person did not confirm the order in their MCP client (${how}): nothing was sent` } };
}

/**
 * An AskPerson for this session, or null when its client did not declare form elicitation (then
 * place_order runs as before). The request rides on the tool call's own response stream.
 */
export function elicitationAsker(server: Server, call: { requestId: RequestId; signal: AbortSignal }): AskPerson | null {
  if (!server.getClientCapabilities()?.elicitation?.form) return null;
  return async (message) => {
    try {
      const result = await server.elicitInput(
        { mode: "form", message, requestedSchema: REQUESTED_SCHEMA },
        { relatedRequestId: call.requestId, signal: call.signal, timeout: CONFIRM_TIMEOUT_MS },
      );
      if (result.action === "decline") return declined("declined", "declined");
      if (result.action === "cancel") return declined("cancelled", "dismissed the question");
      if (result.content?.confirm !== true) return declined("not_confirmed", "answered confirm = false");
      return { confirmed: true };
    } catch (error) {
      return {
        confirmed: false, outcome: "unreachable",
        violation: { check: "person_unreachable", message: `The person could not be asked to confirm the order (${(error as Error).message}): refusing (fail closed), nothing was sent` },
      };
    }
  };
}
