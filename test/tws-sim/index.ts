// Public entry of the TWS simulator: startSimulator() starts the TCP peer (and optionally the
// HTTP control port) and returns the in-process control surface tests and the CLI use.
// See README.md for what is modelled and where it differs from real TWS.

import type { AccountSnapshot, Position } from "./account";
import { startControlHttp } from "./control-http";
import { round2 } from "./market";
import type { FillRule, SimExpiry } from "./orders";
import { MAX_SERVER_VERSION, MIN_SERVER_VERSION, type PacingStats, SimServer } from "./server";
import type { SimExecution, SimOrder } from "./types";

export type { SimExecution, SimOrder } from "./types";
export type { PacingStats } from "./server";
export type { SimExpiry } from "./orders";
export { MAX_SERVER_VERSION, MIN_SERVER_VERSION } from "./server";

export interface SimulatorOptions {
  port?: number;
  host?: string;
  /** answered to the client's v100..max range; 193 (default) or down to 176 */
  serverVersion?: number;
  /** paper account id, default DU1234567 */
  account?: string;
  /** undefined = no HTTP control port; 0 = ephemeral */
  controlPort?: number;
  /** delay before a marketable order (or the next slice) fills, default 0 */
  fillDelayMs?: number;
  /** reserved for randomised markets; the simulator is fully deterministic today */
  seed?: number;
  /** "touch" (default): a limit fills when it reaches the far side; "mid": when it reaches the mid */
  fillRule?: FillRule;
  startingCash?: number;
  /** send a whatIf OPEN_ORDER with unset margins before the real one, as some TWS builds do (default true) */
  whatIfPlaceholder?: boolean;
  /** the instant (epoch ms) TWS's clock starts at, then runs on in real time and with advanceClock; default the machine's clock */
  startAt?: number;
}

export interface SimPosition {
  account: string;
  conId: number;
  symbol: string;
  secType: string;
  expiry: string;
  strike: number;
  right: string;
  multiplier: number;
  localSymbol: string;
  position: number;
  avgCost: number;
  marketPrice: number;
  marketValue: number;
  unrealizedPnL: number;
}

export interface SimFaults {
  /** destroy every client socket (TWS crash / network cut) */
  dropAll(): void;
  /** stop listening, so new connects get ECONNREFUSED; open sockets stay up */
  refuseConnections(on: boolean): Promise<void>;
  /** keep sockets open but answer nothing; held answers and requests flow when switched off */
  silent(on: boolean): void;
  /** ERR_MSG 1100 to every client; no fills and no ticks until restored */
  connectivityLost(): void;
  /** 1102 (data maintained) or, with dataLost, 1101 */
  connectivityRestored(dataLost?: boolean): void;
  /** the next transmitted order gets error 201 with this reason */
  rejectNextOrder(reason?: string): void;
  delayFills(ms: number): void;
  /** the next cancel of a working order is reported Cancelled, then the order fills anyway (a fill that raced it) */
  fillAfterCancel(): void;
  /** TWS restarts: sockets drop; the new TWS holds none of the old orders or executions and hands out ids from 1 */
  restartTws(): void;
  /** an option position is exercised (long) or assigned (short) before its expiry, reported as at expiry */
  assignEarly(conId: number, contracts?: number): SimExpiry;
}

export interface SimState {
  port: number;
  controlPort?: number;
  serverVersion: number;
  account: AccountSnapshot;
  orders: SimOrder[];
  executions: SimExecution[];
  positions: SimPosition[];
  prices: Record<string, number>;
  pacing: PacingStats;
  connections: number;
  protocolWarnings: string[];
}

