// Ten agents (ten MCP SDK clients, each its own connection) send twenty place_order calls each, all
// at once: mixed underlyings (SPY, QQQ, IWM, AAPL), five idempotency keys shared by every agent for
// the same order, one key reused with different orders, the rest without keys. The one decision
// point must hold: no limit overshot (orders at TWS ≤ MAX_ORDERS_PER_MINUTE, every reserved risk
// within its limit), each idempotency key at most one order at TWS, and every refusal in the audit
// log with its reason (refusals in the audit = refused answers, check by check).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_ORDERS_PER_MINUTE, MAX_TRADE_RISK } from "../../shared/limits";
import { type FaultStack, type OptionQuote, type PlaceAnswer, details, expectLevel, longOption, quotedOptions, simChain, startFaultStack, waitUntil } from "./faults";
import type { McpClient } from "./harness";

const AGENTS = 10;
const CALLS = 20;
const SHARED_KEYS = 5;

let t: FaultStack;
beforeAll(async () => {
  t = await startFaultStack("concurrency");
});
afterAll(async () => {
  await t?.stop();
});

interface Call { agent: number; key: string | null; args: ReturnType<typeof longOption> & { idempotency_key?: string } }
interface Outcome { call: Call; isError: boolean; answer: PlaceAnswer; text: string }

