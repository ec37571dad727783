/**
 * A device as the card builders see it at one instant: its registry entry, its latest values as
 * figure parts (flagged when the device is stale or offline) and its counters. Built per snapshot.
 */
import type { ResolvedDevice } from '../../config/registry-schema.js';
import type { CounterDay, DayAmount } from './counter-day.js';
import type { DeviceRecord } from './device-record.js';
import type { Part } from './figure.js';
import type { Health } from './presence.js';

export interface DeviceView {
  resolved: ResolvedDevice;
  health: Health;
  part(metric: string): Part | null;
  counter(metric: string): CounterDay | undefined;
}

export function viewOf(record: DeviceRecord, now: number): DeviceView {
  const health = record.health(now);
  const degraded = health === 'stale' || health === 'offline';
  return {
    resolved: record.resolved,
    health,
    part(metric) {
      const sample = record.latest.get(metric);
      return sample ? { value: sample.value, asOf: sample.ts, degraded } : null;
    },
    counter: (metric) => record.counters.get(metric),
  };
}

export function amountPart(amount: DayAmount | null, view: DeviceView): Part | null {
  if (amount === null) return null;
  return {
    value: amount.value,
    asOf: amount.asOf,
    degraded: view.health === 'stale' || view.health === 'offline',
    blindStart: amount.blindStart,
  };
}

export const ofKind = (views: readonly DeviceView[], kind: string) =>
  views.filter((v) => v.resolved.device.kind === kind);

export const ref = (view: DeviceView) => ({
  deviceId: view.resolved.device.id,
  site: view.resolved.site.id,
  siteName: view.resolved.site.name,
});
