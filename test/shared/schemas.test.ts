// The zod contracts of shared/: the seed's tool shapes accept what the seed sends and refuse bad
// input with a specific message; the bridge protocol envelope round-trips and refuses strays.
import { describe, expect, it } from "vitest";
import { PlaceOrderInput, ClosePositionInput, GetOrderStatusInput } from "../../shared/tools";
import { BridgeMessage, EdgeMessage, Event, Hello, helloSigningText, Ops, parseParams } from "../../shared/protocol";
import { calendarDay, makeTradeId, tradingDay } from "../../shared/trade-id";
import { ironCondor } from "./fixtures";

const seedOrder = {
  symbol: "AAPL",
  strategy: "iron_condor",
  legs: ironCondor(),
  max_risk: 360,
  capital_required: 360,
  metadata: { thesis: "range-bound into earnings" },
};

const firstIssue = (result: { success: boolean; error?: { issues: { message: string; path: PropertyKey[] }[] } }) =>
  result.error?.issues[0] ? `${result.error.issues[0].path.join(".")}: ${result.error.issues[0].message}` : null;

describe("place_order input", () => {
  it("accepts the seed's shape, with an optional idempotency key", () => {
    expect(PlaceOrderInput.safeParse(seedOrder).success).toBe(true);
    expect(PlaceOrderInput.safeParse({ ...seedOrder, idempotency_key: "agent-run-42:order-1" }).success).toBe(true);
  });

  it("accepts stock legs for covered structures", () => {
    const covered = { ...seedOrder, legs: [{ action: "BUY", contract: { symbol: "AAPL", sec_type: "STK" }, quantity: 100, price: 190 }] };
    expect(PlaceOrderInput.safeParse(covered).success).toBe(true);
  });

  it("normalises the symbol to upper case", () => {
    expect(PlaceOrderInput.parse({ ...seedOrder, symbol: "aapl" }).symbol).toBe("AAPL");
  });

  it.each([
    ["an impossible date", { legs: [{ ...ironCondor()[0]!, contract: { symbol: "AAPL", expiry: "2026-02-30", strike: 90, right: "P" } }] }, "legs.0.contract.expiry: expiry is not a real calendar date"],
    ["a wrong date format", { legs: [{ ...ironCondor()[0]!, contract: { symbol: "AAPL", expiry: "20261218", strike: 90, right: "P" } }] }, "legs.0.contract.expiry: expiry must be YYYY-MM-DD"],
    ["a negative max_risk", { max_risk: -1 }, "max_risk: max_risk cannot be negative"],
    ["no legs", { legs: [] }, "legs: an order needs at least one leg"],
    ["a short idempotency key", { idempotency_key: "abc" }, "idempotency_key: idempotency_key must be at least 8 characters"],
  ])("refuses %s with a specific message", (_name, patch, message) => {
    expect(firstIssue(PlaceOrderInput.safeParse({ ...seedOrder, ...patch }))).toBe(message);
  });

  it("normalises strikes to whole cents and prices off a cent by float noise, before any check (issue 23 item 4)", () => {
    const [first, ...rest] = ironCondor();
    const noisy = { ...first!, price: 1.0000000001, contract: { ...(first!.contract as object), strike: 90.0000000001 } };
    const parsed = PlaceOrderInput.parse({ ...seedOrder, legs: [noisy, ...rest] });
    expect(parsed.legs[0]!.price).toBe(1);
    expect((parsed.legs[0]!.contract as { strike: number }).strike).toBe(90);
    // The bridge reads the same schema (second key): its legs are the same cents.
    const place = parseParams("place", { trade_id: "T", symbol: "AAPL", strategy: "x", legs: [noisy], max_risk: 1 }) as { legs: { price: number; contract: { strike: number } }[] };
    expect(place.legs[0]!.contract.strike).toBe(90);
    // A price truly between cents is not repriced: the risk engine refuses it and says why.
    expect(PlaceOrderInput.parse({ ...seedOrder, legs: [{ ...first!, price: 1.234 }, ...rest] }).legs[0]!.price).toBe(1.234);
    // A strike that rounds to nothing is refused, not sent as 0.
    expect(firstIssue(PlaceOrderInput.safeParse({ ...seedOrder, legs: [{ ...first!, contract: { ...(first!.contract as object), strike: 0.004 } }] }))).toBe("legs.0.contract.strike: strike must be above zero");
  });

  it("refuses unknown fields rather than ignoring them (a limit cannot be smuggled in)", () => {
    const result = PlaceOrderInput.safeParse({ ...seedOrder, max_trade_risk: 100_000 });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.code).toBe("unrecognized_keys");
  });

  it("refuses oversized metadata", () => {
    expect(PlaceOrderInput.safeParse({ ...seedOrder, metadata: { note: "x".repeat(4_000) } }).success).toBe(true);
    expect(firstIssue(PlaceOrderInput.safeParse({ ...seedOrder, metadata: { note: "x".repeat(4_100) } }))).toBe(
      "metadata: metadata must be at most 4096 characters as JSON",
    );
  });

  it("refuses a NaN or infinite price", () => {
    expect(PlaceOrderInput.safeParse({ ...seedOrder, legs: [{ ...ironCondor()[0]!, price: Number.NaN }] }).success).toBe(false);
    expect(PlaceOrderInput.safeParse({ ...seedOrder, max_risk: Number.POSITIVE_INFINITY }).success).toBe(false);
  });
});

