// The pacer's two sliding windows, checked on the times it actually released calls: no window
// ever holds more than its count, a short burst goes out at once, and a closed pacer sends nothing.
import { describe, expect, it } from "vitest";
import { DEFAULT_PACE_LIMITS, Pacer, PacerClosedError } from "../../bridge/pacer";

function maxInWindow(times: readonly number[], ms: number): number {
  let max = 0;
  for (let i = 0; i < times.length; i++) {
    let n = 0;
    for (let j = i; j < times.length && (times[j] as number) < (times[i] as number) + ms; j++) n++;
    max = Math.max(max, n);
  }
  return max;
}

describe("pacer", () => {
  it("keeps every window under its count while releasing a burst at once", async () => {
    const limits = [{ count: 3, ms: 50 }, { count: 10, ms: 300 }];
    const pacer = new Pacer(limits);
    const start = performance.now();
    const times: number[] = [];
    await Promise.all(Array.from({ length: 40 }, () => pacer.schedule(() => void times.push(performance.now()))));
    expect(times).toHaveLength(40);
    expect(maxInWindow(times, 50)).toBeLessThanOrEqual(3);
    expect(maxInWindow(times, 300)).toBeLessThanOrEqual(10);
    // The first three went out without waiting for a window.
    expect((times[2] as number) - start).toBeLessThan(20);
    // 40 calls at 10 per 300 ms need at least three full long windows.
    expect((times[39] as number) - start).toBeGreaterThanOrEqual(900);
  });

  it("defaults leave room under TWS's 50 a second even when a short burst arrives late", () => {
    const [short, long] = [...DEFAULT_PACE_LIMITS].sort((a, b) => a.ms - b.ms);
    expect(long!.ms).toBe(1_000);
    expect(long!.count + short!.count).toBeLessThan(50);
  });

  it("refuses what is queued when closed, and never runs it", async () => {
    const pacer = new Pacer([{ count: 1, ms: 200 }]);
    const ran: number[] = [];
    const first = pacer.schedule(() => void ran.push(1));
    const second = pacer.schedule(() => void ran.push(2));
    pacer.close("session ended");
    await first;
    await expect(second).rejects.toBeInstanceOf(PacerClosedError);
    await new Promise((r) => setTimeout(r, 250));
    expect(ran).toEqual([1]);
    await expect(pacer.schedule(() => void ran.push(3))).rejects.toBeInstanceOf(PacerClosedError);
  });
});
