// place_order's read-back for MCP 2026-07-28 clients. That revision has no server-to-client
// requests: the question goes back as the tool's input-required result, and the client retries the
// same call carrying the person's answer and the state minted here. Who must confirm stays
// edge/desk/confirmation-rule.ts's decision; this module only carries the client's answer.
//
// The state is signed with the SDK's HMAC codec under a key kept in this account's storage (a
// retry after an eviction still verifies) and expires after CONFIRM_TIMEOUT_MS; the SDK checks it
// before the handler runs and answers a forged or expired one with -32602, so nothing is placed.
// It binds the answer to the exact read-back shown, the call's arguments and the credential: an
// answer carried to another question, another order or another caller is never taken for a yes —
// the question is asked again.
import { createHash } from "node:crypto";
import { CLIENT_CAPABILITIES_META_KEY, type ClientCapabilities, createRequestStateCodec, inputRequired, inputResponse, type InputRequiredResult, type ServerContext } from "@modelcontextprotocol/server";
import { getKv, setKv } from "../store/kv";
import type { Credential } from "../ledger/credential";
import type { AskPerson, PersonAnswer } from "../desk/read-back";
import { canElicitForm, CONFIRM_SCHEMA, CONFIRM_TIMEOUT_MS, personAnswer } from "./elicitation";

/** The key of the input request that carries the read-back (the client answers under this name). */
export const CONFIRM_KEY = "confirm";
const STATE_KEY_KV = "mcp_request_state_key";

/** What the state proves: this read-back was put to the client for these arguments and this caller. */
export interface ConfirmationState {
  v: 1;
  /** SHA-256 of the tool's arguments as validated (idempotency_key included). */
  args: string;
  /** SHA-256 of the read-back text the person was shown. */
  read_back: string;
  /** SHA-256 of the credential that was asked. */
  credential: string;
}

type Codec = ReturnType<typeof createRequestStateCodec<ConfirmationState>>;
const codecs = new WeakMap<SqlStorage, Codec>();

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The account's codec: its key is made once and kept in storage, so a retry verifies after an eviction too. */
export function confirmationCodec(sql: SqlStorage): Codec {
  let codec = codecs.get(sql);
  if (!codec) {
    let key = getKv<string | null>(sql, STATE_KEY_KV, null);
    if (!key) {
      key = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");
      setKv(sql, STATE_KEY_KV, key);
    }
    codec = createRequestStateCodec<ConfirmationState>({ key, ttlSeconds: CONFIRM_TIMEOUT_MS / 1000 });
    codecs.set(sql, codec);
  }
  return codec;
}

/** True when this 2026-07-28 request's client declared form elicitation (`{}` is form, as in 2025). */
export function envelopeCanElicit(call: ServerContext): boolean {
  // The envelope's keys are wire-only in the SDK's public types; the key's value is typed here.
  const envelope = call.mcpReq.envelope as Record<string, ClientCapabilities | undefined> | undefined;
  return canElicitForm(envelope?.[CLIENT_CAPABILITIES_META_KEY]);
}

/**
 * An AskPerson for one round of a 2026-07-28 call: the answer this retry carries when it answers
 * this very read-back for these arguments and this caller, else "ask" (the question goes out).
 */
export function roundTripAsker(call: ServerContext, args: unknown, credential: Credential): AskPerson {
  const state = call.mcpReq.requestState<ConfirmationState>();
  const binding = { args: sha256(JSON.stringify(args)), credential: sha256(JSON.stringify(credential)) };
  return async (readBack, asked) => {
    const ask = (): PersonAnswer => {
      asked();
      return { confirmed: "ask" };
    };
    if (!state || state.v !== 1 || state.args !== binding.args || state.credential !== binding.credential || state.read_back !== sha256(readBack)) return ask();
    const answer = inputResponse(call.mcpReq.inputResponses, CONFIRM_KEY);
    if (answer.kind !== "elicit") return ask();
    return personAnswer(answer.action, answer.content);
  };
}

/** The input-required result that puts the read-back to the client, with its signed state. */
export async function askInClient(sql: SqlStorage, question: string, args: unknown, credential: Credential): Promise<InputRequiredResult> {
  const state: ConfirmationState = { v: 1, args: sha256(JSON.stringify(args)), read_back: sha256(question), credential: sha256(JSON.stringify(credential)) };
  return inputRequired({
    inputRequests: { [CONFIRM_KEY]: inputRequired.elicit({ mode: "form", message: question, requestedSchema: CONFIRM_SCHEMA }) },
    requestState: await confirmationCodec(sql).mint(state),
  });
}
