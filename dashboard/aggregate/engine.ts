/**
 * The dashboard's aggregation engine: pure and incremental. The server feeds it bus events with
 * the clock's value, asks which rooms changed, and pushes those rooms' snapshots at a bounded
 * rate (the engine never fans out per reading). No I/O, no timers: time is the `now` argument.
 *
 *   bus 'readings.accepted' → onAccepted(event, now)    'device.presence' → onPresence(event)
 *   bus 'readings.duplicate' → onDuplicate(event, now)  'device.status'   → onStatus(event)
 *   bus 'readings.rejected' → onRejected(event, now)    'alert'           → onAlert(alert)
 *   registry reload → setRegistry(index)
 *   every push tick: for (const room of changedRooms(now)) if (members) emit(snapshot(room, now))
 *
 * `feedFromBus(bus, aggregator, clock.now)` makes the six subscriptions. Subscribe before the
 * broker starts: a device that connected before is "offline" until its next presence event or
 * reading. A client joining a room gets `snapshot(room, now)` at once (full state on connect).
 *
 * Memory per device, bounded whatever the traffic: per metric of its kind a latest value and a
 * sparkline of `seriesPoints` (default 120) points; per counter metric a CounterDay (a few numbers,
 * plus a 3.2 KB two-day profile for `energy_import_kwh`); 60 per-minute buckets of accepted /
 * duplicate / rejected and reject-code counts (3.8 KB); the last reading and the last reject.
 * Measured on Node 20 after two days of 5-minute readings: ~14 KB for a water-quality probe
 * (5 metrics, the largest kind), ~10 KB for an energy meter. Active alerts are capped (`maxAlerts`).
 */
import type { Alert, BusEvents, NormalizedReading } from '../../contract/index.js';
import { getKind } from '../../contract/index.js';
import type { RegistryIndex } from '../../config/registry-schema.js';
import { DeviceRecord, type SavedDeviceRecord } from './device-record.js';
import { romeDay } from './rome-time.js';
import { corridorRoom, deviceRoom, MAP, municipalityRoom, OVERVIEW, parseRoom, QUALITY } from './rooms.js';
import type { MapState, RoomSnapshot } from './schemas.js';
import * as snap from './snapshots.js';
import type { ChlorinatedFn } from './water-card.js';

export interface AggregatorOptions {
  registry: RegistryIndex;
  /** Points per metric kept for sparklines (default 120). */
  seriesPoints?: number;
  /** Active alerts kept; beyond it the oldest is dropped (default 500). */
  maxAlerts?: number;
  /**
   * Whether the water at a site is chlorinated (default: everywhere). Where it is not (UV-only
   * disinfection) the low-chlorine alarm does not apply. The registry has no field for it yet.
   */
  chlorinated?: ChlorinatedFn;
  /** Since when the counts are complete (see the snapshot's `countedSince`); default 0. */
  countedSince?: number;
}

/** The engine's state as saved across restarts (dashboard/state-store.ts writes it). */
export interface SavedDashboard {
  savedAt: number;
  countedSince: number;
  devices: [string, SavedDeviceRecord][];
}

export class DashboardAggregator {
  private index: RegistryIndex;
  private readonly records = new Map<string, DeviceRecord>();
  private readonly alerts = new Map<string, Alert>();
  private readonly seriesPoints: number;
  private readonly maxAlerts: number;
  private readonly chlorinated: ChlorinatedFn;
  private readonly dirty = new Set<string>();
  private readonly lastStates = new Map<string, MapState>();
  private lastDay: string | undefined;
  private lastMinute: number | undefined;
  /** See the snapshot's `countedSince`. */
  countedSince: number;

  constructor(options: AggregatorOptions) {
    this.countedSince = options.countedSince ?? 0;
    this.seriesPoints = options.seriesPoints ?? 120;
    this.maxAlerts = options.maxAlerts ?? 500;
    this.chlorinated = options.chlorinated ?? (() => true);
    this.index = options.registry;
    this.setRegistry(options.registry);
  }

  /** A reloaded registry: devices kept keep their state (unless their kind changed), removed ones go. */
  setRegistry(index: RegistryIndex): void {
    this.index = index;
    for (const id of this.records.keys()) if (!index.devices.has(id)) this.records.delete(id);
    const order = new Map<string, DeviceRecord>();
    for (const [id, resolved] of index.devices) {
      const kind = getKind(resolved.device.kind);
      if (!kind) continue;
      const existing = this.records.get(id);
      if (existing && existing.kind.id === kind.id) {
        existing.resolved = resolved;
        order.set(id, existing);
      } else {
        order.set(id, new DeviceRecord(resolved, kind, this.seriesPoints));
      }
    }
    // Registry order is display order.
    this.records.clear();
    for (const [id, record] of order) this.records.set(id, record);
    for (const id of this.lastStates.keys()) if (!this.records.has(id)) this.lastStates.delete(id);
    for (const room of this.rooms()) this.dirty.add(room);
  }

  onAccepted(event: BusEvents['readings.accepted'], now: number): void {
    const record = this.records.get(event.deviceId);
    if (!record) return;
    for (const reading of event.readings) record.accept(reading, now);
    this.touch(record);
  }

  /** A reading accepted before this process started (replayed from the outbox at start). */
  replay(reading: NormalizedReading, now: number): void {
    const record = this.records.get(reading.deviceId);
    if (!record) return;
    record.replay(reading, now);
    this.touch(record);
  }

