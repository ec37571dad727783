import { describe, expect, test } from '@jest/globals';
import { DashboardAggregator } from './engine.js';
import { connectedAggregator, feed, reading, t, testRegistry } from './fixtures.js';
import type { WaterCard } from './schemas.js';

function waterCard(agg: DashboardAggregator, now: number): WaterCard {
  const snap = agg.snapshot('municipality:alpha', now);
  if (snap?.type !== 'municipality') throw new Error('no municipality snapshot');
  const card = snap.data.cards.find((c) => c.corridor === 'water');
  if (card?.corridor !== 'water') throw new Error('no water card');
  return card;
}

const CONNECTED = t('2026-11-24T20:00:00+01:00');
const NOW = t('2026-11-25T18:02:00+01:00');

describe('water card', () => {
  test('nothing reported yet: every figure is null, never 0', () => {
    const card = waterCard(connectedAggregator(CONNECTED), t('2026-11-24T20:01:00+01:00'));
    expect(card.totalFlow_l_s).toEqual({ value: null, asOf: null, devices: 0, expected: 2, stale: false });
    expect(card.volumeToday_m3.value).toBeNull();
    expect(card.lowestPressure_bar).toMatchObject({ value: null, asOf: null, deviceId: null });
    expect(card.reservoirs[0]?.level_pct.value).toBeNull();
    expect(card.quality).toEqual(expect.objectContaining({ status: 'nodata', asOf: null }));
    // The other municipality has no devices: nothing expected, still null.
    const beta = connectedAggregator(CONNECTED).snapshot('municipality:beta', NOW);
    expect(beta?.type === 'municipality' && beta.data.cards[0]).toMatchObject({
      corridor: 'water',
      totalFlow_l_s: { value: null, expected: 0 },
    });
  });

  test('a day of readings: total flow, volume today with a reset, lowest pressure, level', () => {
    const agg = connectedAggregator(CONNECTED);
    feed(agg, [
      // Tank outflow meter: 1000 → 1120.5 over the day, reset at 12:05 (120.5 m³).
      reading('wf-res', t('2026-11-24T23:50:00+01:00'), { flow_l_s: 1.1, totaliser_m3: 1000 }),
      reading('wf-res', t('2026-11-25T06:00:00+01:00'), { flow_l_s: 1.8, totaliser_m3: 1040 }),
      reading('wf-res', t('2026-11-25T12:00:00+01:00'), { flow_l_s: 2.2, totaliser_m3: 1080 }),
      reading('wf-res', t('2026-11-25T12:05:00+01:00'), { totaliser_m3: 2 }, { flags: ['counter_reset'] }),
      reading('wf-res', t('2026-11-25T18:01:00+01:00'), { flow_l_s: 12.4, totaliser_m3: 40.5 }),
      // Spring meter: first reading of the day at 07:00 is its base: 300 → 310.25.
      reading('wf-spring', t('2026-11-25T07:00:00+01:00'), { flow_l_s: 2.5, totaliser_m3: 300 }),
      reading('wf-spring', t('2026-11-25T18:00:00+01:00'), { flow_l_s: 3.1, totaliser_m3: 310.25 }),
      reading('wp-net', t('2026-11-25T18:01:30+01:00'), { pressure_bar: 4.2 }),
      reading('wp-high', t('2026-11-25T18:00:30+01:00'), { pressure_bar: 2.7 }),
      reading('wp-high', t('2026-11-25T17:58:30+01:00'), { pressure_bar: 1.9 }), // older: not the latest
      reading('wl-res', t('2026-11-25T18:00:00+01:00'), { level_pct: 62.5, level_m: 2.5 }),
    ]);
    const card = waterCard(agg, NOW);
    expect(card.totalFlow_l_s).toEqual({
      value: 15.5, // 12.4 + 3.1
      asOf: t('2026-11-25T18:00:00+01:00'), // the older of the two latest readings
      devices: 2,
      expected: 2,
      stale: false,
    });
    expect(card.volumeToday_m3.value).toBeCloseTo(130.75, 9); // 120.5 + 10.25
    expect(card.volumeToday_m3.asOf).toBe(t('2026-11-25T18:00:00+01:00'));
    expect(card.lowestPressure_bar).toEqual({
      value: 2.7,
      asOf: t('2026-11-25T18:00:30+01:00'),
      devices: 2,
      expected: 2,
      stale: false,
      deviceId: 'wp-high',
    });
    expect(card.reservoirs).toEqual([
      {
        deviceId: 'wl-res',
        site: 'res',
        siteName: 'Site res',
        volume_m3: 400,
        level_pct: {
          value: 62.5,
          asOf: t('2026-11-25T18:00:00+01:00'),
          devices: 1,
          expected: 1,
          stale: false,
        },
        level_m: { value: 2.5, asOf: t('2026-11-25T18:00:00+01:00'), devices: 1, expected: 1, stale: false },
      },
    ]);
  });

  test('one flow meter silent: the sum covers the other, says so, and is flagged stale once it is', () => {
    const agg = connectedAggregator(CONNECTED);
    feed(agg, [reading('wf-res', t('2026-11-25T18:00:00+01:00'), { flow_l_s: 4 })]);
    expect(waterCard(agg, t('2026-11-25T18:01:00+01:00')).totalFlow_l_s).toMatchObject({
      value: 4,
      devices: 1,
      expected: 2,
      stale: false,
    });
    // wf-res reports every 60 s: stale after 3 minutes without a reading.
    expect(waterCard(agg, t('2026-11-25T18:03:00.001+01:00')).totalFlow_l_s).toMatchObject({
      value: 4,
      stale: true,
    });
  });

  test('water quality: within limits, then chlorine low and pH high named', () => {
    const agg = connectedAggregator(CONNECTED);
    feed(agg, [
      reading('wq-treat', t('2026-11-25T17:00:00+01:00'), {
        free_chlorine_mg_l: 0.2,
        turbidity_ntu: 1,
        ph: 6.5,
      }),
    ]);
    const ok = waterCard(agg, t('2026-11-25T17:01:00+01:00')).quality;
    expect(ok.status).toBe('ok'); // 1 NTU and pH 6.5 sit on their limits: within
    expect(ok.probes[0]?.breaches).toEqual([]);

    feed(agg, [
      reading('wq-treat', t('2026-11-25T18:00:00+01:00'), {
        free_chlorine_mg_l: 0.03,
        turbidity_ntu: 0.4,
        ph: 9.7,
        conductivity_us_cm: 180,
      }),
    ]);
    const bad = waterCard(agg, NOW).quality;
    expect(bad.status).toBe('breach');
    expect(bad.asOf).toBe(t('2026-11-25T18:00:00+01:00'));
    expect(bad.probes[0]).toMatchObject({
      free_chlorine_mg_l: 0.03,
      turbidity_ntu: 0.4,
      ph: 9.7,
      stale: false,
    });
    expect(bad.probes[0]?.breaches).toEqual([
      { metric: 'free_chlorine_mg_l', bound: 'low', value: 0.03, limit: 0.05 },
      { metric: 'ph', bound: 'high', value: 9.7, limit: 9.5 },
    ]);

    feed(agg, [
      reading('wq-treat', t('2026-11-25T18:05:00+01:00'), { free_chlorine_mg_l: 0.6, turbidity_ntu: 1.2 }),
    ]);
    const high = waterCard(agg, t('2026-11-25T18:06:00+01:00')).quality.probes[0]?.breaches;
    expect(high).toEqual([
      { metric: 'free_chlorine_mg_l', bound: 'high', value: 0.6, limit: 0.5 },
      { metric: 'turbidity_ntu', bound: 'high', value: 1.2, limit: 1 },
      { metric: 'ph', bound: 'high', value: 9.7, limit: 9.5 }, // pH's latest is still the 18:00 value
    ]);
  });

  test('after UV-only disinfection no residual chlorine is expected: no low alarm, a high one still', () => {
    const agg = new DashboardAggregator({
      registry: testRegistry(),
      chlorinated: (site) => site.id !== 'treat',
    });
    feed(agg, [reading('wq-treat', t('2026-11-25T18:00:00+01:00'), { free_chlorine_mg_l: 0.01, ph: 7.9 })]);
    expect(waterCard(agg, NOW).quality.status).toBe('ok');
    feed(agg, [reading('wq-treat', t('2026-11-25T18:01:00+01:00'), { free_chlorine_mg_l: 0.7 })]);
    expect(waterCard(agg, NOW).quality.probes[0]?.breaches).toEqual([
      { metric: 'free_chlorine_mg_l', bound: 'high', value: 0.7, limit: 0.5 },
    ]);
  });

  test('volume today on the 25-hour day (2026-10-25): a steady 1 l/s gives 88.2 m³ by 23:30 (24.5 h)', () => {
    const agg = connectedAggregator(t('2026-10-24T20:00:00+02:00'));
    const start = t('2026-10-25T00:00:00+02:00');
    const readings = [];
    for (let k = 0; k <= 49; k++) {
      readings.push(reading('wf-spring', start + k * 1_800_000, { flow_l_s: 1, totaliser_m3: 1.8 * k }));
    }
    feed(agg, readings);
    const card = waterCard(agg, t('2026-10-25T23:31:00+01:00'));
    expect(card.volumeToday_m3.value).toBeCloseTo(88.2, 9);
    expect(card.volumeToday_m3.asOf).toBe(t('2026-10-25T23:30:00+01:00'));
  });
});
