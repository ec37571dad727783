/**
 * The registry: municipalities, corridors, sites, devices and users of the valley. Validated with
 * zod; every problem is reported with its path (see loader.ts). Cross-references (a device's site,
 * a site's municipality, kinds, unique ids) are checked in `superRefine` so they are reported
 * together with the shape problems.
 */
import { z } from 'zod';
import { CORRIDORS, KINDS, idSchema } from '../contract/index.js';

const lat = z.number().min(-90).max(90);
const lon = z.number().min(-180).max(180);

/** `hmac-sha256$<salt base64>$<hash base64>`: see config/secrets.ts. */
export const SECRET_HASH_PATTERN = /^hmac-sha256\$[A-Za-z0-9+/]{16,}={0,2}\$[A-Za-z0-9+/]{43}=$/;
/** `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>`: see config/secrets.ts. */
export const PASSWORD_HASH_PATTERN = /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/;

export const municipalitySchema = z.strictObject({
  id: idSchema,
  name: z.string().min(1),
  // Unquoted, YAML reads 014019 as the number 14019 and the leading zero is lost: say so.
  istat: z
    .string({ error: 'ISTAT code is a quoted string of six digits, e.g. "014019"' })
    .regex(/^\d{6}$/, 'ISTAT code is six digits, e.g. "014019"'),
  lat,
  lon,
  altitude_m: z.number().optional(),
});

export const corridorSchema = z.strictObject({
  id: z.enum(CORRIDORS),
  name: z.string().min(1),
});

export const SITE_TYPES = [
  'spring',
  'reservoir',
  'network',
  'treatment',
  'building',
  'weather_station',
  'road',
  'car_park',
  'charging_station',
] as const;

const openingHours = z
  .string()
  .regex(/^\d{2}:\d{2}-\d{2}:\d{2}$/, 'opening hours are "HH:MM-HH:MM"')
  .describe('local time, Europe/Rome');

export const siteSchema = z.strictObject({
  id: idSchema,
  municipality: idSchema,
  type: z.enum(SITE_TYPES),
  name: z.string().min(1),
  lat,
  lon,
  altitude_m: z.number().optional(),
  /** Car parks: number of spaces (bounds `occupied_spaces`). */
  capacity: z.number().int().positive().optional(),
  /** Charging stations: number of connectors (bounds `connectors_in_use`). */
  connectors: z.number().int().positive().optional(),
  /** Buildings. */
  floor_area_m2: z.number().positive().optional(),
  opening_hours: openingHours.optional(),
  /** Weekdays the building is open, 1 = Monday ... 7 = Sunday. */
  open_days: z.array(z.number().int().min(1).max(7)).optional(),
  /** Reservoirs. */
  volume_m3: z.number().positive().optional(),
  /** Resident population served (water) or typical daily traffic (roads): drives the simulators. */
  population: z.number().int().nonnegative().optional(),
  aadt: z.number().int().nonnegative().optional(),
  /**
   * Water sites: how the water is disinfected (default chlorine). Where it is UV only (or none),
   * free chlorine reads 0 by design and the low-chlorine limit does not apply.
   */
  disinfection: z.enum(['chlorine', 'uv', 'none']).optional(),
});

export const deviceSchema = z.strictObject({
  id: idSchema,
  kind: z.string(),
  site: idSchema,
  lat,
  lon,
  /** Seconds between readings: drives presence (stale = 3 intervals without a reading). */
  interval_s: z.number().int().min(1).max(86400),
  secret_hash: z.string().regex(SECRET_HASH_PATTERN, 'secret_hash must be made by `valley device add`'),
  demo: z.boolean().optional(),
  description: z.string().optional(),
});

export const userSchema = z.strictObject({
  id: idSchema,
  role: z.enum(['viewer', 'operator']),
  password_hash: z.string().regex(PASSWORD_HASH_PATTERN, 'password_hash must be made by `valley user add`'),
  name: z.string().optional(),
});

export const registrySchema = z
  .strictObject({
    version: z.literal(1),
    municipalities: z.array(municipalitySchema).min(1),
    corridors: z.array(corridorSchema).min(1),
    sites: z.array(siteSchema),
    devices: z.array(deviceSchema),
    users: z.array(userSchema).default([]),
  })
  // `when: () => true`: zod skips refinements once the shape has a problem, but a person fixing a
  // file wants every problem in one run, so the cross-references are checked on whatever parsed.
  .superRefine((reg, ctx) => crossCheck(reg, ctx), { when: () => true });

type Issue = { path: (string | number)[]; message: string };

