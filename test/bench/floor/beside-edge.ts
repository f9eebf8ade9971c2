// The edge with the benchmark's floors beside it, in one Worker under one wrangler dev (as the
// issue measured: "interleaved with a hello-world Durable Object under the same wrangler dev").
// /__floor answers at once from the Worker, /__floor/do from a hello-world Durable Object; every
// other request is the edge's own, unchanged. Only `npm run bench` bundles this entry (its
// binding and migration, test/bench/floors.ts, are added to a copy of wrangler.toml at start): the deployed edge never
// has these routes.
import { DurableObject } from "cloudflare:workers";
import edge from "../../../edge/index";
import type { Env as EdgeEnv } from "../../../edge/http/env";

export { AccountDO } from "../../../edge/index";

/** The floor's Durable Object: answers at once. */
export class HelloDO extends DurableObject {
  override async fetch(): Promise<Response> {
    return new Response("hello from the object");
  }
}

type Env = EdgeEnv & { HELLO: DurableObjectNamespace<HelloDO> };

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path === "/__floor") return new Response("hello from the worker");
    if (path === "/__floor/do") return env.HELLO.get(env.HELLO.idFromName("floor")).fetch(request);
    return edge.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
