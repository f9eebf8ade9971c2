// The floors of `npm run bench`, taken in the same run as every measured route: a hello-world
// Worker and a hello-world Durable Object (test/bench/floor/), served by the same wrangler dev,
// asked by the same keep-alive client (Node's fetch) as the edge's routes.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ManagedProcess, freePort, spawnManaged, stackEnv, waitUntil } from "../stack/processes";

export interface Floors {
  workerUrl: string;
  objectUrl: string;
  stop(): Promise<void>;
}

export async function startFloors(root: string): Promise<Floors> {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), "bench-floor-"));
  const env = stackEnv(root);
  const inspector = await freePort();
  const wrangler: ManagedProcess = spawnManaged(
    "bench-floor",
    join(root, "node_modules", ".bin", "wrangler"),
    ["dev", "--config", join(root, "test/bench/floor/wrangler.toml"), "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector), "--persist-to", state, "--show-interactive-dev-session=false", "--log-level", "warn"],
    { cwd: root, env, echo: false },
  );
  const base = `http://127.0.0.1:${port}`;
  await waitUntil("the floor fixture (wrangler dev) to answer", async () => {
    if (wrangler.child.exitCode !== null) throw new Error(`floor wrangler dev exited:\n${wrangler.output().slice(-3000)}`);
    return (await fetch(`${base}/do`)).ok;
  }, 90_000, 300);
  return { workerUrl: `${base}/`, objectUrl: `${base}/do`, stop: () => wrangler.stop() };
}
