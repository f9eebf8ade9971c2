// Test helpers: connect the real @stoqey/ib client to a simulator, record every error/info
// event (a 505 from the client means the simulator mis-framed a message), and wait for events.

import { EventName, IBApi } from "@stoqey/ib";

export interface Notice {
  kind: "error" | "info";
  code: number;
  id: number;
  message: string;
}

export interface Client {
  ib: IBApi;
  notices: Notice[];
  nextValidId: number;
  accounts: string;
  serverVersion: number;
  codes(): number[];
  close(): void;
}

/** Collect notices from any IBApi (also used for IBApiNext's inner api). */
export function recordNotices(ib: IBApi, notices: Notice[]): void {
  ib.on(EventName.error, (err: Error, code: number, reqId: number) => {
    notices.push({ kind: "error", code, id: reqId, message: err?.message ?? String(err) });
  });
  ib.on(EventName.info, (message: string, code: number) => {
    notices.push({ kind: "info", code, id: -1, message });
  });
}

export async function connect(port: number, clientId = 1, timeoutMs = 5000): Promise<Client> {
  const ib = new IBApi({ host: "127.0.0.1", port, clientId, maxReqPerSec: 1000 });
  const notices: Notice[] = [];
  recordNotices(ib, notices);
  let accounts = "";
  ib.on(EventName.managedAccounts, (a: string) => {
    accounts = a;
  });
  const nextValidId = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no nextValidId within ${timeoutMs}ms; notices ${JSON.stringify(notices)}`)), timeoutMs);
    ib.once(EventName.nextValidId, (id: number) => {
      clearTimeout(t);
      resolve(id);
    });
    ib.connect();
  });
  return {
    ib, notices, nextValidId, accounts, serverVersion: ib.serverVersion,
    codes: () => notices.map((n) => n.code),
    close: () => {
      if (ib.isConnected) ib.disconnect();
    },
  };
}

/** Resolve with the args of the first `event` for which `pred` holds. */
// biome-ignore lint/suspicious/noExplicitAny: see AnyListener
export function waitFor<T extends any[]>(ib: IBApi, event: EventName, pred: (...args: T) => boolean = () => true, timeoutMs = 4000): Promise<T> {
  return new Promise((resolve, reject) => {
    const handler = (...args: unknown[]): void => {
      if (!pred(...(args as T))) return;
      clearTimeout(t);
      off(ib, event, handler);
      resolve(args as T);
    };
    const t = setTimeout(() => {
      off(ib, event, handler);
      reject(new Error(`timeout waiting for ${event}`));
    }, timeoutMs);
    on(ib, event, handler);
  });
}

/** Collect `event` args until `endEvent` (matching `endPred`) arrives. */
export function collectUntil<T extends unknown[]>(
  ib: IBApi, event: EventName, endEvent: EventName, endPred: (...args: unknown[]) => boolean = () => true, timeoutMs = 4000,
): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const got: T[] = [];
    const onItem = (...args: unknown[]): void => {
      got.push(args as T);
    };
    const onEnd = (...args: unknown[]): void => {
      if (!endPred(...args)) return;
      cleanup();
      resolve(got);
    };
    const cleanup = (): void => {
      clearTimeout(t);
      off(ib, event, onItem);
      off(ib, endEvent, onEnd);
    };
    const t = setTimeout(() => {
      cleanup();
      reject(new Error(`timeout waiting for ${endEvent} (got ${got.length} ${event})`));
    }, timeoutMs);
    on(ib, event, onItem);
    on(ib, endEvent, onEnd);
  });
}

/** IBApi types each event's listener; tests pass listeners with their own tuple types. */
// biome-ignore lint/suspicious/noExplicitAny: listener arguments differ per event
type AnyListener = (...args: any[]) => void;
interface LooseEmitter {
  on(event: string, fn: AnyListener): unknown;
  off(event: string, fn: AnyListener): unknown;
}
export function on(ib: IBApi, event: EventName, fn: AnyListener): void {
  (ib as unknown as LooseEmitter).on(event, fn);
}
function off(ib: IBApi, event: EventName, fn: AnyListener): void {
  (ib as unknown as LooseEmitter).off(event, fn);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll until `fn` returns a truthy value. */
export async function until<T>(fn: () => T | undefined | null | false, timeoutMs = 4000, what = "condition"): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await sleep(10);
  }
}
