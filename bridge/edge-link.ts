// The bridge's outbound WebSocket to the edge (EDGE_URL/bridge, bearer BRIDGE_TOKEN): the edge's
// challenge → a hello signed with the bridge's identity key (bridge/identity.ts) → welcome, events numbered from 1 and kept until the edge acks them (cumulative), resent after
// a reconnect when above welcome.last_event_seq, requests answered with their ids in order of
// arrival, pings both ways, and a dead link (no frame for BRIDGE_LINK_DEAD_MS) redialled with
// backoff and jitter.
import { randomBytes } from "node:crypto";
import pRetry, { AbortError } from "p-retry";
import WebSocket from "ws";
import { z } from "zod";
import { EdgeMessage, type EmergencyStopPush, type Event, type EventData, type EventType, Events, type Hello, helloSigningText, Ops, PROTOCOL_VERSION, type OpName, type RequestMeta } from "../shared/protocol";
import { safeUrl } from "./config";
import { BridgeError } from "./errors";
import { type BridgeIdentity, loadOrCreateIdentity } from "./identity";
import { heldBackField, type Logger, RepeatGate, repeatedMessage } from "./log";

export interface EdgeLinkOptions {
  url: URL;
  token: string;
  logger: Logger;
  timing: { linkPingMs: number; linkDeadMs: number; linkBackoffMinMs: number; linkBackoffMaxMs: number; logRepeatMs: number };
  hello: () => Omit<Hello, "v" | "type" | "bridge_id" | "last_seq" | "signature">;
  /** The identity key file (made at first run); the hello is signed with it. */
  identityFile: string;
  handle: (op: OpName, params: unknown, meta: RequestMeta) => Promise<unknown>;
  /** The edge's emergency stop, as pushed (at once, ahead of any request that follows it). */
  onEmergencyStop?: (stop: EmergencyStopPush) => void;
  /** Most events kept for an unreachable edge (default MAX_QUEUED_EVENTS). */
  maxQueuedEvents?: number;
  /** Opens the socket; the `ws` client unless the deterministic simulation (test/dst/) supplies its own. */
  openSocket?: (url: URL, headers: Record<string, string>) => WebSocket;
}

/** The most events kept for an unreachable edge before the bridge starts a new event stream. */
export const MAX_QUEUED_EVENTS = 100_000;

const newBridgeId = (): string => `bridge-${randomBytes(8).toString("hex")}`;
const WELCOME_TIMEOUT_MS = 10_000;

