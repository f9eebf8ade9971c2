// IBKR pacing: TWS allows 50 messages per second per client. Every request the bridge sends goes
// through one Pacer that holds each of its limits over sliding windows, however many requests
// arrive at once: at most 38 messages in any second and 8 in any 100 ms. The short window lets
// an order's few messages (a combo quote and the order) go out at once; it also bounds what a
// late-delivered burst can add to TWS's own one-second count (38 + 8 < 50). Queued calls belong
// to one TWS connection: when it ends they are refused, never sent later on a new one.

export interface PaceLimit {
  count: number;
  ms: number;
}

export const DEFAULT_PACE_LIMITS: readonly PaceLimit[] = [
  { count: 8, ms: 100 },
  { count: 38, ms: 1_000 },
];

export class PacerClosedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "PacerClosedError";
  }
}

interface Job {
  run: () => void;
  refuse: (error: Error) => void;
}

export class Pacer {
  /** Send times within the longest window, oldest first. */
  private readonly recent: number[] = [];
  private readonly queue: Job[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closedReason: string | null = null;
  private readonly longestMs: number;

  constructor(readonly limits: readonly PaceLimit[] = DEFAULT_PACE_LIMITS) {
    this.longestMs = Math.max(...limits.map((l) => l.ms));
  }

  /** Run `send` (one TWS message) as soon as the pacing allows; rejects if the pacer closes first. */
  schedule(send: () => void): Promise<void> {
    if (this.closedReason !== null) return Promise.reject(new PacerClosedError(this.closedReason));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({
        run: () => {
          try {
            send();
            resolve();
          } catch (error) {
            reject(error as Error);
          }
        },
        refuse: reject,
      });
      this.drain();
    });
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Refuse everything queued and everything scheduled later. */
  close(reason: string): void {
    this.closedReason = reason;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const job of this.queue.splice(0)) job.refuse(new PacerClosedError(reason));
  }

  private drain(): void {
    if (this.timer || this.closedReason !== null) return;
    for (;;) {
      const now = performance.now();
      while (this.recent.length > 0 && (this.recent[0] as number) <= now - this.longestMs) this.recent.shift();
      if (this.queue.length === 0) return;
      const wait = this.waitMs(now);
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.drain();
        }, Math.max(1, Math.ceil(wait)));
        return;
      }
      this.recent.push(now);
      (this.queue.shift() as Job).run();
    }
  }

  /** How long until one more message keeps every limit (0: now). */
  private waitMs(now: number): number {
    let wait = 0;
    for (const { count, ms } of this.limits) {
      // The count-th most recent send must leave the window before another may go.
      const index = this.recent.length - count;
      if (index < 0) continue;
      const leavesAt = (this.recent[index] as number) + ms;
      if (leavesAt > now) wait = Math.max(wait, leavesAt - now + 0.5);
    }
    return wait;
  }
}