describe("ten MCP sessions × twenty place_order calls at once", () => {
  let placed: string[] = [];

  it("overshoots no limit, places at most one order per idempotency key, and audits every refusal with its reason", async () => {
    const chain = await simChain(t);
    const contracts: OptionQuote[] = [];
    for (const symbol of ["SPY", "QQQ", "IWM", "AAPL"]) {
      contracts.push(...(await quotedOptions(t.mcp, chain[symbol]!, symbol, "C", 3)));
      contracts.push(...(await quotedOptions(t.mcp, chain[symbol]!, symbol, "P", 2)));
    }
    expect(contracts).toHaveLength(20);
    const order = (i: number) => {
      const q = contracts[i % contracts.length]!;
      return longOption(q, q.mid, q.right === "C" ? "LONG_CALL" : "LONG_PUT");
    };

    const calls: Call[] = [];
    for (let agent = 0; agent < AGENTS; agent++)
      for (let k = 0; k < CALLS; k++) {
        // Keys shared by all agents for the same order (a retry storm), one key reused for
        // different orders (a buggy agent), and plain calls cycling through the contracts.
        if (k < SHARED_KEYS) calls.push({ agent, key: `storm-key-${k}`, args: { ...order(k * 4), idempotency_key: `storm-key-${k}` } });
        else if (k === SHARED_KEYS) calls.push({ agent, key: "reused-key-0", args: { ...order(agent + 1), idempotency_key: "reused-key-0" } });
        else calls.push({ agent, key: null, args: order(agent + k) });
      }

    const agents: McpClient[] = await Promise.all(Array.from({ length: AGENTS }, (_, i) => t.newMcp(`agent-${i}`)));
    const auditStart = (await t.audit()).at(-1)?.seq ?? 0;
    const simBefore = (await t.simState()).orders.length;

    const outcomes: Outcome[] = await Promise.all(
      calls.map(async (call) => {
        const r = await agents[call.agent]!.tool<PlaceAnswer>("place_order", call.args);
        return { call, isError: r.isError, answer: r.structured, text: r.text };
      }),
    );
    await Promise.all(agents.map((a) => a.close()));

    // Every call got an answer in the tool's shape: success, or a refusal naming its checks.
    const refused = outcomes.filter((o) => o.isError);
    const accepted = outcomes.filter((o) => !o.isError);
    for (const o of refused) {
      expect(o.answer.status, o.text).toBe("Refused");
      expect(o.answer.violations.length, o.text).toBeGreaterThan(0);
      for (const v of o.answer.violations) expect(v.message.length).toBeGreaterThan(10);
    }
    for (const o of accepted) expect(o.answer.trade_id, o.text).toMatch(/^LONG_(CALL|PUT)_[A-Z]+_\d{8}_\d{6}(_\d+)?$/);
    const refusalChecks = new Set(refused.flatMap((o) => o.answer.violations.map((v) => v.check)));
    expect(refusalChecks.has("order_rate") || refusalChecks.has("duplicate_order"), [...refusalChecks].join(",")).toBe(true);

    // No limit overshot: at most MAX_ORDERS_PER_MINUTE orders reached TWS, each within the per-trade risk.
    const sim = await t.simState();
    const newOrders = sim.orders.slice(simBefore);
    expect(newOrders.length).toBeGreaterThan(0);
    expect(newOrders.length).toBeLessThanOrEqual(MAX_ORDERS_PER_MINUTE);
    const placedIds = new Set(accepted.map((o) => o.answer.trade_id));
    placed = [...placedIds] as string[];
    expect(new Set(newOrders.map((o) => o.orderRef))).toEqual(placedIds);
    const state = await t.adminState();
    for (const limit of state.limits) expect(limit.used, `${limit.name} ${limit.used} > ${limit.limit}`).toBeLessThanOrEqual(limit.limit);
    expect(state.limits.find((l) => l.name === "order_rate")!.used).toBe(newOrders.length);
    const active = state.trades.filter((x) => placedIds.has(x.trade_id));
    expect(active).toHaveLength(placedIds.size);
    for (const trade of active) {
      expect(trade.reserved_risk).toBeGreaterThan(0);
      expect(trade.reserved_risk).toBeLessThanOrEqual(MAX_TRADE_RISK);
    }
    // No two working orders of the same structure (the duplicate-order fingerprint held).
    const structures = active.map((x) => JSON.stringify((x as unknown as { legs: unknown }).legs));
    expect(new Set(structures).size).toBe(structures.length);

    // Each idempotency key: every answer the same, at most one order at TWS.
    const keys = [...new Set(calls.map((c) => c.key).filter((k): k is string => k !== null))];
    for (const key of keys) {
      const mine = outcomes.filter((o) => o.call.key === key);
      const tradeIds = new Set(mine.filter((o) => !o.isError).map((o) => o.answer.trade_id));
      expect(tradeIds.size, `${key}: ${[...tradeIds].join(",")}`).toBeLessThanOrEqual(1);
      const atTws = newOrders.filter((o) => tradeIds.has(o.orderRef));
      expect(atTws.length, key).toBeLessThanOrEqual(1);
      if (key.startsWith("storm-")) {
        // Same arguments every time: all ten agents get the first answer (or its in-flight form).
        const outcomesSeen = new Set(mine.map((o) => (o.isError ? `refused:${o.answer.violations.map((v) => v.check).sort().join("+")}` : `placed:${o.answer.trade_id}`)));
        expect(outcomesSeen.size, `${key}: ${[...outcomesSeen].join(" | ")}`).toBe(1);
      } else {
        // Different orders under one key: everything after the first is refused for the key.
        const conflicts = mine.filter((o) => o.answer.violations.some((v) => v.check === "idempotency_key"));
        expect(conflicts.length).toBeGreaterThanOrEqual(AGENTS - 2);
      }
    }

    // Every refusal is in the audit log with its reason: the same refusals, check by check.
    const audit = (await t.audit()).filter((r) => r.seq > auditStart);
    expect(audit.filter((r) => r.action === "tool_call" && details(r).tool === "place_order")).toHaveLength(AGENTS * CALLS);
    const auditedRefusals = audit
      .filter((r) => r.action === "order_refused" || (r.action === "idempotent_replay" && details(r).refused === true))
      .map((r) => ((details(r).violations as { check: string; message: string }[] | undefined) ?? []).map((v) => v.check).sort().join("+"));
    const answeredRefusals = refused.map((o) => o.answer.violations.map((v) => v.check).sort().join("+"));
    expect(auditedRefusals.sort()).toEqual(answeredRefusals.sort());

    await expectLevel(t);
  });

  it("ten sessions closing the same open trade at once send ONE close order, and every refused close is audited with its reason", async () => {
    expect(placed.length).toBeGreaterThan(0);
    // Fill a resting long option by moving its underlying its way.
    let open: string | undefined;
    for (const pct of [-1.5, 3]) {
      for (const symbol of ["SPY", "QQQ", "IWM", "AAPL"]) await t.stack.simControl("/move", { symbol, pct });
      await waitUntil("one of the placed trades to fill", async () => {
        open = (await t.adminState()).trades.find((x) => placed.includes(x.trade_id) && x.state === "open")?.trade_id;
        return open !== undefined;
      }, 10_000).catch(() => undefined);
      if (open) break;
    }
    expect(open, "no placed trade filled after moving the market both ways").toBeDefined();
    const tradeId = open!;

    const agents: McpClient[] = await Promise.all(Array.from({ length: AGENTS }, (_, i) => t.newMcp(`closer-${i}`)));
    const auditStart = (await t.audit()).at(-1)?.seq ?? 0;
    const answers = await Promise.all(
      agents.flatMap((agent) => [0, 1].map(() => agent.tool<{ success: boolean; status: string; violations: { check: string; message: string }[] }>("close_position", { trade_id: tradeId }))),
    );
    await Promise.all(agents.map((a) => a.close()));

    const sent = answers.filter((a) => !a.isError);
    const refused = answers.filter((a) => a.isError);
    expect(sent, JSON.stringify(answers.map((a) => a.text))).toHaveLength(1);
    for (const r of refused) {
      expect(r.structured.status, r.text).toBe("Refused");
      expect(r.structured.violations.map((v) => v.check)).toEqual(["trade_state"]);
    }
    await waitUntil("the trade closed", async () => (await t.adminState()).trades.find((x) => x.trade_id === tradeId)?.state === "closed", 20_000);
    expect((await t.simState()).orders.filter((o) => o.orderRef === `${tradeId}_CLOSE`)).toHaveLength(1);

    const audit = (await t.audit()).filter((r) => r.seq > auditStart);
    expect(audit.filter((r) => r.action === "tool_call" && details(r).tool === "close_position")).toHaveLength(AGENTS * 2);
    expect(audit.filter((r) => r.action === "close_approved" && details(r).trade_id === tradeId)).toHaveLength(1);
    const auditedRefusals = audit.filter((r) => r.action === "close_refused" && details(r).trade_id === tradeId);
    expect(auditedRefusals.map((r) => ((details(r).violations as { check: string }[] | undefined) ?? []).map((v) => v.check).join("+"))).toEqual(refused.map(() => "trade_state"));
    await expectLevel(t);
  });
});
