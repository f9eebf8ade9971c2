// workerd's own CPU per request (utime + stime of the stack's workerd processes, /proc) and the
// wall time, route by route, N calls back to back, with the floors in the same Worker
// (test/bench/floor/beside-edge.ts): on loopback a call's wall time is almost all workerd's CPU,
// so this says what a change to the edge saves without a profiler's distortion.
// `npx tsx test/bench/workerd-cpu.ts` (N calls per route, default 1000; Linux only).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { ROOT, startTestStack } from "../e2e/harness";
import { floorsBesideEdge, floorsOf } from "./floors";
import { rawMcp } from "./raw-mcp";

/** CPU ms a process has used (utime + stime, in 10 ms ticks). */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
const workerds = (): number[] => {
  try {
    return execFileSync("pgrep", ["-f", "workerd"], { encoding: "utf8" }).trim().split("\n").map(Number);
  } catch {
    return [];
  }
};

const before = new Set(workerds());
const t = await startTestStack("workerd-cpu", { edgeEntry: floorsBesideEdge(ROOT) });
const pids = workerds().filter((p) => !before.has(p));
const floors = floorsOf(t.stack.edgeUrl);
const N = Number(process.env.N ?? 1000);

async function measure(name: string, op: () => Promise<unknown>) {
  for (let i = 0; i < 50; i++) await op();
  const cpu0 = pids.map(cpuMs).reduce((a, b) => a + b, 0);
  const wall0 = performance.now();
  for (let i = 0; i < N; i++) await op();
  const cpu = pids.map(cpuMs).reduce((a, b) => a + b, 0) - cpu0;
  console.log(`${name.padEnd(24)} wall ${((performance.now() - wall0) / N).toFixed(2)} ms   workerd CPU ${(cpu / N).toFixed(2)} ms`);
}

const mcp = rawMcp(t);
try {
  console.log(`${N} calls per route, workerd processes ${pids.join(", ")}`);
  await measure("floor: Durable Object", () => fetch(floors.objectUrl).then((r) => r.text()));
  await measure("floor: Worker", () => fetch(floors.workerUrl).then((r) => r.text()));
  await measure("edge 404", () => fetch(`${t.stack.edgeUrl}/nope`).then((r) => r.text()));
  await measure("/api/health", () => t.stack.admin("/api/health").then((r) => r.text()));
  for (const tool of ["health_check", "get_account", "get_positions", "list_trades", "get_safety_status"]) await measure(tool, () => mcp.tool(tool));
  await measure("tools/list", () => mcp.list());
} finally {
  await t.stop();
}
