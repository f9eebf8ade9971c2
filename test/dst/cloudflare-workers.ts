// What the edge imports from "cloudflare:workers", for the deterministic simulation in Node: the
// base classes only (their constructors keep ctx and env, as workerd's do). Everything the
// Durable Object does with its ctx goes through test/dst/durable-object.ts's state.
export class DurableObject<Env = unknown> {
  constructor(
    protected readonly ctx: DurableObjectState,
    protected readonly env: Env,
  ) {}
}

export class WorkerEntrypoint<Env = unknown> {
  constructor(
    protected readonly ctx: ExecutionContext,
    protected readonly env: Env,
  ) {}
}
