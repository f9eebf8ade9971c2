// Property tests run from one seed, as the simulation does: a run that fails in CI fails the same
// way on a laptop, and nothing lands or is refused by luck. Explore with FC_SEED=<n> (or "random");
// a failure prints its seed and path, and `fc.assert(…, { seed, path })` replays it.
import fc from "fast-check";

const DEFAULT_SEED = 20_261_205;

function chosenSeed(): number | undefined {
  const raw = typeof process !== "undefined" ? process.env?.FC_SEED : undefined;
  if (raw === "random") return undefined;
  if (raw !== undefined && raw !== "") {
    const seed = Number(raw);
    if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer or "random", got ${JSON.stringify(raw)}`);
    return seed;
  }
  return DEFAULT_SEED;
}

const seed = chosenSeed();
if (seed !== undefined) fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
