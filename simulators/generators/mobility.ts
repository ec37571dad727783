/**
 * Mobility corridor: traffic counters scaled by the road's AADT, car parks filling towards their
 * capacity on busy days, EV chargers used in sessions (valmalenco-reference.md §4, all [E]).
 */
import type { LocalTime } from '../local-time.js';
import { localTime } from '../local-time.js';
import { gaussian, noise, smoothNoise } from '../random.js';
import { seasonOf, visitorIndex } from '../models/seasons.js';
import { clamp, round } from './base.js';
import type { GeneratorContext, KindModel } from './types.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

// Two-direction hourly shares (value at hh:30), normalised to a mean of 1 below. Weekdays: commuters
// to Sondrio 07-09 and back 17-19. Saturday: up-valley 08:00-10:30. Sunday: down-valley 15-19.
const WEEKDAY = [
  0.15, 0.08, 0.05, 0.05, 0.1, 0.35, 1.2, 2.4, 2.0, 1.3, 1.1, 1.15, 1.3, 1.2, 1.1, 1.2, 1.5, 2.1, 2.0, 1.3,
  0.8, 0.55, 0.4, 0.25,
];
const SATURDAY = [
  0.2, 0.12, 0.08, 0.06, 0.08, 0.2, 0.5, 1.4, 2.3, 2.4, 1.9, 1.5, 1.3, 1.2, 1.2, 1.3, 1.5, 1.6, 1.4, 1.1, 0.8,
  0.6, 0.45, 0.3,
];
const SUNDAY = [
  0.25, 0.15, 0.1, 0.07, 0.07, 0.15, 0.3, 0.7, 1.3, 1.6, 1.5, 1.3, 1.2, 1.3, 1.6, 2.1, 2.4, 2.4, 1.9, 1.3,
  0.8, 0.55, 0.4, 0.3,
];

function normalise(knots: number[]): (hour: number) => number {
  const mean = knots.reduce((a, b) => a + b, 0) / knots.length;
  return (hour) => {
    const x = hour - 0.5;
    const i = Math.floor(x);
    const a = knots[(i + 24) % 24]!;
    const b = knots[(i + 25) % 24]!;
    return (a + (b - a) * (x - i)) / mean;
  };
}
const SHAPES = { weekday: normalise(WEEKDAY), saturday: normalise(SATURDAY), sunday: normalise(SUNDAY) };

/** Roads above ~1,250 m and car parks above ~1,550 m lead to summer destinations; winter closes them. */
function siteVisitorIndex(lt: LocalTime, altitudeM: number, summerOnlyAbove: number): number {
  const vi = visitorIndex(lt);
  if (altitudeM < summerOnlyAbove) return vi;
  const season = seasonOf(lt);
  return season === 'ski' ? vi * 0.05 : season === 'off' ? vi * 0.6 : vi;
}

/** Vehicles per hour on the road at `ts` (both directions). */
export function trafficRate(ctx: GeneratorContext, ts: number): number {
  const lt = localTime(ts);
  const aadt = ctx.site.aadt ?? 1000;
  const vi = siteVisitorIndex(lt, ctx.altitudeM, 1250);
  const season = ctx.altitudeM >= 1250 && seasonOf(lt) === 'ski' ? 0.5 : 1;
  const dayFactor = lt.weekday === 6 ? 0.7 + 1.3 * vi : lt.weekday === 7 ? 0.65 + 1.3 * vi : 0.95 + 0.5 * vi;
  const shape = lt.weekday === 6 ? SHAPES.saturday : lt.weekday === 7 ? SHAPES.sunday : SHAPES.weekday;
  return (
    ((aadt * dayFactor * season) / 24) *
    shape(lt.hour) *
    (1 + 0.06 * smoothNoise(ctx.deviceSeed, 60, ts, DAY_MS / 3))
  );
}

export function trafficCounterModel(ctx: GeneratorContext): KindModel {
  const mainRoad = (ctx.site.aadt ?? 0) >= 2000;
  return {
    sample(ts, t0) {
      const seconds = Math.max(1, Math.round((ts - t0) / 1000));
      const mid = ts - (seconds * 1000) / 2;
      const mean = (trafficRate(ctx, mid) * seconds) / 3600;
      const vehicles = Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(ctx.deviceSeed, 61, ts)));
      const weekday = localTime(mid).weekday <= 5;
      // Quarry lorries (serpentine, soapstone) on the main road on working days.
      const heavyShare = mainRoad ? (weekday ? 0.075 : 0.02) : 0.03;
      const heavy = clamp(
        Math.round(vehicles * heavyShare + 0.7 * gaussian(ctx.deviceSeed, 62, ts)),
        0,
        vehicles,
      );
      const values: Record<string, number> = {
        vehicles_count: vehicles,
        heavy_vehicles_count: heavy,
        interval_s: seconds,
      };
      if (vehicles > 0) {
        // Free speed falls as the hourly flow approaches the road's capacity (~1,100 veh/h).
        const free = mainRoad ? 58 : 42;
        const load = (trafficRate(ctx, mid) / 1100) ** 2;
        values.average_speed_km_h = round(
          clamp(free * (1 - 0.35 * load) + 3 * gaussian(ctx.deviceSeed, 63, ts), 5, 130),
          1,
        );
      }
      return values;
    },
  };
}

