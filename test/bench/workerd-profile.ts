// A CPU profile of the edge inside workerd while one route is called N times, taken through
// wrangler dev's inspector (the DevTools protocol's Profiler), written as a .cpuprofile that Chrome's
// DevTools opens. `TOOL=get_account N=600 npx tsx test/bench/workerd-profile.ts` (TOOL: a read
// tool, tools/list, health for /api/health, floor for the hello-world object; INTERVAL: sampling µs; OUT: the directory).
// The profiler slows workerd about 1.5×: read shares from it, take times from workerd-cpu.ts.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { OUTPUT, ROOT, startTestStack } from "../e2e/harness";
import { floorsBesideEdge, floorsOf } from "./floors";
import { rawMcp } from "./raw-mcp";
import WebSocket from "ws";

const N = Number(process.env.N ?? 400);
const TOOL = process.env.TOOL ?? "get_safety_status";
const t = await startTestStack("profile", { edgeEntry: floorsBesideEdge(ROOT) });
try {
  const ps = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
  const line = ps.split("\n").find((l) => l.includes("wrangler") && l.includes("dev") && l.includes(t.stack.edgeUrl.split(":").pop()!));
  const port = /--inspector-port (\d+)/.exec(line!)![1];
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string; title?: string }[];
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((r, j) => { ws.on("open", r); ws.on("error", j); });
  let id = 0;
  // wrangler's inspector proxy echoes each request back (its id and method).
  const pending = new Map<number, (v: Record<string, unknown> | undefined) => void>();
  ws.on("message", (data) => {
    const m = JSON.parse(String(data));
    // Seen: only Profiler.stop's answer carries its result; the other commands' come back as echoes.
    if (m.id && pending.has(m.id) && (m.method !== "Profiler.stop" || "result" in m || "error" in m)) {
      pending.get(m.id)!(m.result ?? m.error);
      pending.delete(m.id);
    }
  });
  const send = (method: string, params: object = {}) => new Promise<Record<string, unknown> | undefined>((r) => { const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params })); });
  const mcp = rawMcp(t);
  const floor = floorsOf(t.stack.edgeUrl).objectUrl;
  const call = async (): Promise<unknown> => {
    if (TOOL === "floor") return (await fetch(floor)).text();
    if (TOOL === "health") return t.stack.admin("/api/health").then((r) => r.text());
    return TOOL === "tools/list" ? mcp.list() : mcp.tool(TOOL);
  };
  for (let i = 0; i < 50; i++) await call();
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: Number(process.env.INTERVAL ?? 100) });
  await send("Profiler.start");
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await call();
  const dt = performance.now() - t0;
  const prof = await send("Profiler.stop");
  console.log(`calls ${N} mean ${(dt / N).toFixed(2)} ms`);
  const out = join(process.env.OUT ?? join(OUTPUT, "profiles"), `${TOOL.replace("/", "_")}.cpuprofile`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(prof?.profile));
  console.log(`profile: ${out} (the bundle it maps to: ${join(t.workDir, "..", "state", "edge-bundle", "beside-edge.js")})`);
  ws.close();
} finally {
  await t.stop();
}
