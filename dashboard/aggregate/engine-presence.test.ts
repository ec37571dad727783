import { describe, expect, test } from '@jest/globals';
import type { Alert } from '../../contract/index.js';
import { DashboardAggregator } from './engine.js';
import { feed, reading, t, testRegistry } from './fixtures.js';
import type { MapState } from './schemas.js';

const T0 = t('2026-11-25T08:00:00+01:00');
const S = 1000;

function stateOf(agg: DashboardAggregator, id: string, now: number): MapState | undefined {
  const snap = agg.snapshot('map', now);
  return snap?.type === 'map' ? snap.data.devices.find((d) => d.id === id)?.state : undefined;
}

const systemAlert = (state: Alert['state'], source: Alert['source'] = 'system'): Alert => ({
  id: 'device-offline-wf-res',
  severity: 'warning',
  source,
  state,
  since: T0,
  message: 'wf-res offline',
  deviceId: 'wf-res',
});

describe('presence and map state by the clock', () => {
  test('no session is offline; connected without readings is "no data yet", then stale', () => {
    const agg = new DashboardAggregator({ registry: testRegistry() });
    expect(stateOf(agg, 'wf-res', T0)).toBe('offline');
    agg.onPresence({ deviceId: 'wf-res', state: 'online', at: T0, reason: 'connected' });
    expect(stateOf(agg, 'wf-res', T0 + 180 * S)).toBe('nodata'); // interval 60 s: 3 intervals
    expect(stateOf(agg, 'wf-res', T0 + 180 * S + 1)).toBe('stale');
  });

  test('ok while the last reading is at most 3 intervals old, stale after, ok again on a reading', () => {
    const agg = new DashboardAggregator({ registry: testRegistry() });
    agg.onPresence({ deviceId: 'wf-res', state: 'online', at: T0, reason: 'connected' });
    feed(agg, [reading('wf-res', T0 + 10 * S, { flow_l_s: 3 })]);
    expect(stateOf(agg, 'wf-res', T0 + 190 * S)).toBe('ok');
    expect(stateOf(agg, 'wf-res', T0 + 190 * S + 1)).toBe('stale');
    feed(agg, [reading('wf-res', T0 + 200 * S, { flow_l_s: 3 })]);
    expect(stateOf(agg, 'wf-res', T0 + 201 * S)).toBe('ok');
  });

  test('status offline (LWT) is offline until a newer session; a disconnect is offline', () => {
    const agg = new DashboardAggregator({ registry: testRegistry() });
    agg.onPresence({ deviceId: 'wf-res', state: 'online', at: T0, reason: 'connected' });
    feed(agg, [reading('wf-res', T0 + S, { flow_l_s: 3 })]);
    agg.onStatus({ deviceId: 'wf-res', status: 'offline', at: T0 + 5 * S });
    expect(stateOf(agg, 'wf-res', T0 + 6 * S)).toBe('offline');
    agg.onPresence({ deviceId: 'wf-res', state: 'online', at: T0 + 7 * S, reason: 'connected' });
    expect(stateOf(agg, 'wf-res', T0 + 8 * S)).toBe('ok'); // reconnected; the reading is 7 s old
    agg.onPresence({ deviceId: 'wf-res', state: 'offline', at: T0 + 9 * S, reason: 'keepalive timeout' });
    expect(stateOf(agg, 'wf-res', T0 + 10 * S)).toBe('offline');
    // An event older than the one applied does not undo it.
    agg.onPresence({ deviceId: 'wf-res', state: 'online', at: T0 + 8 * S, reason: 'late event' });
    expect(stateOf(agg, 'wf-res', T0 + 10 * S)).toBe('offline');
  });

  test('a reading before any presence event implies a session', () => {
    const agg = new DashboardAggregator({ registry: testRegistry() });
    feed(agg, [reading('wf-res', T0, { flow_l_s: 3 })]);
    expect(stateOf(agg, 'wf-res', T0 + S)).toBe('ok');
  });

  test('an active system alert naming the device shows "alert"; a rules alert does not', () => {
    const agg = new DashboardAggregator({ registry: testRegistry() });
    agg.onAlert(systemAlert('active'));
    expect(stateOf(agg, 'wf-res', T0)).toBe('alert');
    agg.onAlert(systemAlert('resolved'));
    expect(stateOf(agg, 'wf-res', T0)).toBe('offline');
    agg.onAlert({ ...systemAlert('active', 'rules'), id: 'low-flow' });
    expect(stateOf(agg, 'wf-res', T0)).toBe('offline');
    const device = agg.snapshot('device:wf-res', T0);
    expect(device?.type === 'device' && device.data.alerts.map((a) => a.id)).toEqual(['low-flow']);
  });
});

