// Without TEST_CLOCK (production; this file runs in its own project, edge-no-clock) the test clock
// does not exist: POST /api/test/clock is answered exactly like an unknown admin route, and a start
// or shift found in storage is never read — the desk keeps the machine's clock. This project runs
// with wrangler.toml's vars, so these fail too if wrangler.toml ever sets TEST_CLOCK.
import { evictDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { bookLosingCondor, Edge, FakeBridge, limitsUsed, reconciled } from "./harness";

const DAY_MS = 86_400_000;
const asAdmin = (path: string, body: unknown) =>
  SELF.fetch(`https://edge.test${path}`, { method: "POST", headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" }, body: JSON.stringify(body) });

describe("the test clock, absent", () => {
  it("POST /api/test/clock is an unknown route, through the Worker and at the Durable Object, and changes nothing", async () => {
    const clock = await asAdmin("/api/test/clock", { advance_ms: DAY_MS });
    const unknown = await asAdmin("/api/test/clock-not-a-route", { advance_ms: DAY_MS });
    expect(clock.status).toBe(404);
    expect(await clock.json()).toEqual({ error: "no admin route POST /api/test/clock" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: "no admin route POST /api/test/clock-not-a-route" });
    const edge = new Edge();
    expect(await edge.admin("/api/test/clock", { advance_ms: DAY_MS })).toEqual({ status: 404, body: { error: "no admin route POST /api/test/clock" } });
    expect(await edge.audit("test_clock_advanced")).toEqual([]);
  });

  it("a shift found in storage is ignored: today's loss stays today's", async () => {
    const edge = new Edge();
    const bridge = await FakeBridge.connect(edge);
    await reconciled(edge, 1);
    await bookLosingCondor(edge, bridge);
    expect((await limitsUsed(edge)).daily_loss).toBe(128);
    bridge.close();
    await edge.inside((sql) => {
      sql.exec("INSERT INTO kv (key, value_json) VALUES ('test_clock_shift_ms', ?)", JSON.stringify(2 * DAY_MS));
      sql.exec("INSERT INTO kv (key, value_json) VALUES ('test_clock_start', ?)", JSON.stringify({ start: new Date(Date.now() + 2 * DAY_MS).toISOString(), start_shift_ms: 2 * DAY_MS }));
    });
    // A fresh instance reads its state from storage in the constructor.
    await evictDurableObject(edge.stub());
    expect((await limitsUsed(edge)).daily_loss).toBe(128);
    expect(await edge.admin("/api/test/clock", { advance_ms: 0 })).toMatchObject({ status: 404 });
  });
});
