// The seams of the system, kept by reading imports: shared/ imports nothing from edge/ or bridge/
// and nothing platform-specific; edge/ never imports @stoqey/ib or node built-ins; bridge/ never
// imports Hono or cloudflare:*; the simulator never imports the client's encoder or decoder.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");

function sources(dir: string): string[] {
  const full = join(root, dir);
  let entries: string[];
  try {
    entries = readdirSync(full);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(full, name);
    if (statSync(path).isDirectory()) return sources(relative(root, path));
    return /\.(ts|js|mjs)$/.test(name) ? [path] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found = [...text.matchAll(/(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^import\s+["']([^"']+)["']/gm)];
  return found.map((m) => m[1] ?? m[2] ?? m[3] ?? "");
}

function offenders(dir: string, forbidden: (spec: string, file: string) => boolean): string[] {
  return sources(dir).flatMap((file) => imports(file).filter((spec) => forbidden(spec, file)).map((spec) => `${relative(root, file)} imports ${spec}`));
}

describe("import boundaries", () => {
  it("finds the imports it is meant to police (the scanner itself works)", () => {
    expect(imports(join(root, "shared", "checks.ts"))).toContain("./limits");
    expect(sources("shared").length).toBeGreaterThan(5);
  });

  it("shared/ imports only shared/ and zod", () => {
    expect(offenders("shared", (spec) => !(spec.startsWith("./") || spec === "zod"))).toEqual([]);
  });

  it("edge/ imports no Node-only module and not @stoqey/ib or bridge/", () => {
    expect(offenders("edge", (spec) => spec.startsWith("@stoqey/") || spec.includes("/bridge/") || spec === "ws" || spec === "pino" || /^node:(fs|net|child_process|os|path)/.test(spec))).toEqual([]);
  });

  it("bridge/ imports neither Hono nor cloudflare:* nor edge/", () => {
    expect(offenders("bridge", (spec) => spec === "hono" || spec.startsWith("hono/") || spec.startsWith("cloudflare:") || spec.includes("/edge/"))).toEqual([]);
  });

  it("the TWS simulator does not import @stoqey/ib (tests of it may, as the client)", () => {
    expect(offenders("test/tws-sim", (spec, file) => spec.startsWith("@stoqey/") && !file.endsWith(".test.ts"))).toEqual([]);
  });
});
