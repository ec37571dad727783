/**
 * A small test registry (one municipality, a site per need, a device per kind, no demo devices)
 * with freshly generated secrets, as YAML text and as a validated index.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { generateSecret, hashSecret } from '../../config/secrets.js';
import { parseRegistryText } from '../../config/loader.js';
import type { RegistryIndex } from '../../config/registry-schema.js';

export const TEST_DEVICES = {
  flow: { id: 't-flow-1', kind: 'water_flow', site: 't-reservoir' },
  flow2: { id: 't-flow-2', kind: 'water_flow', site: 't-reservoir' },
  pressure: { id: 't-pressure-1', kind: 'water_pressure', site: 't-network' },
  level: { id: 't-level-1', kind: 'water_level', site: 't-reservoir' },
  quality: { id: 't-quality-1', kind: 'water_quality', site: 't-reservoir' },
  energy: { id: 't-energy-1', kind: 'energy_meter', site: 't-townhall' },
  heat: { id: 't-heat-1', kind: 'heat_meter', site: 't-townhall' },
  indoor: { id: 't-indoor-1', kind: 'indoor_climate', site: 't-townhall' },
  weather: { id: 't-weather-1', kind: 'weather', site: 't-townhall' },
  traffic: { id: 't-traffic-1', kind: 'traffic_counter', site: 't-road' },
  parking: { id: 't-parking-1', kind: 'parking', site: 't-carpark' },
  charger: { id: 't-charger-1', kind: 'ev_charger', site: 't-chargers' },
} as const;

export interface TestRegistry {
  yaml: string;
  index: RegistryIndex;
  secrets: Record<string, string>;
}

/** A user entry as the registry holds it (`password_hash` from config/secrets.ts hashPassword). */
export interface TestUser {
  id: string;
  role: 'viewer' | 'operator';
  password_hash: string;
}

export function makeTestRegistry(
  extraDevices: { id: string; kind: string; site: string }[] = [],
  users: TestUser[] = [],
): TestRegistry {
  const secrets: Record<string, string> = {};
  const devices = [...Object.values(TEST_DEVICES), ...extraDevices].map((d) => {
    const secret = generateSecret();
    secrets[d.id] = secret;
    return { ...d, lat: 46.266, lon: 9.85, interval_s: 60, secret_hash: hashSecret(secret) };
  });
  const site = (id: string, type: string, extra: object = {}) => ({
    id,
    municipality: 'chiesa',
    type,
    name: id,
    lat: 46.266,
    lon: 9.85,
    ...extra,
  });
  const registry = {
    version: 1,
    municipalities: [{ id: 'chiesa', name: 'Chiesa in Valmalenco', istat: '014019', lat: 46.266, lon: 9.85 }],
    corridors: [
      { id: 'water', name: 'Acqua' },
      { id: 'energy', name: 'Efficienza energetica' },
      { id: 'mobility', name: 'Mobilità' },
    ],
    sites: [
      site('t-reservoir', 'reservoir', { volume_m3: 300 }),
      site('t-network', 'network'),
      site('t-townhall', 'building', { floor_area_m2: 900 }),
      site('t-road', 'road'),
      site('t-carpark', 'car_park', { capacity: 50 }),
      site('t-chargers', 'charging_station', { connectors: 2 }),
    ],
    devices,
    users,
  };
  const yaml = stringify(registry);
  return { yaml, index: parseRegistryText(yaml, 'test registry'), secrets };
}

export async function writeTestRegistry(dir: string, registry: TestRegistry): Promise<string> {
  const path = join(dir, 'registry.yaml');
  await writeFile(path, registry.yaml);
  return path;
}
