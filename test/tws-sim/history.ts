// Deterministic historical bars for reqHistoricalData: a seeded random walk per (symbol, bar
// size, bar time) that ends at the underlying's current price, so the same request at the same
// moment always returns the same bars and the last close is today's price. Pure; no sockets.

export const BAR_SECONDS: Record<string, number> = {
  "1 min": 60, "2 mins": 120, "3 mins": 180, "5 mins": 300, "10 mins": 600, "15 mins": 900, "20 mins": 1200, "30 mins": 1800,
  "1 hour": 3600, "2 hours": 7200, "3 hours": 10800, "4 hours": 14400, "8 hours": 28800, "1 day": 86400,
};
/** Most bars one answer carries (TWS has its own, larger limits per bar size). */
export const MAX_SIM_BARS = 5_000;

const DAY_MS = 86_400_000;
/** Regular trading hours in New York, as UTC for Eastern Standard Time (DST is not modelled). */
const RTH_OPEN_UTC_MIN = 14 * 60 + 30;
const RTH_CLOSE_UTC_MIN = 21 * 60;

export interface SimBar {
  /** Start of the bar, epoch ms (daily bars: 00:00 UTC of the trading day). */
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  wap: number;
  count: number;
}

/** `N S|D|W|M|Y` → seconds, or undefined when TWS would refuse the duration. */
export function durationSeconds(duration: string): number | undefined {
  const m = /^(\d+) ([SDWMY])$/.exec(duration.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { S: 1, D: 86_400, W: 7 * 86_400, M: 30 * 86_400, Y: 365 * 86_400 }[m[2] as "S"];
  return n > 0 ? n * unit : undefined;
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0) / 4294967296;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const weekday = (ms: number): boolean => {
  const d = new Date(ms).getUTCDay();
  return d !== 0 && d !== 6;
};

/** Bar start times (ascending) within `seconds` before `endMs`: weekdays, RTH for intraday bars. */
function barTimes(barSec: number, seconds: number, endMs: number): number[] {
  const from = endMs - seconds * 1000;
  const out: number[] = [];
  if (barSec >= 86_400) {
    for (let day = Math.floor(endMs / DAY_MS) * DAY_MS; day > from - DAY_MS && out.length < MAX_SIM_BARS; day -= DAY_MS) if (weekday(day)) out.push(day);
    return out.reverse();
  }
  const step = barSec * 1000;
  for (let t = Math.floor(endMs / step) * step - step; t >= from && out.length < MAX_SIM_BARS; t -= step) {
    const minute = Math.floor((t % DAY_MS) / 60_000);
    if (weekday(t) && minute >= RTH_OPEN_UTC_MIN && minute < RTH_CLOSE_UTC_MIN) out.push(t);
  }
  return out.reverse();
}

/** The bars of a symbol ending at `price` (the last close) at `endMs`. */
export function historicalBars(symbol: string, price: number, vol: number, barSize: string, duration: string, endMs: number): SimBar[] | undefined {
  const barSec = BAR_SECONDS[barSize];
  const seconds = durationSeconds(duration);
  if (barSec === undefined || seconds === undefined) return undefined;
  const times = barTimes(barSec, seconds, endMs);
  // Per-bar move: the annual volatility scaled to the bar (6.5 trading hours a day, 252 days).
  const sigma = vol * Math.sqrt(Math.min(barSec, 23_400) / (23_400 * 252));
  const bars: SimBar[] = [];
  let close = price;
  for (let i = times.length - 1; i >= 0; i--) {
    const t = times[i] as number;
    const u = hash(`${symbol}|${barSize}|${t}`);
    const move = (u - 0.5) * 2 * sigma * 1.7; // uniform with the walk's standard deviation
    const open = round2(close / (1 + move));
    const wick = sigma * 0.6 * hash(`${symbol}|wick|${t}`);
    const high = round2(Math.max(open, close) * (1 + wick));
    const low = round2(Math.min(open, close) * (1 - wick));
    const volume = Math.round((barSec >= 86_400 ? 50_000_000 : 50_000_000 * (barSec / 23_400)) * (0.6 + 0.8 * hash(`${symbol}|vol|${t}`)));
    bars.push({ time: t, open, high, low, close: round2(close), volume, wap: round2((open + high + low + close) / 4), count: Math.max(1, Math.round(volume / 120)) });
    close = open;
  }
  return bars.reverse();
}

/** TWS's bar time text: `yyyyMMdd` for daily bars; intraday `yyyyMMdd HH:mm:ss` (formatDate 1) or epoch seconds (2). */
export function barTimeText(bar: SimBar, daily: boolean, formatDate: number): string {
  const d = new Date(bar.time);
  const ymd = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, "0")}${String(d.getUTCDate()).padStart(2, "0")}`;
  if (daily) return ymd;
  if (formatDate === 2) return String(Math.floor(bar.time / 1000));
  // formatDate 1 intraday: exchange time; EST is UTC-5 (DST not modelled).
  const e = new Date(bar.time - 5 * 3_600_000);
  return `${ymd} ${String(e.getUTCHours()).padStart(2, "0")}:${String(e.getUTCMinutes()).padStart(2, "0")}:00 US/Eastern`;
}
