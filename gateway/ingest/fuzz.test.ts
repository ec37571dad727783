/**
 * Property tests over the decoder and validators: whatever bytes or JSON a device sends, ingest
 * never throws, always answers with a code of the contract's closed list, and never touches
 * Object.prototype. The last block runs the real Ingest over a real file outbox: refused input is
 * never written.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Bus, KINDS, REJECT_CODES, type RejectMessage } from '../../contract/index.js';
import { openStorage, type TestStorage } from '../../test/support/storage.js';
import { makeTestRegistry, TEST_DEVICES } from '../../test/support/registry.js';
import { decodePayload } from './decode.js';
import { Ingest } from './ingest.js';
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

/** A refused payload and the codes it may be refused with. */
interface BadPayload {
  what: string;
  payload: Buffer;
}

const MAX_READINGS = 20;
const device = TEST_DEVICES.flow.id; // water_flow: flow_l_s -1000 … 1000, totaliser_m3 0 … 1e10
const goodTs = now - 60_000;
const text = (what: string, t: string): BadPayload => ({ what, payload: Buffer.from(t) });
const readingText = (ts: string, values: string, extra = ''): string =>
  `{"ts":${ts},"values":{${values}}${extra}}`;

/** Numbers JSON can carry that no sensor reports: out of range, not finite, or no number at all. */
const hugeNumberText = fc.constantFrom(
  '1e308',
  '-1e308',
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '-98765432109876543210987654321098765432109876543210',
  '1' + '0'.repeat(400),
);
const notFiniteText = fc.constantFrom(
  'NaN',
  'Infinity',
  '-Infinity',
  '"NaN"',
  '"Infinity"',
  '"1e400"',
  '"12.5"',
);
/** Byte sequences that are not UTF-8: lone continuation, overlong, surrogate, truncated, 5-byte, 0xFF. */
const invalidUtf8 = fc.constantFrom(
  [0x80],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xe2, 0x82],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xff, 0xfe],
);
const protoKey = fc.constantFrom('__proto__', 'constructor', 'prototype');

const badPayload: fc.Arbitrary<BadPayload> = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }).map((b) => ({ what: 'random bytes', payload: Buffer.from(b) })),
  hugeNumberText.map((n) => text(`value ${n}`, readingText(String(goodTs), `"flow_l_s":${n}`))),
  hugeNumberText.map((n) => text(`ts ${n}`, readingText(n, '"flow_l_s":1'))),
  fc.constantFrom('-0', '0', '-0.0').map((n) => text(`ts ${n}`, readingText(n, '"flow_l_s":1'))),
  notFiniteText.map((n) => text(`value ${n}`, readingText(String(goodTs), `"flow_l_s":${n}`))),
  notFiniteText.map((n) => text(`ts ${n}`, readingText(n, '"flow_l_s":1'))),
  fc
    .integer({ min: 65, max: 100_000 })
    .map((n) => text(`metric name of ${n} chars`, readingText(String(goodTs), `"${'m'.repeat(n)}":1`))),
  fc
    .integer({ min: 2, max: 2000 })
    .map((n) =>
      text(
        `${n} unknown metrics`,
        readingText(String(goodTs), Array.from({ length: n }, (_, i) => `"m${i}":1`).join(',')),
      ),
    ),
  fc
    .integer({ min: 2, max: 2000 })
    .map((n) =>
      text(
        `${n} unknown fields`,
        readingText(
          String(goodTs),
          '"flow_l_s":1',
          Array.from({ length: n }, (_, i) => `,"f${i}":1`).join(''),
        ),
      ),
    ),
  fc
    .integer({ min: 30, max: 100_000 })
    .map((n) =>
      text(`ts string of ${n} chars`, readingText(`"2026-11-25T06:00:00.${'0'.repeat(n)}Z"`, '"flow_l_s":1')),
    ),
  fc
    .integer({ min: 1, max: 200_000 })
    .map((n) =>
      text(`value string of ${n} chars`, readingText(String(goodTs), `"flow_l_s":"${'9'.repeat(n)}"`)),
    ),
  fc.tuple(invalidUtf8, fc.nat(40), fc.constantFrom('name', 'ts')).map(([bad, at, where]) => {
    const name = 'flow_l_s'.padEnd(41, 'x');
    const parts =
      where === 'name'
        ? [`{"ts":${goodTs},"values":{"${name.slice(0, at)}`, `${name.slice(at)}":1}}`]
        : [`{"ts":"2026-11-25T06:00:00Z${'0'.repeat(at)}`, `","values":{"flow_l_s":1}}`];
    return {
      what: `invalid UTF-8 ${bad.join(',')} in the ${where}`,
      payload: Buffer.concat([Buffer.from(parts[0]!), Buffer.from(bad), Buffer.from(parts[1]!)]),
    };
  }),
  fc
    .integer({ min: 1, max: 30 })
    .map((extra) =>
      text(
        `${MAX_READINGS + extra} valid readings`,
        `[${Array.from({ length: MAX_READINGS + extra }, (_, i) => readingText(String(goodTs - i), '"flow_l_s":1')).join(',')}]`,
      ),
    ),
  fc
    .tuple(fc.integer({ min: 2, max: 200_000 }), fc.constantFrom('whole', 'value', 'field'))
    .map(([depth, where]) => {
      const deep = '['.repeat(depth) + ']'.repeat(depth);
      const t =
        where === 'whole'
          ? deep
          : where === 'value'
            ? readingText(String(goodTs), `"flow_l_s":${deep}`)
            : readingText(String(goodTs), '"flow_l_s":1', `,"x":${deep}`);
      return text(`nested ${depth} deep (${where})`, t);
    }),
  fc.tuple(protoKey, fc.constantFrom('reading', 'values', 'nested')).map(([key, where]) => {
    const pollute = `{"polluted":1,"flow_l_s":1,"prototype":{"polluted":1}}`;
    const t =
      where === 'reading'
        ? readingText(String(goodTs), '"flow_l_s":1', `,"${key}":${pollute}`)
        : where === 'values'
          ? readingText(String(goodTs), `"flow_l_s":1,"${key}":${pollute}`)
          : readingText(String(goodTs), `"${key}":${pollute}`);
    return text(`${key} key in the ${where}`, t);
  }),
);

