import { describe, expect, test } from '@jest/globals';
import { CounterDay } from './counter-day.js';
import { t } from './fixtures.js';

const HOUR = 3_600_000;
const HALF_HOUR = HOUR / 2;

describe('daily consumption from a totaliser', () => {
  test('1000 → 1120.5 over 2026-11-25 with a meter reset at midday: 120.5 m³', () => {
    const c = new CounterDay(false);
    c.add(t('2026-11-24T23:50:00+01:00'), 1000, false); // last reading before midnight: the base
    c.add(t('2026-11-25T06:00:00+01:00'), 1040, false); // +40
    c.add(t('2026-11-25T12:00:00+01:00'), 1080, false); // +40
    c.add(t('2026-11-25T12:05:00+01:00'), 2, true); // reset: +2 (the post-reset value)
    c.add(t('2026-11-25T18:00:00+01:00'), 30.5, false); // +28.5
    c.add(t('2026-11-25T23:55:00+01:00'), 40.5, false); // +10
    expect(c.dayTotal(t('2026-11-25T23:59:00+01:00'))).toEqual({
      value: 120.5,
      asOf: t('2026-11-25T23:55:00+01:00'),
      blindStart: false,
    });
  });

  test('a decrease without the flag is also taken as a reset', () => {
    const c = new CounterDay(false);
    c.add(t('2026-11-25T06:00:00+01:00'), 500, false);
    c.add(t('2026-11-25T07:00:00+01:00'), 3, false);
    expect(c.dayTotal(t('2026-11-25T08:00:00+01:00'))?.value).toBe(3);
  });

  test('without a reading the day before, the first reading of the day is the base', () => {
    const c = new CounterDay(false);
    c.add(t('2026-11-25T06:00:00+01:00'), 500, false);
    c.add(t('2026-11-25T20:00:00+01:00'), 512.25, false);
    expect(c.dayTotal(t('2026-11-25T21:00:00+01:00'))?.value).toBe(12.25);
    // Nothing known before that first reading, after midnight: the day's beginning is unseen.
    expect(c.dayTotal(t('2026-11-25T21:00:00+01:00'))?.blindStart).toBe(true);
  });

  test('a reading two days old is not the base: a silent meter does not pour its gap into today', () => {
    const c = new CounterDay(false);
    c.add(t('2026-11-23T20:00:00+01:00'), 100, false);
    c.add(t('2026-11-25T08:00:00+01:00'), 160, false);
    c.add(t('2026-11-25T09:00:00+01:00'), 161, false);
    expect(c.dayTotal(t('2026-11-25T10:00:00+01:00'))?.value).toBe(1);
    // Known before: a silent meter, not an unseen beginning.
    expect(c.dayTotal(t('2026-11-25T10:00:00+01:00'))?.blindStart).toBe(false);
  });

  test('a backlog across midnight, in order, splits at midnight', () => {
    const c = new CounterDay(false);
    c.add(t('2026-11-24T22:00:00+01:00'), 100, false);
    c.add(t('2026-11-24T23:00:00+01:00'), 104, false);
    c.add(t('2026-11-25T01:00:00+01:00'), 110, false);
    c.add(t('2026-11-25T02:00:00+01:00'), 112, false);
    expect(c.dayTotal(t('2026-11-25T03:00:00+01:00'))?.value).toBe(8);
    expect(c.dayTotal(t('2026-11-24T23:30:00+01:00'))?.value).toBe(4);
  });

  test('an older reading is ignored; no reading today yet is null, never 0', () => {
    const c = new CounterDay(false);
    c.add(t('2026-11-25T12:00:00+01:00'), 50, false);
    expect(c.add(t('2026-11-25T10:00:00+01:00'), 40, false)).toBe(false);
    expect(c.add(t('2026-11-25T12:00:00+01:00'), 50, false)).toBe(false);
    expect(c.dayTotal(t('2026-11-25T13:00:00+01:00'))?.value).toBe(0);
    expect(c.dayTotal(t('2026-11-26T00:10:00+01:00'))).toBeNull();
    expect(new CounterDay(false).dayTotal(t('2026-11-25T13:00:00+01:00'))).toBeNull();
  });

  test('the 25-hour day of 2026-10-25: a steady 2 m³/h gives 49 m³ by 23:30, 24.5 h after midnight', () => {
    const c = new CounterDay(false);
    const start = t('2026-10-25T00:00:00+02:00');
    // A reading exactly at midnight is the base; then one every half hour.
    for (let k = 0; k <= 49; k++) c.add(start + k * HALF_HOUR, 1000 + k, false);
    expect(c.dayTotal(t('2026-10-25T23:45:00+01:00'))).toEqual({
      value: 49,
      asOf: t('2026-10-25T23:30:00+01:00'),
      blindStart: false,
    });
  });

  test('the 23-hour day of 2026-03-29: 45 m³ by 23:30, 22.5 h after midnight', () => {
    const c = new CounterDay(false);
    const start = t('2026-03-29T00:00:00+01:00');
    c.add(start - HOUR, 990, false); // before midnight: not the base, the midnight reading is
    for (let k = 0; k <= 45; k++) c.add(start + k * HALF_HOUR, 1000 + k, false);
    expect(c.dayTotal(t('2026-03-29T23:45:00+02:00'))).toEqual({
      value: 45,
      asOf: t('2026-03-29T23:30:00+02:00'),
      blindStart: false,
    });
    c.add(t('2026-03-30T00:00:00+02:00'), 1046, false);
    c.add(t('2026-03-30T00:30:00+02:00'), 1047, false);
    expect(c.dayTotal(t('2026-03-30T00:31:00+02:00'))?.value).toBe(1);
  });
});

