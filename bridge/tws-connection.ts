// The bridge's one connection to TWS / IB Gateway: connect (a fresh IBApi per session, so
// nothing queued in a dead session can go out on the next one), detect loss (socket close,
// 1100, a heartbeat without answer), reconnect with backoff and jitter (p-retry), keep the
// health the edge reads, and pace every request below IBKR's 50 messages per second.
import { EventEmitter } from "node:events";
import { EventName, IBApi } from "@stoqey/ib";
import pRetry, { AbortError } from "p-retry";
import type { TwsHealth } from "../shared/protocol";
import { type BridgeConfig, isLiveMode, isPaperAccount } from "./config";
import { BridgeError, notConnected, TwsError } from "./errors";
import { heldBackField, type Logger, RepeatGate, repeatedMessage } from "./log";
import { Pacer, PacerClosedError } from "./pacer";

/** The settings of bridge/config.ts this connection reads, typed from there so they cannot drift. */
export type TwsOptions = Pick<BridgeConfig, "host" | "port" | "clientId" | "mode" | "accountId" | "marketDataType"> & {
  timing: Pick<BridgeConfig["timing"], "twsHeartbeatMs" | "twsHeartbeatTimeoutMs" | "twsConnectTimeoutMs" | "twsBackoffMinMs" | "twsBackoffMaxMs" | "logRepeatMs">;
  logger: Logger;
};

/** Codes TWS sends with id -1 about its own link to IBKR (they arrive as `info` in @stoqey/ib). */
const LINK_LOST = new Set([1100, 2110]);
const LINK_RESTORED = new Set([1101, 1102]);
/** Informational codes that are not a failure of the request they name. */
const NOT_A_FAILURE = new Set([202, 399, 10167, 2104, 2106, 2107, 2108, 2119, 2158]);

/** A refusal that no retry can fix (wrong account kind): the bridge stops. */
export class FatalTwsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FatalTwsError";
  }
}

type AnyListener = (...args: any[]) => void;
interface LooseEmitter {
  on(event: string, fn: AnyListener): unknown;
  off(event: string, fn: AnyListener): unknown;
}
const loose = (ib: IBApi): LooseEmitter => ib as unknown as LooseEmitter;

export interface CallContext {
  ib: IBApi;
  reqId: number;
  /** Listen to an IBApi event for the life of this call. */
  on(event: EventName, fn: AnyListener): void;
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Return true when the call handles this TWS error itself (not a failure). */
  onError?: (code: number, text: string) => boolean;
  /** Called once the request has left the pacer (timers of the call start then). */
  onSent?: () => void;
}

/** TWS's clock counts as apart from ours beyond this (its answers are whole seconds). */
const CLOCK_SKEW_MS = 60_000;
/** Once told apart, a change of TWS's skew beyond this is told again (a clock that moved). */
const CLOCK_SKEW_CHANGE_MS = 5_000;

export class TwsConnection extends EventEmitter {
  private ib: IBApi | null = null;
  private pacer: Pacer | null = null;
  private readonly permanent: [EventName, AnyListener][] = [];
  private readonly errorRoutes = new Map<number, (code: number, text: string) => void>();
  private readonly onSessionEnd = new Set<(reason: string) => void>();
  private heartbeat: NodeJS.Timeout | null = null;
  private heartbeatDeadline: NodeJS.Timeout | null = null;
  private endSession: ((reason: string) => void) | null = null;
  private readonly abort = new AbortController();
  private stopped = false;
  private reqIdSeq = 10_000;
  private orderIdSeq = 0;
  private running: Promise<void> | null = null;
  /** Ends the connect attempt under way (closing its socket), if any. */
  private abandonAttempt: ((error: Error) => void) | null = null;
  health: TwsHealth = { state: "down", since: new Date().toISOString(), last_error: null, server_version: null };
  /** The clock skew last told (see noteTwsTime); null: never told, TWS in line with us. */
  private toldSkewMs: number | null = null;
  /** TWS's clock minus ours, as last measured (CURRENT_TIME at session start and on each heartbeat); 0 until measured. */
  private skewMs = 0;
  /** The current (or last) TWS session's name; see TwsHealth.session. */
  session: string | null = null;
  /** The account this bridge trades, known after the first connect. */
  account: string | null = null;

  /** A TWS that stays down is told once, then once per logRepeatMs with the count (log.ts). */
  private readonly failures: RepeatGate;

  constructor(private readonly options: TwsOptions) {
    super();
    this.failures = new RepeatGate(options.timing.logRepeatMs);
    // Each cancel/preview in flight listens for its order's errors.
    this.setMaxListeners(200);
  }

