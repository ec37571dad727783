/**
 * Daily consumption from a monotonic counter (water totaliser, energy register).
 *
 * The counter is turned into a reset-corrected running sum: each reading adds `value - previous`,
 * or, when the gateway flagged `counter_reset` (or the value went down), the post-reset value
 * itself (the meter restarted from zero). Consumption of a Rome day = sum at the day's latest
 * reading - sum at its base. The base is a reading exactly at local midnight if there is one,
 * else the last reading before midnight when it is from the previous day (the interval across
 * midnight counts for the new day), else the day's first reading (a meter silent for days does not
 * pour its whole gap into today).
 *
 * "Same time yesterday" needs yesterday's curve, kept at a bounded resolution (`profile`): the
 * last reading of each 15-minute slot of elapsed time since midnight, 100 slots (a 25 h day). The
 * sum at an instant is interpolated linearly between the kept readings around it, so it is exact
 * for a steady rate and otherwise off by the curvature within one slot; never extrapolated past
 * the day's last reading.
 *
 * Readings not newer than the newest seen are ignored here: they fall between known readings and,
 * without a reset, the sum telescopes (the sparkline and latest values still take them). A backlog
 * arrives in timestamp order, so a device catching up after an outage is counted.
 *
 * Memory: a few numbers; with `profile`, 2 days x 100 slots x (ts, sum) = 3.2 KB more.
 */
import { previousRomeDay, romeDay } from './rome-time.js';

const SLOT_MS = 15 * 60_000;
/** 25 h of 15-minute slots: the longest Rome day. */
const SLOTS = 100;

export interface CounterPoint {
  ts: number;
  /** Reset-corrected running sum of the counter. */
  sum: number;
}

interface DayRecord {
  start: number;
  /**
   * The counter knew no reading before this day's first, which came after midnight: what ran
   * through it between midnight and that reading is unknown to this engine (it may have started
   * counting after midnight; see the snapshot's `countedSince`).
   */
  blindStart: boolean;
  base: CounterPoint;
  last: CounterPoint;
  /** (ts, sum) of the last reading in each slot; NaN where there was none. */
  profile: Float64Array | null;
}

/** A day as saved across restarts; the profile's empty slots are null (JSON has no NaN). */
export interface SavedDay {
  start: number;
  blindStart?: boolean;
  base: CounterPoint;
  last: CounterPoint;
  profile: (number | null)[] | null;
}

export interface SavedCounterDay {
  last: CounterPoint | null;
  lastRaw: number;
  today: SavedDay | null;
  yesterday: SavedDay | null;
}

export interface DayAmount {
  value: number;
  /** See DayRecord.blindStart: the amount may miss the day's beginning. */
  blindStart: boolean;
  /** The instant the amount runs to (the latest reading, or the interpolated instant). */
  asOf: number;
}

export class CounterDay {
  private last: CounterPoint | undefined;
  private lastRaw = 0;
  private today: DayRecord | undefined;
  private yesterday: DayRecord | undefined;

  constructor(private readonly profile: boolean) {}

  /** Adds a reading; false when it is not newer than the newest seen (ignored, see above). */
  add(ts: number, raw: number, reset: boolean): boolean {
    const last = this.last;
    if (last !== undefined && ts <= last.ts) return false;
    const increment = last === undefined ? 0 : reset || raw < this.lastRaw ? raw : raw - this.lastRaw;
    const point: CounterPoint = { ts, sum: (last?.sum ?? raw) + increment };
    const day = romeDay(ts);
    if (this.today?.start !== day.start) this.startDay(day.start, point);
    const today = this.today as DayRecord;
    today.last = point;
    if (today.profile) {
      const slot = Math.min(SLOTS - 1, Math.floor((ts - today.start) / SLOT_MS));
      today.profile[slot * 2] = ts;
      today.profile[slot * 2 + 1] = point.sum;
    }
    this.last = point;
    this.lastRaw = raw;
    return true;
  }

