// Test rig of the bridge: the TWS simulator in-process, a small real WebSocket server playing
// the edge's side of the link (token check, challenge → signed hello → welcome, acks, requests, no duplicate
// events), a bridge config on port 0 everywhere, and leg builders priced from the simulator.
import { createPublicKey, randomBytes, randomUUID, verify } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { type Bridge, startBridge } from "../../bridge/daemon";
import { type BridgeConfig, loadConfig } from "../../bridge/config";
import type { Leg } from "../../shared/order";
import { analyzeOrder } from "../../shared/risk";
import { type LegSettlement, settlementFromContract } from "../../shared/settlement";
import { tradingDay } from "../../shared/trade-id";
import { type Challenge, type Event, type Hello, helloSigningText, PROTOCOL_VERSION } from "../../shared/protocol";
import { type Simulator } from "../tws-sim/index";
import { startPinnedSimulator, TEST_START_MS } from "../support/pinned-sim";
import { sleep, until as pollUntil } from "../support/ib-client";
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";

export const TOKEN = "test-bridge-token-0123456789";
export { sleep };

/** test/support's poll, with the bridge tests' longer default wait. */
export function until<T>(fn: () => T | undefined | null | false, timeoutMs = 5000, what = "condition"): Promise<T> {
  return pollUntil(fn, timeoutMs, what);
}

/** Functions pushed to the returned list run after each test, the last pushed first. */
export function cleanupAfterEach(): (() => Promise<void>)[] {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });
  return cleanups;
}

/**
 * A rig for the tests of a file (`current.rig`): a fresh one for every test, or one for the whole
 * file; its simulator is checked for protocol warnings before it stops.
 */
export function useRig(scope: "test" | "file" = "test"): { readonly rig: Rig } {
  const current = {} as { rig: Rig };
  const [before, after] = scope === "test" ? [beforeEach, afterEach] : [beforeAll, afterAll];
  before(async () => {
    current.rig = await startRig();
  });
  after(async () => {
    expect(current.rig.sim.protocolWarnings()).toEqual([]);
    await current.rig.stop();
  });
  return current;
}

/** A rig per call, stopped after the test by `cleanups`. */
export function rigStarter(cleanups: (() => Promise<void>)[]): (env?: Record<string, string>) => Promise<Rig> {
  return async (env = {}) => {
    const rig = await startRig(env);
    cleanups.push(() => rig.stop());
    return rig;
  };
}

interface ResponseFrame {
  type: "response";
  id: string;
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string; violations?: { check: string; message: string; value?: number; limit?: number }[] };
}

/** The edge's side of the link, as the brief defines it, on a real WebSocket server. */
export class TestEdge {
  readonly hellos: Hello[] = [];
  /** The challenge each hello answered, by index of `hellos`. */
  readonly challenges: Challenge[] = [];
  /** When set, a hello not signed by this key (base64url raw Ed25519) is refused with 1008, as the edge does. */
  publicKey: string | null = null;
  /** Events stored (seq above the last stored one), in arrival order: what the edge keeps. */
  readonly stored: Event[] = [];
  /** The bridge_id (event stream) of each stored event, by index. */
  readonly storedStream: string[] = [];
  /** Every event frame received, duplicates included. */
  readonly received: Event[] = [];
  readonly lastSeq = new Map<string, number>();
  readonly pings: number[] = [];
  autoAck = true;
  /** Refuse new links (503), as an edge that is down would. */
  refuseUpgrades = false;
  /** Sockets the edge has gone silent on (no ack, pong or response): a half-open link. */
  private readonly muted = new WeakSet<WebSocket>();
  rejectedUpgrades = 0;
  private socket: WebSocket | null = null;
  private bridgeId: string | null = null;
  private readonly waiting = new Map<string, (frame: ResponseFrame) => void>();
  private nextId = 1;

  private constructor(
    private readonly wss: WebSocketServer,
    readonly port: number,
  ) {
    wss.on("connection", (ws) => this.accept(ws));
  }

