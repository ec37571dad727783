/**
 * Room snapshots computed from the engine's state at one instant. A `Frame` works out each
 * device's view (health, parts) at most once and only when a snapshot needs it: a device room
 * costs one device, an overview one pass over the fleet.
 */
import type { Alert } from '../../contract/index.js';
import type { RegistryIndex } from '../../config/registry-schema.js';
import type { DeviceRecord } from './device-record.js';
import { energyCard } from './energy-card.js';
import { romeDay } from './rome-time.js';
import { emptyCounts } from './minute-buckets.js';
import { mobilityCard } from './mobility-card.js';
import type {
  Card,
  CorridorData,
  DeviceData,
  DeviceSummary,
  MapData,
  MapState,
  MunicipalityData,
  OverviewData,
  QualityData,
} from './schemas.js';
import { MAP_STATES } from './schemas.js';
import { viewOf, type DeviceView } from './view.js';
import { waterCard, type ChlorinatedFn } from './water-card.js';

export interface EngineState {
  index: RegistryIndex;
  records: ReadonlyMap<string, DeviceRecord>;
  /** Active alerts by id. */
  alerts: ReadonlyMap<string, Alert>;
  chlorinated: ChlorinatedFn;
  /** Since when the counts are complete (day figures of an earlier day are marked partial). */
  countedSince: number;
}

const SEVERITY_RANK: Record<Alert['severity'], number> = { critical: 0, warning: 1, info: 2 };

/** Ids of devices named by an active system alert: "alert" on the map is about device health. */
export function alarmedDevices(alerts: Iterable<Alert>): Set<string> {
  const out = new Set<string>();
  for (const a of alerts) if (a.source === 'system' && a.deviceId !== undefined) out.add(a.deviceId);
  return out;
}

export class Frame {
  private readonly views = new Map<string, DeviceView>();
  private readonly alarmed: Set<string>;

  constructor(
    readonly state: EngineState,
    readonly now: number,
  ) {
    this.alarmed = alarmedDevices(state.alerts.values());
  }

  view(record: DeviceRecord): DeviceView {
    let view = this.views.get(record.id);
    if (!view) this.views.set(record.id, (view = viewOf(record, this.now)));
    return view;
  }

  mapState(record: DeviceRecord): MapState {
    return this.alarmed.has(record.id) ? 'alert' : this.view(record).health;
  }

  get records(): ReadonlyMap<string, DeviceRecord> {
    return this.state.records;
  }

  municipalities() {
    return this.state.index.registry.municipalities.map((m) => ({ id: m.id, name: m.name }));
  }

  corridors() {
    return this.state.index.registry.corridors.map((c) => ({ id: c.id, name: c.name }));
  }

  card(corridor: string, municipality: string): Card | null {
    const views = [...this.records.values()]
      .filter((r) => r.resolved.corridor === corridor && r.resolved.municipality.id === municipality)
      .map((r) => this.view(r));
    const { chlorinated, countedSince } = this.state;
    if (corridor === 'water') return waterCard(municipality, views, this.now, chlorinated, countedSince);
    if (corridor === 'energy') return energyCard(municipality, views, this.now, countedSince);
    if (corridor === 'mobility') return mobilityCard(municipality, views);
    return null; // a corridor the dashboard has no card for yet
  }

  cards(corridors: readonly string[], municipalities: readonly string[]): Card[] {
    return corridors.flatMap((c) => municipalities.flatMap((m) => this.card(c, m) ?? []));
  }

  summaries(filter: (r: DeviceRecord) => boolean = () => true): DeviceSummary[] {
    return [...this.records.values()].filter(filter).map((r) => this.summary(r));
  }

  summary(r: DeviceRecord): DeviceSummary {
    const { device, site, municipality, corridor } = r.resolved;
    return {
      id: device.id,
      kind: device.kind,
      corridor,
      municipality: municipality.id,
      site: site.id,
      siteName: site.name,
      lat: device.lat,
      lon: device.lon,
      state: this.mapState(r),
      lastSeen: r.lastSeen,
      lastReadingTs: r.lastReadingTs,
    };
  }