  /** The state to save: everything but presence and alerts, which a restart resets anyway. */
  save(now: number): SavedDashboard {
    return {
      savedAt: now,
      countedSince: this.countedSince,
      devices: [...this.records].map(([id, record]) => [id, record.save()]),
    };
  }

  /**
   * Restores a saved state into the fresh engine (call before any event). Devices no longer in
   * the registry, or whose kind changed, start empty.
   */
  restore(saved: SavedDashboard, now: number): void {
    this.countedSince = saved.countedSince;
    for (const [id, state] of saved.devices) {
      const record = this.records.get(id);
      if (record && record.kind.id === state.kind) record.load(state, now);
    }
    for (const room of this.rooms()) this.dirty.add(room);
  }

  onDuplicate(event: BusEvents['readings.duplicate'], now: number): void {
    const record = this.records.get(event.deviceId);
    if (!record) return;
    record.duplicate(event.count, now);
    this.touch(record);
  }

  onRejected(event: BusEvents['readings.rejected'], now: number): void {
    const record = this.records.get(event.deviceId);
    if (!record) return;
    for (const reject of event.rejects) record.reject(reject, now);
    this.touch(record);
  }

  onPresence(event: BusEvents['device.presence']): void {
    const record = this.records.get(event.deviceId);
    if (!record) return;
    record.sessionEvent(event.state, event.at, event.reason);
    this.touch(record);
  }

  onStatus(event: BusEvents['device.status']): void {
    const record = this.records.get(event.deviceId);
    if (!record) return;
    record.statusEvent(event.status, event.at);
    this.touch(record);
  }

  onAlert(alert: Alert): void {
    if (alert.state === 'active') {
      this.alerts.delete(alert.id); // re-insert: Map order is then age of last activation
      this.alerts.set(alert.id, alert);
      if (this.alerts.size > this.maxAlerts) this.alerts.delete(this.alerts.keys().next().value as string);
    } else {
      this.alerts.delete(alert.id);
    }
    const record = alert.deviceId === undefined ? undefined : this.records.get(alert.deviceId);
    if (record) this.touch(record);
    for (const room of [OVERVIEW, MAP, QUALITY]) this.dirty.add(room);
  }

  /** Every room that exists for the current registry. */
  rooms(): string[] {
    const { municipalities, corridors } = this.index.registry;
    return [
      OVERVIEW,
      MAP,
      QUALITY,
      ...corridors.map((c) => corridorRoom(c.id)),
      ...municipalities.map((m) => municipalityRoom(m.id)),
      ...[...this.records.keys()].map(deviceRoom),
    ];
  }

  /** The snapshot of a room at `now`, or null for a room that does not exist. */
  snapshot(room: string, now: number): RoomSnapshot | null {
    const parsed = parseRoom(room);
    if (!parsed) return null;
    const frame = new snap.Frame(
      {
        index: this.index,
        records: this.records,
        alerts: this.alerts,
        chlorinated: this.chlorinated,
        countedSince: this.countedSince,
      },
      now,
    );
    const base = { room, at: now, day: romeDay(now).key, countedSince: this.countedSince };
    switch (parsed.type) {
      case 'overview':
        return { type: 'overview', ...base, data: snap.overview(frame) };
      case 'map':
        return { type: 'map', ...base, data: snap.map(frame) };
      case 'quality':
        return { type: 'quality', ...base, data: snap.quality(frame) };
      case 'corridor': {
        const data = snap.corridor(frame, parsed.id);
        return data && { type: 'corridor', ...base, data };
      }
      case 'municipality': {
        const data = snap.municipality(frame, parsed.id);
        return data && { type: 'municipality', ...base, data };
      }
      case 'device': {
        const data = snap.device(frame, parsed.id);
        return data && { type: 'device', ...base, data };
      }
    }
  }

  /**
   * Rooms whose snapshot may differ from the one computed at the previous call: rooms touched by
   * events, plus changes the clock alone makes (a device turning stale, a new Rome day resetting
   * "today", the last-hour window sliding). Clears the set. Call it at the push rate.
   */
  changedRooms(now: number): string[] {
    const alerted = snap.alarmedDevices(this.alerts.values());
    for (const [id, record] of this.records) {
      const state = alerted.has(id) ? 'alert' : record.health(now);
      if (this.lastStates.get(id) !== state) {
        this.lastStates.set(id, state);
        this.touch(record);
      }
    }
    const day = romeDay(now).key;
    if (this.lastDay !== undefined && day !== this.lastDay)
      for (const room of this.rooms()) this.dirty.add(room);
    this.lastDay = day;
    const minute = Math.floor(now / 60_000);
    if (this.lastMinute !== undefined && minute !== this.lastMinute) {
      this.dirty.add(QUALITY);
      for (const id of this.records.keys()) this.dirty.add(deviceRoom(id));
    }
    this.lastMinute = minute;
    const out = [...this.dirty];
    this.dirty.clear();
    return out;
  }

  private touch(record: DeviceRecord): void {
    const { device, corridor, municipality } = record.resolved;
    for (const room of [OVERVIEW, MAP, QUALITY, corridorRoom(corridor), municipalityRoom(municipality.id)]) {
      this.dirty.add(room);
    }
    this.dirty.add(deviceRoom(device.id));
  }
}
