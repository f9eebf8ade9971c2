// TWS socket framing: the "API\0" greeting, then 4-byte big-endian length-prefixed frames of
// NUL-terminated UTF-8 fields (the last field too). Also the field reader used by the decoder.
// Written from the protocol layout; nothing here comes from @stoqey/ib.

export const UNSET_INT = "2147483647";
export const UNSET_DOUBLE = "1.7976931348623157E308";

export type Field = string | number | boolean | null | undefined;

/** Numbers go out in plain decimal; doubles are rounded to 8 places so 0.1+0.2 noise never reaches a client. */
export function fieldToString(f: Field): string {
  if (f === null || f === undefined) return "";
  if (typeof f === "boolean") return f ? "1" : "0";
  if (typeof f === "number") {
    if (!Number.isFinite(f)) return "";
    if (Number.isInteger(f)) return String(f);
    return String(Math.round(f * 1e8) / 1e8);
  }
  return f;
}

export function encodeFrame(fields: Field[]): Buffer {
  const body = Buffer.from(fields.map((f) => fieldToString(f) + "\0").join(""), "utf8");
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

export type Inbound =
  | { kind: "greeting"; minVersion: number; maxVersion: number; raw: string }
  | { kind: "frame"; fields: string[] }
  | { kind: "bad"; reason: string };

/**
 * Incremental reader for one client connection. The first thing a v100+ client sends is
 * "API\0" followed by a length-prefixed "v<min>..<max>" string (no trailing NUL); everything
 * after that is ordinary frames.
 */
export class InboundReader {
  private buf = Buffer.alloc(0);
  private greeted = false;

  push(chunk: Buffer): Inbound[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: Inbound[] = [];
    for (;;) {
      if (!this.greeted) {
        if (this.buf.length < 8) break;
        if (this.buf.subarray(0, 4).toString("latin1") !== "API\0") {
          out.push({ kind: "bad", reason: "client did not start with API\\0" });
          this.buf = Buffer.alloc(0);
          break;
        }
        const len = this.buf.readUInt32BE(4);
        if (this.buf.length < 8 + len) break;
        const raw = this.buf.subarray(8, 8 + len).toString("utf8");
        this.buf = this.buf.subarray(8 + len);
        this.greeted = true;
        const m = /^v(\d+)(?:\.\.(\d+))?/.exec(raw);
        if (!m) {
          out.push({ kind: "bad", reason: `bad version string ${JSON.stringify(raw)}` });
          continue;
        }
        const min = Number(m[1]);
        out.push({ kind: "greeting", minVersion: min, maxVersion: m[2] ? Number(m[2]) : min, raw });
        continue;
      }
      if (this.buf.length < 4) break;
      const len = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + len) break;
      const body = this.buf.subarray(4, 4 + len).toString("utf8");
      this.buf = this.buf.subarray(4 + len);
      const parts = body.split("\0");
      // every field is NUL-terminated, so the split leaves one empty tail element
      if (parts.length && parts[parts.length - 1] === "") parts.pop();
      out.push({ kind: "frame", fields: parts });
    }
    return out;
  }
}

export class UnderrunError extends Error {}

/** Sequential reader over one frame's fields, with TWS's conventions for unset values. */
export class FieldReader {
  private i = 0;
  constructor(private readonly fields: string[]) {}
  get remaining(): number {
    return this.fields.length - this.i;
  }
  str(): string {
    if (this.i >= this.fields.length) throw new UnderrunError(`underrun at field ${this.i}`);
    return this.fields[this.i++] as string;
  }
  int(): number {
    const s = this.str();
    return s === "" ? 0 : parseInt(s, 10);
  }
  /** undefined for empty or Integer.MAX_VALUE */
  intOpt(): number | undefined {
    const s = this.str();
    if (s === "" || s === UNSET_INT) return undefined;
    return parseInt(s, 10);
  }
  /** undefined for empty or Double.MAX_VALUE */
  num(): number | undefined {
    const s = this.str();
    if (s === "") return undefined;
    const v = parseFloat(s);
    return v === Number.MAX_VALUE || !Number.isFinite(v) ? undefined : v;
  }
  bool(): boolean {
    const s = this.str();
    return s !== "" && s !== "0" && s.toLowerCase() !== "false";
  }
  skip(n: number): void {
    for (let k = 0; k < n; k++) this.str();
  }
}
