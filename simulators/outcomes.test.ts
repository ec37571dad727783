/** Matching rejects back to their messages, verdicts, the window check and the reports. */
import { describe, expect, it } from '@jest/globals';
import { getKind } from '../contract/index.js';
import { FAULT_TYPES, faultPayload, parseFaultList } from './faults.js';
import { Ledger, summarise } from './outcomes.js';
import { junitReport } from './report.js';
import { simulationWindow, SimulationWindowError } from './simulation.js';

const reject = (code: 'E_RANGE' | 'E_JSON' | 'E_TS_SECONDS' | 'E_UNKNOWN_METRIC', extra: object = {}) => ({
  code,
  message: code,
  receivedAt: 1,
  ...extra,
});

function ledger() {
  const l = new Ledger();
  const base = { deviceId: 'd1', isArray: false, newReadings: [], readingCount: 1, acked: true };
  const valid = l.add({
    ...base,
    kind: 'valid',
    keys: [{ ts: 1000, seq: 1 }],
    newReadings: [{ ts: 1000, seq: 1 }],
  });
  const range = l.add({ ...base, kind: 'out_of_range', keys: [{ ts: 2000, seq: 2 }] });
  const json = l.add({ ...base, kind: 'malformed_json', keys: [{}] });
  const seconds = l.add({ ...base, kind: 'epoch_seconds', keys: [{ seq: 3 }] });
  const backlog = l.add({
    ...base,
    kind: 'backlog',
    isArray: true,
    keys: [
      { ts: 10, seq: 0 },
      { ts: 20, seq: 1 },
    ],
    newReadings: [
      { ts: 10, seq: 0 },
      { ts: 20, seq: 1 },
    ],
    readingCount: 2,
  });
  return { l, valid, range, json, seconds, backlog };
}

describe('Ledger', () => {
  it('matches rejects by ts, by seq, by index in an array, and a keyless one to the undecodable message', () => {
    const { l, range, json, seconds, backlog, valid } = ledger();
    expect(l.recordReject('d1', reject('E_RANGE', { ts: 2000, seq: 2 }))).toBe(range);
    expect(l.recordReject('d1', reject('E_JSON'))).toBe(json);
    expect(l.recordReject('d1', reject('E_TS_SECONDS', { seq: 3 }))).toBe(seconds);
    expect(l.recordReject('d1', reject('E_UNKNOWN_METRIC', { ts: 20, seq: 1, index: 1 }))).toBe(backlog);
    expect(l.recordReject('d1', reject('E_RANGE', { ts: 999_999 }))).toBeUndefined();
    const summary = summarise(l, 1, { devices: 1, from: 0, to: 1, speed: 1, skipped: [] });
    expect(valid.mismatch).toBeUndefined();
    expect(summary.results.out_of_range).toMatchObject({ injected: 1, asExpected: 1 });
    expect(summary.results.backlog!.mismatches[0]).toMatch(/d1 backlog: rejected with E_UNKNOWN_METRIC/);
    expect(summary.mismatches).toHaveLength(2);
    expect(summary.rejected).toEqual({ E_RANGE: 2, E_JSON: 1, E_TS_SECONDS: 1, E_UNKNOWN_METRIC: 1 });
    expect(summary.accepted).toBe(1);
  });

  it('counts a missing reject and a missing acknowledgement as mismatches', () => {
    const { l, valid } = ledger();
    valid.acked = false;
    const summary = summarise(l, 1, { devices: 1, from: 0, to: 1, speed: 1, skipped: [] });
    expect(summary.mismatches).toEqual(
      expect.arrayContaining([
        'd1 valid: no acknowledgement (expected acknowledged, no reject)',
        'd1 out_of_range: no reject received (expected E_RANGE)',
      ]),
    );
    const xml = junitReport(summary, 1.5);
    expect(xml).toMatch(/<testsuite name="valley simulate" tests="5" failures="4"/);
    expect(xml).toMatch(/name="fault out_of_range: acknowledged, reject E_RANGE" time="0">\s*<failure/);
  });
});

describe('faults', () => {
  it('parses lists, "all", and names the known faults on a typo', () => {
    expect(parseFaultList('all')).toEqual([...FAULT_TYPES]);
    expect(parseFaultList('duplicate, backlog')).toEqual(['duplicate', 'backlog']);
    expect(() => parseFaultList('duplicat')).toThrow(/unknown fault "duplicat" \(known: all, out_of_range/);
  });

  it('spoils a reading the way each fault says', () => {
    const kind = getKind('parking')!;
    const reading = { ts: 1_780_000_000_000, seq: 5, values: { occupied_spaces: 12 } };
    const parse = (p: string) => JSON.parse(p) as { ts: unknown; values: Record<string, unknown> };
    expect(parse(faultPayload('out_of_range', reading, kind, 0).payload).values.occupied_spaces).toBe(
      150_000,
    );
    expect(parse(faultPayload('wrong_type', reading, kind, 0).payload).values.occupied_spaces).toBe('12');
    expect(() => parse(faultPayload('malformed_json', reading, kind, 0).payload)).toThrow();
    expect(parse(faultPayload('epoch_seconds', reading, kind, 0).payload).ts).toBe(1_780_000_000);
    expect(parse(faultPayload('iso_no_zone', reading, kind, 0).payload).ts).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:00$/,
    );
    expect(faultPayload('future_clock', reading, kind, 5).keys.ts).toBe(3_600_005);
  });
});

describe('simulationWindow', () => {
  it('replays [end - duration × speed, end] and refuses a window beyond the late window', () => {
    expect(
      simulationWindow({
        now: 0,
        durationMs: 600_000,
        speed: 60,
        lateWindowMs: 7 * 86_400_000,
        backlogMs: 0,
      }),
    ).toEqual({
      from: 600_000 - 36_000_000,
      to: 600_000,
    });
    expect(() =>
      simulationWindow({
        now: 0,
        durationMs: 600_000,
        speed: 1100,
        lateWindowMs: 7 * 86_400_000,
        backlogMs: 0,
      }),
    ).toThrow(SimulationWindowError);
    expect(() =>
      simulationWindow({
        now: 0,
        durationMs: 3_600_000,
        speed: 100,
        lateWindowMs: 4 * 86_400_000,
        backlogMs: 3_600_000,
      }),
    ).toThrow(
      /reaches 100\.0 h into the past \(duration × speed plus the 1\.0 h backlog\), beyond the late window of 96\.0 h/,
    );
  });
});
