import { describe, expect, it } from '@jest/globals';
import type { NormalizedReading } from '../../contract/index.js';
import { RegistryIndex } from '../../config/registry-schema.js';
import { makeTestRegistry } from '../../test/support/registry.js';
import { historyStatement, quoteString } from './influx-history.js';
import {
  BucketRing,
  BYTES_PER_SLOT,
  MINUTE_MS,
  MINUTE_SLOTS,
  QUARTER_MS,
  QUARTER_SLOTS,
  Rollups,
} from './rollups.js';

const H = 3_600_000;
const DAY = 24 * H;
/** 2026-11-25T06:00:00Z: a whole quarter hour, so bucket starts are easy to write down. */
const T0 = Date.UTC(2026, 10, 25, 6, 0, 0);

const registry = makeTestRegistry();
const flow = (ts: number, flow_l_s: number, extra: Record<string, number> = {}): NormalizedReading => ({
  deviceId: 't-flow-1',
  kind: 'water_flow',
  corridor: 'water',
  municipality: 'chiesa',
  site: 't-reservoir',
  ts,
  values: { flow_l_s, ...extra },
  receivedAt: ts,
});

describe('BucketRing', () => {
  it('keeps min / mean / max per minute, buckets aligned to the epoch', () => {
    const ring = new BucketRing(MINUTE_MS, 10);
    // Minute 06:00: 4, 10, 7 → min 4, mean 7, max 10. Minute 06:01: 2 alone. Minute 06:03: -1, 5.
    ring.add(T0 + 1_000, 4);
    ring.add(T0 + 30_000, 10);
    ring.add(T0 + 59_999, 7);
    ring.add(T0 + 60_000, 2);
    ring.add(T0 + 3 * MINUTE_MS + 5, -1);
    ring.add(T0 + 3 * MINUTE_MS + 50_000, 5);
    expect(ring.points(T0, T0 + 5 * MINUTE_MS)).toEqual([
      [T0, 4, 7, 10],
      [T0 + MINUTE_MS, 2, 2, 2],
      [T0 + 3 * MINUTE_MS, -1, 2, 5],
    ]);
    // The window floors its ends to buckets: from 06:01:30 still includes the 06:01 bucket.
    expect(ring.points(T0 + 90_000, T0 + 2 * MINUTE_MS).map((p) => p[0])).toEqual([T0 + MINUTE_MS]);
  });

  it('a newer bucket takes over a slot; a reading older than the ring is left out', () => {
    const ring = new BucketRing(MINUTE_MS, 10);
    ring.add(T0, 1);
    ring.add(T0 + 10 * MINUTE_MS, 3); // same slot, ten minutes later: 06:00 is gone
    ring.add(T0 + 5_000, 100); // 06:00 again: older than the slot's owner, dropped
    ring.add(T0 + 10 * MINUTE_MS + 1, 5);
    expect(ring.points(T0 - DAY, T0 + DAY)).toEqual([[T0 + 10 * MINUTE_MS, 3, 4, 5]]);
  });

  it('answers readings out of order (a backlog) in the same buckets', () => {
    const ring = new BucketRing(QUARTER_MS, 8);
    for (const [minute, value] of [
      [44, 9],
      [1, 1],
      [16, 6],
      [14, 3],
      [29, 2],
    ] as const)
      ring.add(T0 + minute * MINUTE_MS, value);
    // 06:00 quarter: 1, 3 → mean 2; 06:15: 6, 2 → mean 4; 06:30: 9.
    expect(ring.points(T0, T0 + H)).toEqual([
      [T0, 1, 2, 3],
      [T0 + QUARTER_MS, 2, 4, 6],
      [T0 + 2 * QUARTER_MS, 9, 9, 9],
    ]);
  });
});

