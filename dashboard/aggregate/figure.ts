/**
 * How card figures are made from the devices' latest values: one rule for every card, so "no data" is
 * null everywhere and every aggregate's as-of is the oldest reading it is made of.
 */
import type { Figure } from './schemas.js';

/** One device's contribution to a figure: a value and its as-of, or nothing (no data). */
export interface Part {
  value: number;
  asOf: number;
  /** The device is stale or offline: the value is its last known one. */
  degraded: boolean;
  /** What the value is out of, for ratios over several devices (a car park's capacity). */
  weight?: number;
  /** A day amount that may miss the day's beginning (DayAmount.blindStart). */
  blindStart?: boolean;
}

export type Reducer = (values: number[]) => number;
export const total: Reducer = (values) => values.reduce((a, b) => a + b, 0);
export const lowest: Reducer = (values) => Math.min(...values);
export const mean: Reducer = (values) => total(values) / values.length;

/** Combines the parts of `expected` devices (null = that device has no data). */
export function combine(parts: readonly (Part | null)[], reduce: Reducer): Figure {
  return combineParts(parts, (present) => reduce(present.map((p) => p.value)));
}

/** Σ value / Σ weight x 100 over the parts with data: a percentage that weighs each device. */
export const weightedPercent = (present: readonly Part[]): number =>
  (total(present.map((p) => p.value)) / total(present.map((p) => p.weight ?? 0))) * 100;

export function combineParts(parts: readonly (Part | null)[], reduce: (present: Part[]) => number): Figure {
  const present = parts.filter((p): p is Part => p !== null);
  if (present.length === 0) return none(parts.length);
  const value = reduce(present);
  // A ratio over zero capacity has no value: "no data", not Infinity or NaN (which JSON cannot carry).
  if (!Number.isFinite(value)) return none(parts.length);
  return {
    value,
    asOf: Math.min(...present.map((p) => p.asOf)),
    devices: present.length,
    expected: parts.length,
    stale: present.some((p) => p.degraded),
  };
}

/** A figure of one device. */
export function single(part: Part | null): Figure {
  return combine([part], total);
}

export function none(expected: number): Figure {
  return { value: null, asOf: null, devices: 0, expected, stale: false };
}

/**
 * A day total over `parts` (the Rome day starting at `dayStart`). When the engine began counting
 * after the day did and a contributing counter knew nothing before its first reading of the day,
 * the total may miss the day's beginning: it is marked with when counting began, so a partial
 * total is never shown as the day's. (A device that sent its backlog from midnight on is counted
 * whole, whenever it arrived.)
 */
export function dayTotal(parts: readonly (Part | null)[], dayStart: number, countedSince: number): Figure {
  const figure = combine(parts, total);
  const blind = parts.some((p) => p?.blindStart === true);
  return figure.value !== null && blind && countedSince > dayStart ? { ...figure, countedSince } : figure;
}

/** A figure computed from another one's value, keeping its as-of and provenance. */
export function derive(figure: Figure, f: (value: number) => number): Figure {
  return figure.value === null ? figure : { ...figure, value: f(figure.value) };
}
