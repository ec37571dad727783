/** The kind catalogue. A new kind (or corridor) is a new definition file added here. */
import type { KindDefinition } from './define.js';
import { energyMeter, heatMeter, indoorClimate, weather } from './energy.js';
import { evCharger, parking, trafficCounter } from './mobility.js';
import { waterFlow, waterLevel, waterPressure, waterQuality } from './water.js';

export type { KindDefinition, MetricSpec } from './define.js';
export * from './energy.js';
export * from './mobility.js';
export * from './water.js';

const all = [
  waterFlow,
  waterPressure,
  waterLevel,
  waterQuality,
  energyMeter,
  heatMeter,
  indoorClimate,
  weather,
  trafficCounter,
  parking,
  evCharger,
] as const;

export type KindId = (typeof all)[number]['id'];

export const KINDS: ReadonlyMap<string, KindDefinition> = new Map(
  all.map((k) => [k.id, k as unknown as KindDefinition]),
);
export const KIND_IDS: readonly string[] = all.map((k) => k.id);

export function getKind(id: string): KindDefinition | undefined {
  return KINDS.get(id);
}
