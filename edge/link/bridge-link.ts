// The edge's side of the bridge WebSocket: which socket is the live bridge, and requests to it
// correlated by id with a timeout. Only the pending promises live in memory; a hibernated or
// restarted object has none, and everything else about the link is in the socket attachment.
import { Ops, PROTOCOL_VERSION, type ErrorBody, type OpName, type OpParams, type OpResult } from "../../shared/protocol";
import type { Violation } from "../../shared/tools";

export const PLACE_TIMEOUT_MS = 10_000;
export const DEFAULT_TIMEOUT_MS = 5_000;
/** A chain is many paced quotes (the bridge quotes at most 50 contracts, ~1.5 s at 36 msg/s). */
export const CHAIN_TIMEOUT_MS = 15_000;

export interface BridgeAttachment {
  /** True once the socket proved the pinned identity (a signed hello); only then is it the bridge. */
  hello: boolean;
  /** The challenge this socket must sign (edge/link/bridge-identity.ts), and when it was issued. */
  connection_id?: string;
  nonce?: string;
  accepted_ms?: number;
  /** The hello's signature is being checked; any frame before the welcome is a protocol breach. */
  verifying?: boolean;
  /** Which pinned key proved it: event seqs are kept per key and bridge_id. */
  key_id?: string;
  bridge_id?: string;
  bridge_version?: string;
  mode?: string;
  since?: string;
  /** When the bridge last sent any frame; 30 s of silence means the link is dead. */
  last_frame_ms?: number;
  /** Set when a newer bridge took over; this socket's frames are then ignored. */
  replaced?: boolean;
  /** The upgrading request's client address (edge/http/client-address.ts): caps and audit bounds count by it. */
  client?: string;
  /** Set when the edge refused this socket (never proven): its later frames are dropped unheard. */
  refused?: boolean;
}

/** A request the bridge refused or never answered; `code` is the protocol's error code. */
export class BridgeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly violations: Violation[] = [],
  ) {
    super(message);
  }
}

interface Pending {
  op: OpName;
  socket: WebSocket;
  resolve: (value: unknown) => void;
  reject: (error: BridgeError) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class BridgeLink {
  private readonly pending = new Map<string, Pending>();
  /** Requests sent since this instance started, by op: the benchmark's count of bridge trips per tool. */
  readonly sentByOp: Partial<Record<OpName, number>> = {};
  private readonly pings = new Map<number, () => void>();
  private pingSeq = 0;

  constructor(private readonly ctx: DurableObjectState) {}

  /** The bridge socket that proved its key in a hello, if any (a newer one replaces older ones). */
  socket(): WebSocket | null {
    const ready = this.ctx.getWebSockets("bridge").filter((ws) => {
      const a = ws.deserializeAttachment() as BridgeAttachment | null;
      return ws.readyState === WebSocket.OPEN && a?.hello === true && !!a.key_id && !a.replaced;
    });
    return ready[ready.length - 1] ?? null;
  }

  info(): { connected: boolean; since: string | null; bridge_version: string | null; mode: string | null; bridge_id: string | null } {
    const ws = this.socket();
    const a = (ws?.deserializeAttachment() as BridgeAttachment | null) ?? null;
    return { connected: ws !== null, since: a?.since ?? null, bridge_version: a?.bridge_version ?? null, mode: a?.mode ?? null, bridge_id: a?.bridge_id ?? null };
  }

  request<N extends OpName>(op: N, params: OpParams<N>, timeoutMs = op === "place" || op === "close" ? PLACE_TIMEOUT_MS : op === "option_chain" ? CHAIN_TIMEOUT_MS : DEFAULT_TIMEOUT_MS): Promise<OpResult<N>> {
    const socket = this.socket();
    if (!socket) return Promise.reject(new BridgeError("bridge_not_connected", "No bridge is connected to this account, so nothing can reach TWS"));
    const id = crypto.randomUUID();
    this.sentByOp[op] = (this.sentByOp[op] ?? 0) + 1;
    return new Promise<OpResult<N>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new BridgeError("timeout", `The bridge did not answer the ${op} request within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.pending.set(id, { op, socket, resolve: resolve as (v: unknown) => void, reject, timer });
      try {
        // The bridge sends no order after expires_at: once this timer fires the order is "unconfirmed"
        // here, and must not reach TWS later from a bridge that was held up.
        socket.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "request", id, op, params, expires_at: Date.now() + timeoutMs }));
      } catch (error) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new BridgeError("bridge_not_connected", `Could not send to the bridge: ${(error as Error).message}`));
      }
    });
  }

  /** Settles the request a response answers; a response for an unknown id (timed out) is reported back. */
  settle(response: { id: string; ok: boolean; result?: unknown; error?: ErrorBody }): boolean {
    const entry = this.pending.get(response.id);
    if (!entry) return false;
    this.pending.delete(response.id);
    clearTimeout(entry.timer);
    if (!response.ok) {
      const e = response.error ?? { code: "tws_error", message: "the bridge refused without a reason" };
      entry.reject(new BridgeError(e.code, e.message, e.violations ?? []));
      return true;
    }
    const parsed = Ops[entry.op].result.safeParse(response.result);
    if (parsed.success) entry.resolve(parsed.data);
    else entry.reject(new BridgeError("invalid_result", `The bridge's ${entry.op} answer did not match the protocol: ${parsed.error.issues[0]?.message ?? "invalid"}`));
    return true;
  }

  /**
   * The link's own round trip: a protocol ping the bridge answers with a pong carrying the same
   * `t`. Edge-generated `t` values are negative, so they never collide with the alarm's keep-alive
   * pings (which carry Date.now()).
   */
  ping(timeoutMs = 2_000): Promise<number> {
    const socket = this.socket();
    if (!socket) return Promise.reject(new BridgeError("bridge_not_connected", "No bridge is connected to this account"));
    const t = -++this.pingSeq;
    const started = performance.now();
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(t);
        reject(new BridgeError("timeout", `The bridge did not answer a ping within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pings.set(t, () => {
        clearTimeout(timer);
        resolve(performance.now() - started);
      });
      socket.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "ping", t }));
    });
  }

  /** A pong answering one of `ping`'s frames settles it; any other pong is the keep-alive's. */
  settlePong(t: unknown): void {
    if (typeof t !== "number") return;
    const done = this.pings.get(t);
    if (!done) return;
    this.pings.delete(t);
    done();
  }

  /** Fails every request sent on a socket that closed: its answers can no longer arrive. */
  failSocket(socket: WebSocket, reason: string): void {
    for (const [id, entry] of this.pending) {
      if (entry.socket !== socket) continue;
      this.pending.delete(id);
      clearTimeout(entry.timer);
      entry.reject(new BridgeError("bridge_disconnected", reason));
    }
  }
}
