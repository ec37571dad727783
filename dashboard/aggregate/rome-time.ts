/**
 * The Europe/Rome calendar day. "Today" on the dashboard is the day in the valley, whatever the
 * server's zone, and a day is 23 h (last Sunday of March) or 25 h (last Sunday of October) on DST
 * days: bounds are computed through Intl (the platform's tz database), never as 24 h multiples.
 * Rome changes offset at 01:00 UTC, never near midnight, which the midnight computation relies on.
 */
export const VALLEY_TIME_ZONE = 'Europe/Rome';

export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export interface RomeDay {
  /** `YYYY-MM-DD` in Europe/Rome. */
  key: string;
  /** Epoch ms of local midnight. */
  start: number;
  /** Epoch ms of the next local midnight (exclusive). */
  end: number;
}

const partsFormat = new Intl.DateTimeFormat('en-US', {
  timeZone: VALLEY_TIME_ZONE,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** Local wall-clock time in Europe/Rome of an instant. */
export function romeWallTime(ms: number): WallTime {
  const out: WallTime = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of partsFormat.formatToParts(ms)) {
    if (part.type in out) out[part.type as keyof WallTime] = Number(part.value);
  }
  return out;
}

/** Offset of Rome from UTC at an instant, in ms (3,600,000 in winter, 7,200,000 in summer). */
function offsetAt(ms: number): number {
  const w = romeWallTime(ms);
  const wallAsUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return wallAsUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant of a Rome wall-clock time. Two passes: the first guess uses the offset at a nearby
 * instant, the second the offset at the guess. A time skipped by the spring change (02:30 on the
 * last Sunday of March) comes out an hour later; a repeated one (autumn) resolves to one of the two.
 */
export function romeWallToEpoch(year: number, month: number, day: number, hour = 0, minute = 0, second = 0) {
  const wallAsUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  const guess = wallAsUtc - offsetAt(wallAsUtc);
  return wallAsUtc - offsetAt(guess);
}

let cached: RomeDay | undefined;

/** The Rome day containing `ms`. Cached: consecutive readings almost always fall on the same day. */
export function romeDay(ms: number): RomeDay {
  if (cached && ms >= cached.start && ms < cached.end) return cached;
  const w = romeWallTime(ms);
  const start = romeWallToEpoch(w.year, w.month, w.day);
  // Date.UTC normalises day + 1 across month and year ends.
  const next = new Date(Date.UTC(w.year, w.month - 1, w.day + 1));
  const end = romeWallToEpoch(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate());
  const key = `${w.year}-${pad(w.month)}-${pad(w.day)}`;
  cached = { key, start, end };
  return cached;
}

/** The Rome day before the one containing `ms`. */
export function previousRomeDay(ms: number): RomeDay {
  return romeDay(romeDay(ms).start - 1);
}

/**
 * The same wall-clock time on the previous Rome day ("same time yesterday"). After a 23 h day the
 * two instants are 23 h apart, after a 25 h day 25 h: people compare clock times, not durations.
 */
export function sameTimePreviousDay(ms: number): number {
  const w = romeWallTime(ms);
  const prev = new Date(Date.UTC(w.year, w.month - 1, w.day - 1));
  const at = romeWallToEpoch(
    prev.getUTCFullYear(),
    prev.getUTCMonth() + 1,
    prev.getUTCDate(),
    w.hour,
    w.minute,
    w.second,
  );
  return at + (((ms % 1000) + 1000) % 1000);
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
