// Secrets compared in constant time, synchronously. Hashing both sides first (as hono's
// timingSafeEqual does, through crypto.subtle, or node:crypto's createHash) cost 0.5–0.7 ms of
// workerd's CPU on every /mcp call by its profiler; a byte comparison whose time does not depend on
// where the bytes differ (node:crypto's timingSafeEqual, native in workerd) costs microseconds. A
// wrong length is compared against the expected token itself and then refused, so the time tells
// only whether the length was right: every token here is generated, of one public length.
import { timingSafeEqual } from "node:crypto";

const encoder = new TextEncoder();
let expectedBytes: { text: string; bytes: Uint8Array } | null = null;

export function sameSecret(given: string, expected: string): boolean {
  if (expectedBytes?.text !== expected) expectedBytes = { text: expected, bytes: encoder.encode(expected) };
  const want = expectedBytes.bytes;
  const got = encoder.encode(given);
  if (got.byteLength !== want.byteLength) {
    timingSafeEqual(want, want);
    return false;
  }
  return timingSafeEqual(got, want);
}
