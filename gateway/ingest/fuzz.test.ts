/**
 * Property tests over the decoder and validators: whatever bytes or JSON a device sends, ingest
 * never throws, always answers with a code of the contract's closed list, and never touches
 * Object.prototype.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { KINDS, REJECT_CODES } from '../../contract/index.js';
import { decodePayload } from './decode.js';
import { validateReading } from './validate.js';

const codes = new Set<string>(REJECT_CODES);
const now = Date.UTC(2026, 10, 25, 6);
const window = { now, futureSkewMs: 120_000, lateWindowMs: 7 * 86_400_000 };
const kinds = [...KINDS.values()];

/** JSON-ish values including the awkward ones devices send. */
const nasty = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.double(),
    fc.integer(),
    fc.bigInt().map((b) => Number(b)),
    fc.constantFrom(1e308, -1e308, 0, -0, 1e11, 99999999999, 1e13, 2 ** 53 + 1),
    fc.string(),
    fc.constantFrom('NaN', 'Infinity', '-Infinity', '2026-11-25T06:00:00', '2026-11-25T06:00:00Z', ''),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'prototype', 'ts', 'values', 'seq')),
      tie('value'),
      { maxKeys: 5 },
    ),
  ),
})).value;

const reading = fc.record(
  {
    ts: fc.oneof(nasty, fc.integer({ min: now - 10 * 86_400_000, max: now + 600_000 })),
    seq: nasty,
    values: fc.oneof(
      nasty,
      fc.dictionary(
        fc.oneof(
          fc.constantFrom(...kinds.flatMap((k) => Object.keys(k.metrics)), '__proto__', 'constructor'),
          fc.string(),
        ),
        nasty,
        { maxKeys: 6 },
      ),
    ),
    extra: nasty,
  },
  { requiredKeys: [] },
);

function prototypeIsClean(): boolean {
  return Object.keys(Object.prototype).length === 0 && ({} as Record<string, unknown>).x === undefined;
}

describe('ingest never crashes and always answers with a contract code', () => {
  it('decodes random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const r = decodePayload(bytes, 100);
        if (!r.ok) expect(codes.has(r.code)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes random JSON text, including __proto__ keys, without polluting prototypes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          nasty.map((v) => JSON.stringify(v) ?? 'null'),
        ),
        (text) => {
          const r = decodePayload(Buffer.from(text), 100);
          if (!r.ok) expect(codes.has(r.code)).toBe(true);
          expect(prototypeIsClean()).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('validates random readings against every kind with a stable verdict', () => {
    fc.assert(
      fc.property(reading, fc.constantFrom(...kinds), (element, kind) => {
        // Through JSON, as from the wire: `__proto__` arrives as an own key.
        const wire: unknown = JSON.parse(JSON.stringify(element));
        const first = validateReading(wire, kind, window);
        const second = validateReading(wire, kind, window);
        expect(second).toEqual(first);
        if (!first.ok) {
          expect(codes.has(first.code)).toBe(true);
          expect(first.message.length).toBeGreaterThan(0);
        } else {
          for (const [metric, value] of Object.entries(first.reading.values)) {
            const spec = kind.metrics[metric]!;
            expect(Number.isFinite(value)).toBe(true);
            expect(value).toBeGreaterThanOrEqual(spec.min);
            expect(value).toBeLessThanOrEqual(spec.max);
          }
        }
        expect(prototypeIsClean()).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('never accepts a number written as text, NaN or Infinity', () => {
    for (const text of ['"12.5"', 'NaN', 'Infinity', '1e400', '"Infinity"']) {
      const r = decodePayload(Buffer.from(`{"ts":${now},"values":{"pressure_bar":${text}}}`), 10);
      if (!r.ok) continue;
      const v = validateReading(r.elements[0], KINDS.get('water_pressure')!, window);
      expect(v.ok).toBe(false);
    }
  });
});
