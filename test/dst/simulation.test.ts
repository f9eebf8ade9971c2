// The deterministic simulation in `npm test`: DST_SCHEDULES seeded schedules (500 by default) of
// agent actions interleaved with faults, every invariant checked after every step. A failure prints
// fast-check's seed and path and the steps taken; DST_SEED/DST_PATH replay it exactly.
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { replaySchedule, scheduleProperty, type Simulation, startSimulation } from "./schedule";

let sim: Simulation;
beforeAll(() => {
  sim = startSimulation();
});
afterAll(() => sim?.dispose());

const runs = Number(process.env.DST_SCHEDULES ?? 500);
// A fixed seed: `npm test` runs the same 500 schedules every time (CI fails only on a change);
// `npm run sim:soak` explores fresh ones.
const seed = Number(process.env.DST_SEED ?? 20_261_205);
const path = process.env.DST_PATH;

const replay = process.env.DST_REPLAY;

it.runIf(replay !== undefined)("replays DST_REPLAY", async () => {
  const result = await replaySchedule(sim, JSON.parse(replay!));
  console.log(result.steps.join("\n"));
  if (process.env.DST_TRACE) console.log(result.audit.map((a) => `${a.action} ${JSON.stringify(a.details).slice(0, 300)}`).join("\n"));
});

it.runIf(replay === undefined)(`holds every invariant over ${runs} seeded schedules`, async () => {
  let placements = 0;
  let count = 0;
  const started = performance.now();
  await fc.assert(
    scheduleProperty(sim, (r) => {
      placements += r.placements;
      count++;
      if (process.env.DST_VERBOSE) console.log(`schedule ${count}: ${r.steps.length} steps, ${r.placements} placements, ${Math.round(r.simulatedMs / 1000)} s simulated, ${Math.round(r.realMs)} ms real`);
      if (process.env.DST_STEPS) console.log(r.steps.join("\n"));
    }),
    { numRuns: runs, seed, ...(path ? { path, endOnFailure: true } : {}) },
  );
  expect(count).toBeGreaterThanOrEqual(runs);
  console.log(`${count} schedules, ${placements} orders and modifies reached TWS`);
});
