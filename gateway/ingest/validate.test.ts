import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { KINDS, getKind, readingEnvelopeSchema } from '../../contract/index.js';
import { commonEnvelope, commonValues, validateReading } from './validate.js';

const now = Date.UTC(2026, 10, 25, 6);
const window = { now, futureSkewMs: 120_000, lateWindowMs: 7 * 86_400_000 };
const flow = getKind('water_flow')!;

describe('validateReading', () => {
  it('accepts a valid reading and keeps seq', () => {
    const r = validateReading(
      { ts: now, seq: 3, values: { flow_l_s: 12.4, totaliser_m3: 80231.5 } },
      flow,
      window,
    );
    expect(r).toEqual({
      ok: true,
      reading: { ts: now, seq: 3, values: { flow_l_s: 12.4, totaliser_m3: 80231.5 } },
    });
  });

  it.each([
    ['E_SCHEMA', { values: { flow_l_s: 1 } }, 'ts'],
    ['E_SCHEMA', { ts: now }, 'values'],
    ['E_SCHEMA', { ts: now, values: { flow_l_s: '12' } }, 'values.flow_l_s'],
    ['E_SCHEMA', { ts: now, values: {} }, 'values'],
    ['E_SCHEMA', { ts: now, seq: -1, values: { flow_l_s: 1 } }, 'seq'],
    ['E_SCHEMA', { ts: now, values: { flow_l_s: 1 }, extra: 1 }, undefined],
    ['E_UNKNOWN_METRIC', { ts: now, values: { flow_l_s: 1, pressure_bar: 3 } }, 'values.pressure_bar'],
    [
      'E_UNKNOWN_METRIC',
      JSON.parse(`{"ts":${now},"values":{"__proto__":{"x":1}}}`) as unknown,
      'values.__proto__',
    ],
    ['E_RANGE', { ts: now, values: { flow_l_s: 5000 } }, 'values.flow_l_s'],
    ['E_RANGE', { ts: now, values: { totaliser_m3: -1 } }, 'values.totaliser_m3'],
    ['E_TS_SECONDS', { ts: now / 1000, values: { flow_l_s: 1 } }, 'ts'],
    ['E_TS_NO_ZONE', { ts: '2026-11-25T06:00:00', values: { flow_l_s: 1 } }, 'ts'],
    ['E_TS_FUTURE', { ts: now + 121_000, values: { flow_l_s: 1 } }, 'ts'],
    ['E_TS_TOO_OLD', { ts: now - 8 * 86_400_000, values: { flow_l_s: 1 } }, 'ts'],
  ])('refuses with %s: %j', (code, element, path) => {
    const r = validateReading(element, flow, window);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe(code);
    expect(r.message.length).toBeGreaterThan(5);
    if (path !== undefined) expect(r.path).toBe(path);
  });

  it('names the metric and its limit in range errors', () => {
    const pressure = getKind('water_pressure')!;
    const r = validateReading({ ts: now, values: { pressure_bar: 30 } }, pressure, window);
    expect(r).toMatchObject({ ok: false, code: 'E_RANGE', path: 'values.pressure_bar', ts: now });
    expect(!r.ok && r.message).toBe('pressure_bar must be <= 25 bar');
  });

  it('lists the kind metrics when a metric is unknown (device under the wrong kind)', () => {
    const r = validateReading({ ts: now, values: { level_pct: 50 } }, flow, window);
    expect(!r.ok && r.message).toContain('flow_l_s, totaliser_m3');
  });

  it('refuses fractional counts of things', () => {
    const parking = getKind('parking')!;
    expect(validateReading({ ts: now, values: { occupied_spaces: 3.5 } }, parking, window)).toMatchObject({
      ok: false,
      code: 'E_SCHEMA',
    });
  });

  it('accepts every metric of every kind at its bounds and refuses just outside', () => {
    for (const kind of KINDS.values()) {
      for (const [metric, spec] of Object.entries(kind.metrics)) {
        for (const v of [spec.min, spec.max]) {
          expect(validateReading({ ts: now, values: { [metric]: v } }, kind, window).ok).toBe(true);
        }
        const below = spec.integer ? spec.min - 1 : spec.min - 0.001;
        const above = spec.integer ? spec.max + 1 : spec.max * 1.001 + 0.001;
        expect(validateReading({ ts: now, values: { [metric]: below } }, kind, window)).toMatchObject({
          code: 'E_RANGE',
        });
        expect(validateReading({ ts: now, values: { [metric]: above } }, kind, window)).toMatchObject({
          code: 'E_RANGE',
        });
      }
    }
  });

  it('has the metrics the contract requires per kind', () => {
    const required: Record<string, string[]> = {
      water_flow: ['flow_l_s', 'totaliser_m3'],
      water_pressure: ['pressure_bar'],
      water_level: ['level_m', 'level_pct'],
      water_quality: ['free_chlorine_mg_l', 'turbidity_ntu', 'ph', 'conductivity_us_cm', 'temperature_c'],
      energy_meter: ['active_power_kw', 'energy_import_kwh', 'energy_export_kwh'],
      heat_meter: ['thermal_power_kw', 'heat_energy_kwh', 'flow_temperature_c', 'return_temperature_c'],
      indoor_climate: ['temperature_c', 'humidity_pct', 'co2_ppm'],
      weather: ['temperature_c', 'humidity_pct', 'wind_speed_m_s', 'precipitation_mm'],
      traffic_counter: ['vehicles_count', 'heavy_vehicles_count', 'average_speed_km_h', 'interval_s'],
      parking: ['occupied_spaces'],
      ev_charger: ['power_kw', 'energy_kwh', 'connectors_in_use'],
    };
    for (const [kind, metrics] of Object.entries(required))
      expect(Object.keys(getKind(kind)!.metrics)).toEqual(metrics);
    const counters = [...KINDS.values()].flatMap((k) =>
      Object.entries(k.metrics)
        .filter(([, s]) => s.counter)
        .map(([m]) => `${k.id}.${m}`),
    );
    expect(counters.sort()).toEqual(
      [
        'energy_meter.energy_export_kwh',
        'energy_meter.energy_import_kwh',
        'ev_charger.energy_kwh',
        'heat_meter.heat_energy_kwh',
        'water_flow.totaliser_m3',
        'weather.precipitation_mm',
      ].sort(),
    );
  });
});

