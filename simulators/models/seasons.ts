/**
 * Tourist seasonality of the valley (valmalenco-reference.md §4, all [E]): the present population
 * as a multiple of the residents, and the kind of day (ski, summer, off-season) that drives car
 * parks and the main road.
 */
import { localTime, type LocalTime } from '../local-time.js';

const DAY_MS = 86_400_000;

export type Season = 'ski' | 'summer' | 'off';

/** Christmas to Epiphany: the valley's winter peak. */
function isChristmas(lt: LocalTime): boolean {
  return (lt.month === 12 && lt.day >= 24) || (lt.month === 1 && lt.day <= 6);
}

export function isWeekend(lt: LocalTime): boolean {
  return lt.weekday >= 6;
}

/** Ski season from 8 December to the end of March; summer season July and August. */
export function seasonOf(lt: LocalTime): Season {
  if ((lt.month === 12 && lt.day >= 8) || lt.month <= 3) return 'ski';
  if (lt.month === 7 || lt.month === 8) return 'summer';
  return 'off';
}

/**
 * Present population / residents for the local calendar day: mid-August 2.5-4x (3.2 in the
 * Ferragosto week), Christmas-Epiphany 2-3x, July and ski weekends 1.5-2.5x, Feb-Mar weekdays
 * 1.2-1.5x, spring and autumn 1.0-1.1x.
 */
export function presentFactorOfDay(lt: LocalTime): number {
  const weekend = isWeekend(lt);
  if (lt.month === 8) return lt.day >= 9 && lt.day <= 20 ? 3.2 : weekend ? 2.6 : 2.2;
  if (isChristmas(lt)) return 2.5;
  if (lt.month === 7) return weekend ? 2.0 : 1.6;
  if (seasonOf(lt) === 'ski') return weekend ? 1.9 : lt.month >= 2 ? 1.3 : 1.2;
  if (lt.month === 6 || lt.month === 9) return weekend ? 1.4 : 1.2;
  return weekend ? 1.1 : 1.0;
}

/**
 * The same, interpolated between local noons so that flows do not jump at midnight when the
 * calendar day changes (guests arrive through the day, not at 00:00).
 */
export function presentFactor(ts: number): number {
  const lt = localTime(ts);
  const here = presentFactorOfDay(lt);
  const towards = lt.hour < 12 ? localTime(ts - DAY_MS) : localTime(ts + DAY_MS);
  const other = presentFactorOfDay(towards);
  const weight = Math.abs(lt.hour - 12) / 24;
  return here + (other - here) * weight;
}

/**
 * How busy the day is for visitors coming by car, 0 (empty valley) to 1 (Ferragosto, a ski
 * Saturday): drives the main road's weekend peaks and the car parks.
 */
export function visitorIndex(lt: LocalTime): number {
  const weekend = isWeekend(lt);
  if (lt.month === 8) return lt.day >= 9 && lt.day <= 20 ? 1 : weekend ? 0.9 : 0.7;
  if (isChristmas(lt)) return 0.85;
  if (lt.month === 7) return weekend ? 0.8 : 0.5;
  if (seasonOf(lt) === 'ski') return weekend ? (lt.weekday === 6 ? 0.95 : 0.85) : 0.3;
  if (lt.month === 6 || lt.month === 9) return weekend ? 0.45 : 0.15;
  return weekend ? 0.15 : 0.05;
}
