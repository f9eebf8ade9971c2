// One simulated world: the account's Durable Object (the edge's own code on node:sqlite), the real
// bridge (bridge/daemon.ts with its real @stoqey/ib client), the TWS simulator's real protocol
// server and order engine, the network between them, and an agent that calls MCP tools — all in
// one process on one virtual clock (@sinonjs/fake-timers). Nothing here waits on real time: the
// world advances by running the next timer once every reaction to the last one has finished, so a
// run is a function of its schedule alone and replays exactly.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type FakeTimers from "@sinonjs/fake-timers";
import { AccountDO } from "../../edge/account-do";
import type { Env } from "../../edge/http/env";
import { loadConfig } from "../../bridge/config";
import { type Bridge, startBridge } from "../../bridge/daemon";
import { SimServer } from "../tws-sim/server";
import { SimDurableObjectState, type EdgeSocket } from "./durable-object";
import { Network, type BridgeSocket } from "./network";
import { DST_TWS_HOST, routeTwsTo } from "./tws-transport";
import { settleReal, trackedAsync } from "./real-async";

export const ACCOUNT_ID = "DU1234567";
const EDGE_URL = "http://edge.dst.invalid";
const BRIDGE_TOKEN = "dst-bridge-token-0123456789";

export type Clock = FakeTimers.Clock;

export interface ToolAnswer {
  isError: boolean;
  structured: Record<string, any>;
  text: string;
}

export class SimulationStall extends Error {}

export class World {
  readonly db = new DatabaseSync(":memory:");
  readonly sim: SimServer;
  readonly net: Network;
  private edge: { instance: AccountDO; state: SimDurableObjectState } | null = null;
  private edgeUp = false;
  private edgeGeneration = 0;
  private alarmAt: number | null = null;
  private alarmTimer: ReturnType<typeof setTimeout> | null = null;
  bridge: Bridge | null = null;
  private bridgeGeneration = 0;
  twsListening = true;
  private readonly workspace: string;
  private rpcId = 0;
  /** What happened, step by step, for a failure's report. */
  readonly trace: string[] = [];

  constructor(
    readonly clock: Clock,
    private readonly identity: { file: string; publicKey: string },
  ) {
    this.workspace = mkdtempSync(join(existsShm() ? "/dev/shm" : tmpdir(), "ibkr-dst-"));
    this.sim = new SimServer({ port: 0, host: "127.0.0.1", serverVersion: 193, account: ACCOUNT_ID, fillDelayMs: 0, fillRule: "touch", startingCash: 100_000, whatIfPlaceholder: true });
    routeTwsTo({ listening: () => this.twsListening, accept: (socket) => this.sim.accept(socket) });
    this.net = new Network({
      reachable: () => this.edgeUp,
      open: async (ws) => {
        if (!this.edge) return;
        await this.edge.instance.adoptSocket(ws as unknown as WebSocket, ["bridge"], "203.0.113.7");
      },
      message: (ws, data) => {
        if (!this.edge) return;
        void trackedAsync(this.edge.instance.webSocketMessage(ws as unknown as WebSocket, data)).catch((e) => this.note(`edge message handler threw: ${(e as Error).message}`));
      },
      close: (ws, code, reason) => {
        if (!this.edge) return;
        void this.edge.instance.webSocketClose(ws as unknown as WebSocket, code, reason).catch(() => undefined);
      },
    });
  }

  note(line: string): void {
    this.trace.push(`${new Date(this.clock.now).toISOString()} ${line}`);
  }

  // ---------------------------------------------------------------- the edge

  private env(): Env {
    return {
      IBKR_ACCOUNT_ID: ACCOUNT_ID, MCP_TOKEN: "dst-mcp-token-0123456789", BRIDGE_TOKEN, BRIDGE_PUBLIC_KEY: this.identity.publicKey,
      ADMIN_TOKEN: "dst-admin-token-0123456789",
    } as unknown as Env;
  }

  startEdge(): void {
    if (this.edge) throw new Error("the edge is already running");
    const state = new SimDurableObjectState(this.db, {
      get: () => this.alarmAt,
      set: (at) => this.setAlarm(at),
    });
    const instance = new AccountDO(state as unknown as DurableObjectState, this.env());
    this.edge = { instance, state };
    this.edgeUp = true;
    this.edgeGeneration++;
    // workerd runs a pending alarm for the new instance too.
    if (this.alarmAt !== null) this.setAlarm(this.alarmAt);
    this.note(`edge started (generation ${this.edgeGeneration})`);
  }

  /** The instance ends (deploy, eviction, crash between events): its sockets drop, its memory is lost. */
  stopEdge(): void {
    if (!this.edge) return;
    const sockets = this.edge.state.reset("the edge restarted");
    this.net.edgeReset(sockets as EdgeSocket[]);
    this.edge = null;
    this.edgeUp = false;
    if (this.alarmTimer) clearTimeout(this.alarmTimer);
    this.alarmTimer = null;
    this.note("edge stopped");
  }

  private setAlarm(at: number | null): void {
    this.alarmAt = at;
    if (this.alarmTimer) clearTimeout(this.alarmTimer);
    this.alarmTimer = null;
    if (at === null || !this.edge) return;
    const edge = this.edge;
    this.alarmTimer = setTimeout(() => {
      this.alarmTimer = null;
      if (this.edge !== edge) return;
      this.alarmAt = null;
      void trackedAsync(edge.instance.alarm()).catch((e) => this.note(`alarm threw: ${(e as Error).message}`));
    }, Math.max(0, at - this.clock.now));
  }

  get edgeRunning(): boolean {
    return this.edge !== null;
  }

