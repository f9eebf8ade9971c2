// The errors a bridge operation answers with, one class carrying the protocol's error code
// (shared/protocol.ts ErrorBody), so a handler throws and the link turns it into a response.
import type { ErrorBody } from "../shared/protocol";
import type { Violation } from "../shared/tools";

export type BridgeErrorCode =
  | "invalid_params"
  | "second_key_refused"
  | "emergency_stop_file"
  | "emergency_stop"
  | "tws_not_connected"
  | "tws_error"
  | "timeout"
  | "unknown_order"
  | "expired"
  | "chain_too_wide"
  | "not_modifiable"
  | "internal_error";

export class BridgeError extends Error {
  constructor(
    readonly code: BridgeErrorCode,
    message: string,
    readonly violations?: Violation[],
  ) {
    super(message);
    this.name = "BridgeError";
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message, ...(this.violations ? { violations: this.violations } : {}) };
  }
}

/** An error TWS reported for a request: the code and its text, as IBKR wrote it. */
export class TwsError extends BridgeError {
  constructor(
    readonly twsCode: number,
    readonly twsText: string,
    context?: string,
  ) {
    super("tws_error", `${context ? `${context}: ` : ""}TWS error ${twsCode}: ${twsText}`);
  }
}

export const notConnected = (what: string, state: string): BridgeError =>
  new BridgeError("tws_not_connected", `TWS is not connected (${state}): ${what} refused; nothing was sent to TWS`);