  stateCounts(): Record<MapState, number> {
    const counts = Object.fromEntries(MAP_STATES.map((s) => [s, 0])) as Record<MapState, number>;
    for (const r of this.records.values()) counts[this.mapState(r)]++;
    return counts;
  }

  activeAlerts(filter: (a: Alert) => boolean = () => true): Alert[] {
    return [...this.state.alerts.values()]
      .filter(filter)
      .sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || b.since - a.since);
  }
}

export function overview(f: Frame): OverviewData {
  const municipalities = f.municipalities();
  const corridors = f.corridors();
  return {
    municipalities,
    corridors,
    cards: f.cards(
      corridors.map((c) => c.id),
      municipalities.map((m) => m.id),
    ),
    states: f.stateCounts(),
    alerts: f.activeAlerts(),
  };
}

export function corridor(f: Frame, id: string): CorridorData | null {
  const c = f.corridors().find((x) => x.id === id);
  if (!c) return null;
  const municipalities = f.municipalities();
  return {
    corridor: c,
    municipalities,
    cards: f.cards(
      [id],
      municipalities.map((m) => m.id),
    ),
    devices: f.summaries((r) => r.resolved.corridor === id),
  };
}

export function municipality(f: Frame, id: string): MunicipalityData | null {
  const m = f.municipalities().find((x) => x.id === id);
  if (!m) return null;
  const corridors = f.corridors();
  return {
    municipality: m,
    corridors,
    cards: f.cards(
      corridors.map((c) => c.id),
      [id],
    ),
    devices: f.summaries((r) => r.resolved.municipality.id === id),
  };
}

export function map(f: Frame): MapData {
  return { devices: f.summaries(), states: f.stateCounts() };
}

export function device(f: Frame, id: string): DeviceData | null {
  const r = f.records.get(id);
  if (!r) return null;
  const { device: d } = r.resolved;
  const reading = r.lastReading;
  return {
    device: { ...f.summary(r), intervalS: d.interval_s, description: d.description ?? null },
    presence: { connected: r.connected(), ...r.presence },
    lastReading: reading && {
      ts: reading.ts,
      receivedAt: reading.receivedAt,
      seq: reading.seq ?? null,
      values: { ...reading.values },
      flags: reading.flags ?? [],
    },
    metrics: Object.entries(r.kind.metrics).map(([metric, spec]) => {
      const latest = r.latest.get(metric);
      return {
        metric,
        unit: spec.unit,
        value: latest?.value ?? null,
        asOf: latest?.ts ?? null,
        ...todayOf(r, metric, f),
        series: r.series.get(metric)?.points() ?? [],
      };
    }),
    totals: { ...r.totals },
    lastHour: r.buckets.window(f.now),
    lastReject: r.lastReject && { ...r.lastReject },
    alerts: f.activeAlerts((a) => a.deviceId === id),
  };
}

/** A counter's day total on the device view, marked like the cards' (figure.ts dayTotal). */
function todayOf(
  r: DeviceRecord,
  metric: string,
  f: Frame,
): { today: number | null; todayCountedSince: number | null } {
  const amount = r.counters.get(metric)?.dayTotal(f.now) ?? null;
  const { countedSince } = f.state;
  const partial = amount?.blindStart === true && countedSince > romeDay(f.now).start;
  return { today: amount?.value ?? null, todayCountedSince: partial ? countedSince : null };
}

export function quality(f: Frame): QualityData {
  const lastHour = emptyCounts();
  const devices = [...f.records.values()].map((r) => {
    r.buckets.window(f.now, lastHour);
    const { device: d, corridor: c, municipality: m } = r.resolved;
    return {
      id: d.id,
      kind: d.kind,
      corridor: c,
      municipality: m.id,
      state: f.mapState(r),
      totals: { ...r.totals },
      lastHour: r.buckets.window(f.now),
      lastReject: r.lastReject && { ...r.lastReject },
    };
  });
  return { devices, lastHour, alerts: f.activeAlerts((a) => a.source === 'system') };
}
