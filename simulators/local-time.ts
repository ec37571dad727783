/**
 * Local time in Europe/Rome (CET/CEST) for the simulators: the valley lives by its clock, so
 * opening hours, commuter peaks and night flow follow local time across DST changes. Intl does the
 * zone rules; the UTC offset is cached per UTC hour (zone changes happen on whole hours).
 */
export const VALLEY_TIME_ZONE = 'Europe/Rome';

export interface LocalTime {
  year: number;
  /** 1-12. */
  month: number;
  day: number;
  /** Hour of the day with fraction, 0 <= hour < 24 (00:30 is 0.5). */
  hour: number;
  /** ISO weekday, 1 = Monday ... 7 = Sunday. */
  weekday: number;
  /** Days since 1970-01-01 of the local calendar date: a key for per-day randomness. */
  dayIndex: number;
  /** Day of the year with fraction, 0 on 1 January 00:00. */
  yearDay: number;
  /** Offset from UTC in minutes (60 in winter, 120 in summer). */
  offsetMinutes: number;
}

const formatter = new Intl.DateTimeFormat('en-GB', {
  timeZone: VALLEY_TIME_ZONE,
  hourCycle: 'h23',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
});

const offsetCache = new Map<number, number>();
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

function offsetMinutesAt(ts: number): number {
  const key = Math.floor(ts / HOUR_MS);
  const cached = offsetCache.get(key);
  if (cached !== undefined) return cached;
  const parts: Record<string, number> = {};
  for (const p of formatter.formatToParts(new Date(key * HOUR_MS))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day, parts.hour, parts.minute);
  const offset = Math.round((asUtc - key * HOUR_MS) / 60_000);
  if (offsetCache.size > 100_000) offsetCache.clear();
  offsetCache.set(key, offset);
  return offset;
}

export function localTime(ts: number): LocalTime {
  const offsetMinutes = offsetMinutesAt(ts);
  const shifted = new Date(ts + offsetMinutes * 60_000);
  const year = shifted.getUTCFullYear();
  const dayIndex = Math.floor(shifted.getTime() / DAY_MS);
  const msOfDay = shifted.getTime() - dayIndex * DAY_MS;
  return {
    year,
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
    hour: msOfDay / HOUR_MS,
    weekday: ((shifted.getUTCDay() + 6) % 7) + 1,
    dayIndex,
    yearDay: (shifted.getTime() - Date.UTC(year, 0, 1)) / DAY_MS,
    offsetMinutes,
  };
}

/** Epoch ms of a local wall-clock time in the valley (for plots and tests). */
export function fromLocal(year: number, month: number, day: number, hour = 0, minute = 0): number {
  const guess = Date.UTC(year, month - 1, day, hour, minute);
  // Two passes settle the offset except inside the skipped hour of spring, which nobody asks for.
  const first = guess - offsetMinutesAt(guess) * 60_000;
  return guess - offsetMinutesAt(first) * 60_000;
}

/** "HH:MM-HH:MM" → [open, close] in fractional hours; undefined when absent or malformed. */
export function parseOpeningHours(text: string | undefined): [number, number] | undefined {
  const m = text === undefined ? null : /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(text);
  if (!m) return undefined;
  return [Number(m[1]) + Number(m[2]) / 60, Number(m[3]) + Number(m[4]) / 60];
}