  /** Listen to an IBApi event on every session, present and future. */
  onIb(event: EventName, fn: AnyListener): void {
    this.permanent.push([event, fn]);
    if (this.ib) this.attach(this.ib, event, fn);
  }

  /** Connected and past nextValidId, with TWS's own link to IBKR up: orders may be sent. */
  get tradable(): boolean {
    return this.ib !== null && this.ib.isConnected && this.health.state === "connected";
  }

  /** Connected to TWS (maybe degraded): reads, cancels and queries may be sent. */
  get connected(): boolean {
    return this.ib !== null && this.ib.isConnected;
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort(new AbortError("bridge stopping"));
    this.abandonAttempt?.(new Error("bridge stopping"));
    this.endSession?.("bridge stopping");
    await this.running?.catch(() => undefined);
  }

  nextReqId(): number {
    return ++this.reqIdSeq;
  }

  /**
   * The broker's clock: ours run on by TWS's skew, measured at each session's start and on every
   * heartbeat. The bridge judges the calendar by it (the second key's "today") and stamps what it
   * reports with it (account, quotes, price history, order updates); deadlines and durations stay
   * on the machine's clock. In production TWS's clock is the exchange's; in tests, the simulator's.
   */
  brokerNow(): Date {
    return new Date(Date.now() + this.skewMs);
  }

  /** A new order id, above every id TWS has told us about. */
  nextOrderId(): number {
    return this.orderIdSeq++;
  }

  /** Send one TWS message through the pacer, refusing when not connected. */
  async send(what: string, send: (ib: IBApi) => void, needTradable = false): Promise<void> {
    const ib = this.ib;
    const pacer = this.pacer;
    if (!ib || !pacer || !ib.isConnected) throw notConnected(what, this.health.state);
    if (needTradable && !this.tradable) throw notConnected(what, `${this.health.state}${this.health.last_error ? `: ${this.health.last_error}` : ""}`);
    try {
      await pacer.schedule(() => {
        // Checked again at the moment of sending: a queued call never outlives its session.
        if (this.ib !== ib || !ib.isConnected) throw notConnected(what, this.health.state);
        if (needTradable && !this.tradable) throw notConnected(what, this.health.state);
        send(ib);
      });
    } catch (error) {
      if (error instanceof PacerClosedError) throw notConnected(what, `${this.health.state}: ${error.message}`);
      throw error;
    }
  }

