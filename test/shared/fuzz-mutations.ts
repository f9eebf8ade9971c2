// Shared fast-check pieces of the adversarial tests (edge in workerd, bridge in Node): hostile
// values (wrong types, huge and tiny numbers, NaN-ish and unicode strings, very long strings,
// injection text), extra keys that name limits, and near-valid mutations of a valid object.
import fc from "fast-check";

/** Fixed so a failure replays; fast-check prints seed and path with the counterexample. */
export const FUZZ_SEED = Number(globalThis.process?.env?.FUZZ_SEED ?? 20261125);

export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null, true, false, 0, -0, -1, -400, 1e308, -1e308, 5e-324, 2 ** 53 + 2, -(2 ** 31), 0.5, 1.005, 1e-9, 999_999_999,
    "NaN", "Infinity", "-Infinity", "1e309", "", " ", "0", "-1", "400", "null", "true", "１２３", "\u0000", "\u202eAAPL",
    "AAPL\n", "💥".repeat(40), "x".repeat(5_000), "</script><script>alert(1)</script>", "'; DROP TABLE trades; --",
    "../../../../tmp/pwned", "..", "a/../../b", "trade\u0000id", "CON", "%2e%2e%2f", "IRON_CONDOR_AAPL_20251119_103045/../../x",
    [], {}, [null], { __proto__: null, polluted: true }, "2025-02-30", "1999-01-01", "9999-12-31", "C", "P", "BUY", "SELL", "STK",
  ),
  fc.string({ maxLength: 60, unit: "grapheme" }),
  fc.double(),
  fc.integer(),
  fc.jsonValue({ maxDepth: 2 }),
  fc.nat(20_000).map((n) => "A".repeat(n)),
);

export const extraKey = fc.oneof(
  fc.constantFrom("max_trade_risk", "MAX_TRADE_RISK", "limits", "__proto__", "constructor", "prototype", "override", "force", "account_id", "shadow_mode"),
  fc.string({ maxLength: 20 }),
);

export type Path = Array<string | number>;
export function paths(value: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

export type Mutation =
  | { kind: "set"; at: number; value: unknown }
  | { kind: "delete"; at: number }
  | { kind: "extra"; at: number; key: string; value: unknown }
  | { kind: "number"; at: number; value: number }
  | { kind: "grow"; at: number; times: number };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: weirdValue }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("extra" as const), at: fc.nat(), key: extraKey, value: weirdValue }),
  fc.record({ kind: fc.constant("number" as const), at: fc.nat(), value: fc.constantFrom(0, -1, -0.01, 1e308, -1e308, 1e9, 2, 11, 0.04, 1.001, 600, 1e-7) }),
  fc.record({ kind: fc.constant("grow" as const), at: fc.nat(), times: fc.integer({ min: 2, max: 6 }) }),
);

/** Applies mutations to a deep copy (paths are re-listed after each, so every path is reachable). */
export function mutate(base: unknown, mutations: Mutation[]): unknown {
  let root: unknown = structuredClone(base);
  for (const m of mutations) {
    const all = paths(root);
    const path = all[m.at % all.length]!;
    if (path.length === 0) {
      if (m.kind === "set") root = structuredClone(m.value);
      else if (m.kind === "extra" && root && typeof root === "object" && !Array.isArray(root)) Object.defineProperty(root, m.key, { value: structuredClone(m.value), enumerable: true, writable: true, configurable: true });
      continue;
    }
    const parent = path.slice(0, -1).reduce<any>((node, k) => node[k], root);
    const key = path[path.length - 1]!;
    const current = parent[key];
    if (m.kind === "set") parent[key] = structuredClone(m.value);
    else if (m.kind === "delete") Array.isArray(parent) ? parent.splice(Number(key), 1) : delete parent[key];
    else if (m.kind === "extra") {
      if (current && typeof current === "object" && !Array.isArray(current)) Object.defineProperty(current, m.key, { value: structuredClone(m.value), enumerable: true, writable: true, configurable: true });
      else parent[key] = { [m.key]: structuredClone(m.value) };
    } else if (m.kind === "number") parent[key] = typeof current === "number" ? current * m.value || m.value : m.value;
    else if (m.kind === "grow") parent[key] = Array.isArray(current) ? Array.from({ length: m.times }, () => structuredClone(current)).flat() : Array.from({ length: m.times }, () => structuredClone(current));
  }
  return root;
}