describe('changed rooms', () => {
  test('events mark the rooms of their device; the clock alone marks stale transitions and a new day', () => {
    const agg = new DashboardAggregator({ registry: testRegistry() });
    agg.changedRooms(T0); // everything is new at first
    expect(agg.changedRooms(T0)).toEqual([]);
    agg.onPresence({ deviceId: 'wf-res', state: 'online', at: T0, reason: 'connected' });
    feed(agg, [reading('wf-res', T0, { flow_l_s: 3 })]);
    const touched = agg.changedRooms(T0 + S);
    expect(touched.sort()).toEqual(
      ['corridor:water', 'device:wf-res', 'map', 'municipality:alpha', 'overview', 'quality'].sort(),
    );
    expect(agg.changedRooms(T0 + 2 * S)).toEqual([]);
    // Stale at T0 + 180 s + 1 ms: the clock alone changed the device's state.
    const stale = agg.changedRooms(T0 + 180 * S + 1);
    expect(stale).toEqual(expect.arrayContaining(['device:wf-res', 'map', 'overview', 'corridor:water']));
    expect(agg.changedRooms(T0 + 180 * S + 2)).toEqual([]);
    // A new Rome day: every room ("today" restarts).
    const nextDay = agg.changedRooms(t('2026-11-26T00:00:00+01:00'));
    expect(nextDay.sort()).toEqual(agg.rooms().sort());
  });
});

describe('device view', () => {
  test('last reading, bounded sparkline, last seen, counts and last reject', () => {
    const agg = new DashboardAggregator({ registry: testRegistry(), seriesPoints: 3 });
    for (let i = 0; i < 5; i++)
      feed(agg, [reading('wp-net', T0 + i * 60 * S, { pressure_bar: 4 + i / 10 }, { seq: i })]);
    agg.onDuplicate({ deviceId: 'wp-net', count: 2 }, T0 + 250 * S);
    agg.onRejected(
      {
        deviceId: 'wp-net',
        rejects: [
          {
            code: 'E_RANGE',
            message: 'pressure_bar must be <= 25 bar',
            path: 'values.pressure_bar',
            receivedAt: T0 + 260 * S,
          },
        ],
      },
      T0 + 260 * S,
    );
    const snap = agg.snapshot('device:wp-net', T0 + 270 * S);
    if (snap?.type !== 'device') throw new Error('no device snapshot');
    const d = snap.data;
    expect(d.lastReading).toEqual({
      ts: T0 + 240 * S,
      receivedAt: T0 + 240 * S + 200,
      seq: 4,
      values: { pressure_bar: 4.4 },
      flags: [],
    });
    expect(d.metrics).toEqual([
      {
        metric: 'pressure_bar',
        unit: 'bar',
        value: 4.4,
        asOf: T0 + 240 * S,
        today: null,
        todayCountedSince: null,
        series: [
          [T0 + 120 * S, 4.2],
          [T0 + 180 * S, 4.3],
          [T0 + 240 * S, 4.4],
        ],
      },
    ]);
    expect(d.device.lastSeen).toBe(T0 + 260 * S);
    expect(d.presence).toMatchObject({ connected: true, session: 'online' });
    expect(d.totals).toEqual({ accepted: 5, duplicate: 2, rejected: 1 });
    expect(d.lastHour).toEqual({ accepted: 5, duplicate: 2, rejected: 1, codes: { E_RANGE: 1 } });
    expect(d.lastReject).toEqual({
      code: 'E_RANGE',
      message: 'pressure_bar must be <= 25 bar',
      path: 'values.pressure_bar',
      at: T0 + 260 * S,
    });
  });
});
