// Runs schedules: a world started at a calendar instant, a seeded list of steps, the safety
// invariants after each step, then every fault healed (the ledger must agree with TWS) and every
// position closed (TWS must end flat). `scheduleProperty` is the fast-check property over random
// schedules; `runSchedule` runs one given list (a regression seed written out as code).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import FakeTimers from "@sinonjs/fake-timers";
import fc from "fast-check";
import { loadOrCreateIdentity } from "../../bridge/identity";
import { BrokerLog } from "./broker-log";
import { CALENDAR_INSTANTS, type CalendarInstant } from "./calendar-instants";
import { type Command, commandArbitrary, decodeStep, type Model } from "./commands";
import { InvariantViolation } from "./invariants";
import { trackWebCrypto } from "./real-async";
import { RESET_MARKER } from "./durable-object";
import { Run } from "./run";
import { type Clock, World } from "./world";

// Captured before the fake clock is installed: how long a schedule really took.
const realNow = performance.now.bind(performance);

const FAKED = ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "setImmediate", "clearImmediate", "Date", "performance"] as const;

export interface Simulation {
  clock: Clock;
  identity: { file: string; publicKey: string };
  dispose(): void;
}

/** Installs the virtual clock for this process and makes the bridge identity the worlds share. */
export function startSimulation(): Simulation {
  trackWebCrypto();
  const file = join(mkdtempSync(join(tmpdir(), "ibkr-dst-id-")), "bridge_identity.pem");
  const identity = loadOrCreateIdentity(file).identity;
  const clock = FakeTimers.install({ now: CALENDAR_INSTANTS[0]!.at, toFake: [...FAKED] });
  // An ended instance's code still running storage calls fails them, as workerd's does after a
  // reset; workerd logs those rejections and moves on, so the simulation drops them too (and only them).
  const listeners = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  const filter = (reason: unknown, promise: Promise<unknown>) => {
    if (reason instanceof Error && reason.message.startsWith(RESET_MARKER)) return;
    for (const l of listeners) l(reason, promise);
  };
  process.on("unhandledRejection", filter);
  return {
    clock,
    identity: { file, publicKey: identity.publicKey },
    dispose: () => {
      clock.uninstall();
      process.off("unhandledRejection", filter);
      for (const l of listeners) process.on("unhandledRejection", l);
    },
  };
}

/** A small, fast, seedable generator (mulberry32) for Math.random inside a world. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface ScheduleResult {
  steps: string[];
  /** The edge's audit log at the end, for a regression's proof that its situation arose. */
  audit: { action: string; details: Record<string, unknown> }[];
  placements: number;
  executions: number;
  simulatedMs: number;
  realMs: number;
}

/** One schedule, start to finish; throws InvariantViolation with the steps taken when one breaks. */
export async function runSchedule(sim: Simulation, start: CalendarInstant, commands: Iterable<Command>, noise = 1): Promise<ScheduleResult> {
  const { clock } = sim;
  const realStart = realNow();
  clock.reset();
  clock.setSystemTime(start.at);
  const random = Math.random;
  Math.random = seeded(noise);
  const world = new World(clock, sim.identity);
  const log = new BrokerLog(world.sim);
  const run = new Run(world, log);
  run.start = start.name;
  run.noise = noise;
  run.step(`start: ${start.name} (${new Date(start.at).toISOString()})`);
  try {
    world.startEdge();
    world.startBridge();
    await run.heal();
    await fc.asyncModelRun(() => ({ model: {} as Model, real: run }), commands);
    await run.heal();
    await run.closeEverything();
    const audit = (world.db.prepare("SELECT action, details_json FROM audit ORDER BY seq").all() as { action: string; details_json: string }[]).map((r) => ({ action: r.action, details: JSON.parse(r.details_json) as Record<string, unknown> }));
    return { steps: run.steps, audit, placements: log.placements.length, executions: log.executions.size, simulatedMs: clock.now - start.at, realMs: realNow() - realStart };
  } catch (error) {
    if (error instanceof InvariantViolation) throw error;
    throw new InvariantViolation(run.report("crash", [(error as Error).stack ?? String(error)]));
  } finally {
    Math.random = random;
    await world.dispose().catch(() => undefined);
  }
}

export const scheduleArbitrary = fc.record({
  start: fc.constantFrom(...CALENDAR_INSTANTS),
  commands: fc.commands([commandArbitrary], { maxCommands: 24, size: "+1" }),
  noise: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
});

/** A schedule written down as data (a failure's DST_REPLAY line, or a regression test's literal). */
export interface WrittenSchedule {
  start: string;
  noise: number;
  steps: unknown[];
}

export function replaySchedule(sim: Simulation, written: WrittenSchedule): Promise<ScheduleResult> {
  const start = CALENDAR_INSTANTS.find((c) => c.name === written.start);
  if (!start) throw new Error(`no calendar instant named "${written.start}"`);
  return runSchedule(sim, start, written.steps.map(decodeStep), written.noise);
}

/** The property every random schedule must hold. */
export function scheduleProperty(sim: Simulation, done?: (r: ScheduleResult) => void) {
  return fc.asyncProperty(scheduleArbitrary, async ({ start, commands, noise }) => {
    const result = await runSchedule(sim, start, commands, noise);
    done?.(result);
  });
}
