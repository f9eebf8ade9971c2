// Bars of an underlying from TWS's historical data (reqHistoricalData, trades, regular hours):
// daily or intraday, a bounded number, the most recent last. IBKR paces historical requests on
// its own (about 60 in 10 minutes, none identical within 15 s, error 162 when broken), so an
// identical request within 15 s is answered from the last answer instead of asking again.
import { BarSizeSetting, EventName, WhatToShow } from "@stoqey/ib";
import type { PriceHistory, PriceHistoryParams } from "../shared/protocol";
import type { ContractResolver } from "./contracts";
import { BridgeError } from "./errors";
import type { TwsConnection } from "./tws-connection";

const SECONDS: Record<PriceHistoryParams["bar_size"], number> = { "1 min": 60, "5 mins": 300, "15 mins": 900, "30 mins": 1800, "1 hour": 3600, "1 day": 86_400 };
const SETTING: Record<PriceHistoryParams["bar_size"], BarSizeSetting> = {
  "1 min": BarSizeSetting.MINUTES_ONE, "5 mins": BarSizeSetting.MINUTES_FIVE, "15 mins": BarSizeSetting.MINUTES_FIFTEEN,
  "30 mins": BarSizeSetting.MINUTES_THIRTY, "1 hour": BarSizeSetting.HOURS_ONE, "1 day": BarSizeSetting.DAYS_ONE,
};
/** IBKR: no identical historical request within 15 seconds. */
export const IDENTICAL_REQUEST_MS = 15_000;
/** A regular session: 6.5 hours. */
const SESSION_SECONDS = 23_400;

/**
 * The duration to ask for so that `count` bars fit, counting weekends and a few holidays:
 * calendar days for up to a year, years beyond (TWS refuses more than 365 D).
 */
export function durationFor(barSize: PriceHistoryParams["bar_size"], count: number): string {
  const sessions = barSize === "1 day" ? count : Math.ceil((count * SECONDS[barSize]) / SESSION_SECONDS);
  const days = Math.ceil((sessions * 7) / 5) + 5;
  return days > 365 ? `${Math.ceil(days / 365)} Y` : `${days} D`;
}

/** TWS's bar time: `yyyyMMdd` (daily) or epoch seconds (intraday, formatDate 2). */
function barTime(text: string, daily: boolean): string {
  if (daily) {
    const m = /^(\d{4})(\d{2})(\d{2})/.exec(text);
    if (!m) throw new BridgeError("tws_error", `TWS sent a daily bar dated "${text}"`);
    return `${m[1]}-${m[2]}-${m[3]}`;
  }
  const seconds = Number(text);
  if (!Number.isFinite(seconds)) throw new BridgeError("tws_error", `TWS sent an intraday bar dated "${text}"`);
  return new Date(seconds * 1000).toISOString();
}

export class PriceHistoryReader {
  private readonly recent = new Map<string, { at: number; answer: PriceHistory }>();

  constructor(
    private readonly tws: TwsConnection,
    private readonly contracts: ContractResolver,
    private readonly timeoutMs = 8_000,
  ) {}

  async bars(p: PriceHistoryParams): Promise<PriceHistory> {
    const key = `${p.symbol}|${p.bar_size}|${p.count}`;
    const cached = this.recent.get(key);
    if (cached && Date.now() - cached.at < IDENTICAL_REQUEST_MS) return cached.answer;
    const stock = await this.contracts.resolve({ symbol: p.symbol, sec_type: "STK" });
    const daily = p.bar_size === "1 day";
    const duration = durationFor(p.bar_size, p.count);
    const raw = await this.tws.call<{ time: string; open: number; high: number; low: number; close: number; volume: number | null }[]>(
      `price history of ${p.symbol}`, this.timeoutMs, (ctx) => {
        const bars: { time: string; open: number; high: number; low: number; close: number; volume: number | null }[] = [];
        ctx.on(EventName.historicalData, (reqId: number, date: string, open: number, high: number, low: number, close: number, volume: number) => {
          if (reqId !== ctx.reqId) return;
          if (date.startsWith("finished")) ctx.resolve(bars);
          else bars.push({ time: date, open, high, low, close, volume: Number.isFinite(volume) && volume >= 0 ? volume : null });
        });
        ctx.onError = (code, text) => {
          // 162: HMDS query returned no data or a pacing violation; 321: a request TWS refuses.
          if (code === 162 || code === 321 || code === 366) {
            ctx.reject(new BridgeError("tws_error", `TWS has no price history for ${p.symbol} (${p.bar_size}): TWS ${code}: ${text}`));
            return true;
          }
          return false;
        };
        return (ib) => ib.reqHistoricalData(ctx.reqId, stock.contract, "", duration, SETTING[p.bar_size], WhatToShow.TRADES, 1, daily ? 1 : 2, false);
      },
    );
    const bars = raw.slice(-p.count).map((b) => ({ ...b, time: barTime(b.time, daily) }));
    for (const b of bars)
      if (![b.open, b.high, b.low, b.close].every((x) => Number.isFinite(x) && x > 0)) throw new BridgeError("tws_error", `TWS sent a bar of ${p.symbol} at ${b.time} without prices`);
    const answer: PriceHistory = { symbol: p.symbol, bar_size: p.bar_size, bars, duration, as_of: this.tws.brokerNow().toISOString() };
    this.recent.set(key, { at: Date.now(), answer });
    for (const [k, v] of this.recent) if (Date.now() - v.at >= IDENTICAL_REQUEST_MS) this.recent.delete(k);
    return answer;
  }
}