describe('consumption up to a time of day (same time yesterday)', () => {
  /** 10 kWh per hour on 2026-11-24, hourly readings; then a reading on the 25th. */
  function hourly(): CounterDay {
    const c = new CounterDay(true);
    c.add(t('2026-11-23T23:00:00+01:00'), 5000, false);
    for (let h = 0; h < 24; h++) c.add(t('2026-11-24T00:00:00+01:00') + h * HOUR, 5000 + 10 * (h + 1), false);
    c.add(t('2026-11-25T00:30:00+01:00'), 5245, false);
    return c;
  }

  test('interpolates between the readings around the instant', () => {
    // The midnight reading is the base: 00:00 → 10:30 is 10.5 h at 10 kWh/h.
    expect(hourly().dayTotalUntil(t('2026-11-24T10:30:00+01:00'))).toEqual({
      value: 105,
      asOf: t('2026-11-24T10:30:00+01:00'),
      blindStart: false,
    });
  });

  test('on a reading, exactly its value; after the last, the last (never extrapolated)', () => {
    const c = hourly();
    expect(c.dayTotalUntil(t('2026-11-24T05:00:00+01:00'))?.value).toBe(50);
    expect(c.dayTotalUntil(t('2026-11-24T23:50:00+01:00'))).toEqual({
      value: 230,
      asOf: t('2026-11-24T23:00:00+01:00'),
      blindStart: false,
    });
  });

  test('5-minute readings keep one sample per quarter hour and interpolate inside it', () => {
    const c = new CounterDay(true);
    const start = t('2026-11-24T00:00:00+01:00');
    for (let m = 0; m <= 24 * 60 - 5; m += 5) c.add(start + m * 60_000, 1000 + m * 0.5, false);
    c.add(t('2026-11-25T08:00:00+01:00'), 1800, false);
    // Linear at 0.5 kWh/min from the first reading (00:00): 10:07 → 607 min → 303.5 kWh.
    expect(c.dayTotalUntil(t('2026-11-24T10:07:00+01:00'))?.value).toBeCloseTo(303.5, 9);
    expect(c.dayTotal(t('2026-11-25T09:00:00+01:00'))?.value).toBeCloseTo(1800 - (1000 + 1435 * 0.5), 9);
  });

  test('no record of that day, or before its first reading: null', () => {
    expect(hourly().dayTotalUntil(t('2026-11-22T10:00:00+01:00'))).toBeNull();
    const late = new CounterDay(true);
    late.add(t('2026-11-24T23:58:00+01:00'), 2000, false);
    late.add(t('2026-11-25T10:00:00+01:00'), 2050, false);
    expect(late.dayTotalUntil(t('2026-11-24T10:00:00+01:00'))).toBeNull();
  });

  test("yesterday's end interpolates up to a reading at midnight", () => {
    const c = new CounterDay(true);
    c.add(t('2026-11-24T00:00:00+01:00'), 0, false);
    c.add(t('2026-11-24T22:00:00+01:00'), 22, false);
    c.add(t('2026-11-25T00:00:00+01:00'), 26, false);
    expect(c.dayTotalUntil(t('2026-11-24T23:00:00+01:00'))?.value).toBe(24);
  });
});