  /** Everything needed to go on counting after a restart (see dashboard/state-store.ts). */
  save(): SavedCounterDay {
    const day = (d: DayRecord | undefined): SavedDay | null =>
      d === undefined
        ? null
        : {
            start: d.start,
            blindStart: d.blindStart,
            base: { ...d.base },
            last: { ...d.last },
            profile: d.profile ? Array.from(d.profile, (x) => (Number.isNaN(x) ? null : x)) : null,
          };
    return {
      last: this.last ? { ...this.last } : null,
      lastRaw: this.lastRaw,
      today: day(this.today),
      yesterday: day(this.yesterday),
    };
  }

  /** Restores a saved state. A profile of the wrong length (another version) is dropped, not trusted. */
  load(saved: SavedCounterDay): void {
    const day = (d: SavedDay | null): DayRecord | undefined => {
      if (d === null) return undefined;
      let profile: Float64Array | null = null;
      if (this.profile) {
        profile = new Float64Array(SLOTS * 2).fill(NaN);
        if (d.profile?.length === SLOTS * 2) d.profile.forEach((x, i) => (profile![i] = x ?? NaN));
      }
      return {
        start: d.start,
        blindStart: d.blindStart ?? false,
        base: { ...d.base },
        last: { ...d.last },
        profile,
      };
    };
    this.last = saved.last ? { ...saved.last } : undefined;
    this.lastRaw = saved.lastRaw;
    this.today = day(saved.today);
    this.yesterday = day(saved.yesterday);
  }

  private startDay(start: number, first: CounterPoint): void {
    const previousStart = previousRomeDay(start).start;
    const last = this.last;
    // A reading exactly at midnight is the perfect base; else the last one before midnight if it
    // belongs to the previous day; else the day's first.
    const base = first.ts > start && last !== undefined && last.ts >= previousStart ? last : first;
    this.yesterday = this.today?.start === previousStart ? this.today : undefined;
    const profile = this.profile ? new Float64Array(SLOTS * 2).fill(NaN) : null;
    this.today = { start, blindStart: last === undefined && first.ts > start, base, last: first, profile };
  }

  private record(dayStart: number): DayRecord | undefined {
    if (this.today?.start === dayStart) return this.today;
    if (this.yesterday?.start === dayStart) return this.yesterday;
    return undefined;
  }

  /** Consumption of the Rome day containing `now`, to its latest reading; null without a reading that day. */
  dayTotal(now: number): DayAmount | null {
    const rec = this.record(romeDay(now).start);
    return rec ? { value: rec.last.sum - rec.base.sum, asOf: rec.last.ts, blindStart: rec.blindStart } : null;
  }

  /**
   * Consumption of the day containing `at` from its midnight up to the instant `at` (interpolated
   * between the kept samples; never extrapolated past the day's last reading). Null without a
   * record of that day, or when `at` precedes the day's first reading. Without `profile` only
   * the day's base and last reading are known.
   */
  dayTotalUntil(at: number): DayAmount | null {
    const rec = this.record(romeDay(at).start);
    if (!rec) return null;
    let before: CounterPoint = rec.base;
    let after: CounterPoint | undefined;
    // Yesterday's curve ends where today's base is, when that is a reading at midnight.
    if (rec === this.yesterday && this.today && this.today.base.ts >= rec.last.ts) after = this.today.base;
    if (rec.profile) {
      for (let slot = 0; slot < SLOTS; slot++) {
        const ts = rec.profile[slot * 2] as number;
        if (Number.isNaN(ts)) continue;
        const sum = rec.profile[slot * 2 + 1] as number;
        if (ts <= at) before = { ts, sum };
        else if (after === undefined || ts < after.ts) after = { ts, sum };
      }
    } else if (rec.last.ts <= at) {
      before = rec.last;
    }
    // Before the day's first reading (the base when none came the day before): unknown.
    if (at < rec.base.ts) return null;
    const { blindStart } = rec;
    if (after === undefined || after.ts === before.ts)
      return { value: before.sum - rec.base.sum, asOf: before.ts, blindStart };
    const fraction = (at - before.ts) / (after.ts - before.ts);
    return { value: before.sum + fraction * (after.sum - before.sum) - rec.base.sum, asOf: at, blindStart };
  }
}