describe("other seed tools", () => {
  it("close_position takes a seed-shaped trade id", () => {
    expect(ClosePositionInput.safeParse({ trade_id: "IRON_CONDOR_AAPL_20251119_103045" }).success).toBe(true);
    expect(ClosePositionInput.safeParse({ trade_id: "DROP TABLE trades" }).success).toBe(false);
  });
  it("get_order_status takes a positive integer id", () => {
    expect(GetOrderStatusInput.safeParse({ order_id: 12 }).success).toBe(true);
    expect(GetOrderStatusInput.safeParse({ order_id: 1.5 }).success).toBe(false);
  });
});

describe("trade ids", () => {
  it("are the seed's STRATEGY_SYMBOL_YYYYMMDD_HHMMSS in New York time", () => {
    // 15:30:45 UTC on 19 Nov 2025 is 10:30:45 in New York (EST, UTC−5).
    const id = makeTradeId("iron condor", "aapl", new Date("2025-11-19T15:30:45Z"));
    expect(id).toBe("IRON_CONDOR_AAPL_20251119_103045");
    expect(ClosePositionInput.safeParse({ trade_id: id }).success).toBe(true);
    expect(makeTradeId("iron condor", "aapl", new Date("2025-11-19T15:30:45Z"), 2)).toBe("IRON_CONDOR_AAPL_20251119_103045_2");
  });
  it("the trading day runs from one close to the next (the limits' day); the calendar date is New York's", () => {
    // Wednesday 2025-11-19, 10:00 and 15:59 New York: that day's session.
    expect(tradingDay(new Date("2025-11-19T15:00:00Z"))).toBe("2025-11-19");
    expect(tradingDay(new Date("2025-11-19T20:59:59Z"))).toBe("2025-11-19");
    // Its 16:00 close and the evening after: Thursday's.
    expect(tradingDay(new Date("2025-11-19T21:00:00Z"))).toBe("2025-11-20");
    expect(tradingDay(new Date("2025-11-20T03:00:00Z"))).toBe("2025-11-20");
    expect(calendarDay(new Date("2025-11-20T03:00:00Z"))).toBe("2025-11-19");
    // Friday 2026-12-04 23:30 New York (Saturday in UTC), and the weekend: Monday's; the calendar says Friday, Saturday.
    expect(tradingDay(new Date("2026-12-05T04:30:00Z"))).toBe("2026-12-07");
    expect(calendarDay(new Date("2026-12-05T04:30:00Z"))).toBe("2026-12-04");
    expect(tradingDay(new Date("2026-12-05T17:00:00Z"))).toBe("2026-12-07");
    expect(calendarDay(new Date("2026-12-05T17:00:00Z"))).toBe("2026-12-05");
    // Across midnight UTC in daylight saving time (EDT, UTC−4), on a trading evening.
    expect(calendarDay(new Date("2025-07-01T03:59:59Z"))).toBe("2025-06-30");
    expect(calendarDay(new Date("2025-07-01T04:00:00Z"))).toBe("2025-07-01");
    expect(tradingDay(new Date("2025-07-01T03:59:59Z"))).toBe("2025-07-01");
  });
});