  /** A request to the Durable Object, as the Worker forwards it (auth already done). */
  async edgeFetch(path: string, init: RequestInit = {}): Promise<Response> {
    const edge = this.edge;
    if (!edge) throw new Error("the edge is down");
    return edge.instance.fetch(new Request(`${EDGE_URL}${path}`, init));
  }

  /** Calls an MCP tool the way an agent's client does (stateless JSON-RPC over POST /mcp). */
  async tool(name: string, args: Record<string, unknown> = {}, maxMs = 60_000): Promise<ToolAnswer> {
    const body = JSON.stringify({ jsonrpc: "2.0", id: ++this.rpcId, method: "tools/call", params: { name, arguments: args } });
    const call = (async () => {
      const res = await this.edgeFetch("/mcp", { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body });
      const json = (await res.json()) as { result?: { isError?: boolean; structuredContent?: Record<string, unknown>; content?: { text: string }[] }; error?: { message: string } };
      if (json.error) return { isError: true, structured: {}, text: `JSON-RPC error: ${json.error.message}` };
      return { isError: json.result?.isError === true, structured: json.result?.structuredContent ?? {}, text: json.result?.content?.map((c) => c.text).join("\n") ?? "" };
    })();
    return this.run(call, maxMs, `tool ${name}`);
  }

  async admin<T = any>(path: string, body?: unknown, maxMs = 60_000): Promise<{ status: number; body: T }> {
    const call = (async () => {
      const res = await this.edgeFetch(path, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: (text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text) as T };
    })();
    return this.run(call, maxMs, `admin ${path}`);
  }

  // ---------------------------------------------------------------- the bridge

  startBridge(): void {
    if (this.bridge) throw new Error("the bridge is already running");
    this.bridgeGeneration++;
    const dir = join(this.workspace, `bridge-${this.bridgeGeneration}`);
    mkdirSync(dir, { recursive: true });
    const config = loadConfig({
      IBKR_MODE: "sim", IBKR_HOST: DST_TWS_HOST, IBKR_PORT: "7497", IBKR_CLIENT_ID: "0", IBKR_ACCOUNT_ID: ACCOUNT_ID,
      EDGE_URL, BRIDGE_TOKEN, TRADING_WORKSPACE: dir, BRIDGE_IDENTITY_FILE: this.identity.file, LOG_LEVEL: "silent",
    });
    this.bridge = startBridge(config, { openEdgeSocket: () => this.net.dial() as unknown as import("ws").WebSocket });
    this.note(`bridge started (generation ${this.bridgeGeneration})`);
  }

  /** The bridge process dies: no goodbye to TWS or the edge, its memory (unsent events) is lost. */
  killBridge(): void {
    const bridge = this.bridge;
    if (!bridge) return;
    this.bridge = null;
    // A killed process's sockets close abruptly; its timers die with it.
    void bridge.stop().catch(() => undefined);
    this.note("bridge killed");
  }

  // ---------------------------------------------------------------- time

  /**
   * Runs the world until `until` holds or `maxMs` of simulated time passed: every reaction to the
   * last event finishes (microtasks, in-memory streams, tracked real async work such as WebCrypto)
   * before the clock moves to the next timer.
   */
  async pump(until: () => boolean, maxMs: number): Promise<boolean> {
    const deadline = this.clock.now + maxMs;
    for (let steps = 0; ; steps++) {
      await settleReal();
      if (until()) return true;
      const next = nextTimerAt(this.clock);
      if (next === null || next > deadline) {
        if (this.clock.now < deadline) this.clock.tick(deadline - this.clock.now);
        await settleReal();
        return until();
      }
      if (steps > 2_000_000) throw new SimulationStall("more than two million timers in one pump: a timer loop");
      this.clock.next();
    }
  }

  /** Lets `ms` of simulated time pass. */
  async elapse(ms: number): Promise<void> {
    await this.pump(() => false, ms);
  }

  /** Runs the world until a promise settles; a promise still pending after `maxMs` is a stall. */
  async run<T>(promise: Promise<T>, maxMs: number, what: string): Promise<T> {
    let done = false;
    let value: T | undefined;
    let error: unknown;
    promise.then((v) => ((done = true), (value = v)), (e) => ((done = true), (error = e)));
    await this.pump(() => done, maxMs);
    if (!done) throw new SimulationStall(`${what} had no answer after ${maxMs} ms of simulated time`);
    if (error !== undefined) throw error;
    return value as T;
  }

  /**
   * The clock jumps (a suspended machine, a weekend passing in a blink): time moves without the
   * timers in between firing, then TWS does what the close and the night do to orders and options.
   */
  jumpClock(ms: number): void {
    this.clock.setSystemTime(this.clock.now + ms);
    const { expired, settled } = this.sim.engine.advanceClock(0);
    this.note(`clock jumped ${Math.round(ms / 60_000)} min: ${expired.length} DAY order(s) expired, ${settled.length} option position(s) settled`);
  }

  async dispose(): Promise<void> {
    this.killBridge();
    this.stopEdge();
    await this.elapse(1_000).catch(() => undefined);
    this.sim.engine.stop();
    this.db.close();
    rmSync(this.workspace, { recursive: true, force: true });
  }
}

function existsShm(): boolean {
  try {
    mkdirSync("/dev/shm", { recursive: true });
    return true;
  } catch {
    return false;
  }
}

/** When the next timer fires, or null when none is set (fake-timers' own heap). */
export function nextTimerAt(clock: Clock): number | null {
  const heap = (clock as unknown as { timerHeap?: { peek(): { callAt: number } | undefined } }).timerHeap;
  if (!heap) throw new Error("@sinonjs/fake-timers changed: its timerHeap is gone (pin the version the simulation was written for)");
  return heap.peek()?.callAt ?? null;
}

export type { BridgeSocket };