function logistic(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Car parks from this altitude serve summer destinations (Chiareggio, Barchi, Campo Moro). */
const SUMMER_ONLY_CAR_PARK_M = 1550;

/** Car park: overnight guests, arrivals 08:00-10:30, departures in the afternoon; never above capacity. */
export function parkingModel(ctx: GeneratorContext): KindModel {
  const capacity = ctx.site.capacity ?? 100;
  return {
    sample(ts) {
      const lt = localTime(ts);
      const vi = siteVisitorIndex(lt, ctx.altitudeM, SUMMER_ONLY_CAR_PARK_M);
      const base = ctx.altitudeM >= SUMMER_ONLY_CAR_PARK_M ? 0.01 : 0.06;
      // Day-to-day variation in proportion to the day's demand: a closed road stays empty.
      const peak = clamp(
        base + 1.02 * vi * (1 + 0.08 * gaussian(ctx.deviceSeed, 70, lt.dayIndex)),
        base,
        1.05,
      );
      const leave = seasonOf(lt) === 'ski' ? 16 : 17;
      const shape = logistic((lt.hour - 9.3) / 0.55) * (1 - logistic((lt.hour - leave) / 0.8));
      const wiggle = 0.03 * smoothNoise(ctx.deviceSeed, 71, ts, HOUR_MS);
      const fill = base + (peak - base) * shape + wiggle * shape;
      return { occupied_spaces: Math.round(clamp(fill, 0, 1) * capacity) };
    },
  };
}

interface Session {
  start: number;
  end: number;
  kw: number;
}

/** A charger's sessions of one local day, each given a free connector or turned away. */
function sessionsOfDay(
  ctx: GeneratorContext,
  dayStart: number,
  lt: LocalTime,
  dc: boolean,
  connectors: number,
): Session[] {
  const vi = visitorIndex(lt);
  const expected = (dc ? 4 + 8 * vi : 2 + 4 * vi) * (connectors / 2);
  const count = Math.floor(expected * (0.6 + 0.8 * noise(ctx.deviceSeed, 80, lt.dayIndex)));
  const wanted: Session[] = [];
  for (let i = 0; i < count; i++) {
    const u = noise(ctx.deviceSeed, 81, lt.dayIndex, i);
    const startHour = clamp(
      u < 0.5
        ? 9.5 + 1.5 * gaussian(ctx.deviceSeed, 82, lt.dayIndex, i)
        : 15.5 + 2.2 * gaussian(ctx.deviceSeed, 82, lt.dayIndex, i),
      6.5,
      21.5,
    );
    const hours = dc
      ? 0.3 + 0.4 * noise(ctx.deviceSeed, 83, lt.dayIndex, i)
      : 0.75 + 2.75 * noise(ctx.deviceSeed, 83, lt.dayIndex, i);
    const kw = dc
      ? 38 + 12 * noise(ctx.deviceSeed, 84, lt.dayIndex, i)
      : noise(ctx.deviceSeed, 84, lt.dayIndex, i) < 0.6
        ? 7.4
        : 11;
    const start = dayStart + startHour * HOUR_MS;
    wanted.push({ start, end: Math.min(start + hours * HOUR_MS, dayStart + 23.9 * HOUR_MS), kw });
  }
  wanted.sort((a, b) => a.start - b.start);
  const served: Session[] = [];
  for (const s of wanted) {
    const busy = served.filter((o) => o.start <= s.start && o.end > s.start).length;
    if (busy < connectors) served.push(s);
  }
  return served;
}

/**
 * EV charger (22 kW AC posts, a 50 kW DC unit when the device id says `dc`): reports the mean
 * power over the interval since its previous reading and the connectors in use now, so the energy
 * register is exactly the integral of the reported power.
 */
export function evChargerModel(ctx: GeneratorContext): KindModel {
  const dc = /(^|-)dc(-|$)/.test(ctx.deviceId);
  const connectors = ctx.site.connectors ?? 2;
  const cache = new Map<number, Session[]>();
  const sessionsAround = (ts: number): Session[] => {
    const lt = localTime(ts);
    let list = cache.get(lt.dayIndex);
    if (!list) {
      const dayStart = ts - lt.hour * HOUR_MS;
      list = sessionsOfDay(ctx, dayStart, lt, dc, connectors);
      if (cache.size > 8) cache.clear();
      cache.set(lt.dayIndex, list);
    }
    return list;
  };
  return {
    sample(ts, t0) {
      const sessions =
        t0 < ts && localTime(t0).dayIndex !== localTime(ts).dayIndex
          ? [...sessionsAround(t0), ...sessionsAround(ts)]
          : sessionsAround(ts);
      let kwh = 0;
      for (const s of sessions)
        kwh += (s.kw * Math.max(0, Math.min(s.end, ts) - Math.max(s.start, t0))) / HOUR_MS;
      const inUse = sessions.filter((s) => s.start <= ts && s.end > ts).length;
      const power =
        ts > t0
          ? (kwh * HOUR_MS) / (ts - t0)
          : sessions.filter((s) => s.start <= ts && s.end > ts).reduce((a, s) => a + s.kw, 0);
      return { power_kw: round(power, 3), connectors_in_use: Math.min(inUse, connectors) };
    },
    counters: {
      energy_kwh: {
        initial: round(3_000 + 30_000 * noise(ctx.deviceSeed, 85), 1),
        increment: (s, t0, t1) => ((s.power_kw ?? 0) * (t1 - t0)) / HOUR_MS,
      },
    },
  };
}
