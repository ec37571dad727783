/**
 * Local-only history: per device and metric, min / mean / max / count in time buckets, the way
 * InfluxQL's `GROUP BY time()` would answer them (buckets aligned to the epoch, UTC). Pure: the
 * gateway rebuilds it from the outbox segments at start and adds every accepted reading (see
 * local-history.ts); nothing here reads a file or a clock.
 *
 * Two rings per metric, allocated at the metric's first reading:
 * - 1-minute buckets for 24 h (the 1h and 24h charts): 1,448 slots;
 * - 15-minute buckets for 7 days (the 7d chart): 676 slots.
 * A slot holds the newest bucket that maps to it, so an old bucket is overwritten by the bucket one
 * ring length later, and a reading older than the ring (a late backlog) only lands where it fits.
 * The few slots beyond 24 h / 7 d hold the partial first bucket of a window and readings up to
 * the future skew ahead of the clock.
 *
 * Memory, fixed whatever the traffic: 32 bytes per slot (bucket number Int32, min, max and sum
 * Float64, count Uint32), so (1,448 + 676) x 32 B = 67,968 B ≈ 66 KiB per metric that has reported,
 * e.g. ≈ 133 KiB for a flow meter (2 metrics), ≈ 332 KiB for a water-quality probe (5 metrics).
 * Only devices of the registry in force and metrics of their kind are kept.
 */
import type { NormalizedReading } from '../../contract/index.js';
import { getKind } from '../../contract/index.js';
import type { RegistryIndex } from '../../config/registry-schema.js';

export const MINUTE_MS = 60_000;
export const QUARTER_MS = 15 * MINUTE_MS;
export const MINUTE_SLOTS = 24 * 60 + 8;
export const QUARTER_SLOTS = 7 * 24 * 4 + 4;
export const BYTES_PER_SLOT = 4 + 8 + 8 + 8 + 4;

/** `[bucket start ms, min, mean, max]`, the shape of /api/history's points. */
export type RollupPoint = [number, number, number, number];

const EMPTY = -1;

/** Fixed time buckets in a ring: the newest bucket mapping to a slot owns it. */
export class BucketRing {
  private readonly ids: Int32Array;
  private readonly min: Float64Array;
  private readonly max: Float64Array;
  private readonly sum: Float64Array;
  private readonly count: Uint32Array;

  constructor(
    readonly bucketMs: number,
    readonly slots: number,
  ) {
    this.ids = new Int32Array(slots).fill(EMPTY);
    this.min = new Float64Array(slots);
    this.max = new Float64Array(slots);
    this.sum = new Float64Array(slots);
    this.count = new Uint32Array(slots);
  }

  add(ts: number, value: number): void {
    const bucket = Math.floor(ts / this.bucketMs);
    if (bucket < 0 || bucket > 0x7fffffff || !Number.isFinite(value)) return;
    const slot = bucket % this.slots;
    const owner = this.ids[slot]!;
    if (owner > bucket) return; // older than the ring reaches: a newer bucket owns the slot
    if (owner < bucket) {
      this.ids[slot] = bucket;
      this.min[slot] = value;
      this.max[slot] = value;
      this.sum[slot] = value;
      this.count[slot] = 1;
      return;
    }
    if (value < this.min[slot]!) this.min[slot] = value;
    if (value > this.max[slot]!) this.max[slot] = value;
    this.sum[slot] = this.sum[slot]! + value;
    this.count[slot] = this.count[slot]! + 1;
  }

  /** Buckets whose start is in `[fromMs, toMs]` (both floored to a bucket), oldest first. */
  points(fromMs: number, toMs: number): RollupPoint[] {
    const first = Math.floor(fromMs / this.bucketMs);
    const last = Math.floor(toMs / this.bucketMs);
    const out: RollupPoint[] = [];
    for (let slot = 0; slot < this.slots; slot++) {
      const id = this.ids[slot]!;
      if (id < first || id > last || this.count[slot] === 0) continue;
      const n = this.count[slot]!;
      out.push([id * this.bucketMs, this.min[slot]!, this.sum[slot]! / n, this.max[slot]!]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }
}

class MetricRollup {
  readonly minutes = new BucketRing(MINUTE_MS, MINUTE_SLOTS);
  readonly quarters = new BucketRing(QUARTER_MS, QUARTER_SLOTS);

  add(ts: number, value: number): void {
    this.minutes.add(ts, value);
    this.quarters.add(ts, value);
  }
}

interface DeviceRollups {
  kind: string;
  metrics: Map<string, MetricRollup>;
}

export class Rollups {
  private readonly devices = new Map<string, DeviceRollups>();
  private index: RegistryIndex;

  constructor(index: RegistryIndex) {
    this.index = index;
  }

  /** Removed devices and devices whose kind changed lose their buckets (their metrics differ). */
  setRegistry(index: RegistryIndex): void {
    this.index = index;
    for (const [id, rollups] of this.devices) {
      if (index.devices.get(id)?.device.kind !== rollups.kind) this.devices.delete(id);
    }
  }

  add(reading: NormalizedReading): void {
    const kindId = this.index.devices.get(reading.deviceId)?.device.kind;
    // A record of the outbox may predate a registry change: keep only what the registry knows now.
    if (kindId === undefined || kindId !== reading.kind) return;
    const kind = getKind(kindId);
    if (!kind) return;
    let device = this.devices.get(reading.deviceId);
    if (!device) {
      device = { kind: kindId, metrics: new Map() };
      this.devices.set(reading.deviceId, device);
    }
    // Object.keys, not entries: one array per reading instead of one more per metric.
    for (const metric of Object.keys(reading.values)) {
      if (!(metric in kind.metrics)) continue;
      const value = reading.values[metric]!;
      let rollup = device.metrics.get(metric);
      if (!rollup) {
        rollup = new MetricRollup();
        device.metrics.set(metric, rollup);
      }
      rollup.add(reading.ts, value);
    }
  }

  /**
   * Buckets of `bucketMs` (1 minute or 15 minutes) from the one holding `now - rangeMs` to the one
   * holding `now`, like InfluxQL's `time > now() - range GROUP BY time(bucket)`.
   */
  points(deviceId: string, metric: string, rangeMs: number, bucketMs: number, now: number): RollupPoint[] {
    const rollup = this.devices.get(deviceId)?.metrics.get(metric);
    if (!rollup) return [];
    const ring = bucketMs === MINUTE_MS ? rollup.minutes : rollup.quarters;
    if (ring.bucketMs !== bucketMs) throw new RangeError(`no rollup of ${bucketMs} ms buckets`);
    return ring.points(now - rangeMs, now);
  }

  /** Metrics with buckets (each costs `(MINUTE_SLOTS + QUARTER_SLOTS) x BYTES_PER_SLOT`). */
  get metricCount(): number {
    let n = 0;
    for (const device of this.devices.values()) n += device.metrics.size;
    return n;
  }
}
