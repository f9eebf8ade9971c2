// The one node: module the edge uses (workerd provides it under nodejs_compat), typed narrowly
// so Node's globals do not leak into Worker code through @types/node.
declare module "node:crypto" {
  interface Hash {
    update(data: string): Hash;
    digest(encoding: "hex"): string;
  }
  export function createHash(algorithm: "sha256"): Hash;
  /** Equal-length views only (it throws otherwise); its time does not depend on where they differ. */
  export function timingSafeEqual(a: ArrayBufferView, b: ArrayBufferView): boolean;
}
