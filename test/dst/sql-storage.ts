// The Durable Object's `ctx.storage.sql` on node:sqlite, for the deterministic simulation: the same
// SQLite engine and the same statements the edge runs in workerd, in one process. Only what the
// edge uses is here (exec with bound values, toArray, one, iteration, raw, databaseSize,
// transactionSync); anything else throws, so a new use shows up as a failure, not a silent gap.
import { DatabaseSync, type StatementSync } from "node:sqlite";

type Value = ArrayBuffer | string | number | null;
type Row = Record<string, Value>;

class Cursor<T extends Row> implements Iterable<T> {
  private index = 0;
  constructor(
    private readonly rows: T[],
    readonly columnNames: string[],
  ) {}
  get rowsWritten(): number {
    throw new Error("rowsWritten is not modelled by the simulation's SQL storage");
  }
  get rowsRead(): number {
    return this.rows.length;
  }
  next(): IteratorResult<T, undefined> {
    return this.index < this.rows.length ? { done: false, value: this.rows[this.index++]! } : { done: true, value: undefined };
  }
  toArray(): T[] {
    const rest = this.rows.slice(this.index);
    this.index = this.rows.length;
    return rest;
  }
  one(): T {
    const rest = this.toArray();
    if (rest.length !== 1) throw new Error(`Expected exactly one result from SQL query, but got ${rest.length === 0 ? "no results" : "multiple results"}.`);
    return rest[0]!;
  }
  *raw<U extends Value[]>(): IterableIterator<U> {
    for (const row of this.toArray()) yield this.columnNames.map((c) => row[c]) as U;
  }
  [Symbol.iterator](): IterableIterator<T> {
    return this.toArray()[Symbol.iterator]();
  }
}

const toSqlite = (v: unknown): null | number | string | Uint8Array => {
  if (v === null || typeof v === "number" || typeof v === "string") return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  // workerd refuses undefined, booleans, bigints and objects as bindings; so does this.
  throw new TypeError(`Unsupported SQL binding ${typeof v}: ${String(v)}`);
};

const fromSqlite = (row: Record<string, unknown>): Row => {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) out[k] = v instanceof Uint8Array ? v.slice().buffer : (v as Value);
  return out;
};

export class SimSqlStorage {
  private readonly statements = new Map<string, { stmt: StatementSync; columns: string[]; blobs: boolean }>();
  /** Set when the object that owned this handle was reset: its late continuations must not write. */
  poisoned: string | null = null;

  constructor(readonly db: DatabaseSync) {}

  exec<T extends Row>(query: string, ...bindings: unknown[]): Cursor<T> {
    if (this.poisoned) throw new Error(this.poisoned);
    let prepared = this.statements.get(query);
    if (!prepared) {
      const stmt = this.db.prepare(query);
      const columns = stmt.columns();
      prepared = { stmt, columns: columns.map((c) => c.name), blobs: columns.some((c) => c.type?.toUpperCase() === "BLOB" || c.type === null) };
      this.statements.set(query, prepared);
    }
    const rows = prepared.stmt.all(...bindings.map(toSqlite)) as Record<string, unknown>[];
    // Rows are plain objects; only a BLOB (or an expression of unknown type) can hold bytes to convert.
    return new Cursor<T>((prepared.blobs ? rows.map(fromSqlite) : rows) as T[], prepared.columns);
  }

  get databaseSize(): number {
    const pages = this.db.prepare("PRAGMA page_count").get() as { page_count: number };
    const size = this.db.prepare("PRAGMA page_size").get() as { page_size: number };
    return pages.page_count * size.page_size;
  }

  /** workerd's storage.transactionSync: all of `fn`'s writes or none of them. */
  transactionSync<T>(fn: () => T): T {
    if (this.poisoned) throw new Error(this.poisoned);
    this.db.exec("SAVEPOINT dst_tx");
    try {
      const result = fn();
      this.db.exec("RELEASE dst_tx");
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK TO dst_tx");
      this.db.exec("RELEASE dst_tx");
      throw error;
    }
  }
}

export function openDatabase(): DatabaseSync {
  return new DatabaseSync(":memory:");
}
