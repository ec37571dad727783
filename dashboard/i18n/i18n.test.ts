import { describe, expect, test } from '@jest/globals';
import { CORRIDORS, KINDS, REJECT_CODES } from '../../contract/index.js';
import { MAP_STATES, QUALITY_STATUSES } from '../aggregate/schemas.js';
import {
  CATALOGUES,
  formatAsOf,
  formatDateTime,
  formatDelta,
  formatDuration,
  formatMeasure,
  formatNumber,
  formatTime,
  isMessageKey,
  translate,
} from './format.js';
import { REFUSAL_CODES } from '../../broker/refusals.js';
import { en } from './en.js';
import { it } from './it.js';

const t = (iso: string) => Date.parse(iso);
const NBSP = '\u00a0';
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('catalogues', () => {
  test('Italian and English have exactly the same keys', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(it).sort());
  });

  test.each([
    ['it', it],
    ['en', en],
  ] as const)('%s: no empty or untrimmed strings', (_, catalogue) => {
    for (const [key, value] of Object.entries(catalogue)) {
      expect([key, value.trim()]).not.toEqual([key, '']);
      expect([key, value]).toEqual([key, value.trim()]);
    }
  });

  test('each message has the same parameters in both languages', () => {
    for (const key of Object.keys(it) as (keyof typeof it)[]) {
      expect([key, placeholders(en[key])]).toEqual([key, placeholders(it[key])]);
    }
  });

  test('every kind and every metric of the contract has a label in both', () => {
    const missing: string[] = [];
    for (const kind of KINDS.values()) {
      const keys = [`kind.${kind.id}`, ...Object.keys(kind.metrics).map((m) => `metric.${kind.id}.${m}`)];
      missing.push(...keys.filter((k) => !isMessageKey(k)));
    }
    expect(missing).toEqual([]);
  });

  test('every unit, corridor, state, quality status and reject code has a text', () => {
    const units = [...KINDS.values()].flatMap((k) => Object.values(k.metrics).map((m) => `unit.${m.unit}`));
    const keys = [
      ...units,
      ...CORRIDORS.map((c) => `corridor.${c}`),
      ...MAP_STATES.flatMap((s) => [`state.${s}`, `state.${s}.help`]),
      ...QUALITY_STATUSES.map((s) => `water.quality.${s}`),
      ...REJECT_CODES.map((c) => `reject.${c}`),
      // The data-quality view labels every broker refusal it finds in /api/status.
      ...REFUSAL_CODES.map((c) => `refusal.${c}`),
    ];
    expect(keys.filter((k) => !isMessageKey(k))).toEqual([]);
  });

  test('the map attribution is the licence text of the boundaries', () => {
    expect(it['map.attribution']).toBe('Confini comunali: Openpolis / ISTAT, CC BY 4.0');
    expect(CATALOGUES.en['map.attribution']).toContain('Openpolis / ISTAT, CC BY 4.0');
  });
});

describe('format helpers', () => {
  test('translate fills parameters, numbers with the language separators', () => {
    expect(translate('it', 'figure.partial', { devices: 2, expected: 3 })).toBe('2 di 3 dispositivi');
    expect(translate('en', 'mobility.freeOf', { free: 1234.5, capacity: 2000 })).toBe(
      '1,234.5 free of 2,000',
    );
    expect(translate('it', 'mobility.freeOf', { free: 12345.5, capacity: 20000 })).toBe(
      '12.345,5 liberi su 20.000',
    );
    expect(translate('en', 'device.title')).toBe('Device {id}'); // a missing parameter stays visible
  });

  test('numbers and measures', () => {
    expect(formatNumber(12345.67, 'it')).toBe('12.345,7');
    expect(formatNumber(12345.67, 'en')).toBe('12,345.7');
    expect(formatMeasure(15.5, 'l/s', 'it')).toBe(`15,5${NBSP}l/s`);
    expect(formatMeasure(2.7, 'bar', 'en')).toBe(`2.7${NBSP}bar`);
    expect(formatMeasure(66.6667, '%', 'it')).toBe('67%');
    expect(formatMeasure(7.25, 'pH', 'it')).toBe('pH 7,3');
    expect(formatMeasure(300, 'vehicles/h', 'it')).toBe(`300${NBSP}veicoli/h`);
    expect(formatMeasure(0, 'kW', 'en')).toBe(`0${NBSP}kW`);
  });

  test('no data is a word, never 0', () => {
    expect(formatMeasure(null, 'l/s', 'it')).toBe('nessun dato');
    expect(formatMeasure(null, 'l/s', 'en')).toBe('no data');
    expect(formatAsOf(null, 0, 'en')).toBe('no data');
  });

  test('signed differences', () => {
    expect(formatDelta(-5, 'kWh', 'it')).toBe(`-5${NBSP}kWh`);
    expect(formatDelta(12.4, '%', 'en')).toBe('+12%');
    expect(formatDelta(0, 'kWh', 'en')).toBe(`0${NBSP}kWh`);
  });

  test('times are Europe/Rome, in winter and summer', () => {
    expect(formatTime(t('2026-11-24T13:05:00Z'), 'it')).toBe('14:05');
    expect(formatTime(t('2026-07-24T13:05:00Z'), 'en')).toBe('15:05');
    expect(formatDateTime(t('2026-11-24T23:30:00Z'), 'it')).toBe('25/11/2026, 00:30');
    expect(formatDateTime(t('2026-11-24T23:30:00Z'), 'en')).toBe('25/11/2026, 00:30');
  });

  test('as-of text: now, minutes ago, earlier today, another day', () => {
    const now = t('2026-11-25T10:00:00+01:00');
    expect(formatAsOf(now - 20_000, now, 'it')).toBe('aggiornato adesso');
    expect(formatAsOf(now + 5_000, now, 'en')).toBe('as of just now');
    expect(formatAsOf(now - 3 * 60_000 - 10_000, now, 'it')).toBe('aggiornato 3 min fa');
    expect(formatAsOf(now - 3 * 60_000, now, 'en')).toBe('as of 3 min ago');
    expect(formatAsOf(t('2026-11-25T07:15:00+01:00'), now, 'it')).toBe('aggiornato alle 07:15');
    expect(formatAsOf(t('2026-11-24T23:15:00+01:00'), now, 'en')).toBe('as of 24/11/2026, 23:15');
  });

  test('durations', () => {
    expect(formatDuration(45_000, 'en')).toBe('45s');
    expect(formatDuration(2 * 3_600_000 + 5 * 60_000, 'it')).toBe('2h 5min');
    expect(formatDuration(3 * 86_400_000, 'en')).toBe('3d');
  });
});
