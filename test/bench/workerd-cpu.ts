// workerd's own CPU per request (utime + stime of its processes, /proc), beside the hello-world
// floors' workerd, route by route: on loopback the wall time of a call is almost all workerd's
// CPU, so this says what a change to the edge saves without a profiler's distortion.
// `npx tsx test/bench/workerd-cpu.ts` (N calls per route, default 1000; Linux only).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { startTestStack, ROOT } from "../e2e/harness";
import { startFloors } from "../bench/floors";
const cpu = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" "); return (Number(f[11]) + Number(f[12])) * 10; };
const workerds = (): number[] => { try { return execFileSync("pgrep", ["-f", "workerd"], { encoding: "utf8" }).trim().split("\n").map(Number); } catch { return []; } };
const before = new Set(workerds());
const floors = await startFloors(ROOT);
const floorPid = workerds().filter((p) => !before.has(p));
const t = await startTestStack("cpu");
const edgePid = workerds().filter((p) => !before.has(p) && !floorPid.includes(p));
console.log({ floorPid, edgePid });
const N = Number(process.env.N ?? 1000);
async function measure(name: string, pids: number[], op: () => Promise<unknown>) {
  for (let i = 0; i < 50; i++) await op();
  const c0 = pids.map(cpu).reduce((a, b) => a + b, 0); const w0 = performance.now();
  for (let i = 0; i < N; i++) await op();
  const c1 = pids.map(cpu).reduce((a, b) => a + b, 0);
  console.log(`${name.padEnd(30)} wall ${((performance.now() - w0) / N).toFixed(2)} ms  workerd cpu ${((c1 - c0) / N).toFixed(2)} ms`);
}
let id = 0;
const mcp = (method: string, params: object) => () => fetch(t.stack.mcpUrl, { method: "POST", headers: { authorization: `Bearer ${t.secrets.MCP_TOKEN}`, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" }, body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }) }).then((r) => r.text());
try {
  await measure("floor DO", floorPid, () => fetch(floors.objectUrl).then((r) => r.text()));
  await measure("floor Worker", floorPid, () => fetch(floors.workerUrl).then((r) => r.text()));
  await measure("edge 404", edgePid, () => fetch(`${t.stack.edgeUrl}/nope`).then((r) => r.text()));
  await measure("/api/health", edgePid, () => t.stack.admin("/api/health").then((r) => r.text()));
  await measure("health_check", edgePid, mcp("tools/call", { name: "health_check", arguments: {} }));
  await measure("get_account", edgePid, mcp("tools/call", { name: "get_account", arguments: {} }));
  await measure("get_safety_status", edgePid, mcp("tools/call", { name: "get_safety_status", arguments: {} }));
  await measure("tools/list", edgePid, mcp("tools/list", {}));
} finally { await t.stop(); await floors.stop(); }