/** The entries of `value[key]` that look like objects; the rest already has shape issues. */
function entries(value: unknown, key: string): [number, Record<string, unknown>][] {
  const list = (value as Record<string, unknown> | null | undefined)?.[key];
  if (!Array.isArray(list)) return [];
  return list.flatMap((item: unknown, i) =>
    item !== null && typeof item === 'object' ? [[i, item as Record<string, unknown>]] : [],
  );
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Unique ids, known municipalities/sites/kinds, car park capacity etc., user ids vs device ids. */
function crossCheck(reg: unknown, ctx: { addIssue(issue: Issue & { code: 'custom' }): void }): void {
  const add = (path: Issue['path'], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const unique = (key: string) => {
    const seen = new Map<string, number>();
    for (const [i, item] of entries(reg, key)) {
      const id = str(item.id);
      if (id === undefined) continue;
      const first = seen.get(id);
      if (first !== undefined) add([key, i, 'id'], `duplicate id "${id}" (first at ${key}[${first}])`);
      else seen.set(id, i);
    }
  };
  unique('municipalities');
  unique('sites');
  unique('devices');
  unique('users');
  const municipalities = new Set(entries(reg, 'municipalities').map(([, m]) => str(m.id)));
  const corridors = new Set(entries(reg, 'corridors').map(([, c]) => str(c.id)));
  const sites = new Map(entries(reg, 'sites').map(([, s]) => [str(s.id), s]));
  for (const [i, s] of entries(reg, 'sites')) {
    const municipality = str(s.municipality);
    if (municipality !== undefined && !municipalities.has(municipality)) {
      add(['sites', i, 'municipality'], `unknown municipality "${municipality}"`);
    }
  }
  for (const [i, d] of entries(reg, 'devices')) {
    const kindId = str(d.kind);
    const kind = kindId === undefined ? undefined : KINDS.get(kindId);
    if (kindId !== undefined && !kind) {
      add(['devices', i, 'kind'], `unknown kind "${kindId}" (known: ${[...KINDS.keys()].join(', ')})`);
    } else if (kind && !corridors.has(kind.corridor)) {
      add(
        ['devices', i, 'kind'],
        `kind "${kindId}" belongs to corridor "${kind.corridor}", which is not in corridors`,
      );
    }
    const siteId = str(d.site);
    if (siteId === undefined) continue;
    const site = sites.get(siteId);
    if (!site) {
      add(['devices', i, 'site'], `unknown site "${siteId}"`);
      continue;
    }
    for (const [metric, spec] of Object.entries(kind?.metrics ?? {})) {
      if (spec.boundedBy && site[spec.boundedBy] === undefined) {
        add(['devices', i, 'site'], `site "${siteId}" needs "${spec.boundedBy}" for ${kindId}.${metric}`);
      }
    }
  }
  const deviceIds = new Set(entries(reg, 'devices').map(([, d]) => str(d.id)));
  for (const [i, u] of entries(reg, 'users')) {
    const id = str(u.id);
    if (id !== undefined && deviceIds.has(id)) {
      add(['users', i, 'id'], `user id "${id}" is also a device id; they must be distinct`);
    }
  }
}

export type Registry = z.infer<typeof registrySchema>;
export type Municipality = z.infer<typeof municipalitySchema>;
export type Site = z.infer<typeof siteSchema>;
export type Device = z.infer<typeof deviceSchema>;
export type User = z.infer<typeof userSchema>;

/** A device with its site, municipality and corridor resolved: what ingest enriches with. */
export interface ResolvedDevice {
  device: Device;
  site: Site;
  municipality: Municipality;
  corridor: string;
}

/** Fast look-ups over a validated registry; rebuilt on reload. */
export class RegistryIndex {
  readonly devices: ReadonlyMap<string, ResolvedDevice>;
  readonly users: ReadonlyMap<string, User>;

  constructor(readonly registry: Registry) {
    const sites = new Map(registry.sites.map((s) => [s.id, s]));
    const municipalities = new Map(registry.municipalities.map((m) => [m.id, m]));
    const devices = new Map<string, ResolvedDevice>();
    for (const device of registry.devices) {
      const site = sites.get(device.site);
      const municipality = site && municipalities.get(site.municipality);
      const kind = KINDS.get(device.kind);
      // A validated registry always resolves; the guard keeps the types honest.
      if (site && municipality && kind)
        devices.set(device.id, { device, site, municipality, corridor: kind.corridor });
    }
    this.devices = devices;
    this.users = new Map(registry.users.map((u) => [u.id, u]));
  }

  get hasDemoDevices(): boolean {
    return this.registry.devices.some((d) => d.demo === true);
  }
}
