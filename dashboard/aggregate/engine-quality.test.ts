import { describe, expect, test } from '@jest/globals';
import type { Alert } from '../../contract/index.js';
import { DashboardAggregator } from './engine.js';
import { feed, reading, reject, t, testRegistry } from './fixtures.js';
import type { QualityData } from './schemas.js';

const T0 = t('2026-11-25T08:00:00+01:00');
const MIN = 60_000;

function quality(agg: DashboardAggregator, now: number): QualityData {
  const snap = agg.snapshot('quality', now);
  if (snap?.type !== 'quality') throw new Error('no quality snapshot');
  return snap.data;
}

describe('data quality', () => {
  const agg = new DashboardAggregator({ registry: testRegistry() });
  feed(agg, [
    reading('wf-res', T0, { flow_l_s: 1 }),
    reading('wf-res', T0 + MIN, { flow_l_s: 1 }),
    reading('wp-net', T0 + 30 * MIN, { pressure_bar: 3 }),
  ]);
  agg.onDuplicate({ deviceId: 'wf-res', count: 3 }, T0 + 2 * MIN);
  agg.onRejected(
    {
      deviceId: 'wf-res',
      rejects: [reject('E_RANGE', T0 + 5 * MIN), reject('E_TS_FUTURE', T0 + 40 * MIN, 'late')],
    },
    T0 + 40 * MIN,
  );
  agg.onRejected({ deviceId: 'wp-net', rejects: [reject('E_RANGE', T0 + 50 * MIN)] }, T0 + 50 * MIN);
  const sinkDown: Alert = {
    id: 'sink-down',
    severity: 'critical',
    source: 'system',
    state: 'active',
    since: T0,
    message: 'InfluxDB unreachable',
  };
  agg.onAlert(sinkDown);
  agg.onAlert({ ...sinkDown, id: 'chlorine-low', source: 'rules', severity: 'warning' });

  test('accepted, duplicate and rejected per device over the last hour, with reject codes', () => {
    const q = quality(agg, T0 + 55 * MIN);
    const row = q.devices.find((d) => d.id === 'wf-res');
    expect(row?.lastHour).toEqual({
      accepted: 2,
      duplicate: 3,
      rejected: 2,
      codes: { E_RANGE: 1, E_TS_FUTURE: 1 },
    });
    expect(row?.totals).toEqual({ accepted: 2, duplicate: 3, rejected: 2 });
    expect(row?.lastReject).toMatchObject({ code: 'E_TS_FUTURE', message: 'late', at: T0 + 40 * MIN });
    expect(q.lastHour).toEqual({
      accepted: 3,
      duplicate: 3,
      rejected: 3,
      codes: { E_RANGE: 2, E_TS_FUTURE: 1 },
    });
    expect(q.devices.find((d) => d.id === 'pk-big')?.lastHour).toEqual({
      accepted: 0,
      duplicate: 0,
      rejected: 0,
      codes: {},
    });
  });

  test('the window slides: an hour later the early minutes are out, totals stay', () => {
    // At T0 + 61 min the window is (T0 + 1 min, T0 + 61 min]: the T0 reading is out, T0 + 1 min too
    // (its minute is the window's exclusive start), the rest is in.
    const q = quality(agg, T0 + 61 * MIN);
    const row = q.devices.find((d) => d.id === 'wf-res');
    expect(row?.lastHour).toEqual({
      accepted: 0,
      duplicate: 3,
      rejected: 2,
      codes: { E_RANGE: 1, E_TS_FUTURE: 1 },
    });
    expect(row?.totals.accepted).toBe(2);
    expect(quality(agg, T0 + 200 * MIN).lastHour).toEqual({
      accepted: 0,
      duplicate: 0,
      rejected: 0,
      codes: {},
    });
  });

  test('system alerts only, most severe first', () => {
    expect(quality(agg, T0 + 55 * MIN).alerts.map((a) => a.id)).toEqual(['sink-down']);
  });
});
