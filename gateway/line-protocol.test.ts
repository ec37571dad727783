import { Point } from '@influxdata/influxdb-client';
import { describe, expect, it } from '@jest/globals';
import type { NormalizedReading } from '../contract/index.js';
import { toLineProtocol } from './line-protocol.js';

/** The client library's Point: the reference the hand-built lines must equal, byte for byte. */
function viaPoint(r: NormalizedReading): string | undefined {
  const point = new Point(r.kind)
    .tag('device', r.deviceId)
    .tag('municipality', r.municipality)
    .tag('corridor', r.corridor)
    .tag('site', r.site);
  for (const [metric, value] of Object.entries(r.values)) point.floatField(metric, value);
  point.timestamp(String(r.ts));
  return point.toLineProtocol();
}

const base: NormalizedReading = {
  deviceId: 'chiesa-flow-01',
  kind: 'water_flow',
  corridor: 'water',
  municipality: 'chiesa',
  site: 'chiesa-reservoir',
  ts: 1_764_050_400_000,
  values: { totaliser_m3: 80231.5, flow_l_s: 12.4 },
  receivedAt: 1_764_050_400_050,
};

describe('toLineProtocol', () => {
  const cases: [string, NormalizedReading][] = [
    ['an ordinary reading (fields sorted)', base],
    ['one field, integer and negative values', { ...base, values: { temp_c: -3 } }],
    ['tiny and huge floats', { ...base, values: { a_m: 1e-7, b_m: 1.5e21, c_m: 0.1 + 0.2 } }],
    [
      'tags and measurement needing every escape',
      {
        ...base,
        deviceId: 'dev ice,=\n\r\t',
        kind: 'kind with, space=eq',
        site: 's=1,2 3',
        municipality: 'm\tx',
        values: { 'we ird,=name': 1 },
      },
    ],
    ['an empty tag value is left out', { ...base, site: '' }],
    ['an empty field name is left out', { ...base, values: { '': 1, flow_l_s: 2 } }],
  ];
  it.each(cases)('%s: same line as the client library’s Point', (_name, reading) => {
    expect(toLineProtocol(reading)).toBe(viaPoint(reading));
    // The second call comes from the per-device prefix cache: still the same line.
    expect(toLineProtocol(reading)).toBe(viaPoint(reading));
  });

  it('a device moved by the registry gets its new tags, not the cached ones', () => {
    expect(toLineProtocol(base)).toContain(',site=chiesa-reservoir ');
    const moved = { ...base, site: 'lanzada-tank', municipality: 'lanzada' };
    expect(toLineProtocol(moved)).toBe(viaPoint(moved));
    expect(toLineProtocol(moved)).toContain(',municipality=lanzada,site=lanzada-tank ');
  });

  it('refuses a reading without fields or with a non-finite value, as Point does', () => {
    expect(() => toLineProtocol({ ...base, values: {} })).toThrow(/has no fields/);
    expect(() => toLineProtocol({ ...base, values: { '': 1 } })).toThrow(/has no fields/);
    expect(() => toLineProtocol({ ...base, values: { flow_l_s: Number.NaN } })).toThrow(
      /invalid float value for field 'flow_l_s'/,
    );
    expect(() => toLineProtocol({ ...base, values: { flow_l_s: Infinity } })).toThrow(/invalid float/);
  });
});
