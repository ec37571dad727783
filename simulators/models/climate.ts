/**
 * Outdoor weather of the valley (valmalenco-reference.md §5, [E]): monthly mean at ~1,000 m,
 * lapse rate 0.55 °C/100 m, daily range 5-8 °C in winter and 8-12 °C in summer, day-to-day
 * anomalies shared by every station (one valley, one weather), precipitation ~1,100 mm/yr with a
 * summer-autumn maximum. Pure functions of (seed, time, altitude).
 */
import { localTime, type LocalTime } from '../local-time.js';
import { gaussian, noise, smoothNoise } from '../random.js';

/** Mean air temperature at ~1,000 m per month (mid-month), °C. */
const MONTHLY_MEAN_1000M = [-2, -0.5, 3.5, 7, 11, 15, 17, 16.5, 12.5, 8, 3, -1];
/** Share of wet days and mean precipitation of a wet day (mm), per month. */
const WET_DAY_SHARE = [0.18, 0.18, 0.22, 0.3, 0.36, 0.38, 0.36, 0.38, 0.32, 0.33, 0.3, 0.2];
const WET_DAY_MM = [7, 7, 8, 9, 10, 11, 11, 11, 11, 13, 12, 8];
export const LAPSE_C_PER_M = 0.0055;
const DAY_MS = 86_400_000;
const KEY_ANOMALY = 101;
const KEY_FAST = 102;
const KEY_WET = 103;
const KEY_RAIN_HOUR = 104;
const KEY_WIND = 105;

/** Monthly mean at 1,000 m for a fractional day of the year, interpolated between mid-months. */
export function seasonalMean1000m(yearDay: number): number {
  const monthPos = (yearDay / 365.25) * 12 - 0.5;
  const i = Math.floor(monthPos);
  const f = monthPos - i;
  const a = MONTHLY_MEAN_1000M[(i + 12) % 12]!;
  const b = MONTHLY_MEAN_1000M[(i + 13) % 12]!;
  return a + (b - a) * f;
}

/** 0 in the coldest month, 1 in the warmest: scales daily range, breezes, storms. */
export function summerness(yearDay: number): number {
  return Math.min(1, Math.max(0, (seasonalMean1000m(yearDay) + 2) / 19));
}

/** Diurnal shape in [-0.5, 0.5]: minimum at 06:00, maximum at 15:00. */
export function diurnalShape(hour: number): number {
  if (hour >= 6 && hour < 15) return -0.5 * Math.cos((Math.PI * (hour - 6)) / 9);
  const sinceMax = hour >= 15 ? hour - 15 : hour + 9;
  return 0.5 * Math.cos((Math.PI * sinceMax) / 15);
}

export function isWetDay(seed: number, lt: LocalTime): boolean {
  return noise(seed, KEY_WET, lt.dayIndex) < WET_DAY_SHARE[lt.month - 1]!;
}

/** Outdoor air temperature, °C, at `altitude_m`. */
export function outdoorTemperature(seed: number, ts: number, altitudeM: number): number {
  const lt = localTime(ts);
  const s = summerness(lt.yearDay);
  const wet = isWetDay(seed, lt);
  // Overcast days have a smaller range; shared anomalies make a cold spell cold everywhere.
  const range = (6.5 + 3.5 * s) * (wet ? 0.55 : 1);
  const anomaly =
    2.8 * smoothNoise(seed, KEY_ANOMALY, ts, 2 * DAY_MS) + 0.4 * smoothNoise(seed, KEY_FAST, ts, DAY_MS / 4);
  return (
    seasonalMean1000m(lt.yearDay) -
    LAPSE_C_PER_M * (altitudeM - 1000) +
    range * diurnalShape(lt.hour) +
    anomaly
  );
}

/** Daily mean temperature of the local day (no diurnal term): decides whether heating runs. */
export function dailyMeanTemperature(seed: number, ts: number, altitudeM: number): number {
  const lt = localTime(ts);
  const anomaly = 2.8 * smoothNoise(seed, KEY_ANOMALY, ts, 2 * DAY_MS);
  return seasonalMean1000m(lt.yearDay) - LAPSE_C_PER_M * (altitudeM - 1000) + anomaly;
}

/** Precipitation rate, mm/h, constant within each local hour; more in summer afternoons. */
export function precipitationRate(seed: number, ts: number, altitudeM: number): number {
  const lt = localTime(ts);
  if (!isWetDay(seed, lt)) return 0;
  const dayTotal =
    -Math.log(Math.max(noise(seed, KEY_WET, lt.dayIndex, 1), 1e-6)) * WET_DAY_MM[lt.month - 1]!;
  const s = summerness(lt.yearDay);
  const weight = (h: number) => {
    const storm = h >= 13 && h < 20 ? 1 + 3 * s : 1;
    return noise(seed, KEY_RAIN_HOUR, lt.dayIndex, h) ** 3 * storm;
  };
  let total = 0;
  for (let h = 0; h < 24; h++) total += weight(h);
  // Orographic increase: ~5 % more per 100 m above the valley floor.
  const orographic = 1 + Math.max(0, altitudeM - 1000) * 0.0005;
  return total === 0 ? 0 : (dayTotal * orographic * weight(Math.floor(lt.hour))) / total;
}

/** Precipitation in (t0, t1], mm: the hourly rates integrated exactly across hour boundaries. */
export function precipitationBetween(seed: number, t0: number, t1: number, altitudeM: number): number {
  let mm = 0;
  let t = t0;
  while (t < t1) {
    const nextHour = (Math.floor(t / 3_600_000) + 1) * 3_600_000;
    const end = Math.min(nextHour, t1);
    mm += (precipitationRate(seed, t, altitudeM) * (end - t)) / 3_600_000;
    t = end;
  }
  return mm;
}

export function relativeHumidity(seed: number, ts: number, deviceKey: number): number {
  const lt = localTime(ts);
  const wet = precipitationRate(seed, ts, 1000) > 0 ? 18 : isWetDay(seed, lt) ? 8 : 0;
  const rh = 72 - 36 * diurnalShape(lt.hour) + wet + 4 * gaussian(seed, deviceKey, Math.floor(ts / 600_000));
  return Math.min(100, Math.max(20, rh));
}

/** Wind speed, m/s: stronger with altitude, an up-valley breeze on summer afternoons, gusts. */
export function windSpeed(seed: number, ts: number, altitudeM: number, deviceKey: number): number {
  const lt = localTime(ts);
  const base = 1.2 + Math.max(0, altitudeM - 900) * 0.002;
  const breeze =
    lt.hour >= 11 && lt.hour < 19
      ? 1.8 * summerness(lt.yearDay) * Math.sin((Math.PI * (lt.hour - 11)) / 8)
      : 0;
  const drift = 0.8 * smoothNoise(seed, KEY_WIND, ts, DAY_MS / 2);
  const gust = Math.abs(gaussian(seed, deviceKey, Math.floor(ts / 60_000))) * 0.5 * base;
  return Math.max(0, base + breeze + drift + gust);
}
