import { expect, test } from '@jest/globals';
import { Bus } from '../../contract/index.js';
import { feedFromBus } from './bus-feed.js';
import { DashboardAggregator } from './engine.js';
import { reading, t, testRegistry } from './fixtures.js';

test('the bus feeds the aggregator with the clock value, until unsubscribed', () => {
  const bus = new Bus((_, error) => {
    throw error;
  });
  const agg = new DashboardAggregator({ registry: testRegistry() });
  let now = t('2026-11-25T10:00:00+01:00');
  const off = feedFromBus(bus, agg, () => now);
  bus.emit('device.presence', { deviceId: 'wp-net', state: 'online', at: now, reason: 'connected' });
  bus.emit('readings.accepted', {
    deviceId: 'wp-net',
    readings: [reading('wp-net', now, { pressure_bar: 3 })],
  });
  bus.emit('readings.duplicate', { deviceId: 'wp-net', count: 1 });
  bus.emit('readings.rejected', {
    deviceId: 'wp-net',
    rejects: [{ code: 'E_JSON', message: 'x', receivedAt: now }],
  });
  now += 1000;
  const snap = agg.snapshot('device:wp-net', now);
  expect(snap?.type === 'device' && snap.data.totals).toEqual({ accepted: 1, duplicate: 1, rejected: 1 });
  expect(snap?.type === 'device' && snap.data.device.state).toBe('ok');
  off();
  expect(bus.listenerCount('readings.accepted')).toBe(0);
  expect(bus.listenerCount('alert')).toBe(0);
});