  /**
   * One request/answer exchange with TWS: `setup` registers listeners and returns the send;
   * errors for the request id reject (unless `onError` takes them), a lost session rejects,
   * and so does the timeout.
   */
  call<T>(what: string, timeoutMs: number, setup: (ctx: CallContext) => (ib: IBApi) => void, needTradable = false): Promise<T> {
    const ib = this.ib;
    if (!ib || !ib.isConnected) return Promise.reject(notConnected(what, this.health.state));
    const reqId = this.nextReqId();
    return new Promise<T>((resolve, reject) => {
      const listeners: [EventName, AnyListener][] = [];
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        done = true;
        clearTimeout(timer);
        for (const [event, fn] of listeners) loose(ib).off(event, fn);
        this.errorRoutes.delete(reqId);
        this.onSessionEnd.delete(onEnd);
      };
      const ctx: CallContext = {
        ib,
        reqId,
        on: (event, fn) => {
          const guarded: AnyListener = (...args) => {
            if (!done) fn(...args);
          };
          listeners.push([event, guarded]);
          loose(ib).on(event, guarded);
        },
        resolve: (value) => {
          if (done) return;
          finish();
          resolve(value as T);
        },
        reject: (error) => {
          if (done) return;
          finish();
          reject(error);
        },
      };
      const onEnd = (reason: string) => ctx.reject(notConnected(`${what} (TWS disconnected while waiting: ${reason})`, "down"));
      this.onSessionEnd.add(onEnd);
      this.errorRoutes.set(reqId, (code, text) => {
        if (ctx.onError?.(code, text)) return;
        if (NOT_A_FAILURE.has(code) || (code >= 2100 && code < 2200)) return;
        ctx.reject(new TwsError(code, text, what));
      });
      const send = setup(ctx);
      // The answer's deadline runs from the moment TWS got the request, not from the queue.
      this.send(what, send, needTradable)
        .then(() => {
          if (done) return;
          timer = setTimeout(() => ctx.reject(new BridgeError("timeout", `TWS did not answer ${what} within ${timeoutMs} ms`)), timeoutMs);
          ctx.onSent?.();
        })
        .catch((error: Error) => ctx.reject(error));
    });
  }

  // ---------------------------------------------------------------- sessions

  private attach(ib: IBApi, event: EventName, fn: AnyListener): void {
    loose(ib).on(event, (...args: unknown[]) => {
      if (ib === this.ib) fn(...args);
    });
  }

  private setHealth(state: TwsHealth["state"], lastError: string | null, serverVersion = this.health.server_version): void {
    const changed = state !== this.health.state || lastError !== this.health.last_error || serverVersion !== this.health.server_version || this.session !== (this.health.session ?? null);
    if (!changed) return;
    const since = state !== this.health.state ? new Date().toISOString() : this.health.since;
    this.health = { state, since, last_error: lastError, server_version: serverVersion, session: this.session };
    this.options.logger.info({ tws: this.health }, `TWS ${state}${lastError ? `: ${lastError}` : ""}`);
    this.emit("health", this.health);
  }

  private async run(): Promise<void> {
    const t = this.options.timing;
    while (!this.stopped) {
      let session: { ended: Promise<string> };
      try {
        session = await pRetry(() => this.connectOnce(), {
          retries: Number.POSITIVE_INFINITY,
          minTimeout: t.twsBackoffMinMs,
          maxTimeout: t.twsBackoffMaxMs,
          factor: 2,
          randomize: true,
          signal: this.abort.signal,
          shouldRetry: ({ error }) => !(error instanceof FatalTwsError) && !this.stopped,
          onFailedAttempt: ({ error, attemptNumber, retryDelay }) => {
            this.setHealth("down", error.message, null);
            const shown = this.failures.pass("connect", error.message);
            if (shown) this.options.logger.warn({ attempt: attemptNumber, retry_in_ms: retryDelay, ...heldBackField(shown) }, repeatedMessage("TWS connect failed", error.message, shown));
          },
        });
      } catch (error) {
        if (this.stopped) return;
        if (error instanceof FatalTwsError) {
          this.setHealth("down", error.message, null);
          this.emit("fatal", error);
          return;
        }
        throw error;
      }
      const reason = await session.ended;
      if (this.stopped) return;
      this.options.logger.warn(`TWS session ended: ${reason}; reconnecting`);
    }
  }

  /** One connect attempt: resolves (with a promise of the session's end) once nextValidId arrived. */
  private connectOnce(): Promise<{ ended: Promise<string> }> {
    const { host, port, clientId, timing, logger } = this.options;
    // The Pacer is the one rate authority; the client's own limiter (set above it) never queues.
    const ib = new IBApi({ host, port, maxReqPerSec: 200 });
    // An `error` event without a listener would throw; this one stays for the object's life.
    ib.on(EventName.error, () => undefined);
    let accounts: string[] = [];
    let lastProblem: string | null = null;
    let linkLost = false;
    let connectionTime = "";

    return new Promise<{ ended: Promise<string> }>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        this.abandonAttempt = null;
        clearTimeout(timer);
        // Half-open too: an abandoned socket would complete its handshake when TWS wakes and hold
        // the client id, so every later attempt would get 326.
        closeSocket(ib);
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new Error(lastProblem ?? `no answer from TWS at ${host}:${port} within ${timing.twsConnectTimeoutMs} ms (is TWS/Gateway running with the API enabled?)`)),
        timing.twsConnectTimeoutMs,
      );

      ib.on(EventName.server, (_version: number, time: string) => {
        connectionTime = String(time ?? "");
      });
      ib.on(EventName.managedAccounts, (list: string) => {
        accounts = list.split(",").map((a) => a.trim()).filter(Boolean);
      });
      ib.on(EventName.info, (message: string, code: number) => {
        if (code === 326) {
          // Our own sockets never hold the id (every failed attempt is closed), so another client
          // does, or TWS has not yet noticed our last session's socket close: back off and retry.
          lastProblem = `TWS refused clientId ${clientId}: it is already in use by another API client (TWS error 326); retrying with backoff. If it persists, set IBKR_CLIENT_ID to a free id or stop the other client.`;
          fail(new Error(lastProblem));
        } else if (LINK_LOST.has(code)) linkLost = true;
        else if (LINK_RESTORED.has(code)) linkLost = false;
        else if (code !== 2104 && code !== 2106 && code !== 2158) logger.debug({ code }, `TWS notice: ${message}`);
      });
      ib.on(EventName.error, (err: Error, code: number) => {
        if (settled) return;
        if (code === 502 || code === 504) lastProblem = `cannot reach TWS at ${host}:${port}: ${err.message}`;
        else lastProblem = `TWS error ${code}: ${err.message}`;
      });
      ib.on(EventName.disconnected, () => fail(new Error(lastProblem ?? `TWS at ${host}:${port} closed the connection during the handshake`)));
      ib.once(EventName.nextValidId, (orderId: number) => {
        if (settled) return;
        if (this.stopped) return fail(new Error("bridge stopping"));
        const account = this.pickAccount(accounts);
        if (account instanceof Error) return fail(account);
        settled = true;
        this.abandonAttempt = null;
        clearTimeout(timer);
        ib.removeAllListeners();
        ib.on(EventName.error, () => undefined);
        // Order ids mean something only within the session that issued them: name the session by
        // TWS's connection time and our own start instant (two sockets in one second differ).
        this.session = `${connectionTime || "unknown"}|${new Date().toISOString()}`;
        resolve({ ended: this.beginSession(ib, account, orderId, linkLost) });
      });
      this.abandonAttempt = fail;
      ib.connect(clientId);
      if (!disableNagle(ib)) logger.warn("could not turn Nagle's algorithm off on the TWS socket: requests may stall ~40 ms");
    });
  }

  /** Which account to trade, refusing a paper/live mismatch (that is fatal: no retry helps). */
  private pickAccount(accounts: string[]): string | Error {
    const { mode, accountId } = this.options;
    if (accounts.length === 0) return new Error("TWS reported no managed account");
    const account = accountId ?? (accounts[0] as string);
    if (!accounts.includes(account))
      return new FatalTwsError(`IBKR_ACCOUNT_ID=${account} is not among the accounts this TWS manages (${accounts.join(", ")})`);
    if (isLiveMode(mode) && isPaperAccount(account))
      return new FatalTwsError(`IBKR_MODE=${mode} is a live mode but TWS is logged in to paper account ${account}: refusing to run (use paper_tws / paper_gateway)`);
    if (!isLiveMode(mode) && !isPaperAccount(account))
      return new FatalTwsError(`IBKR_MODE=${mode} is a paper mode but TWS is logged in to account ${account}, which is not a paper account (paper ids start with DU or DF): refusing to run`);
    if (this.account !== null && this.account !== account)
      return new FatalTwsError(`TWS is now logged in to account ${account}, but this bridge started with ${this.account}: refusing to continue`);
    return account;
  }

  private beginSession(ib: IBApi, account: string, orderId: number, linkLost: boolean): Promise<string> {
    const { logger, timing, marketDataType } = this.options;
    this.ib = ib;
    this.account = account;
    this.pacer = new Pacer();
    this.orderIdSeq = Math.max(this.orderIdSeq, orderId);
    for (const [event, fn] of this.permanent) this.attach(ib, event, fn);

    const ended = new Promise<string>((resolve) => {
      this.endSession = (reason: string) => {
        if (this.ib !== ib) return;
        this.ib = null;
        this.endSession = null;
        this.pacer?.close(`TWS session ended: ${reason}`);
        this.pacer = null;
        if (this.heartbeat) clearInterval(this.heartbeat);
        if (this.heartbeatDeadline) clearTimeout(this.heartbeatDeadline);
        this.heartbeat = this.heartbeatDeadline = null;
        closeSocket(ib);
        for (const fn of [...this.onSessionEnd]) fn(reason);
        this.setHealth("down", reason, null);
        this.emit("down", reason);
        resolve(reason);
      };
    });

    loose(ib).on(EventName.disconnected, () => this.endSession?.("TWS closed the connection"));
    loose(ib).on(EventName.error, (err: Error, code: number, reqId: number) => {
      if (this.ib !== ib) return;
      const route = this.errorRoutes.get(reqId);
      if (route) return route(code, err.message);
      this.emit("tws_error", { code, message: err.message, reqId });
      if (reqId === -1 && !NOT_A_FAILURE.has(code)) logger.warn({ code }, `TWS error: ${err.message}`);
    });
    loose(ib).on(EventName.info, (message: string, code: number) => {
      if (this.ib !== ib) return;
      if (LINK_LOST.has(code)) this.setHealth("degraded", `TWS ${code}: ${message}`);
      else if (LINK_RESTORED.has(code)) {
        this.setHealth("connected", null);
        // 1101: TWS lost the subscriptions; 1102: kept them. Either way refresh the mirror.
        this.emit("restored", code);
      } else if (code === 326) logger.error(`TWS 326: ${message}`);
    });
    loose(ib).on(EventName.currentTime, (seconds: number) => {
      if (this.heartbeatDeadline) clearTimeout(this.heartbeatDeadline);
      this.heartbeatDeadline = null;
      this.noteTwsTime(Number(seconds) * 1000);
    });
    loose(ib).on(EventName.nextValidId, (id: number) => {
      this.orderIdSeq = Math.max(this.orderIdSeq, id);
    });

    this.heartbeat = setInterval(() => {
      if (this.heartbeatDeadline || this.ib !== ib) return;
      this.send("heartbeat", (api) => api.reqCurrentTime())
        .then(() => {
          if (this.ib !== ib || this.heartbeatDeadline) return;
          this.heartbeatDeadline = setTimeout(
            () => this.endSession?.(`TWS did not answer a heartbeat within ${timing.twsHeartbeatTimeoutMs} ms`),
            timing.twsHeartbeatTimeoutMs,
          );
        })
        .catch(() => undefined);
    }, timing.twsHeartbeatMs);

    this.setHealth(linkLost ? "degraded" : "connected", linkLost ? "TWS 1100: connectivity between IB and TWS is lost" : null, ib.serverVersion);
    logger.info({ account, server_version: ib.serverVersion, next_order_id: this.orderIdSeq }, "TWS session started");
    // TWS's clock at once, not at the first heartbeat: its answer comes before those of the
    // subscriptions started on "ready" (TWS answers in order), so their stamps use it.
    void this.send("current time", (api) => api.reqCurrentTime()).catch(() => undefined);
    this.failures.clear("connect");
    void this.send("market data type", (api) => api.reqMarketDataType(marketDataType)).catch(() => undefined);
    this.emit("ready", account);
    return ended;
  }

  /**
   * TWS's clock against ours. The skew is kept for brokerNow(); a skew past a minute is told to
   * the edge ("clock") so it judges expiries by the broker's day, and told again when it moves by
   * more than a few seconds (a clock that was moved) or returns to ours. TWS answers in whole
   * seconds, so a second's skew is noise and never told on its own.
   */
  private noteTwsTime(twsMs: number): void {
    if (!Number.isFinite(twsMs) || twsMs <= 0) return;
    const skew = Math.round(twsMs - Date.now());
    this.skewMs = skew;
    const told = this.toldSkewMs;
    const significant = (ms: number) => Math.abs(ms) > CLOCK_SKEW_MS;
    if (told === null ? !significant(skew) : Math.abs(skew - told) <= (significant(skew) || told !== 0 ? CLOCK_SKEW_CHANGE_MS : CLOCK_SKEW_MS)) return;
    this.toldSkewMs = significant(skew) ? skew : 0;
    this.emit("clock", { tws_time: new Date(twsMs).toISOString(), skew_ms: skew });
  }

  /** Drop the session now (tests, and the heartbeat's verdict). */
  drop(reason: string): void {
    this.endSession?.(reason);
  }
}

