// reqHistoricalData over the wire at 193 and 176: daily and intraday bars decoded by the real
// client (no 505), deterministic, ending at the current price, well-formed (low ≤ open/close ≤
// high), with the end marker; bad bar sizes and option contracts get TWS's errors.
import { BarSizeSetting, EventName, SecType, WhatToShow } from "@stoqey/ib";
import { afterEach, describe, expect, it } from "vitest";
import { type Client, connect, on, waitFor } from "../support/ib-client";
import { closeCleanly } from "../support/sim-teardown";
import { type Simulator } from "./index";
import { startPinnedSimulator } from "../support/pinned-sim";

let sim: Simulator | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await closeCleanly(clients, sim);
  sim = undefined;
});

type Bar = { date: string; open: number; high: number; low: number; close: number; volume: number; count: number | undefined; wap: number };

async function history(c: Client, reqId: number, symbol: string, duration: string, barSize: BarSizeSetting, formatDate: number): Promise<{ bars: Bar[]; end: string }> {
  const bars: Bar[] = [];
  let end = "";
  const done = new Promise<void>((resolve) => {
    on(c.ib, EventName.historicalData, (id: number, date: string, open: number, high: number, low: number, close: number, volume: number, count: number, wap: number) => {
      if (id !== reqId) return;
      if (date.startsWith("finished")) {
        end = date;
        resolve();
      } else bars.push({ date, open, high, low, close, volume, count, wap });
    });
  });
  c.ib.reqHistoricalData(reqId, { symbol, secType: SecType.STK, exchange: "SMART", currency: "USD" }, "", duration, barSize, WhatToShow.TRADES, 1, formatDate, false);
  await done;
  return { bars, end };
}

describe.each([193, 176])("historical data at server version %i", (serverVersion) => {
  it("daily bars: weekdays, deterministic, ending at the current price", async () => {
    sim = await startPinnedSimulator({ serverVersion });
    const c = await connect(sim.port, 1);
    clients.push(c);
    const a = await history(c, 41, "SPY", "30 D", BarSizeSetting.DAYS_ONE, 1);
    const b = await history(c, 42, "SPY", "30 D", BarSizeSetting.DAYS_ONE, 1);
    expect(a.bars.length).toBeGreaterThanOrEqual(20);
    expect(a.bars.length).toBeLessThanOrEqual(23);
    expect(b.bars).toEqual(a.bars);
    expect(a.end).toMatch(/^finished-\d{8} \d{2}:\d{2}:\d{2}-\d{8} \d{2}:\d{2}:\d{2}$/);
    expect(a.bars.at(-1)?.close).toBe(580);
    for (const bar of a.bars) {
      expect(bar.date).toMatch(/^\d{8}$/);
      const day = new Date(`${bar.date.slice(0, 4)}-${bar.date.slice(4, 6)}-${bar.date.slice(6)}T12:00:00Z`).getUTCDay();
      expect(day === 0 || day === 6).toBe(false);
      expect(bar.low).toBeLessThanOrEqual(Math.min(bar.open, bar.close));
      expect(bar.high).toBeGreaterThanOrEqual(Math.max(bar.open, bar.close));
      expect(bar.volume).toBeGreaterThan(0);
      expect(bar.count).toBeGreaterThan(0);
    }
    // Consecutive bars join: each open is the previous close.
    for (let i = 1; i < a.bars.length; i++) expect(a.bars[i]!.open).toBe(a.bars[i - 1]!.close);
  });

  it("intraday bars in epoch seconds; errors for a bad bar size and an option", async () => {
    sim = await startPinnedSimulator({ serverVersion });
    const c = await connect(sim.port, 1);
    clients.push(c);
    const { bars } = await history(c, 43, "AAPL", "5 D", BarSizeSetting.MINUTES_FIVE, 2);
    expect(bars.length).toBeGreaterThan(0);
    for (const bar of bars) expect(Number(bar.date) % 300).toBe(0);
    expect(bars.at(-1)?.close).toBe(230);
    const err = waitFor<[Error, number, number]>(c.ib, EventName.error, (_e, code, id) => id === 44);
    c.ib.reqHistoricalData(44, { symbol: "AAPL", secType: SecType.STK, exchange: "SMART", currency: "USD" }, "", "5 D", "7 mins" as BarSizeSetting, WhatToShow.TRADES, 1, 2, false);
    expect((await err)[1]).toBe(321);
    const opt = waitFor<[Error, number, number]>(c.ib, EventName.error, (_e, code, id) => id === 45);
    c.ib.reqHistoricalData(45, { conId: sim.optionConId("SPY", sim.expiries()[1] as string, 580, "C") as number, exchange: "SMART" }, "", "5 D", BarSizeSetting.DAYS_ONE, WhatToShow.TRADES, 1, 1, false);
    expect((await opt)[1]).toBe(162);
  });
});
