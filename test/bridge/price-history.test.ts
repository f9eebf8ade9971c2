// price_history over the real link against the simulator's deterministic bars: daily and
// intraday, exactly `count` bars ending at the current price, the duration asked of TWS, an
// identical request within 15 s answered without asking TWS again, bad params refused.
import { describe, expect, it } from "vitest";
import { durationFor } from "../../bridge/price-history";
import { useRig } from "./helpers";

const current = useRig("file");

type History = { symbol: string; bar_size: string; duration: string; as_of: string; bars: { time: string; open: number; high: number; low: number; close: number; volume: number | null }[] };

describe("price_history", () => {
  it("daily bars: the requested count, oldest first, ending at today's price", async () => {
    const h = await current.rig.edge.ok<History>("price_history", { symbol: "SPY", bar_size: "1 day", count: 60 });
    expect(h.bars).toHaveLength(60);
    expect(h.duration).toBe(durationFor("1 day", 60));
    expect(h.bars.at(-1)?.close).toBe(580);
    expect(h.bars.every((b) => /^\d{4}-\d{2}-\d{2}$/.test(b.time) && b.low <= b.open && b.high >= b.close && (b.volume ?? 0) > 0)).toBe(true);
    expect([...h.bars.map((b) => b.time)].sort()).toEqual(h.bars.map((b) => b.time));
    // The same request at once: answered from the last answer (IBKR refuses identical requests within 15 s).
    const before = current.rig.sim.pacing().total;
    const again = await current.rig.edge.ok<History>("price_history", { symbol: "SPY", bar_size: "1 day", count: 60 });
    expect(again.as_of).toBe(h.as_of);
    expect(current.rig.sim.pacing().total).toBe(before);
  });

  it("intraday bars carry UTC times a bar apart; bad params are refused", async () => {
    const h = await current.rig.edge.ok<History>("price_history", { symbol: "AAPL", bar_size: "5 mins", count: 50 });
    expect(h.bars).toHaveLength(50);
    expect(h.bars.at(-1)?.close).toBe(230);
    const t = h.bars.map((b) => Date.parse(b.time));
    expect(t.every((x) => x % 300_000 === 0)).toBe(true);
    expect(Date.parse(h.bars[1]!.time) - Date.parse(h.bars[0]!.time)).toBeGreaterThanOrEqual(300_000);
    expect((await current.rig.edge.request("price_history", { symbol: "SPY", count: 501 })).error?.code).toBe("invalid_params");
    expect((await current.rig.edge.request("price_history", { symbol: "SPY", bar_size: "7 mins" })).error?.code).toBe("invalid_params");
    expect(durationFor("1 day", 500)).toBe("2 Y");
    expect(durationFor("1 min", 500)).toBe("8 D");
  });
});
