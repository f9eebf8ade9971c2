// The little real asynchrony left in a simulated world, made to finish before the virtual clock
// moves: WebCrypto's subtle calls (the edge verifies the bridge's signed hello with Ed25519) run on
// Node's thread pool, and a few libraries keep the real setImmediate they captured at load. Each
// pump step first waits until none of that is in flight, so the order of events never depends on
// how fast the machine is.
// Captured when this module loads, before the simulation installs its fake timers.
const realSetImmediate = globalThis.setImmediate.bind(globalThis);

let inFlight = 0;

/** Counts a real-async promise until it settles. */
export function trackedAsync<T>(promise: Promise<T>): Promise<T> {
  inFlight++;
  return promise.finally(() => {
    inFlight--;
  });
}

let patched = false;

/** Wraps crypto.subtle's methods so the pump waits for them. Idempotent. */
export function trackWebCrypto(): void {
  if (patched) return;
  patched = true;
  const subtle = (globalThis as unknown as { crypto: { subtle: unknown } }).crypto.subtle as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of ["importKey", "verify", "sign", "digest", "exportKey", "generateKey", "deriveBits", "encrypt", "decrypt"]) {
    const original = subtle[name];
    if (typeof original !== "function") continue;
    subtle[name] = function (this: unknown, ...args: unknown[]) {
      return trackedAsync(original.apply(this, args));
    };
  }
}

const realTurn = (): Promise<void> => new Promise((resolve) => realSetImmediate(resolve));

/**
 * Returns once no reaction is pending: microtasks and process.nextTick callbacks (in-memory
 * streams), real immediates, and tracked real-async work. Bounded, so a busy loop is reported.
 */
export async function settleReal(): Promise<void> {
  for (let turns = 0; turns < 100_000; turns++) {
    await realTurn();
    if (inFlight === 0 && !process.getActiveResourcesInfo().includes("Immediate")) return;
  }
  throw new Error("real asynchronous work never settled (100,000 turns): something spins outside the virtual clock");
}