export interface Simulator {
  readonly port: number;
  readonly controlPort?: number;
  readonly account: string;
  readonly serverVersion: number;
  stop(): Promise<void>;
  setPrice(symbol: string, price: number): void;
  /** move the underlying by a percentage: moveMarket("SPY", -2) = down 2% */
  moveMarket(symbol: string, pct: number): number;
  getPrice(symbol: string): number;
  /** move the simulator's clock on: DAY orders whose session closed meanwhile end, options past expiry lapse or are exercised/assigned */
  advanceClock(ms: number): { now: string; expired: number; settled: SimExpiry[] };
  fault: SimFaults;
  orders(): SimOrder[];
  executions(): SimExecution[];
  positions(): SimPosition[];
  accountState(): AccountSnapshot;
  pacing(): PacingStats;
  connections(): number;
  /** layout mismatches seen while decoding client requests; tests assert it stays empty */
  protocolWarnings(): string[];
  state(): SimState;
  /** option conId by symbol/expiry/strike/right (undefined if not listed) */
  optionConId(symbol: string, expiry: string, strike: number, right: "C" | "P"): number | undefined;
  expiries(): string[];
  strikes(symbol: string): number[];
  /** the internal server, for tests that need more than the surface above */
  readonly server: SimServer;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const serverVersion = opts.serverVersion ?? MAX_SERVER_VERSION;
  if (serverVersion > MAX_SERVER_VERSION || serverVersion < MIN_SERVER_VERSION) {
    throw new Error(`serverVersion must be within ${MIN_SERVER_VERSION}..${MAX_SERVER_VERSION}`);
  }
  const account = opts.account ?? "DU1234567";
  const server = new SimServer({
    port: opts.port ?? 0,
    host: opts.host ?? "127.0.0.1",
    serverVersion,
    account,
    fillDelayMs: opts.fillDelayMs ?? 0,
    fillRule: opts.fillRule ?? "touch",
    startingCash: opts.startingCash ?? 100_000,
    whatIfPlaceholder: opts.whatIfPlaceholder ?? true,
    ...(opts.startAt === undefined ? {} : { startAt: opts.startAt }),
  });
  const port = await server.listen();

  const positions = (): SimPosition[] =>
    [...server.account.positions.values()].map((p: Position) => {
      const c = p.contract;
      const mark = server.market.mark(c.conId);
      return {
        account, conId: c.conId, symbol: c.symbol, secType: c.secType, expiry: c.expiry, strike: c.strike, right: c.right,
        multiplier: c.multiplier, localSymbol: c.localSymbol, position: p.qty, avgCost: Math.round(p.avgCost * 10_000) / 10_000,
        marketPrice: mark, marketValue: round2(p.qty * mark * c.multiplier), unrealizedPnL: round2(server.account.unrealized(p)),
      };
    });

  const clone = <T>(x: T): T => structuredClone(x);
  const sim: Simulator = {
    port,
    account,
    serverVersion,
    server,
    controlPort: undefined,
    async stop() {
      await control?.close();
      await server.stop();
    },
    setPrice(symbol, price) {
      server.market.setPrice(symbol, price);
      server.marketChanged([symbol]);
    },
    moveMarket(symbol, pct) {
      const p = round2(server.market.getPrice(symbol) * (1 + pct / 100));
      server.market.setPrice(symbol, p);
      server.marketChanged([symbol]);
      return p;
    },
    getPrice: (symbol) => server.market.getPrice(symbol),
    advanceClock(ms) {
      const { now, expired, settled } = server.engine.advanceClock(ms);
      return { now: new Date(now).toISOString(), expired: expired.length, settled };
    },
    fault: {
      dropAll: () => server.dropAll(),
      refuseConnections: (on) => server.refuseConnections(on),
      silent: (on) => server.setSilent(on),
      connectivityLost: () => server.connectivityLost(),
      connectivityRestored: (dataLost) => server.connectivityRestored(dataLost),
      rejectNextOrder: (reason = "Simulated rejection") => server.engine.rejectNextOrder(reason),
      delayFills: (ms) => {
        server.engine.opts.fillDelayMs = Math.max(0, ms);
      },
      fillAfterCancel: () => server.engine.fillAfterNextCancel(),
      restartTws: () => server.restartTws(),
      assignEarly: (conId, contracts) => server.engine.assignEarly(conId, contracts),
    },
    orders: () => clone([...server.engine.orders.values()]),
    executions: () => clone(server.engine.executions),
    positions,
    accountState: () => server.account.snapshot(),
    pacing: () => server.pacing(),
    connections: () => server.connections(),
    protocolWarnings: () => [...server.protocolWarnings],
    state: () => ({
      port, controlPort: sim.controlPort, serverVersion, account: server.account.snapshot(), orders: sim.orders(),
      executions: sim.executions(), positions: positions(),
      prices: Object.fromEntries(server.market.symbols().map((s) => [s, server.market.getPrice(s)])),
      pacing: server.pacing(), connections: server.connections(), protocolWarnings: [...server.protocolWarnings],
    }),
    optionConId: (symbol, expiry, strike, right) => server.market.optionConId(symbol, expiry, strike, right),
    expiries: () => [...server.market.expiries],
    strikes: (symbol) => server.market.strikes(symbol),
  };
  const control = opts.controlPort === undefined ? undefined : await startControlHttp(sim, opts.controlPort, opts.host ?? "127.0.0.1");
  (sim as { controlPort?: number }).controlPort = control?.port;
  return sim;
}