describe('the real Ingest over a real file outbox: refused input is never written', () => {
  let storage: TestStorage;
  let ingest: Ingest;
  const published: RejectMessage[] = [];

  beforeAll(async () => {
    storage = await openStorage('valley-fuzz-');
    const registry = makeTestRegistry();
    ingest = new Ingest({
      registry: () => registry.index,
      outbox: storage.outbox,
      deadLetter: storage.deadLetter,
      bus: new Bus(),
      clock: { now: () => now },
      logger: storage.logger,
      settings: {
        maxReadingsPerMessage: MAX_READINGS,
        futureSkewMs: window.futureSkewMs,
        lateWindowMs: window.lateWindowMs,
        dedupeWindow: 4096,
      },
      publish: (_topic, payload) => {
        published.push(JSON.parse(String(payload)) as RejectMessage);
        return Promise.resolve();
      },
    });
  });

  afterAll(async () => {
    await storage?.close();
  });

  it('refuses every bad payload with a contract code and a bounded message, and appends nothing', async () => {
    await fc.assert(
      fc.asyncProperty(badPayload, async ({ what, payload }) => {
        published.length = 0;
        const outcome = await ingest.ingest(device, payload);
        expect({ what, accepted: outcome.accepted }).toEqual({ what, accepted: 0 });
        expect(outcome.rejects.length).toBeGreaterThan(0);
        for (const r of [...outcome.rejects, ...published]) {
          expect(codes.has(r.code)).toBe(true);
          // What goes back to the device (and into the dead-letter record) names the problem in a
          // few lines, however large the input: the raw payload is in the record already.
          expect(r.message.length).toBeLessThanOrEqual(1000);
          expect((r.path ?? '').length).toBeLessThanOrEqual(200);
        }
        // NEVER A WRITE: nothing reached the outbox, on disk or in the counts.
        expect(ingest.counts.accepted).toBe(0);
        expect(storage.outbox.stats().backlogRecords).toBe(0);
        expect(prototypeIsClean()).toBe(true);
      }),
      { numRuns: 300 },
    );
    // Whatever the rejects said, the device kept its ordinary answer: every message was counted.
    expect(ingest.counts.messages).toBeGreaterThanOrEqual(300);
  });

  it('refuses a value string of several MB and an array far beyond the limit without a write', async () => {
    const big = await ingest.ingest(
      device,
      Buffer.from(readingText(String(goodTs), `"flow_l_s":"${'7'.repeat(4 << 20)}"`)),
    );
    expect(big.rejects.map((r) => r.code)).toEqual(['E_SCHEMA']);
    const many = await ingest.ingest(
      device,
      Buffer.from(
        `[${Array.from({ length: 10_000 }, (_, i) => readingText(String(goodTs - i), '"flow_l_s":1')).join(',')}]`,
      ),
    );
    expect(many.rejects.map((r) => r.code)).toEqual(['E_TOO_MANY_READINGS']);
    expect(many.rejects[0]!.message).toContain(String(MAX_READINGS));
    expect(storage.outbox.stats().backlogRecords).toBe(0);
  });

  it('writes a valid reading through the same path (the no-write assertions can see a write)', async () => {
    const outcome = await ingest.ingest(device, Buffer.from(readingText(String(goodTs), '"flow_l_s":-0')));
    expect(outcome).toMatchObject({ accepted: 1, rejects: [] });
    expect(storage.outbox.stats().backlogRecords).toBe(1);
    expect(ingest.counts.accepted).toBe(1);
  });
});
