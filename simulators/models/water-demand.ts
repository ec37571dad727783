/**
 * Drinking-water demand of a village (valmalenco-reference.md §3, [E]): ~220 L per present person
 * and day with a diurnal profile (minimum night flow 02:00-05:00, morning and evening peaks, a
 * later morning at weekends), plus leakage that flows day and night (old alpine networks lose
 * 30-60 %), so the minimum night flow is 40-70 % of the mean. The tourist factor multiplies the
 * consumption, not the leaks.
 */
import { localTime } from '../local-time.js';
import { isWeekend, presentFactor } from './seasons.js';

export const LITRES_PER_PERSON_DAY = 220;
/** Leakage per resident, L/day: ~40 % of the off-season system input. */
export const LEAK_LITRES_PER_RESIDENT_DAY = 150;

// Hourly knots (value at hh:30), normalised below so the day's mean is 1.
const WEEKDAY = [
  0.45, 0.38, 0.33, 0.3, 0.31, 0.42, 0.85, 1.45, 1.65, 1.4, 1.2, 1.15, 1.3, 1.2, 1.0, 0.95, 1.0, 1.15, 1.35,
  1.55, 1.45, 1.15, 0.85, 0.6,
];
const WEEKEND = [
  0.5, 0.42, 0.36, 0.33, 0.32, 0.36, 0.55, 0.9, 1.3, 1.6, 1.55, 1.4, 1.4, 1.25, 1.05, 1.0, 1.0, 1.1, 1.3,
  1.45, 1.4, 1.15, 0.9, 0.65,
];
const STEPS_PER_HOUR = 12;

interface Profile {
  /** Factor at a fractional hour (mean over the day = 1). */
  at(hour: number): number;
  /** ∫₀ʰ (1 − factor) dh in hours: positive while the night refills a tank. */
  surplus(hour: number): number;
  /** The maximum of `surplus` over the day and its hour (the tank is fullest then). */
  maxSurplus: number;
}

function makeProfile(knots: readonly number[]): Profile {
  const raw = (hour: number) => {
    const x = hour - 0.5;
    const i = Math.floor(x);
    const f = x - i;
    const a = knots[(i + 24) % 24]!;
    const b = knots[(i + 25) % 24]!;
    return a + (b - a) * f;
  };
  let sum = 0;
  for (let k = 0; k < 24 * STEPS_PER_HOUR; k++) sum += raw((k + 0.5) / STEPS_PER_HOUR);
  const mean = sum / (24 * STEPS_PER_HOUR);
  const at = (hour: number) => raw(hour) / mean;
  const cumulative: number[] = [0];
  for (let k = 0; k < 24 * STEPS_PER_HOUR; k++) {
    cumulative.push(cumulative[k]! + (1 - at((k + 0.5) / STEPS_PER_HOUR)) / STEPS_PER_HOUR);
  }
  const surplus = (hour: number) => {
    const x = hour * STEPS_PER_HOUR;
    const i = Math.min(Math.floor(x), 24 * STEPS_PER_HOUR - 1);
    return cumulative[i]! + (cumulative[i + 1]! - cumulative[i]!) * (x - i);
  };
  return { at, surplus, maxSurplus: Math.max(...cumulative) };
}

const PROFILES = { weekday: makeProfile(WEEKDAY), weekend: makeProfile(WEEKEND) };

export function demandProfile(ts: number): Profile {
  return isWeekend(localTime(ts)) ? PROFILES.weekend : PROFILES.weekday;
}

/** Mean consumption of the present population, L/s (no diurnal shape, no leaks). */
export function meanConsumption(residents: number, ts: number): number {
  return (residents * presentFactor(ts) * LITRES_PER_PERSON_DAY) / 86_400;
}

export function leakage(residents: number): number {
  return (residents * LEAK_LITRES_PER_RESIDENT_DAY) / 86_400;
}

/** Flow into the network of a village at `ts`, L/s. */
export function villageDemand(residents: number, ts: number): number {
  const lt = localTime(ts);
  return meanConsumption(residents, ts) * demandProfile(ts).at(lt.hour) + leakage(residents);
}

/**
 * The off-season peak-hour flow: the pressure drop in the mains is scaled to it, so a normal
 * peak costs ~0.35 bar and an August peak hour noticeably more.
 */
export function referencePeakFlow(residents: number): number {
  return ((residents * LITRES_PER_PERSON_DAY) / 86_400) * 1.7 + leakage(residents);
}
