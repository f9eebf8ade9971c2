// Trade ids as the seed writes them: STRATEGY_SYMBOL_YYYYMMDD_HHMMSS in New York time, e.g.
// IRON_CONDOR_AAPL_20251119_103045. Every IBKR order carries it as `orderRef`, which is how
// the ledger is reconciled with TWS after a disconnect.

const nyParts = new Intl.DateTimeFormat("en-US", {
  timeZone: "America/New_York",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

/** Calendar fields of an instant in America/New_York. */
export function newYorkParts(at: Date): { date: string; time: string } {
  const parts = Object.fromEntries(nyParts.formatToParts(at).map((p) => [p.type, p.value]));
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    time: `${parts.hour}${parts.minute}${parts.second}`,
  };
}

/** The trading day (America/New_York calendar date, YYYY-MM-DD) an instant belongs to. */
export function tradingDay(at: Date): string {
  return newYorkParts(at).date;
}

/** `IRON_CONDOR_AAPL_20251119_103045`; `suffix` tells apart two trades opened in one second. */
export function makeTradeId(strategy: string, symbol: string, at: Date, suffix?: number): string {
  const name = strategy
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .replace(/^(\d)/, "S$1")
    .slice(0, 40) || "TRADE";
  const { date, time } = newYorkParts(at);
  const base = `${name}_${symbol.toUpperCase()}_${date.replaceAll("-", "")}_${time}`;
  return suffix ? `${base}_${suffix}` : base;
}
