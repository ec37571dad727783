/**
 * DESIGN's data model in line protocol: measurement = kind; tags = device, municipality, corridor,
 * site; every value a float field; timestamp in ms. The client library's Point does the escaping
 * (commas, spaces, equals signs) so we do not hand-roll it.
 */
import { Point } from '@influxdata/influxdb-client';
import type { NormalizedReading } from '../contract/index.js';

export function toLineProtocol(r: NormalizedReading): string {
  const point = new Point(r.kind)
    .tag('device', r.deviceId)
    .tag('municipality', r.municipality)
    .tag('corridor', r.corridor)
    .tag('site', r.site);
  for (const [metric, value] of Object.entries(r.values)) point.floatField(metric, value);
  // A string timestamp is written as is: it is already in the write precision (ms).
  point.timestamp(String(r.ts));
  const line = point.toLineProtocol();
  if (line === undefined) throw new Error(`reading of ${r.deviceId} at ${r.ts} has no fields`);
  return line;
}
