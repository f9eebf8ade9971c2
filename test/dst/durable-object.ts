// The Durable Object's runtime for the deterministic simulation, in Node: the state object workerd
// hands the account's Durable Object (SQLite storage, one alarm, hibernatable WebSockets with tags
// and attachments) and the edge's end of a bridge WebSocket. The edge's own code runs unchanged
// on top. A reset (an edge restart) poisons the old instance's storage handle, so code of the old
// instance still waiting on a promise cannot write once a new instance owns the database.
import type { DatabaseSync } from "node:sqlite";
import { SimSqlStorage } from "./sql-storage";

/** How storage calls of an instance that was reset fail (workerd words it alike). */
export const RESET_MARKER = "Durable Object reset";

export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;

/** The edge's end of a simulated WebSocket (workerd's server-side WebSocket, as the DO sees it). */
export class EdgeSocket {
  readyState = OPEN;
  private attachment: unknown = null;
  constructor(
    readonly id: number,
    /** Carries a frame or a close to the bridge's end, through the simulated network. */
    private readonly toPeer: (frame: { kind: "message"; data: string } | { kind: "close"; code: number; reason: string }) => void,
  ) {}
  send(data: string | ArrayBuffer): void {
    if (this.readyState !== OPEN) throw new Error("WebSocket is not open");
    this.toPeer({ kind: "message", data: typeof data === "string" ? data : new TextDecoder().decode(data) });
  }
  close(code = 1000, reason = ""): void {
    if (this.readyState !== OPEN) return;
    this.readyState = CLOSING;
    this.toPeer({ kind: "close", code, reason });
  }
  serializeAttachment(value: unknown): void {
    this.attachment = structuredClone(value);
  }
  deserializeAttachment(): unknown {
    return structuredClone(this.attachment);
  }
}

export class SimDurableObjectState {
  readonly storage: {
    sql: SimSqlStorage;
    transactionSync<T>(fn: () => T): T;
    getAlarm(): Promise<number | null>;
    setAlarm(at: number | Date): Promise<void>;
    deleteAlarm(): Promise<void>;
  };
  private readonly sockets: Array<{ ws: EdgeSocket; tags: string[] }> = [];
  readonly id = { toString: () => "dst-account", name: "dst-account" };

  constructor(
    db: DatabaseSync,
    /** The object's one alarm lives in storage: it outlives an instance, so the world keeps it. */
    alarm: { get(): number | null; set(at: number | null): void },
  ) {
    const sql = new SimSqlStorage(db);
    this.storage = {
      sql,
      transactionSync: (fn) => sql.transactionSync(fn),
      getAlarm: async () => {
        this.assertLive();
        return alarm.get();
      },
      setAlarm: async (at) => {
        this.assertLive();
        alarm.set(typeof at === "number" ? at : at.getTime());
      },
      deleteAlarm: async () => {
        this.assertLive();
        alarm.set(null);
      },
    };
  }

  private assertLive(): void {
    if (this.storage.sql.poisoned) throw new Error(this.storage.sql.poisoned);
  }

  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  waitUntil(promise: Promise<unknown>): void {
    promise.catch(() => undefined);
  }

  acceptWebSocket(ws: EdgeSocket, tags: string[] = []): void {
    this.assertLive();
    this.sockets.push({ ws, tags: [...tags] });
  }

  /** Sockets not yet closed, as workerd lists them (a closing socket is still listed). */
  getWebSockets(tag?: string): EdgeSocket[] {
    return this.sockets.filter((s) => s.ws.readyState !== CLOSED && (tag === undefined || s.tags.includes(tag))).map((s) => s.ws);
  }

  getTags(ws: EdgeSocket): string[] {
    return this.sockets.find((s) => s.ws === ws)?.tags ?? [];
  }

  /** The instance is gone (restart): storage refuses it, its sockets are cut. */
  reset(reason: string): EdgeSocket[] {
    this.storage.sql.poisoned = `${RESET_MARKER}: ${reason}`;
    const open = this.sockets.map((s) => s.ws).filter((ws) => ws.readyState !== CLOSED);
    for (const ws of open) ws.readyState = CLOSED;
    return open;
  }
}
