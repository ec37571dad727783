import { describe, expect, test } from '@jest/globals';
import { connectedAggregator, feed, reading, t } from './fixtures.js';
import type { MobilityCard } from './schemas.js';

function mobilityCard(agg: ReturnType<typeof connectedAggregator>, now: number): MobilityCard {
  const snap = agg.snapshot('overview', now);
  if (snap?.type !== 'overview') throw new Error('no overview');
  const card = snap.data.cards.find((c) => c.corridor === 'mobility' && c.municipality === 'alpha');
  if (card?.corridor !== 'mobility') throw new Error('no mobility card');
  return card;
}

const NOW = t('2026-08-15T10:01:00+02:00');

describe('mobility card', () => {
  const agg = connectedAggregator(t('2026-08-15T08:00:00+02:00'));
  feed(agg, [
    reading('pk-big', t('2026-08-15T10:00:00+02:00'), { occupied_spaces: 300 }),
    reading('pk-small', t('2026-08-15T09:58:00+02:00'), { occupied_spaces: 20 }),
    reading('tc-road', t('2026-08-15T10:00:00+02:00'), { vehicles_count: 25, average_speed_km_h: 42.5 }),
    reading('ev-a', t('2026-08-15T10:00:30+02:00'), { connectors_in_use: 1, power_kw: 11 }),
    reading('ev-b', t('2026-08-15T10:00:10+02:00'), { connectors_in_use: 2 }),
  ]);
  const card = mobilityCard(agg, NOW);

  test('occupancy and free spaces per car park, from the site capacity', () => {
    expect(
      card.carParks.map((p) => [p.deviceId, p.capacity, p.occupancy_pct.value, p.freeSpaces.value]),
    ).toEqual([
      ['pk-big', 400, 75, 100],
      ['pk-small', 80, 25, 60],
    ]);
    expect(card.carParks[0]?.occupancy_pct.asOf).toBe(t('2026-08-15T10:00:00+02:00'));
  });

  test('the municipality: occupied over the capacity of the car parks that reported', () => {
    expect(card.occupancy_pct).toMatchObject({
      devices: 2,
      expected: 2,
      asOf: t('2026-08-15T09:58:00+02:00'),
    });
    expect(card.occupancy_pct.value).toBeCloseTo((320 / 480) * 100, 9);
    expect(card.freeSpaces.value).toBe(160);
  });

  test('vehicles per hour from the count over the interval, and mean speed', () => {
    expect(card.counters[0]).toMatchObject({
      deviceId: 'tc-road',
      vehiclesPerHour: { value: 300, asOf: t('2026-08-15T10:00:00+02:00') }, // 25 in 300 s
      meanSpeed_km_h: { value: 42.5 },
    });
    feed(agg, [reading('tc-road', t('2026-08-15T10:05:00+02:00'), { vehicles_count: 25, interval_s: 600 })]);
    const later = mobilityCard(agg, t('2026-08-15T10:06:00+02:00'));
    expect(later.counters[0]?.vehiclesPerHour.value).toBe(150); // the reading's own interval wins
    expect(later.counters[0]?.meanSpeed_km_h).toMatchObject({
      value: 42.5,
      asOf: t('2026-08-15T10:00:00+02:00'),
    });
  });

  test('chargers in use of those that reported; a silent one is not counted as free', () => {
    expect(card.chargers.map((c) => [c.deviceId, c.connectorsInUse.value, c.connectors])).toEqual([
      ['ev-a', 1, 2],
      ['ev-b', 2, 4],
      ['ev-c', null, 2],
    ]);
    expect(card.connectorsInUse).toMatchObject({ value: 3, devices: 2, expected: 3 });
    expect(card.connectorsAvailable).toMatchObject({ value: 6, devices: 2, expected: 3 });
  });

  test('a car park counted above its capacity shows 0 free spaces, not a negative number', () => {
    const full = connectedAggregator(t('2026-08-15T08:00:00+02:00'));
    feed(full, [reading('pk-small', t('2026-08-15T10:00:00+02:00'), { occupied_spaces: 85 })]);
    const park = mobilityCard(full, NOW).carParks[1];
    expect(park?.freeSpaces.value).toBe(0);
    expect(park?.occupancy_pct.value).toBeCloseTo(106.25, 9);
    expect(mobilityCard(full, NOW).carParks[0]?.occupancy_pct.value).toBeNull();
  });
});