/** `EDGE_URL` → the `/bridge` WebSocket URL (http→ws, https→wss), keeping any base path. */
export function bridgeUrl(edgeUrl: URL): URL {
  const url = new URL(edgeUrl.href);
  url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/bridge`;
  url.search = "";
  url.hash = "";
  return url;
}

export class EdgeLink {
  private readonly queue: Event[] = [];
  private seq = 0;
  private ws: WebSocket | null = null;
  private welcomed = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private running: Promise<void> | null = null;
  private requests: Promise<void> = Promise.resolve();
  private endSession: ((reason: string) => void) | null = null;
  connectedSince: string | null = null;
  lastError: string | null = null;
  /** Names this process's event stream (seq counts from 1 within it). */
  bridgeId = newBridgeId();

  /** Proves this bridge to the edge: signs the edge's per-socket challenge. */
  readonly identity: BridgeIdentity;

  /** An edge that stays unreachable is told once, then once per logRepeatMs with the count (log.ts). */
  private readonly failures: RepeatGate;

  constructor(private readonly options: EdgeLinkOptions) {
    this.identity = loadOrCreateIdentity(options.identityFile).identity;
    this.failures = new RepeatGate(options.timing.logRepeatMs);
  }

  /** Number an event and send it now (link up) or when the link comes back. */
  publish<T extends EventType>(event: T, data: EventData<T>): void {
    const checked = Events[event].safeParse(data);
    if (!checked.success) {
      this.options.logger.error({ event, issues: checked.error.issues.slice(0, 5) }, "bridge produced an event that does not match the protocol; not sent");
      return;
    }
    if (this.queue.length >= (this.options.maxQueuedEvents ?? MAX_QUEUED_EVENTS)) this.newStream();
    const frame = { v: PROTOCOL_VERSION, type: "event", seq: ++this.seq, at: new Date().toISOString(), event, data: checked.data } as Event;
    this.queue.push(frame);
    if (this.welcomed) this.sendFrame(frame);
  }

  get status() {
    return {
      connected: this.welcomed,
      since: this.connectedSince,
      queued: this.queue.length,
      last_seq: this.seq,
      last_error: this.lastError,
    };
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort(new AbortError("bridge stopping"));
    this.endSession?.("bridge stopping");
    await this.running?.catch(() => undefined);
  }

  /** Close the socket as if the network dropped (tests). */
  drop(): void {
    this.ws?.terminate();
  }

  /**
   * The edge stores events strictly in sequence, so a queue cannot just shed its oldest events.
   * When it is full the bridge drops it and starts a new stream (new bridge_id, seq from 1), as a
   * restarted bridge would: the edge's reconciliation recovers orders and fills, and the mirror's
   * current state follows in fresh events.
   */
  private newStream(): void {
    const dropped = this.queue.length;
    this.queue.length = 0;
    this.seq = 0;
    const old = this.bridgeId;
    this.bridgeId = newBridgeId();
    this.options.logger.error({ dropped, old_bridge_id: old, bridge_id: this.bridgeId }, "edge unreachable for long: event queue full, starting a new event stream (the edge reconciles)");
    // A live link would carry the old stream's numbering: say hello again.
    if (this.welcomed) this.endSession?.("new event stream");
    this.onNewStream?.();
  }

  /** Keeps every unacknowledged event but numbers them from 1 under a new bridge_id. */
  private renumberStream(claimed: number): void {
    const old = this.bridgeId;
    this.bridgeId = newBridgeId();
    this.queue.forEach((frame, i) => (frame.seq = i + 1));
    this.seq = this.queue.length;
    this.options.logger.error({ old_bridge_id: old, bridge_id: this.bridgeId, claimed_seq: claimed, kept: this.queue.length }, "edge welcomed with a seq this stream never numbered; renumbering the unacknowledged events under a new stream");
  }

  /** Called after a new stream started, so the daemon can publish the current state again. */
  onNewStream: (() => void) | null = null;

  private sendFrame(frame: unknown): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  private async run(): Promise<void> {
    const { timing, logger } = this.options;
    while (!this.stopped) {
      let session: { ended: Promise<string> };
      try {
        session = await pRetry(() => this.connectOnce(), {
          retries: Number.POSITIVE_INFINITY,
          minTimeout: timing.linkBackoffMinMs,
          maxTimeout: timing.linkBackoffMaxMs,
          factor: 2,
          randomize: true,
          signal: this.abort.signal,
          shouldRetry: () => !this.stopped,
          onFailedAttempt: ({ error, attemptNumber, retryDelay }) => {
            this.lastError = error.message;
            const shown = this.failures.pass("dial", error.message);
            if (shown) logger.warn({ attempt: attemptNumber, retry_in_ms: retryDelay, edge: safeUrl(this.options.url), ...heldBackField(shown) }, repeatedMessage("edge link failed", error.message, shown));
          },
        });
      } catch {
        return;
      }
      const reason = await session.ended;
      if (this.stopped) return;
      logger.warn(`edge link lost: ${reason}; reconnecting`);
      // A short jittered pause, so an edge that accepts and drops at once is not hammered.
      await new Promise((r) => setTimeout(r, timing.linkBackoffMinMs * (1 + Math.random())));
    }
  }

  private connectOnce(): Promise<{ ended: Promise<string> }> {
    const { token, timing, logger } = this.options;
    const target = bridgeUrl(this.options.url);
    return new Promise((resolve, reject) => {
      const headers = { Authorization: `Bearer ${token}` };
      const ws = this.options.openSocket ? this.options.openSocket(target, headers) : new WebSocket(target, { headers, handshakeTimeout: WELCOME_TIMEOUT_MS });
      let phase: "opening" | "challenge" | "hello" | "live" | "ended" = "opening";
      let deadTimer: NodeJS.Timeout | null = null;
      let pingTimer: NodeJS.Timeout | null = null;
      let endResolve: (reason: string) => void = () => undefined;
      const ended = new Promise<string>((r) => {
        endResolve = r;
      });
      const welcomeTimer = setTimeout(() => finish(`no welcome from the edge within ${WELCOME_TIMEOUT_MS} ms`), WELCOME_TIMEOUT_MS);
      const alive = () => {
        if (deadTimer) clearTimeout(deadTimer);
        deadTimer = setTimeout(() => finish(`no frame from the edge for ${timing.linkDeadMs} ms`), timing.linkDeadMs);
      };
      const finish = (reason: string) => {
        if (phase === "ended") return;
        const wasLive = phase === "live";
        phase = "ended";
        clearTimeout(welcomeTimer);
        if (deadTimer) clearTimeout(deadTimer);
        if (pingTimer) clearInterval(pingTimer);
        if (this.ws === ws) {
          this.ws = null;
          this.welcomed = false;
          this.connectedSince = null;
          this.endSession = null;
        }
        ws.removeAllListeners("message");
        ws.on("error", () => undefined);
        // A stop says goodbye (1000); a dead or broken link is cut.
        if (this.stopped && ws.readyState === WebSocket.OPEN) ws.close(1000, "bridge stopping");
        else if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
        this.lastError = reason;
        if (wasLive) endResolve(reason);
        else reject(new Error(reason));
      };

      ws.on("unexpected-response", (_req, res) => {
        finish(res.statusCode === 401 || res.statusCode === 403 ? `the edge refused BRIDGE_TOKEN (HTTP ${res.statusCode})` : `the edge answered HTTP ${res.statusCode} instead of a WebSocket upgrade`);
      });
      ws.on("error", (error) => finish(`edge connection error: ${error.message}`));
      ws.on("close", (code, reasonBuffer) => {
        const reason = reasonBuffer.toString();
        finish(code === 1008 ? `the edge closed the link (1008 policy: ${reason || "refused"})` : `the edge closed the link (${code}${reason ? ` ${reason}` : ""})`);
      });
      ws.on("open", () => {
        if (this.stopped) return finish("bridge stopping");
        this.ws = ws;
        this.endSession = finish;
        // The edge speaks first: its challenge is what the hello signs.
        phase = "challenge";
        alive();
      });
      ws.on("message", (raw) => {
        alive();
        let parsed: z.infer<typeof EdgeMessage>;
        try {
          const json = JSON.parse(raw.toString());
          const result = EdgeMessage.safeParse(json);
          if (!result.success) {
            const issues = result.error.issues.slice(0, 3).map((i) => i.message);
            logger.warn({ issues }, "edge sent a frame that does not match the protocol; ignored");
            // A request the bridge cannot run still gets an answer, so the edge does not wait for its timeout.
            if (json?.type === "request" && typeof json.id === "string" && json.id.length > 0 && ws.readyState === WebSocket.OPEN)
              ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "response", id: json.id, ok: false, error: { code: "invalid_params", message: `malformed request (nothing was run): ${issues.join("; ")}` } }));
            return;
          }
          parsed = result.data;
        } catch {
          logger.warn("edge sent a frame that is not JSON; ignored");
          return;
        }
        switch (parsed.type) {
          case "challenge": {
            if (phase !== "challenge") return;
            phase = "hello";
            const fields = { ...this.options.hello(), bridge_id: this.bridgeId, last_seq: this.seq };
            const signature = this.identity.sign(helloSigningText(parsed, fields));
            ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "hello", ...fields, signature }));
            return;
          }
          case "welcome": {
            if (phase !== "hello") return;
            if (parsed.last_event_seq > this.seq) {
              // The edge claims events this stream never numbered: its record is not of our
              // events, and dropping the queue up to its number would lose unsent ones.
              this.renumberStream(parsed.last_event_seq);
              return finish(`the edge said it stored seq ${parsed.last_event_seq} of a stream that numbered only ${this.seq}; resending under a new stream`);
            }
            clearTimeout(welcomeTimer);
            phase = "live";
            this.dropAcked(parsed.last_event_seq);
            // Resend, in order, every event the edge has not stored; later ones follow live.
            for (const frame of this.queue) ws.send(JSON.stringify(frame));
            this.welcomed = true;
            this.connectedSince = new Date().toISOString();
            this.lastError = null;
            pingTimer = setInterval(() => this.sendFrame({ v: PROTOCOL_VERSION, type: "ping", t: Date.now() }), timing.linkPingMs);
            logger.info({ edge: safeUrl(this.options.url), last_event_seq: parsed.last_event_seq, resent: this.queue.length }, "edge link up");
            this.failures.clear("dial");
            resolve({ ended });
            return;
          }
          case "ack":
            this.dropAcked(parsed.seq);
            return;
          case "ping":
            if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "pong", t: parsed.t }));
            return;
          case "pong":
            return;
          case "emergency_stop":
            this.options.onEmergencyStop?.(parsed);
            return;
          case "request": {
            const { id, op, params, expires_at } = parsed;
            // One at a time, in order of arrival: an order never overtakes an earlier request.
            this.requests = this.requests.then(() => this.answer(ws, id, op, params, expires_at === undefined ? {} : { expiresAt: expires_at }));
            return;
          }
        }
      });
    });
  }

  private dropAcked(seq: number): void {
    while (this.queue.length > 0 && (this.queue[0] as Event).seq <= seq) this.queue.shift();
  }

  private async answer(ws: WebSocket, id: string, op: OpName, rawParams: unknown, meta: RequestMeta): Promise<void> {
    const { logger } = this.options;
    let frame: unknown;
    try {
      const parsed = Ops[op].params.safeParse(rawParams ?? {});
      if (!parsed.success)
        throw new BridgeError("invalid_params", `${op}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "params"}: ${i.message}`).join("; ")}`);
      const result = await this.options.handle(op, parsed.data, meta);
      // Fail closed on our own mistakes: an answer outside the contract is not sent as a result.
      const checked = Ops[op].result.safeParse(result);
      if (!checked.success) {
        logger.error({ op, issues: checked.error.issues.slice(0, 5) }, "bridge produced a result that does not match the protocol");
        throw new BridgeError("internal_error", `bridge produced an invalid ${op} result: ${checked.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).slice(0, 3).join("; ")}`);
      }
      frame = { v: PROTOCOL_VERSION, type: "response", id, ok: true, result: checked.data };
    } catch (error) {
      const body =
        error instanceof BridgeError ? error.toBody() : { code: "internal_error", message: `bridge failed on ${op}: ${(error as Error).message ?? String(error)}` };
      if (!(error instanceof BridgeError)) logger.error({ op, err: (error as Error).stack }, "operation failed unexpectedly");
      frame = { v: PROTOCOL_VERSION, type: "response", id, ok: false, error: body };
    }
    // The answer belongs to the socket that asked; after a reconnect the edge has timed it out.
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }
}
