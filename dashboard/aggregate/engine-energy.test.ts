import { describe, expect, test } from '@jest/globals';
import { connectedAggregator, feed, reading, t } from './fixtures.js';
import type { EnergyCard } from './schemas.js';

function energyCard(agg: ReturnType<typeof connectedAggregator>, now: number): EnergyCard {
  const snap = agg.snapshot('corridor:energy', now);
  if (snap?.type !== 'corridor') throw new Error('no corridor snapshot');
  const card = snap.data.cards.find((c) => c.municipality === 'alpha');
  if (card?.corridor !== 'energy') throw new Error('no energy card');
  return card;
}

const HOUR = 3_600_000;

describe('energy card', () => {
  const agg = connectedAggregator(t('2026-11-23T20:00:00+01:00'));
  feed(agg, [
    // Town hall: 40 kWh from midnight to 10:00 yesterday, 35 kWh today by 10:00.
    reading('em-townhall', t('2026-11-23T23:55:00+01:00'), { energy_import_kwh: 10000 }),
    reading('em-townhall', t('2026-11-24T06:00:00+01:00'), { energy_import_kwh: 10012 }),
    reading('em-townhall', t('2026-11-24T10:00:00+01:00'), { energy_import_kwh: 10040 }),
    reading('em-townhall', t('2026-11-24T12:00:00+01:00'), { energy_import_kwh: 10060 }),
    reading('em-townhall', t('2026-11-24T23:55:00+01:00'), { energy_import_kwh: 10150 }),
    reading('em-townhall', t('2026-11-25T06:00:00+01:00'), { energy_import_kwh: 10160, active_power_kw: 3 }),
    reading('em-townhall', t('2026-11-25T10:00:00+01:00'), {
      energy_import_kwh: 10185,
      active_power_kw: 7.5,
    }),
    // School: first reading at 23:58 yesterday, so yesterday up to 10:00 is unknown.
    reading('em-school', t('2026-11-24T23:58:00+01:00'), { energy_import_kwh: 2000 }),
    reading('em-school', t('2026-11-25T10:01:00+01:00'), { energy_import_kwh: 2050, active_power_kw: 12.25 }),
    reading('hm-townhall', t('2026-11-25T09:50:00+01:00'), { thermal_power_kw: 45.5, heat_energy_kwh: 900 }),
    reading('ic-townhall', t('2026-11-25T10:00:00+01:00'), { temperature_c: 20.5, co2_ppm: 900 }),
    reading('ws-peak', t('2026-11-25T09:55:00+01:00'), { temperature_c: -8 }),
    reading('ws-valley', t('2026-11-25T09:58:00+01:00'), { temperature_c: 1.5 }),
  ]);
  const card = energyCard(agg, t('2026-11-25T10:03:00+01:00'));

  test('power per building and in total', () => {
    expect(card.totalPower_kw).toEqual({
      value: 19.75,
      asOf: t('2026-11-25T10:00:00+01:00'),
      devices: 2,
      expected: 2,
      stale: false,
    });
    expect(card.buildings.map((b) => [b.site, b.power_kw.value, b.thermalPower_kw.value])).toEqual([
      ['townhall', 7.5, 45.5],
      ['school', 12.25, null], // the school has no heat meter: null, not 0
    ]);
    expect(card.buildings[0]).toMatchObject({ siteName: 'Site townhall', floorArea_m2: 1100 });
  });

  test('energy today against the same time yesterday', () => {
    const townhall = card.buildings[0];
    expect(townhall?.energyToday_kwh).toMatchObject({ value: 35, asOf: t('2026-11-25T10:00:00+01:00') });
    expect(townhall?.energyYesterdaySameTime_kwh).toMatchObject({
      value: 40,
      asOf: t('2026-11-24T10:00:00+01:00'),
    });
    const school = card.buildings[1];
    expect(school?.energyToday_kwh.value).toBe(50);
    expect(school?.energyYesterdaySameTime_kwh).toMatchObject({ value: null, asOf: null, expected: 1 });
    expect(card.energyToday_kwh).toMatchObject({ value: 85, devices: 2, expected: 2 });
    expect(card.energyYesterdaySameTime_kwh).toMatchObject({ value: 40, devices: 1, expected: 2 });
  });

  test('indoor temperature per building; outdoor from the station nearest the centre', () => {
    expect(card.buildings[0]?.indoorTemperature_c.value).toBe(20.5);
    expect(card.buildings[1]?.indoorTemperature_c).toMatchObject({ value: null, expected: 0 });
    expect(card.outdoorTemperature_c).toMatchObject({
      value: 1.5,
      deviceId: 'ws-valley',
      asOf: t('2026-11-25T09:58:00+01:00'),
    });
  });

  test('after midnight, before any reading: today is null (not 0)', () => {
    const late = energyCard(agg, t('2026-11-26T00:02:00+01:00'));
    expect(late.energyToday_kwh).toMatchObject({ value: null, asOf: null, devices: 0, expected: 2 });
    expect(late.totalPower_kw.stale).toBe(true); // the meters' last readings are 14 h old
  });

  test('on the spring change day the comparison is by clock time: 9 h today vs 10 h yesterday', () => {
    const dst = connectedAggregator(t('2026-03-27T20:00:00+01:00'));
    const from = t('2026-03-27T23:00:00+01:00');
    const to = t('2026-03-29T10:00:00+02:00');
    const readings = [];
    // 1 kWh per real hour.
    for (let at = from, kwh = 500; at <= to; at += HOUR, kwh += 1) {
      readings.push(reading('em-townhall', at, { energy_import_kwh: kwh }));
    }
    feed(dst, readings);
    const b = energyCard(dst, t('2026-03-29T10:01:00+02:00')).buildings[0];
    expect(b?.energyToday_kwh.value).toBe(9);
    expect(b?.energyYesterdaySameTime_kwh).toMatchObject({ value: 10, asOf: t('2026-03-28T10:00:00+01:00') });
  });
});