/** The socket of one IBApi, which the client keeps private (created synchronously by connect()). */
function rawSocket(ib: IBApi): { setNoDelay?: (on: boolean) => unknown; destroy?: () => unknown; destroyed?: boolean } | undefined {
  return (ib as unknown as { controller?: { socket?: { client?: ReturnType<typeof rawSocket> } } }).controller?.socket?.client;
}

/**
 * Closes an attempt's or a session's socket whatever state it is in, and silences the client.
 * `IBApi.isConnected` turns true only once TWS answered the handshake, so guarding `disconnect()`
 * with it leaves a half-open attempt (TWS silent) open; the socket is destroyed directly as well.
 */
export function closeSocket(ib: IBApi): void {
  ib.removeAllListeners();
  // An `error` event without a listener would throw; this one stays for the object's life.
  ib.on(EventName.error, () => undefined);
  try {
    ib.disconnect();
  } catch {
    // disconnect() of a client that never connected only reports it; the socket goes below.
  }
  const socket = rawSocket(ib);
  if (socket && !socket.destroyed) socket.destroy?.();
}

/**
 * @stoqey/ib leaves Nagle's algorithm on, so a request written while an earlier one that TWS does
 * not answer (a cancel) awaits its delayed ACK stalls ~40 ms: an account-summary round trip against
 * the simulator took 44 ms with it and 0.2 ms without. The socket is the client's private field,
 * created synchronously by connect(), so it is reached defensively.
 */
export function disableNagle(ib: IBApi): boolean {
  const socket = rawSocket(ib);
  if (typeof socket?.setNoDelay !== "function") return false;
  socket.setNoDelay(true);
  return true;
}
