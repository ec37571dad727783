import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { normalizedReadingSchema, type NormalizedReading } from '../contract/index.js';
import { encodeRecord, encodeRecords } from './outbox-segments.js';
import { commonRecord } from './record-shape.js';

const reading: NormalizedReading = {
  deviceId: 'chiesa-flow-01',
  kind: 'water_flow',
  corridor: 'water',
  municipality: 'chiesa',
  site: 'chiesa-reservoir',
  ts: 1_764_050_400_000,
  seq: 3,
  values: { flow_l_s: 12.4, totaliser_m3: 80231.5 },
  receivedAt: 1_764_050_400_050,
  flags: ['counter_reset'],
};

describe('commonRecord (the outbox read-back fast path)', () => {
  it('takes a record as the gateway writes it, with and without its optional fields', () => {
    const { seq: _seq, flags: _flags, ...bare } = reading;
    for (const r of [reading, bare]) {
      const parsed: unknown = JSON.parse(JSON.stringify(r));
      expect(commonRecord(parsed)).toEqual(r);
    }
  });

  it('leaves everything else to the schema', () => {
    const { site: _site, ...noSite } = reading;
    const { deviceId, ...rest } = reading;
    for (const other of [
      noSite,
      { ...reading, extra: 1 },
      { ...rest, deviceId }, // same keys, another order
      { ...reading, ts: '1' },
      { ...reading, seq: -1 },
      { ...reading, flags: ['other'] },
      { ...reading, values: { flow_l_s: '1' } },
      JSON.parse(
        '{"deviceId":"a","kind":"k","corridor":"c","municipality":"m","site":"s","ts":1,"values":{"__proto__":1},"receivedAt":1}',
      ),
      [],
      null,
    ])
      expect(commonRecord(other)).toBeUndefined();
  });

  it('accepts only what the schema accepts, with the same output', () => {
    const str = fc.oneof({ weight: 30, arbitrary: fc.string() }, fc.integer(), fc.constant(null));
    const num = fc.oneof(
      { weight: 30, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
      fc.nat(),
      fc.string(),
      fc.constant(-1),
    );
    const field = {
      deviceId: str,
      kind: str,
      corridor: str,
      municipality: str,
      site: str,
      ts: num,
      seq: num,
      values: fc.oneof(
        { weight: 5, arbitrary: fc.dictionary(fc.string(), fc.double()) },
        fc.dictionary(fc.string(), num),
        fc.constant(null),
      ),
      receivedAt: num,
      flags: fc.oneof(fc.constant(['counter_reset']), fc.array(fc.string(), { maxLength: 2 })),
      extra: num,
    };
    const { extra: _extra, ...known } = field;
    const record = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record(known, {
          requiredKeys: [
            'deviceId',
            'kind',
            'corridor',
            'municipality',
            'site',
            'ts',
            'values',
            'receivedAt',
          ],
        }),
      },
      fc.record(field, { requiredKeys: [] }),
      fc.anything(),
    );
    let taken = 0;
    fc.assert(
      fc.property(record, (input) => {
        // Through JSON, as a record is read back.
        const json = JSON.stringify(input);
        const parsed: unknown = json === undefined ? undefined : JSON.parse(json);
        const fast = commonRecord(parsed);
        if (fast === undefined) return;
        taken++;
        const slow = normalizedReadingSchema.safeParse(parsed);
        expect(slow.success).toBe(true);
        expect(JSON.stringify(fast)).toBe(JSON.stringify(slow.data));
      }),
      { numRuns: 5000, seed: 8 },
    );
    expect(taken).toBeGreaterThan(100);
  });
});

describe('encodeRecords (the outbox append encoding)', () => {
  it('gives the bytes of encodeRecord, joined, for any readings (non-ASCII included)', () => {
    const text = fc.string({ unit: 'binary' });
    const one = fc.record({
      deviceId: text,
      kind: text,
      corridor: text,
      municipality: text,
      site: text,
      ts: fc.nat(),
      values: fc.dictionary(text, fc.double({ noNaN: true, noDefaultInfinity: true })),
      receivedAt: fc.nat(),
    });
    fc.assert(
      fc.property(fc.array(one, { minLength: 1, maxLength: 5 }), (readings) => {
        const expected = readings.map((r) => encodeRecord(r)).join('');
        expect(encodeRecords(readings).toString('utf8')).toBe(expected);
      }),
      { numRuns: 500, seed: 8 },
    );
  });
});
