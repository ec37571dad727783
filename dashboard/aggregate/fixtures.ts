/**
 * Test fixtures: a small in-memory registry (no YAML, no secrets: the aggregator reads only the
 * resolved entries) and reading builders. Used by the *.test.ts files beside it.
 */
import type { NormalizedReading, RejectMessage } from '../../contract/index.js';
import { RegistryIndex, type Device, type Registry, type Site } from '../../config/registry-schema.js';
import { DashboardAggregator } from './engine.js';

const HASH = 'hmac-sha256$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

function site(id: string, type: Site['type'], extra: Partial<Site> = {}): Site {
  return { id, municipality: 'alpha', type, name: `Site ${id}`, lat: 46.266, lon: 9.85, ...extra };
}

function device(
  id: string,
  kind: string,
  siteId: string,
  interval_s = 60,
  extra: Partial<Device> = {},
): Device {
  return { id, kind, site: siteId, lat: 46.266, lon: 9.85, interval_s, secret_hash: HASH, ...extra };
}

export function testRegistry(): RegistryIndex {
  const registry: Registry = {
    version: 1,
    municipalities: [
      { id: 'alpha', name: 'Alpha', istat: '000001', lat: 46.266, lon: 9.85 },
      { id: 'beta', name: 'Beta', istat: '000002', lat: 46.22, lon: 9.86 },
    ],
    corridors: [
      { id: 'water', name: 'Acqua' },
      { id: 'energy', name: 'Efficienza energetica' },
      { id: 'mobility', name: 'Mobilità' },
    ],
    sites: [
      site('res', 'reservoir', { volume_m3: 400 }),
      site('spring', 'spring'),
      site('net', 'network'),
      site('net-high', 'network'),
      site('treat', 'treatment'),
      site('townhall', 'building', { floor_area_m2: 1100 }),
      site('school', 'building', { floor_area_m2: 2400 }),
      site('meteo-valley', 'weather_station', { lat: 46.262, lon: 9.856 }),
      site('meteo-peak', 'weather_station', { lat: 46.302, lon: 9.866 }),
      site('park-big', 'car_park', { capacity: 400 }),
      site('park-small', 'car_park', { capacity: 80 }),
      site('road', 'road'),
      site('ev-a', 'charging_station', { connectors: 2 }),
      site('ev-b', 'charging_station', { connectors: 4 }),
      site('ev-c', 'charging_station', { connectors: 2 }),
    ],
    devices: [
      device('wf-res', 'water_flow', 'res', 60),
      device('wf-spring', 'water_flow', 'spring', 300),
      device('wp-net', 'water_pressure', 'net', 60),
      device('wp-high', 'water_pressure', 'net-high', 120),
      device('wl-res', 'water_level', 'res', 300),
      device('wq-treat', 'water_quality', 'treat', 300),
      device('em-townhall', 'energy_meter', 'townhall', 300),
      device('em-school', 'energy_meter', 'school', 300),
      device('hm-townhall', 'heat_meter', 'townhall', 900),
      device('ic-townhall', 'indoor_climate', 'townhall', 300),
      // Listed first on purpose: the card must pick the station nearest the centre, not the first.
      device('ws-peak', 'weather', 'meteo-peak', 600, { lat: 46.302, lon: 9.866 }),
      device('ws-valley', 'weather', 'meteo-valley', 600, { lat: 46.262, lon: 9.856 }),
      device('pk-big', 'parking', 'park-big', 120),
      device('pk-small', 'parking', 'park-small', 300),
      device('tc-road', 'traffic_counter', 'road', 300),
      device('ev-a', 'ev_charger', 'ev-a', 60),
      device('ev-b', 'ev_charger', 'ev-b', 60),
      device('ev-c', 'ev_charger', 'ev-c', 60),
    ],
    users: [],
  };
  return new RegistryIndex(registry);
}

/** Epoch ms of an ISO time with its zone written out (tests spell Rome offsets explicitly). */
export const t = (iso: string): number => Date.parse(iso);

export function reading(
  deviceId: string,
  ts: number,
  values: Record<string, number>,
  extra: Partial<NormalizedReading> = {},
): NormalizedReading {
  const resolved = registryCache.devices.get(deviceId);
  return {
    deviceId,
    kind: resolved?.device.kind ?? 'unknown',
    corridor: resolved?.corridor ?? 'water',
    municipality: resolved?.municipality.id ?? 'alpha',
    site: resolved?.site.id ?? 'unknown',
    ts,
    values,
    receivedAt: ts + 200,
    ...extra,
  };
}

export function reject(code: RejectMessage['code'], receivedAt: number, message = 'bad'): RejectMessage {
  return { code, message, receivedAt };
}

const registryCache = testRegistry();

/** An aggregator over the test registry with every device connected at `connectedAt`. */
export function connectedAggregator(connectedAt: number): DashboardAggregator {
  const agg = new DashboardAggregator({ registry: testRegistry() });
  for (const id of registryCache.devices.keys()) {
    agg.onPresence({ deviceId: id, state: 'online', at: connectedAt, reason: 'connected' });
  }
  return agg;
}

/** Feeds readings one event each, with the clock at each reading's receipt. */
export function feed(agg: DashboardAggregator, readings: readonly NormalizedReading[]): void {
  for (const r of readings) agg.onAccepted({ deviceId: r.deviceId, readings: [r] }, r.receivedAt);
}
