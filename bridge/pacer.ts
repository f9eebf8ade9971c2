// IBKR pacing: TWS allows 50 messages per second per client. Every request the bridge sends goes
// through one Pacer that releases at most `perSlot` calls in any `slotMs` window (4 per 110 ms,
// about 36 a second: headroom for a busy event loop bunching messages on the wire), however many
// requests arrive at once. Queued calls belong to one
// TWS connection: when it ends they are refused, never sent later on a new one.

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
  /** Send times of the calls released within the last slot. */
  private readonly recent: number[] = [];
  private readonly queue: Job[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closedReason: string | null = null;

  constructor(
    readonly perSlot = 4,
    readonly slotMs = 110,
  ) {}

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
      while (this.recent.length > 0 && (this.recent[0] as number) <= now - this.slotMs) this.recent.shift();
      if (this.queue.length === 0) return;
      if (this.recent.length >= this.perSlot) {
        const wait = Math.max(1, (this.recent[0] as number) + this.slotMs - now + 1);
        this.timer = setTimeout(() => {
          this.timer = null;
          this.drain();
        }, wait);
        return;
      }
      this.recent.push(now);
      (this.queue.shift() as Job).run();
    }
  }
}
