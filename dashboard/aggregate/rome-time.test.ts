import { describe, expect, test } from '@jest/globals';
import { previousRomeDay, romeDay, romeWallTime, sameTimePreviousDay } from './rome-time.js';
import { t } from './fixtures.js';

const HOUR = 3_600_000;

describe('Europe/Rome days', () => {
  test('an ordinary winter day runs from 23:00 UTC to 23:00 UTC, 24 h', () => {
    const day = romeDay(t('2026-11-25T12:00:00Z'));
    expect(day).toEqual({
      key: '2026-11-25',
      start: t('2026-11-24T23:00:00Z'),
      end: t('2026-11-25T23:00:00Z'),
    });
  });

  test('a summer day starts at 22:00 UTC', () => {
    expect(romeDay(t('2026-07-01T21:59:59.999Z')).key).toBe('2026-07-01');
    expect(romeDay(t('2026-07-01T22:00:00Z')).key).toBe('2026-07-02');
  });

  test('the spring change day (2026-03-29) has 23 hours', () => {
    const day = romeDay(t('2026-03-29T12:00:00+02:00'));
    expect(day.key).toBe('2026-03-29');
    expect(day.start).toBe(t('2026-03-29T00:00:00+01:00'));
    expect(day.end).toBe(t('2026-03-30T00:00:00+02:00'));
    expect(day.end - day.start).toBe(23 * HOUR);
  });

  test('the autumn change day (2026-10-25) has 25 hours', () => {
    const day = romeDay(t('2026-10-25T02:30:00+01:00')); // the second 02:30 of the night
    expect(day.key).toBe('2026-10-25');
    expect(day.start).toBe(t('2026-10-25T00:00:00+02:00'));
    expect(day.end).toBe(t('2026-10-26T00:00:00+01:00'));
    expect(day.end - day.start).toBe(25 * HOUR);
  });

  test('the day before, across month and year ends', () => {
    expect(previousRomeDay(t('2026-01-01T08:00:00+01:00')).key).toBe('2025-12-31');
    expect(previousRomeDay(t('2026-03-01T08:00:00+01:00')).key).toBe('2026-02-28');
    expect(previousRomeDay(t('2026-03-30T08:00:00+02:00')).end).toBe(t('2026-03-30T00:00:00+02:00'));
  });

  test('the bounds are exclusive at the end: midnight belongs to the new day', () => {
    expect(romeDay(t('2026-11-25T00:00:00+01:00')).key).toBe('2026-11-25');
    expect(romeDay(t('2026-11-24T23:59:59.999+01:00')).key).toBe('2026-11-24');
  });

  test('wall time', () => {
    expect(romeWallTime(t('2026-10-25T01:30:00Z'))).toEqual({
      year: 2026,
      month: 10,
      day: 25,
      hour: 2,
      minute: 30,
      second: 0,
    });
  });
});

describe('same clock time yesterday', () => {
  test('is 24 h earlier on an ordinary day', () => {
    const now = t('2026-11-25T10:15:30.250+01:00');
    expect(sameTimePreviousDay(now)).toBe(t('2026-11-24T10:15:30.250+01:00'));
  });

  test('is 23 h earlier on the spring change day and 25 h on the autumn one', () => {
    const spring = t('2026-03-29T10:00:00+02:00');
    expect(spring - sameTimePreviousDay(spring)).toBe(23 * HOUR);
    const autumn = t('2026-10-25T10:00:00+01:00');
    expect(autumn - sameTimePreviousDay(autumn)).toBe(25 * HOUR);
  });
});
