// The instants the simulation starts its worlds at (issue 22's calendar matrix): every schedule
// begins at one of them, so the lifecycle runs through ordinary sessions, closes, weekends,
// holidays, an early close and both daylight-saving switches. New York wall times.
import { newYorkInstant } from "../../shared/market-calendar";

export interface CalendarInstant {
  name: string;
  at: number;
}

const at = (name: string, date: string, hour: number, minute: number): CalendarInstant => ({ name, at: newYorkInstant(date, hour, minute) });

export const CALENDAR_INSTANTS: readonly CalendarInstant[] = Object.freeze([
  at("a weekday mid-session (Wednesday 11:00)", "2026-11-18", 11, 0),
  at("five minutes before a weekday close", "2026-11-18", 15, 55),
  at("a weekday before the open (08:00)", "2026-11-19", 8, 0),
  at("a weekday after the close (17:30)", "2026-11-18", 17, 30),
  at("Friday night (23:30, Saturday in UTC)", "2026-12-04", 23, 30),
  at("Saturday noon", "2026-12-05", 12, 0),
  at("Sunday evening (19:00)", "2026-12-06", 19, 0),
  at("Thanksgiving (market holiday)", "2026-11-26", 11, 0),
  at("the day after Thanksgiving (early close 13:00), 12:30", "2026-11-27", 12, 30),
  at("Christmas Day (market holiday)", "2026-12-25", 11, 0),
  at("Good Friday (market holiday)", "2026-04-03", 11, 0),
  at("the spring daylight-saving switch (Sunday 2026-03-08)", "2026-03-08", 12, 0),
  at("the Monday after the spring switch, mid-session", "2026-03-09", 11, 0),
  at("the autumn daylight-saving switch (Sunday 2026-11-01)", "2026-11-01", 12, 0),
]);
