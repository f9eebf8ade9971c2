// The US options exchanges' calendar, in one place: which dates trade, when each session opens and
// closes (early closes included), the session a DAY order placed at some instant works in, and the
// trading day an instant belongs to for the daily loss limit. Every rule of the product that says
// "today", "this session" or "the close" asks this module, never the machine's calendar day.
//
// Sources:
// - NYSE Rule 7.2 (holidays, and the observance rules: a holiday on Sunday is observed Monday, one
//   on Saturday is observed Friday, except New Year's Day, which is then not observed at all).
// - NYSE Group's published calendars (press releases of 2021-12-27 for 2022-2024 and 2024-11-08 for
//   2025-2027): the holidays, and early closes "at 1:00 p.m. (1:15 p.m. for eligible options)" on the
//   day before Independence Day, the day after Thanksgiving and Christmas Eve.
// - Cboe: broad-based index options (SPX, XSP, NDX, RUT, VIX, ...) trade until 4:15 p.m., 15 minutes
//   after equity options' 4:00 p.m. close; on early-close days 1:15 p.m. Expiring PM-settled series
//   stop at 4:00 p.m. on their last day (3:00 p.m. Chicago), like equity options.
// - Unscheduled closures declared by the exchange are listed by date in SPECIAL_CLOSURES.
// The test test/shared/market-calendar.test.ts holds these rules against NYSE's published dates.

export const NEW_YORK = "America/New_York";

/** Regular session, New York wall time. */
const OPEN = { h: 9, m: 30 };
const CLOSE = { h: 16, m: 0 };
const EARLY_CLOSE = { h: 13, m: 0 };
/** Broad-based index options trade this much longer than equity options, early closes included. */
const INDEX_EXTRA_MINUTES = 15;

/** Closures the exchange declared outside its rules (national days of mourning, storms). */
const SPECIAL_CLOSURES: Readonly<Record<string, string>> = Object.freeze({
  "2012-10-29": "Hurricane Sandy",
  "2012-10-30": "Hurricane Sandy",
  "2018-12-05": "National Day of Mourning for President George H. W. Bush",
  "2025-01-09": "National Day of Mourning for President Jimmy Carter",
});

/**
 * Option symbols (and trading classes) of broad-based cash-settled index options: the 4:15 p.m.
 * close. Listed here, not derived from the concentration groups (shared/underlying.ts), which put
 * the ETFs that track an index with it: SPY's options still close at 4:00 p.m.
 */
const INDEX_OPTION_SYMBOLS = new Set([
  "SPX", "SPXW", "SPXPM", "XSP", "NDX", "NDXP", "XND", "RUT", "RUTW", "MRUT", "DJX", "VIX", "VIXW", "OEX", "XEO",
]);

/** Which close applies: equity (and ETF) options and stock at 4:00 p.m., broad-based index options at 4:15 p.m. */
export type Product = "equity" | "index";

export function productOf(symbol: string): Product {
  return INDEX_OPTION_SYMBOLS.has(symbol.trim().toUpperCase()) ? "index" : "equity";
}

export interface Session {
  /** The trading date, YYYY-MM-DD (New York). */
  date: string;
  /** Epoch ms of the open and the close for the product asked about. */
  open: number;
  close: number;
  /** A 1:00 p.m. (index options 1:15 p.m.) early close. */
  early: boolean;
}

