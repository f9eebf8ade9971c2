// Who must confirm an order before it is sent: the one rule, kept apart from the MCP transport so
// it ports unchanged to the next MCP SDK. "Confirm every order" on means a person — the one-time
// approval link (logged in to the dashboard) or the dashboard's approval list — for EVERY client:
// a client that declares elicitation can answer its own question (an agent with a shell can read
// its own MCP config), so its answer is never taken for the person's. With the setting off, a
// client that can elicit is still asked (a cheap check the agent's person may see); its answer is
// audited as the client's (`confirmed_in_client`), never as a person's.

export interface ConfirmationRule {
  /** Ask the question in the MCP client (elicitation) before the checks. */
  askInClient: boolean;
  /** Hold the order, risk reserved, until a person approves it by the link or the dashboard. */
  awaitPerson: boolean;
}

export function confirmationRule(opts: { confirmEveryOrder: boolean; clientCanElicit: boolean }): ConfirmationRule {
  if (opts.confirmEveryOrder) return { askInClient: false, awaitPerson: true };
  return { askInClient: opts.clientCanElicit, awaitPerson: false };
}

/** The audit's words for an in-client answer: the client answered; whether a person did is unknown. */
export const IN_CLIENT = {
  actor: "mcp_client",
  confirmed: "confirmed_in_client",
  declined: "declined_in_client",
  unanswered: "unanswered_in_client",
  note: "answered in the MCP client: not proof that a person saw or confirmed it",
} as const;