describe('Rollups', () => {
  it('1h and 24h in 1-minute buckets, 7d in 15-minute buckets', () => {
    const rollups = new Rollups(registry.index);
    // Two days of one reading every 5 minutes: flow = minute of the day / 10.
    for (let t = T0 - 2 * DAY; t < T0; t += 5 * MINUTE_MS) {
      const minuteOfDay = Math.floor((t % DAY) / MINUTE_MS);
      rollups.add(flow(t, minuteOfDay / 10));
    }
    const now = T0;
    const hour = rollups.points('t-flow-1', 'flow_l_s', H, MINUTE_MS, now);
    // 05:00 (the partial first bucket) … 05:55: 12 buckets of one reading each.
    expect(hour).toHaveLength(12);
    expect(hour[0]).toEqual([T0 - H, 30, 30, 30]);
    expect(hour[11]).toEqual([T0 - 5 * MINUTE_MS, 35.5, 35.5, 35.5]);
    expect(rollups.points('t-flow-1', 'flow_l_s', DAY, MINUTE_MS, now)).toHaveLength(24 * 12);
    const week = rollups.points('t-flow-1', 'flow_l_s', 7 * DAY, QUARTER_MS, now);
    expect(week).toHaveLength(2 * 24 * 4);
    // The quarter 05:45–06:00 of the last day: minutes 345, 350, 355 → 34.5, 35, 35.5.
    expect(week.at(-1)).toEqual([T0 - QUARTER_MS, 34.5, 35, 35.5]);
    expect(rollups.points('t-flow-1', 'totaliser_m3', H, MINUTE_MS, now)).toEqual([]);
  });

  it('keeps only devices of the registry and metrics of their kind; a removed device loses its buckets', () => {
    const rollups = new Rollups(registry.index);
    rollups.add(flow(T0, 5, { totaliser_m3: 1000, bogus_metric: 3 }));
    rollups.add({ ...flow(T0, 5), deviceId: 'not-registered' });
    rollups.add({ ...flow(T0, 5), deviceId: 't-pressure-1' }); // kind does not match the registry
    expect(rollups.metricCount).toBe(2);
    expect(rollups.points('t-flow-1', 'totaliser_m3', H, MINUTE_MS, T0)).toEqual([[T0, 1000, 1000, 1000]]);

    const { registry: reg } = registry.index;
    const without = new RegistryIndex({ ...reg, devices: reg.devices.filter((d) => d.id !== 't-flow-1') });
    rollups.setRegistry(without);
    expect(rollups.metricCount).toBe(0);
    expect(rollups.points('t-flow-1', 'flow_l_s', H, MINUTE_MS, T0)).toEqual([]);
  });

  it('memory per metric is fixed: the documented 66 KiB', () => {
    expect((MINUTE_SLOTS + QUARTER_SLOTS) * BYTES_PER_SLOT).toBe(67_968);
    expect(MINUTE_SLOTS).toBeGreaterThan(24 * 60);
    expect(QUARTER_SLOTS).toBeGreaterThan(7 * 24 * 4);
  });
});

describe('InfluxQL for history', () => {
  it('quotes identifiers and the device id, and picks the bucket per range', () => {
    expect(
      historyStatement({ device: 't-flow-1', kind: 'water_flow', metric: 'flow_l_s', range: '1h' }),
    ).toBe(
      'SELECT min("flow_l_s"), mean("flow_l_s"), max("flow_l_s") FROM "water_flow" ' +
        `WHERE "device" = 't-flow-1' AND time > now() - 1h GROUP BY time(1m) fill(none)`,
    );
    expect(historyStatement({ device: 'd', kind: 'k', metric: 'm', range: '24h' })).toContain(
      'time > now() - 1d GROUP BY time(1m)',
    );
    expect(historyStatement({ device: 'd', kind: 'k', metric: 'm', range: '7d' })).toContain(
      'time > now() - 7d GROUP BY time(15m)',
    );
    expect(quoteString(`a'b\\c`)).toBe(`'a\\'b\\\\c'`);
    expect(historyStatement({ device: 'd', kind: 'k"x', metric: 'm', range: '1h' })).toContain(
      'FROM "k\\"x"',
    );
  });
});