  static async start(token = TOKEN): Promise<TestEdge> {
    const wss = new WebSocketServer({
      port: 0,
      host: "127.0.0.1",
      path: "/bridge",
      verifyClient: (info, done) => {
        if (edge.refuseUpgrades) return done(false, 503, "Service Unavailable");
        const ok = info.req.headers.authorization === `Bearer ${token}`;
        if (!ok) edge.rejectedUpgrades++;
        done(ok, 401, "Unauthorized");
      },
    });
    await new Promise<void>((r) => wss.once("listening", () => r()));
    const address = wss.address();
    const edge: TestEdge = new TestEdge(wss, typeof address === "object" && address ? address.port : 0);
    return edge;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get connected(): boolean {
    return this.socket !== null;
  }

  private accept(ws: WebSocket): void {
    let helloDone = false;
    const challenge: Challenge = { v: PROTOCOL_VERSION, type: "challenge", account_id: "test", connection_id: randomUUID(), nonce: randomBytes(32).toString("base64url") };
    ws.send(JSON.stringify(challenge));
    ws.on("message", (raw) => {
      if (this.muted.has(ws)) return;
      const frame = JSON.parse(raw.toString());
      if (!helloDone) {
        if (frame.type !== "hello") return ws.close(1008, "first frame must be a hello");
        if (this.publicKey && !helloSignedBy(challenge, frame, this.publicKey)) return ws.close(1008, "hello not signed by the pinned key");
        helloDone = true;
        this.hellos.push(frame);
        this.challenges.push(challenge);
        this.socket = ws;
        this.bridgeId = frame.bridge_id;
        ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "welcome", last_event_seq: this.lastSeq.get(frame.bridge_id) ?? 0 }));
        return;
      }
      if (frame.type === "event") {
        this.received.push(frame);
        const last = this.lastSeq.get(this.bridgeId as string) ?? 0;
        if (frame.seq > last) {
          this.stored.push(frame);
          this.storedStream.push(this.bridgeId as string);
          this.lastSeq.set(this.bridgeId as string, frame.seq);
        }
        if (this.autoAck) ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "ack", seq: this.lastSeq.get(this.bridgeId as string) }));
      } else if (frame.type === "response") {
        this.waiting.get(frame.id)?.(frame);
        this.waiting.delete(frame.id);
      } else if (frame.type === "ping") {
        this.pings.push(frame.t);
        ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "pong", t: frame.t }));
      }
    });
    ws.on("close", () => {
      if (this.socket === ws) this.socket = null;
    });
  }

  /** Send a request and wait for its response frame. */
  request(op: string, params: unknown, timeoutMs = 10_000, envelope: Record<string, unknown> = {}): Promise<ResponseFrame> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new Error("no bridge connected"));
    const id = `r${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no response to ${op} (${id}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, (frame) => {
        clearTimeout(timer);
        resolve(frame);
      });
      socket.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "request", id, op, params, ...envelope }));
    });
  }

  /** Request, expect ok, return the result. */
  async ok<T = unknown>(op: string, params: unknown = {}, timeoutMs?: number): Promise<T> {
    const frame = await this.request(op, params, timeoutMs);
    if (!frame.ok) throw new Error(`${op} failed: ${JSON.stringify(frame.error)}`);
    return frame.result as T;
  }

  events<T = Record<string, unknown>>(type: string): T[] {
    return this.stored.filter((e) => e.event === type).map((e) => e.data as T);
  }

  /** Send a frame the edge pushes unasked (the emergency stop). */
  push(frame: Record<string, unknown>): void {
    if (!this.socket) throw new Error("no bridge connected");
    this.socket.send(JSON.stringify({ v: PROTOCOL_VERSION, ...frame }));
  }

  /** Stop answering on the current socket without closing it. */
  muteBridge(): void {
    if (this.socket) this.muted.add(this.socket);
  }

  /** Drop the bridge's socket from the edge's side. */
  dropBridge(): void {
    this.socket?.terminate();
    this.socket = null;
  }

  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}

/** Whether a hello carries a valid signature of its challenge by the given public key. */
export function helloSignedBy(challenge: Challenge, hello: Hello, publicKey: string): boolean {
  const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: publicKey }, format: "jwk" });
  return verify(null, Buffer.from(helloSigningText(challenge, hello)), key, Buffer.from(hello.signature, "base64url"));
}

let clientSeq = 1 + Math.floor(Math.random() * 1000);
export const workspace = (): string => mkdtempSync(join(tmpdir(), "bridge-test-"));

/** A bridge config against the simulator and the test edge, with fast timings for tests. */
export function testConfig(sim: Simulator, edge: TestEdge | string, env: Record<string, string> = {}): BridgeConfig {
  return loadConfig({
    IBKR_MODE: "sim",
    IBKR_PORT: String(sim.port),
    IBKR_CLIENT_ID: String(clientSeq++),
    EDGE_URL: typeof edge === "string" ? edge : edge.url,
    BRIDGE_TOKEN: TOKEN,
    TRADING_WORKSPACE: workspace(),
    LOG_LEVEL: "warn",
    BRIDGE_TWS_BACKOFF_MIN_MS: "100",
    BRIDGE_TWS_BACKOFF_MAX_MS: "400",
    BRIDGE_LINK_BACKOFF_MIN_MS: "50",
    BRIDGE_LINK_BACKOFF_MAX_MS: "300",
    BRIDGE_TWS_CONNECT_TIMEOUT_MS: "3000",
    ...env,
  });
}

/** Captures pino's output lines (to check what a log line holds). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    for (const line of chunk.toString().split("\n")) if (line.trim()) this.lines.push(line);
    done();
  }
}

export interface Rig {
  sim: Simulator;
  edge: TestEdge;
  bridge: Bridge;
  config: BridgeConfig;
  logs: LogCapture;
  stop(): Promise<void>;
}

/** Simulator + test edge + bridge, linked and TWS connected. */
export async function startRig(env: Record<string, string> = {}, simOptions: Parameters<typeof startPinnedSimulator>[0] = {}, maxQueuedEvents?: number): Promise<Rig> {
  const sim = await startPinnedSimulator({ port: 0, ...simOptions });
  const edge = await TestEdge.start();
  const config = testConfig(sim, edge, env);
  const logs = new LogCapture();
  const bridge = startBridge(config, { logDestination: logs, ...(maxQueuedEvents ? { maxQueuedEvents } : {}) });
  // Pinned before the link's first dial (the key is loaded when the bridge starts).
  edge.publicKey = bridge.link.identity.publicKey;
  await bridge.ready();
  await until(() => edge.connected && edge.hellos.length > 0, 5000, "the bridge's hello");
  return {
    sim, edge, bridge, config, logs,
    async stop() {
      await bridge.stop();
      await edge.stop();
      await sim.stop();
    },
  };
}

/** `20251219` → `2025-12-19`. */
export const isoExpiry = (ib: string): string => `${ib.slice(0, 4)}-${ib.slice(4, 6)}-${ib.slice(6, 8)}`;

/** The simulator's current bid/ask of an option, from its wire quote (via the control surface). */
export function optionQuote(sim: Simulator, symbol: string, expiry: string, strike: number, right: "C" | "P"): { bid: number; ask: number } {
  const conId = sim.optionConId(symbol, expiry.replaceAll("-", ""), strike, right) as number;
  const q = sim.server.market.quote(conId);
  if (!q) throw new Error(`no sim quote for ${symbol} ${expiry} ${strike}${right}`);
  return { bid: q.bid, ask: q.ask };
}

/**
 * A 5-wide SPY iron condor priced at the natural market (asks of the longs, bids of the shorts),
 * so its net limit is the combo's ask and it fills at once. Worst-case loss stays under $500.
 */
export function spyIronCondor(sim: Simulator, quantity = 1, expiryIndex = 1): Leg[] {
  const expiry = isoExpiry(sim.expiries()[expiryIndex] as string);
  const spec = [
    ["BUY", 565, "P"],
    ["SELL", 570, "P"],
    ["SELL", 590, "C"],
    ["BUY", 595, "C"],
  ] as const;
  return spec.map(([action, strike, right]) => {
    const q = optionQuote(sim, "SPY", expiry, strike, right);
    return { action, contract: { symbol: "SPY", expiry, strike, right }, quantity, price: action === "BUY" ? q.ask : q.bid };
  });
}

/** How the simulator's contract details say each leg settles (its index options: cash; the rest: shares), as the edge sends it. */
export function simSettlement(legs: readonly Leg[]): (LegSettlement | null)[] {
  return legs.map((leg) =>
    leg.contract.sec_type === "STK" ? null : settlementFromContract({ underSecType: ["SPX", "XSP"].includes(leg.contract.symbol) ? "IND" : "STK", tradingClass: leg.contract.symbol === "SPX" ? "SPXW" : leg.contract.symbol }),
  );
}

/** The worst-case loss the edge computes for `legs` on the pinned test day, with the simulator's settlement styles. */
export const risk = (legs: Parameters<typeof analyzeOrder>[0]) => analyzeOrder(legs, { today: tradingDay(new Date(TEST_START_MS)), settlement: simSettlement(legs) }).worstCaseLoss as number;

export function placeParams(tradeId: string, legs: Leg[], maxRisk: number, extra: Record<string, unknown> = {}) {
  let net = 0;
  const size = legs.reduce((g, l) => gcd(g, l.quantity), 0);
  for (const leg of legs) net += (leg.action === "BUY" ? 1 : -1) * (leg.quantity / size) * leg.price;
  return {
    trade_id: tradeId,
    symbol: legs[0]?.contract.symbol,
    strategy: "iron condor",
    legs,
    max_risk: maxRisk,
    order_type: "LMT",
    limit_price: Math.round(net * 100) / 100,
    intent: "open",
    settlement: simSettlement(legs),
    ...extra,
  };
}
/** Greatest common divisor: a combo's order size is the gcd of its legs' quantities. */
export const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
