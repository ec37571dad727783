/**
 * Plausibility beyond the kind's static ranges: bounds from the device's site (a car park cannot
 * hold more cars than its spaces) and relations between metrics. Counter resets are handled by
 * CounterTracker: a decrease is flagged, never rejected forever (a device reboot must not lock
 * its counter out).
 */
import type { KindDefinition, ReadingFlag } from '../../contract/index.js';
import type { Site } from '../../config/registry-schema.js';
import type { ReadingProblem, ValidReading } from './validate.js';

export function checkPlausibility(
  reading: ValidReading,
  kind: KindDefinition,
  site: Site,
): ReadingProblem | null {
  for (const [metric, spec] of Object.entries(kind.metrics)) {
    const value = reading.values[metric];
    if (value === undefined || spec.boundedBy === undefined) continue;
    const bound = site[spec.boundedBy];
    if (bound !== undefined && value > bound) {
      return problem(
        reading,
        metric,
        `${metric} ${value} exceeds the ${spec.boundedBy} of site ${site.id} (${bound})`,
      );
    }
  }
  const { vehicles_count: vehicles, heavy_vehicles_count: heavy } = reading.values;
  if (vehicles !== undefined && heavy !== undefined && heavy > vehicles) {
    return problem(
      reading,
      'heavy_vehicles_count',
      `heavy_vehicles_count ${heavy} exceeds vehicles_count ${vehicles}`,
    );
  }
  return null;
}

function problem(reading: ValidReading, metric: string, message: string): ReadingProblem {
  return {
    code: 'E_RANGE',
    message,
    path: `values.${metric}`,
    ts: reading.ts,
    ...(reading.seq !== undefined && { seq: reading.seq }),
  };
}

/** Per kind, its counter metrics: asked for every message, so worked out once. */
const countersByKind = new WeakMap<KindDefinition, readonly string[]>();

function counterMetrics(kind: KindDefinition): readonly string[] {
  let names = countersByKind.get(kind);
  if (names === undefined) {
    names = Object.entries(kind.metrics)
      .filter(([, spec]) => spec.counter)
      .map(([name]) => name);
    countersByKind.set(kind, names);
  }
  return names;
}

interface CounterState {
  ts: number;
  value: number;
}

/**
 * The latest value of every counter per device, to flag decreases. Readings are checked in
 * timestamp order; a reading older than the latest one seen (a late backlog) is compared with
 * nothing newer than itself, so it is never flagged by a value from its future.
 */
export class CounterTracker {
  private readonly state = new Map<string, Map<string, CounterState>>();

  /** Returns the flags for each reading, in the order given. Updates the state. */
  track(
    deviceId: string,
    kind: KindDefinition,
    readings: readonly ValidReading[],
  ): (ReadingFlag[] | undefined)[] {
    const counters = counterMetrics(kind);
    const flags: (ReadingFlag[] | undefined)[] = new Array<ReadingFlag[] | undefined>(readings.length);
    if (counters.length === 0) return flags;
    let device = this.state.get(deviceId);
    if (!device) {
      device = new Map();
      this.state.set(deviceId, device);
    }
    const order = readings.map((_, i) => i).sort((a, b) => readings[a]!.ts - readings[b]!.ts);
    for (const i of order) {
      const reading = readings[i]!;
      for (const metric of counters) {
        const value = reading.values[metric];
        if (value === undefined) continue;
        const last = device.get(`${kind.id}.${metric}`);
        if (last && reading.ts <= last.ts) continue;
        if (last && value < last.value) flags[i] = ['counter_reset'];
        device.set(`${kind.id}.${metric}`, { ts: reading.ts, value });
      }
    }
    return flags;
  }

  forget(deviceId: string): void {
    this.state.delete(deviceId);
  }
}