describe('validateReading messages', () => {
  it('says what is wrong with a field that is present, and that a reading must be an object', () => {
    const flow = getKind('water_flow')!;
    const w = { now: Date.UTC(2026, 10, 25, 6), futureSkewMs: 120_000, lateWindowMs: 7 * 86_400_000 };
    const seq = validateReading({ ts: w.now, seq: 1.5, values: { flow_l_s: 1 } }, flow, w);
    expect(seq).toMatchObject({ ok: false, code: 'E_SCHEMA', path: 'seq' });
    expect(!seq.ok && seq.message).toContain('non-negative whole number');
    const nested = validateReading([{ ts: w.now, values: { flow_l_s: 1 } }], flow, w);
    expect(nested).toMatchObject({ ok: false, code: 'E_SCHEMA' });
    expect(!nested.ok && nested.message).toContain('must be an object');
    const missing = validateReading({ ts: w.now }, flow, w);
    expect(!missing.ok && missing.message).toBe('values is required');
  });
});

describe('the fast path for the common shape', () => {
  // Metric names of the kind and a few others, numbers around every range's edges, integers and
  // not: whatever the fast path accepts, the schemas must accept with the very same output.
  const kinds = [...KINDS.values()];
  const names = [...new Set(kinds.flatMap((k) => Object.keys(k.metrics)))];
  const edge = kinds.flatMap((k) => Object.values(k.metrics).flatMap((m) => [m.min, m.max]));
  const number = fc.oneof(
    fc.double({ noNaN: false }),
    fc.integer(),
    fc.constantFrom(...edge, ...edge.map((e) => e + 0.5), ...edge.map((e) => e - 1e-9), -0, 2 ** 53),
  );
  const value = fc.oneof({ weight: 5, arbitrary: number }, fc.string(), fc.constant(null), fc.boolean());
  // Per kind: mostly its own metrics with values in range, sometimes anything.
  const caseFor = (kind: (typeof kinds)[number]) => {
    const specs = Object.entries(kind.metrics);
    const inRange = fc
      .constantFrom(...specs)
      .chain(([name, m]) =>
        fc.tuple(
          fc.constant(name),
          fc.oneof(
            fc.double({ min: m.min, max: m.max, noNaN: true }),
            fc.integer({ min: Math.ceil(Math.max(m.min, -1e9)), max: Math.floor(Math.min(m.max, 1e9)) }),
            value,
          ),
        ),
      );
    const key = fc.oneof(fc.constantFrom(...names), fc.string(), fc.constant('__proto__'));
    const values = fc.oneof(
      { weight: 6, arbitrary: fc.array(inRange, { maxLength: 4 }).map((es) => Object.fromEntries(es)) },
      fc.dictionary(key, value, { maxKeys: 4 }),
      fc.constant(null),
      fc.array(number),
    );
    const fields = {
      ts: fc.oneof(fc.integer(), fc.string()),
      seq: fc.oneof({ weight: 3, arbitrary: fc.nat() }, number, fc.string()),
      values,
      extra: value,
    };
    const element = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({ ts: fields.ts, seq: fields.seq, values }, { requiredKeys: ['ts', 'values'] }),
      },
      fc.record(fields, { requiredKeys: [] }),
      fc.anything(),
    );
    return fc.tuple(fc.constant(kind), element);
  };
  const cases = fc.constantFrom(...kinds).chain(caseFor);

  it('accepts only what the schemas accept, with the same output', () => {
    const taken = { envelopes: 0, values: 0 };
    fc.assert(
      fc.property(cases, ([kind, input]) => {
        // Through JSON, as a payload arrives (own keys only, `__proto__` an own key).
        const json = JSON.stringify(input);
        const el: unknown = json === undefined ? undefined : JSON.parse(json);
        const fast = commonEnvelope(el);
        const slow = readingEnvelopeSchema.safeParse(el);
        if (fast !== undefined) {
          taken.envelopes++;
          expect(slow.success).toBe(true);
          expect(fast.data).toEqual(slow.data);
          const fv = commonValues(fast.data.values, kind);
          const sv = kind.values.safeParse(fast.data.values);
          if (fv !== undefined) {
            taken.values++;
            expect(sv.success).toBe(true);
            expect(JSON.stringify(fv.data)).toBe(JSON.stringify(sv.data));
          }
        }
      }),
      { numRuns: 5000, seed: 8 },
    );
    // Not vacuous: the generators reach the fast path often.
    expect(taken.envelopes).toBeGreaterThan(500);
    expect(taken.values).toBeGreaterThan(50);
  });

  it('takes the common shape itself (no schema needed)', () => {
    const el = { ts: now, seq: 7, values: { totaliser_m3: 80231.5, flow_l_s: 12.4 } };
    const envelope = commonEnvelope(el);
    expect(envelope?.data).toEqual(el);
    // In the kind's order, as zod would give it.
    expect(JSON.stringify(commonValues(el.values, flow)?.data)).toBe(
      '{"flow_l_s":12.4,"totaliser_m3":80231.5}',
    );
    expect(commonValues({ flow_l_s: 1e9 }, flow)).toBeUndefined();
    expect(commonEnvelope({ ts: now, values: {}, extra: 1 })).toBeUndefined();
  });
});
