import { describe, expect, it } from '@jest/globals';
import { parseTimestamp } from './timestamp.js';

describe('parseTimestamp', () => {
  it('accepts epoch milliseconds', () => {
    expect(parseTimestamp(1764050400000)).toEqual({ ok: true, ms: 1764050400000 });
  });

  it('refuses epoch seconds with E_TS_SECONDS and suggests the milliseconds', () => {
    const r = parseTimestamp(1764050400);
    expect(r).toMatchObject({ ok: false, code: 'E_TS_SECONDS' });
    expect(!r.ok && r.message).toContain('1764050400000');
  });

  it.each([
    ['2026-11-25T06:00:00Z', Date.UTC(2026, 10, 25, 6)],
    ['2026-11-25T07:00:00+01:00', Date.UTC(2026, 10, 25, 6)],
    ['2026-11-25T07:00:00+0100', Date.UTC(2026, 10, 25, 6)],
    ['2026-11-25T07:00+01', Date.UTC(2026, 10, 25, 6)],
    ['2026-11-25 06:00:00.123456Z', Date.UTC(2026, 10, 25, 6, 0, 0, 123)],
  ])('accepts ISO-8601 with a zone: %s', (ts, ms) => {
    expect(parseTimestamp(ts)).toEqual({ ok: true, ms });
  });

  it('refuses an ISO time without a zone with E_TS_NO_ZONE', () => {
    expect(parseTimestamp('2026-11-25T06:00:00')).toMatchObject({ ok: false, code: 'E_TS_NO_ZONE' });
    expect(parseTimestamp('2026-11-25 06:00')).toMatchObject({ ok: false, code: 'E_TS_NO_ZONE' });
  });

  it.each([
    ['2026-02-30T06:00:00Z'],
    ['2026-13-01T00:00:00Z'],
    ['yesterday'],
    [''],
    [true],
    [null],
    [undefined],
    [-5],
    [1e20],
    [{}],
  ])('refuses %p with E_SCHEMA', (ts) => {
    expect(parseTimestamp(ts)).toMatchObject({ ok: false, code: 'E_SCHEMA' });
  });
});
