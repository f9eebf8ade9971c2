// The edge's layers, kept by reading imports (the edge's own seam test, beside boundaries.test.ts):
// every file under edge/ sits in a folder that has one place in LAYERS, imports only its own folder,
// the folders below it and shared/, and no chain of imports comes back to where it started. Each
// folder's README.md says what it may import; that line must match LAYERS, so it cannot drift.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const edge = join(root, "edge");

/**
 * Top to bottom. A file may import files of its own folder and of any folder further down, and
 * shared/; never one further up. "" is the entry: the Worker (index.ts) and the Durable Object
 * (account-do.ts), the only source files at the top of edge/.
 */
const LAYERS = ["", "dashboard", "auth", "mcp", "http", "views", "desk", "ledger", "safety", "audit", "store", "link"] as const;
const ENTRY_FILES = ["account-do.ts", "index.ts"];

type ImportGraph = Map<string, { spec: string; target: string }[]>;

/** Every .ts source under edge/ (declaration files declare modules, they import nothing), relative to the repo. */
function edgeSources(dir = edge): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return edgeSources(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [relative(root, path)] : [];
  });
}

/**
 * Static imports and re-exports start a line (so an example in a comment, which starts with // or *,
 * is not one); dynamic imports may sit anywhere. Type-only imports count: they are dependencies too.
 */
function importSpecifiers(text: string): string[] {
  const found = [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^\s*import\s+["']([^"']+)["']/gm)];
  return found.map((m) => m[1] ?? m[2] ?? m[3] ?? "");
}

/** The edge's files and the edge files each imports (relative specifiers resolved to a repo path). */
function edgeGraph(): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of edgeSources()) {
    const edges = importSpecifiers(readFileSync(join(root, file), "utf8"))
      .filter((spec) => spec.startsWith("."))
      .map((spec) => {
        const base = relative(root, resolve(root, dirname(file), spec));
        const target = [base, `${base}.ts`, join(base, "index.ts")].find((p) => existsSync(join(root, p)) && statSync(join(root, p)).isFile()) ?? `${base} (missing)`;
        return { spec, target };
      })
      .filter(({ target }) => target.startsWith("edge/"));
    graph.set(file, edges);
  }
  return graph;
}

/** "" for a file at the top of edge/, else its folder under edge/ (only one level exists). */
const folderOf = (file: string): string => (file.split("/").length === 2 ? "" : file.split("/")[1]!);
const layerName = (folder: string) => (folder === "" ? "the entry (edge/)" : `edge/${folder}/`);

/** Imports that run from a lower folder up to a higher one, or into a folder with no place in LAYERS. */
function upwardImports(graph: ImportGraph, layers: readonly string[] = LAYERS): string[] {
  const out: string[] = [];
  for (const [file, edges] of graph) {
    const from = layers.indexOf(folderOf(file));
    for (const { spec, target } of edges) {
      const to = layers.indexOf(folderOf(target));
      if (folderOf(target) === folderOf(file) || (from >= 0 && to > from)) continue;
      out.push(`${file} imports ${spec} (${target}): ${layerName(folderOf(file))} may not import ${layerName(folderOf(target))}, which is ${to < 0 ? "in no layer" : "above it"}`);
    }
  }
  return out;
}

/**
 * Import cycles, as the chains of files that close on themselves (found by a depth-first walk: at
 * least one for every set of files that import each other, each chain named once).
 */
function importCycles(graph: ImportGraph): string[] {
  const cycles: string[] = [];
  const seen = new Set<string>();
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, "open");
    path.push(file);
    for (const { target } of graph.get(file) ?? []) {
      if (state.get(target) === "open") {
        const loop = path.slice(path.indexOf(target));
        // The same loop is reached from each of its files: keep it once, from its first file in name order.
        const start = loop.indexOf([...loop].sort()[0]!);
        const key = [...loop.slice(start), ...loop.slice(0, start)].join(" → ");
        if (!seen.has(key)) (seen.add(key), cycles.push(`${key} → ${loop[start]}`));
      } else if (!state.has(target)) visit(target);
    }
    path.pop();
    state.set(file, "done");
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

/** What a folder's README must say it may import: every folder below it, then shared/. */
const mayImport = (folder: string): string => [...LAYERS.slice(LAYERS.indexOf(folder as (typeof LAYERS)[number]) + 1).map((f) => `edge/${f}/`), "shared/"].join(", ");

describe("the edge's layers", () => {
  const graph = edgeGraph();

  it("finds the imports it is meant to police (the scanner and the rules themselves work)", () => {
    expect(graph.size).toBeGreaterThan(60);
    // A multi-line import, a type-only one and a dynamic one are all read, also after a comment
    // holding "/*" (a route like /api/*); an import written in a comment is not.
    const sample = '// the /api/* gate\nimport {\n  a,\n  b,\n} from "./x";\nimport type { T } from "../y";\n/** e.g.\n * import { c } from "./not-this";\n */\nconst m = await import("./z");\n// import { d } from "./nor-this";';
    expect(importSpecifiers(sample)).toEqual(["./x", "../y", "./z"]);
    const toy: ImportGraph = new Map([
      ["edge/desk/a.ts", [{ spec: "../ledger/b", target: "edge/ledger/b.ts" }]],
      ["edge/ledger/b.ts", [{ spec: "../desk/a", target: "edge/desk/a.ts" }, { spec: "./c", target: "edge/ledger/c.ts" }]],
      ["edge/ledger/c.ts", [{ spec: "./b", target: "edge/ledger/b.ts" }, { spec: "../elsewhere/d", target: "edge/elsewhere/d.ts" }]],
    ]);
    expect(upwardImports(toy)).toEqual([
      "edge/ledger/b.ts imports ../desk/a (edge/desk/a.ts): edge/ledger/ may not import edge/desk/, which is above it",
      "edge/ledger/c.ts imports ../elsewhere/d (edge/elsewhere/d.ts): edge/ledger/ may not import edge/elsewhere/, which is in no layer",
    ]);
    expect(importCycles(toy)).toEqual(["edge/desk/a.ts → edge/ledger/b.ts → edge/desk/a.ts", "edge/ledger/b.ts → edge/ledger/c.ts → edge/ledger/b.ts"]);
  });

  it("has only the entry at the top of edge/ and every other file in a folder of LAYERS", () => {
    expect(edgeSources().filter((f) => folderOf(f) === "").map((f) => f.slice("edge/".length)).sort()).toEqual(ENTRY_FILES);
    expect(edgeSources().filter((f) => !LAYERS.includes(folderOf(f) as (typeof LAYERS)[number]))).toEqual([]);
  });

  it("imports only downward: each folder its own files, the folders below it and shared/", () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it("has no import cycle", () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it("says in each folder's README.md what the folder owns and what it may import, as LAYERS has it", () => {
    const stated = LAYERS.filter((f) => f !== "").map((folder) => {
      const path = join(edge, folder, "README.md");
      const text = existsSync(path) ? readFileSync(path, "utf8") : "";
      return { folder, owns: /^Owns: \S/m.test(text), mayImport: /^May import: (.+)$/m.exec(text)?.[1]?.trim() ?? null };
    });
    expect(stated).toEqual(LAYERS.filter((f) => f !== "").map((folder) => ({ folder, owns: true, mayImport: mayImport(folder) })));
    // edge/README.md lists the folders top to bottom, as LAYERS does.
    const map = readFileSync(join(edge, "README.md"), "utf8");
    expect([...map.matchAll(/\]\(([a-z]+)\/README\.md\)/g)].map((m) => m[1])).toEqual(LAYERS.filter((f) => f !== ""));
  });
});
