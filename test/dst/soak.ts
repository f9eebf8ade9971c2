// `npm run sim:soak -- --seeds N`: runs N random schedules of the deterministic simulation (a fresh
// fast-check seed unless --seed is given), reports schedules per second, and on a failure prints
// the shrunk schedule as a DST_REPLAY line that replays it exactly (in this command with --replay,
// or in `npx vitest run --project dst test/dst/simulation.test.ts`).
import { register } from "node:module";
import { Command, InvalidArgumentError } from "commander";

register("./resolve-workers.mjs", import.meta.url);

const positive = (what: string) => (text: string) => {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a whole number ≥ 1`);
  return n;
};

const program = new Command("sim:soak")
  .description("run seeded schedules of the deterministic simulation (test/dst/) and report the rate and any failure")
  .option("--seeds <n>", "how many schedules to run", positive("--seeds"), 1_000)
  .option("--seed <n>", "fast-check's seed (default: a fresh one, printed)", (t) => {
    const n = Number(t);
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError("--seed must be a whole number");
    return n;
  })
  .option("--replay <json>", "run one schedule written as a DST_REPLAY line instead")
  .option("--trace", "with --replay: print the audit log too")
  .parse();
const opts = program.opts<{ seeds: number; seed?: number; replay?: string; trace?: boolean }>();

const fc = (await import("fast-check")).default;
const { replaySchedule, scheduleProperty, startSimulation } = await import("./schedule");
const realNow = performance.now.bind(performance);
const sim = startSimulation();
try {
  if (opts.replay) {
    const result = await replaySchedule(sim, JSON.parse(opts.replay));
    console.log(result.steps.join("\n"));
    if (opts.trace) for (const a of result.audit) console.log(`${a.action} ${JSON.stringify(a.details)}`);
    console.log("the schedule held every invariant");
  } else {
    const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
    const started = realNow();
    let done = 0;
    let placements = 0;
    let simulatedMs = 0;
    const details = await fc.check(
      scheduleProperty(sim, (r) => {
        done++;
        placements += r.placements;
        simulatedMs += r.simulatedMs;
        if (done % 100 === 0) console.log(`${done} schedules, ${(done / ((realNow() - started) / 1000)).toFixed(1)}/s`);
      }),
      { numRuns: opts.seeds, seed },
    );
    const seconds = (realNow() - started) / 1000;
    console.log(
      `${details.failed ? "FAILED" : "passed"}: ${done} schedules in ${seconds.toFixed(1)} s (${(done / seconds).toFixed(1)} schedules/s), ` +
        `${placements} orders and modifies reached TWS, ${Math.round(simulatedMs / 3_600_000)} simulated hours; seed ${seed}`,
    );
    if (details.failed) {
      const error = (details as { errorInstance?: unknown }).errorInstance;
      console.log(error instanceof Error ? error.message : String(error));
      process.exitCode = 1;
    }
  }
} finally {
  sim.dispose();
}
