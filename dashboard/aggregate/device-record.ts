/**
 * Everything the dashboard keeps about one device, fed from bus events. Bounded: one latest value
 * and one sparkline per metric of the device's kind (metrics outside the kind are ignored), one
 * CounterDay per counter metric, 60 minute buckets of counts, the last reading and last reject.
 */
import type { KindDefinition, NormalizedReading, RejectMessage } from '../../contract/index.js';
import type { ResolvedDevice } from '../../config/registry-schema.js';
import { CounterDay, type SavedCounterDay } from './counter-day.js';
import { MinuteBuckets, type MinuteEntry } from './minute-buckets.js';
import { health, isConnected, newPresence, type Health, type Presence } from './presence.js';
import { Series } from './series.js';

/** Counters whose "same time yesterday" the dashboard shows: they keep a day profile. */
const PROFILED_COUNTERS = new Set(['energy_import_kwh']);
const NO_COUNTERS: ReadonlyMap<string, CounterDay> = new Map();

export interface Sample {
  value: number;
  ts: number;
}

export interface LastReject {
  code: RejectMessage['code'];
  message: string;
  path: string | null;
  at: number;
}

/**
 * What a device's record keeps across a gateway restart. Not its presence: the restart ended every
 * session, so presence starts unknown (offline) until the device reconnects.
 */
export interface SavedDeviceRecord {
  kind: string;
  latest: [string, Sample][];
  series: [string, [number, number][]][];
  counters: [string, SavedCounterDay][];
  buckets: MinuteEntry[];
  totals: { accepted: number; duplicate: number; rejected: number };
  lastReading: NormalizedReading | null;
  lastReject: LastReject | null;
  lastSeen: number | null;
}

export class DeviceRecord {
  readonly latest = new Map<string, Sample>();
  readonly series = new Map<string, Series>();
  /** One per counter metric of the kind; most kinds have none and share one empty map. */
  readonly counters: ReadonlyMap<string, CounterDay>;
  readonly buckets = new MinuteBuckets();
  readonly totals = { accepted: 0, duplicate: 0, rejected: 0 };
  presence: Presence = newPresence();
  lastReading: NormalizedReading | null = null;
  lastReject: LastReject | null = null;
  lastSeen: number | null = null;

  constructor(
    public resolved: ResolvedDevice,
    readonly kind: KindDefinition,
    private readonly seriesPoints: number,
  ) {
    const counters = Object.entries(kind.metrics).filter(([, spec]) => spec.counter);
    this.counters =
      counters.length === 0
        ? NO_COUNTERS
        : new Map(counters.map(([metric]) => [metric, new CounterDay(PROFILED_COUNTERS.has(metric))]));
  }

  get id(): string {
    return this.resolved.device.id;
  }

  /** The newest reading's timestamp: what presence and "as of" go by. */
  get lastReadingTs(): number | null {
    return this.lastReading?.ts ?? null;
  }

  accept(reading: NormalizedReading, now: number): void {
    // A reading came through a session: until a presence event says otherwise, it is online.
    if (this.presence.session === 'unknown') {
      this.presence = {
        ...this.presence,
        session: 'online',
        sessionAt: reading.receivedAt,
        sessionReason: null,
      };
    }
    this.replay(reading, now);
  }

  /**
   * A reading accepted before this process started (read back from the outbox at start): counted
   * like a live one, but it says nothing about a session, which the restart ended.
   */
  replay(reading: NormalizedReading, now: number): void {
    this.totals.accepted++;
    this.buckets.add(reading.receivedAt, now, 'accepted');
    this.seen(reading.receivedAt);
    if (this.lastReading === null || reading.ts >= this.lastReading.ts) this.lastReading = reading;
    const reset = reading.flags?.includes('counter_reset') ?? false;
    // Object.keys, not entries: one array per reading instead of one more per metric.
    for (const metric of Object.keys(reading.values)) {
      if (!(metric in this.kind.metrics)) continue;
      const value = reading.values[metric]!;
      const latest = this.latest.get(metric);
      if (latest === undefined || reading.ts >= latest.ts) this.latest.set(metric, { value, ts: reading.ts });
      let series = this.series.get(metric);
      if (!series) this.series.set(metric, (series = new Series(this.seriesPoints)));
      series.add(reading.ts, value);
      this.counters.get(metric)?.add(reading.ts, value, reset);
    }
  }

  duplicate(count: number, now: number): void {
    this.totals.duplicate += count;
    this.buckets.add(now, now, 'duplicate', count);
    this.seen(now);
  }

  reject(reject: RejectMessage, now: number): void {
    this.totals.rejected++;
    this.buckets.add(reject.receivedAt, now, 'rejected', 1, reject.code);
    this.seen(reject.receivedAt);
    if (this.lastReject === null || reject.receivedAt >= this.lastReject.at) {
      this.lastReject = {
        code: reject.code,
        message: reject.message,
        path: reject.path ?? null,
        at: reject.receivedAt,
      };
    }
  }

  sessionEvent(state: 'online' | 'offline', at: number, reason: string): void {
    // Events may interleave with inferred state; an older event must not undo a newer one.
    if (this.presence.sessionAt !== null && at < this.presence.sessionAt) return;
    this.presence = { ...this.presence, session: state, sessionAt: at, sessionReason: reason };
    if (state === 'online') this.seen(at);
  }

  statusEvent(status: string, at: number): void {
    if (this.presence.statusAt !== null && at < this.presence.statusAt) return;
    this.presence = { ...this.presence, status, statusAt: at };
    if (status !== 'offline') this.seen(at);
  }

  save(): SavedDeviceRecord {
    return {
      kind: this.kind.id,
      latest: [...this.latest].map(([m, sample]) => [m, { ...sample }]),
      series: [...this.series].map(([m, series]) => [m, series.points()]),
      counters: [...this.counters].map(([m, counter]) => [m, counter.save()]),
      buckets: this.buckets.entries(),
      totals: { ...this.totals },
      lastReading: this.lastReading,
      lastReject: this.lastReject && { ...this.lastReject },
      lastSeen: this.lastSeen,
    };
  }

  /** Restores a saved record into this fresh one; metrics outside the kind are ignored. */
  load(saved: SavedDeviceRecord, now: number): void {
    const known = (metric: string) => metric in this.kind.metrics;
    for (const [metric, sample] of saved.latest) if (known(metric)) this.latest.set(metric, { ...sample });
    for (const [metric, points] of saved.series) {
      if (!known(metric)) continue;
      const series = new Series(this.seriesPoints);
      series.load(points);
      this.series.set(metric, series);
    }
    for (const [metric, state] of saved.counters) this.counters.get(metric)?.load(state);
    this.buckets.load(saved.buckets, now);
    Object.assign(this.totals, saved.totals);
    this.lastReading = saved.lastReading;
    this.lastReject = saved.lastReject && { ...saved.lastReject };
    this.lastSeen = saved.lastSeen;
  }

  connected(): boolean {
    return isConnected(this.presence);
  }

  health(now: number): Health {
    return health(this.presence, this.lastReadingTs, this.resolved.device.interval_s, now);
  }

  private seen(at: number): void {
    if (this.lastSeen === null || at > this.lastSeen) this.lastSeen = at;
  }
}