const DAY_MS = 86_400_000;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseDate(date: string): number {
  const m = DATE_RE.exec(date);
  if (!m) throw new Error(`not a YYYY-MM-DD date: ${date}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

const iso = (utcMidnight: number): string => new Date(utcMidnight).toISOString().slice(0, 10);
const weekday = (date: string): number => new Date(parseDate(date)).getUTCDay();
const ymd = (y: number, month: number, day: number): string => iso(Date.UTC(y, month - 1, day));

/** The n-th (1-based) given weekday of a month, or the last one with n = -1. */
function nthWeekday(y: number, month: number, dow: number, n: number): string {
  if (n > 0) {
    const first = new Date(Date.UTC(y, month - 1, 1)).getUTCDay();
    return ymd(y, month, 1 + ((dow - first + 7) % 7) + (n - 1) * 7);
  }
  const lastDay = new Date(Date.UTC(y, month, 0));
  return ymd(y, month, lastDay.getUTCDate() - ((lastDay.getUTCDay() - dow + 7) % 7));
}

/** Easter Sunday (Gregorian; the anonymous "Meeus/Jones/Butcher" algorithm). */
function easter(y: number): string {
  const a = y % 19, b = Math.floor(y / 100), c = y % 100, d = Math.floor(b / 4), e = b % 4;
  const f = Math.floor((b + 8) / 25), g = Math.floor((b - f + 1) / 3), h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4), k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7, m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31), day = ((h + l - 7 * m + 114) % 31) + 1;
  return ymd(y, month, day);
}

/** A fixed-date holiday as NYSE Rule 7.2 observes it: Saturday → Friday, Sunday → Monday. */
function observed(date: string): string {
  const dow = weekday(date);
  return dow === 6 ? iso(parseDate(date) - DAY_MS) : dow === 0 ? iso(parseDate(date) + DAY_MS) : date;
}

const holidayCache = new Map<number, ReadonlyMap<string, string>>();

/** The exchange holidays of a year, by observed date. */
export function holidaysOf(y: number): ReadonlyMap<string, string> {
  const cached = holidayCache.get(y);
  if (cached) return cached;
  const out = new Map<string, string>();
  // New Year's Day on a Saturday is not observed on the Friday before (Rule 7.2).
  const newYear = ymd(y, 1, 1);
  if (weekday(newYear) !== 6) out.set(observed(newYear), "New Year's Day");
  out.set(nthWeekday(y, 1, 1, 3), "Martin Luther King, Jr. Day");
  out.set(nthWeekday(y, 2, 1, 3), "Washington's Birthday");
  out.set(iso(parseDate(easter(y)) - 2 * DAY_MS), "Good Friday");
  out.set(nthWeekday(y, 5, 1, -1), "Memorial Day");
  if (y >= 2022) out.set(observed(ymd(y, 6, 19)), "Juneteenth National Independence Day");
  out.set(observed(ymd(y, 7, 4)), "Independence Day");
  out.set(nthWeekday(y, 9, 1, 1), "Labor Day");
  out.set(nthWeekday(y, 11, 4, 4), "Thanksgiving Day");
  out.set(observed(ymd(y, 12, 25)), "Christmas Day");
  for (const [date, why] of Object.entries(SPECIAL_CLOSURES)) if (date.startsWith(`${y}-`)) out.set(date, why);
  holidayCache.set(y, out);
  return out;
}

/** Why the exchanges are closed on a date (a weekend, a holiday), or null when it trades. */
export function closedReason(date: string): string | null {
  const dow = weekday(date);
  if (dow === 0 || dow === 6) return dow === 0 ? "Sunday" : "Saturday";
  return holidaysOf(Number(date.slice(0, 4))).get(date) ?? null;
}

export function isTradingDate(date: string): boolean {
  return closedReason(date) === null;
}

/** Early close (1:00 p.m.): July 3 and December 24 when they fall Monday to Thursday, the day after Thanksgiving. */
export function isEarlyClose(date: string): boolean {
  if (!isTradingDate(date)) return false;
  const y = Number(date.slice(0, 4));
  const dow = weekday(date);
  if (date === ymd(y, 7, 3) || date === ymd(y, 12, 24)) return dow >= 1 && dow <= 4;
  return date === iso(parseDate(nthWeekday(y, 11, 4, 4)) + DAY_MS);
}

const nyFormat = new Intl.DateTimeFormat("en-US", {
  timeZone: NEW_YORK, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});

type WallClock = { date: string; hour: number; minute: number; second: number };

function formattedClock(at: number): WallClock {
  const p = Object.fromEntries(nyFormat.formatToParts(new Date(at)).map((x) => [x.type, x.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, hour: Number(p.hour), minute: Number(p.minute), second: Number(p.second) };
}

const HOUR_MS = 3_600_000;
/** New York's offset from UTC in each UTC hour asked about, or null where it is not one offset. */
const offsetOfHour = new Map<number, number | null>();
const OFFSET_HOURS_KEPT = 512;

/** Wall clock minus UTC at a whole second, as the time-zone database has it. */
function offsetAt(second: number): number {
  const c = formattedClock(second);
  const [y, m, d] = c.date.split("-").map(Number) as [number, number, number];
  const wall = new Date(0);
  wall.setUTCFullYear(y, m - 1, d);
  wall.setUTCHours(c.hour, c.minute, c.second, 0);
  return wall.getTime() - second;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

/**
 * New York wall-clock fields of an instant. Formatting with the time-zone database costs several
 * microseconds and a request asks it dozens of times (every trading-day and session question), so
 * the offset is kept per UTC hour: New York changes offset at 2:00 a.m. local, a whole UTC hour,
 * and an hour whose first and last seconds disagree (or a year outside 1000–9999, which the
 * formatter writes differently) is formatted every time. test/shared/market-calendar.test.ts
 * holds this to the formatter over random instants and every daylight-saving switch.
 */
export function newYorkClock(at: number): WallClock {
  const hour = Math.floor(at / HOUR_MS);
  let offset = offsetOfHour.get(hour);
  if (offset === undefined) {
    const first = hour * HOUR_MS;
    const start = offsetAt(first);
    offset = start === offsetAt(first + HOUR_MS - 1000) ? start : null;
    if (offsetOfHour.size >= OFFSET_HOURS_KEPT) offsetOfHour.delete(offsetOfHour.keys().next().value!);
    offsetOfHour.set(hour, offset);
  }
  if (offset === null) return formattedClock(at);
  const wall = new Date(at + offset);
  const year = wall.getUTCFullYear();
  if (!(year >= 1000 && year <= 9999)) return formattedClock(at);
  return {
    date: `${year}-${pad2(wall.getUTCMonth() + 1)}-${pad2(wall.getUTCDate())}`,
    hour: wall.getUTCHours(), minute: wall.getUTCMinutes(), second: wall.getUTCSeconds(),
  };
}

/** The New York calendar date of an instant (what "the expiry day" is measured in). */
export function newYorkDate(at: Date | number): string {
  return newYorkClock(typeof at === "number" ? at : at.getTime()).date;
}

/** The instant of a New York wall-clock time on a date (daylight saving included). */
export function newYorkInstant(date: string, hour: number, minute: number): number {
  const wall = parseDate(date) + (hour * 60 + minute) * 60_000;
  // New York is 4 or 5 hours behind UTC; try both and keep the one that reads back as asked.
  for (const offsetHours of [5, 4]) {
    const t = wall + offsetHours * 3_600_000;
    const c = newYorkClock(t);
    if (c.date === date && c.hour === hour && c.minute === minute) return t;
  }
  // A wall time skipped by the spring-forward change (02:00-03:00): the instant an hour later.
  return wall + 4 * 3_600_000;
}

/** The session of a trading date, or null when the date does not trade. */
export function sessionOn(date: string, product: Product = "equity"): Session | null {
  if (!isTradingDate(date)) return null;
  const early = isEarlyClose(date);
  const close = early ? EARLY_CLOSE : CLOSE;
  const extra = product === "index" ? INDEX_EXTRA_MINUTES : 0;
  return { date, open: newYorkInstant(date, OPEN.h, OPEN.m), close: newYorkInstant(date, close.h, close.m + extra), early };
}

/** The first trading date strictly after `date`. */
export function nextTradingDate(date: string): string {
  let t = parseDate(date);
  // Bounded: no run of closed days is longer than a long weekend plus a special closure.
  for (let i = 0; i < 15; i++) {
    t += DAY_MS;
    if (isTradingDate(iso(t))) return iso(t);
  }
  throw new Error(`no trading date within 15 days after ${date}`);
}

/** The last trading date strictly before `date`. */
export function previousTradingDate(date: string): string {
  let t = parseDate(date);
  for (let i = 0; i < 15; i++) {
    t -= DAY_MS;
    if (isTradingDate(iso(t))) return iso(t);
  }
  throw new Error(`no trading date within 15 days before ${date}`);
}

/**
 * The session a DAY order placed at `at` works in: the one under way, or the next to open when it
 * is placed after a close, on a weekend or on a holiday (IBKR holds it until then). It dies at
 * that session's close.
 */
export function orderSession(at: Date | number, product: Product = "equity"): Session {
  const t = typeof at === "number" ? at : at.getTime();
  const today = newYorkDate(t);
  const session = sessionOn(today, product);
  if (session && t < session.close) return session;
  return sessionOn(nextTradingDate(today), product)!;
}

/**
 * The trading day an instant belongs to, YYYY-MM-DD: the date of the session that closes next
 * (regular 4:00 p.m. close, 1:00 p.m. on early-close days). From one close to the next is one
 * trading day, so what happens after Friday's close — a loss booked, an order placed for Monday —
 * counts toward Monday, the session those orders work in; a weekend or a holiday is not a day of
 * its own with a fresh daily loss allowance.
 */
export function tradingDayOf(at: Date | number): string {
  return orderSession(at, "equity").date;
}

/** Whether a DAY order placed at `placedAt` is dead by `now` (its session has closed). */
export function dayOrderDead(placedAt: Date | number, now: Date | number, product: Product = "equity"): boolean {
  return (typeof now === "number" ? now : now.getTime()) >= orderSession(placedAt, product).close;
}

/**
 * When an option that expires on `expiry` (YYYY-MM-DD) stops trading: the close of that date's
 * session, or — an expiry date the exchange does not trade (Good Friday) — of the trading date
 * before it, as OCC moves such expirations. On their last day PM-settled index options stop at the
 * regular close too (Cboe: expiring SPXW, NDX, RUT series at 3:00 p.m. Chicago time, while the
 * series that do not expire that day trade on to 3:15), so both products end at 16:00 (13:00 on an
 * early close). AM-settled monthlies (SPX on the third Friday) stop the day before; not modelled.
 */
export function expiryClose(expiry: string, _product: Product = "equity"): number {
  return sessionOn(lastTradingDate(expiry), "equity")!.close;
}

/** The trading date an option expiring on `expiry` last trades: the expiry, or the trading date before a closed one. */
export function lastTradingDate(expiry: string): string {
  return isTradingDate(expiry) ? expiry : previousTradingDate(expiry);
}