describe("bridge protocol", () => {
  const health = { state: "connected", since: "2026-11-24T15:00:00Z", last_error: null, server_version: 193 } as const;

  it("parses a signed hello, refuses an unsigned one and one from another protocol version", () => {
    const hello = { v: 1, type: "hello", bridge_version: "0.1.0", bridge_id: "b-12345678", account_id: "DU123456", mode: "sim", tws: health, last_seq: 0, signature: "c2ln" };
    expect(Hello.parse(hello)).toEqual(hello);
    expect(BridgeMessage.safeParse({ ...hello, v: 2 }).success).toBe(false);
    const { signature: _signature, ...unsigned } = hello;
    expect(Hello.safeParse(unsigned).success).toBe(false);
  });

  it("signs the challenge with every field of the hello: any change makes another text", () => {
    const challenge = { account_id: "DU123456", connection_id: "0b9f3c1e-0000-4000-8000-000000000001", nonce: "n".repeat(43) };
    const tws = { state: "connected" as const, since: "2026-11-24T15:00:00Z", last_error: null, server_version: 193, session: "s-1" };
    const fields = { bridge_version: "0.1.0", bridge_id: "b-12345678", account_id: "DU123456", mode: "sim" as const, last_seq: 4, tws };
    const text = helloSigningText(challenge, fields);
    for (const changed of [
      helloSigningText({ ...challenge, nonce: "m".repeat(43) }, fields),
      helloSigningText({ ...challenge, connection_id: "0b9f3c1e-0000-4000-8000-000000000002" }, fields),
      helloSigningText(challenge, { ...fields, bridge_id: "b-87654321" }),
      helloSigningText(challenge, { ...fields, bridge_version: "0.1.1" }),
      helloSigningText(challenge, { ...fields, last_seq: 5 }),
      helloSigningText(challenge, { ...fields, mode: "live_tws" }),
      helloSigningText(challenge, { ...fields, tws: { ...tws, state: "down" } }),
      helloSigningText(challenge, { ...fields, tws: { ...tws, last_error: "x" } }),
      helloSigningText(challenge, { ...fields, tws: { ...tws, session: "s-2" } }),
    ])
      expect(changed).not.toBe(text);
  });

  it("types every event and refuses an event with the wrong data", () => {
    const status = {
      v: 1, type: "event", seq: 7, at: "2026-11-24T15:00:01Z", event: "order_status",
      data: { order_id: 5, perm_id: null, order_ref: "IRON_CONDOR_AAPL_20251119_103045", status: "Filled", filled: 1, remaining: 0, avg_fill_price: -1.4, why_held: null, reason: null },
    };
    expect(Event.parse(status)).toEqual(status);
    expect(BridgeMessage.safeParse(status).success).toBe(true);
    expect(Event.safeParse({ ...status, data: { ...status.data, status: "Exploded" } }).success).toBe(false);
    expect(Event.safeParse({ ...status, event: "order_status_typo" }).success).toBe(false);
    expect(Event.safeParse({ ...status, seq: 0 }).success).toBe(false);
  });

  it("parses requests and checks their params per op", () => {
    const request = { v: 1, type: "request", id: "r1", op: "cancel", params: { order_id: 17 } };
    expect(EdgeMessage.parse(request)).toEqual(request);
    expect(parseParams("cancel", { order_id: 17 })).toEqual({ order_id: 17 });
    expect(() => parseParams("cancel", { order_id: -1 })).toThrow();
    expect(EdgeMessage.safeParse({ ...request, op: "withdraw_funds" }).success).toBe(false);
  });

  it("fills defaults of a place request: a limit order that opens", () => {
    const params = parseParams("place", { trade_id: "IRON_CONDOR_AAPL_20251119_103045", symbol: "AAPL", strategy: "iron_condor", legs: ironCondor(), max_risk: 360 });
    expect(params.order_type).toBe("LMT");
    expect(params.intent).toBe("open");
  });

  it("has a params and a result schema for every op", () => {
    for (const [name, op] of Object.entries(Ops)) {
      expect(op.params, name).toBeDefined();
      expect(op.result, name).toBeDefined();
    }
  });

  it("parses both response forms", () => {
    expect(BridgeMessage.safeParse({ v: 1, type: "response", id: "r1", ok: true, result: { order_id: 1 } }).success).toBe(true);
    expect(BridgeMessage.safeParse({ v: 1, type: "response", id: "r1", ok: false, error: { code: "second_key_refused", message: "Max risk ($600.00) exceeds limit ($500.00)" } }).success).toBe(true);
    expect(BridgeMessage.safeParse({ v: 1, type: "response", id: "r1", ok: false, result: 1 }).success).toBe(false);
  });
});
