// The benchmark's floors, run by the same wrangler as the edge: a Worker that answers at once,
// and a Worker that forwards to a Durable Object that answers at once. Every measured route is
// reported against these, taken in the same run (never against another day's figures).
import { DurableObject } from "cloudflare:workers";

interface Env {
  HELLO: DurableObjectNamespace<HelloDO>;
}

export class HelloDO extends DurableObject<Env> {
  override async fetch(): Promise<Response> {
    return new Response("hello from the object");
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (new URL(request.url).pathname === "/do") return env.HELLO.get(env.HELLO.idFromName("floor")).fetch(request);
    return new Response("hello from the worker");
  },
} satisfies ExportedHandler<Env>;
