/**
 * DESIGN's data model in line protocol: measurement = kind; tags = device, municipality, corridor,
 * site; every value a float field; timestamp in ms.
 *
 * Built by hand rather than with the client library's Point: the drainer turns every reading
 * into a line, and Point allocates a point, a tags and a fields object, sorts both and escapes
 * every tag on every call. Here the measurement-and-tags prefix is built once per device (it only
 * changes when the registry moves the device) and a reading costs its fields only. The escaping
 * and ordering are Point's (line-protocol.test.ts checks the output against Point).
 */
import type { NormalizedReading } from '../contract/index.js';

/** Point's escaping: measurement names escape `,` and space; tag keys, values and field keys also `=`. */
const MEASUREMENT_SPECIAL = /[, \n\r\t]/;
const TAG_SPECIAL = /[, =\n\r\t]/;
const ESCAPES: Record<string, string> = {
  ',': '\\,',
  ' ': '\\ ',
  '=': '\\=',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

function escapeMeasurement(s: string): string {
  return MEASUREMENT_SPECIAL.test(s) ? s.replace(/[, \n\r\t]/g, (c) => ESCAPES[c]!) : s;
}

function escapeTag(s: string): string {
  return TAG_SPECIAL.test(s) ? s.replace(/[, =\n\r\t]/g, (c) => ESCAPES[c]!) : s;
}

interface Prefix {
  kind: string;
  corridor: string;
  municipality: string;
  site: string;
  /** `measurement,corridor=…,device=…,municipality=…,site=… ` (tags in Point's sorted order). */
  text: string;
}

/** Devices whose prefix is kept; beyond it the cache starts over (an old outbox of many devices). */
const MAX_PREFIXES = 50_000;
const prefixes = new Map<string, Prefix>();

function prefixOf(r: NormalizedReading): string {
  const cached = prefixes.get(r.deviceId);
  if (
    cached !== undefined &&
    cached.kind === r.kind &&
    cached.corridor === r.corridor &&
    cached.municipality === r.municipality &&
    cached.site === r.site
  )
    return cached.text;
  const parts = [escapeMeasurement(r.kind)];
  // Sorted by key, as Point sorts them; Point leaves out a tag whose value is empty.
  const tags: [string, string][] = [
    ['corridor', r.corridor],
    ['device', r.deviceId],
    ['municipality', r.municipality],
    ['site', r.site],
  ];
  for (const [key, value] of tags) if (value) parts.push(`,${key}=${escapeTag(value)}`);
  parts.push(' ');
  // Joined, not concatenated: `+=` leaves a rope of ~11 string pieces per device in the cache
  // (1.7 MiB for 5,000 devices); join makes one flat string.
  const text = parts.join('');
  if (prefixes.size >= MAX_PREFIXES) prefixes.clear();
  prefixes.set(r.deviceId, {
    kind: r.kind,
    corridor: r.corridor,
    municipality: r.municipality,
    site: r.site,
    text,
  });
  return text;
}

export function toLineProtocol(r: NormalizedReading): string {
  const metrics = Object.keys(r.values);
  for (const metric of metrics) {
    const value = r.values[metric]!;
    if (!Number.isFinite(value)) throw new Error(`invalid float value for field '${metric}': ${value}`);
  }
  if (metrics.length > 1) metrics.sort();
  let fields = '';
  for (const metric of metrics) {
    if (metric === '') continue;
    fields += `${fields.length > 0 ? ',' : ''}${escapeTag(metric)}=${String(r.values[metric])}`;
  }
  if (fields.length === 0) throw new Error(`reading of ${r.deviceId} at ${r.ts} has no fields`);
  if (!r.kind) throw new Error(`reading of ${r.deviceId} at ${r.ts} has no fields`);
  return `${prefixOf(r)}${fields} ${r.ts}`;
}
