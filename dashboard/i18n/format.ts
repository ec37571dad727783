/**
 * Translation and formatting for the dashboard, in the browser and on the server alike (Intl only,
 * no Node APIs). Numbers use the language's separators (12.345,7 / 12,345.7), times are always
 * Europe/Rome whatever the viewer's zone, and "no data" is a word, never a 0.
 */
import { romeDay, VALLEY_TIME_ZONE } from '../aggregate/rome-time.js';
import { en } from './en.js';
import { it, type Catalogue, type MessageKey } from './it.js';

export const LOCALES = ['it', 'en'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'it';
export const CATALOGUES: Readonly<Record<Locale, Catalogue>> = { it, en };

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

export type Params = Record<string, string | number>;

/** The message for `key` with `{name}` parameters filled (numbers formatted for the language). */
export function translate(locale: Locale, key: MessageKey, params: Params = {}): string {
  return CATALOGUES[locale][key].replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole; // a visible placeholder beats a silent blank
    return typeof value === 'number' ? formatNumber(value, locale) : value;
  });
}

/** True when `key` is a catalogue key (for keys built from data: kinds, metrics, units, codes). */
export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(it, key);
}

// Intl objects are costly to build and a dashboard formats hundreds of figures per update.
const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat>();
function cached<T extends Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat>(
  key: string,
  make: () => T,
): T {
  let f = cache.get(key);
  if (!f) cache.set(key, (f = make()));
  return f as T;
}

const tag = (locale: Locale) => CATALOGUES[locale]['format.locale'];

export function formatNumber(value: number, locale: Locale, maxDigits = 1, minDigits = 0): string {
  const f = cached(
    `n|${locale}|${maxDigits}|${minDigits}`,
    () =>
      new Intl.NumberFormat(tag(locale), {
        maximumFractionDigits: maxDigits,
        minimumFractionDigits: minDigits,
      }),
  );
  return f.format(value);
}

/** Decimals that suit each unit's sensor resolution. */
const DIGITS: Record<string, number> = {
  bar: 2,
  'mg/l': 2,
  NTU: 2,
  '%': 0,
  kWh: 0,
  'vehicles/h': 0,
  vehicles: 0,
  spaces: 0,
  connectors: 0,
  ppm: 0,
  'µS/cm': 0,
  s: 0,
};

export function unitLabel(unit: string, locale: Locale): string {
  const key = `unit.${unit}`;
  return isMessageKey(key) ? CATALOGUES[locale][key] : unit;
}

/** `12,4 l/s`, `75%`, `pH 7,2`; null → "nessun dato" / "no data". */
export function formatMeasure(
  value: number | null,
  unit: string,
  locale: Locale,
  digits = DIGITS[unit] ?? 1,
) {
  if (value === null) return translate(locale, 'figure.noData');
  const n = formatNumber(value, locale, digits);
  if (unit === 'pH') return `pH ${n}`;
  if (unit === '%') return `${n}%`;
  return `${n}\u00a0${unitLabel(unit, locale)}`; // no-break space: a unit never wraps alone
}

/** A signed difference, `+12%` / `-3,5 kWh`, for "today vs yesterday". */
export function formatDelta(value: number, unit: string, locale: Locale, digits = DIGITS[unit] ?? 1): string {
  const f = cached(
    `d|${locale}|${digits}`,
    () => new Intl.NumberFormat(tag(locale), { maximumFractionDigits: digits, signDisplay: 'exceptZero' }),
  );
  const n = f.format(value);
  return unit === '%' ? `${n}%` : `${n}\u00a0${unitLabel(unit, locale)}`;
}

const timeOptions = {
  timeZone: VALLEY_TIME_ZONE,
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
} as const;

/** `14:05`, Europe/Rome. */
export function formatTime(ms: number, locale: Locale): string {
  return cached(`t|${locale}`, () => new Intl.DateTimeFormat(tag(locale), timeOptions)).format(ms);
}

/** `24/11/2026, 14:05`, Europe/Rome. */
export function formatDateTime(ms: number, locale: Locale): string {
  const f = cached(
    `dt|${locale}`,
    () =>
      new Intl.DateTimeFormat(tag(locale), {
        ...timeOptions,
        day: '2-digit',
        month: '2-digit',
        year: 'numeric',
      }),
  );
  return f.format(ms);
}

/** `2 h 5 min`, `45 s`, `3 g 4 h`: for ages and lags. */
export function formatDuration(ms: number, locale: Locale): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const unit = (value: number, u: 'day' | 'hour' | 'minute' | 'second') =>
    cached(
      `u|${locale}|${u}`,
      () => new Intl.NumberFormat(tag(locale), { style: 'unit', unit: u, unitDisplay: 'narrow' }),
    ).format(value);
  if (seconds < 60) return unit(seconds, 'second');
  const [d, h, m] = [
    Math.floor(seconds / 86400),
    Math.floor(seconds / 3600) % 24,
    Math.floor(seconds / 60) % 60,
  ];
  if (d > 0) return h > 0 ? `${unit(d, 'day')} ${unit(h, 'hour')}` : unit(d, 'day');
  if (h > 0) return m > 0 ? `${unit(h, 'hour')} ${unit(m, 'minute')}` : unit(h, 'hour');
  return unit(m, 'minute');
}

/**
 * The "as of" text of a figure: "aggiornato adesso", "aggiornato 3 min fa" within the hour,
 * "aggiornato alle 14:05" earlier the same Rome day, else with the date. Null → "nessun dato".
 * A time slightly ahead of `now` (clock skew between devices and server) counts as "now".
 */
export function formatAsOf(asOf: number | null, now: number, locale: Locale): string {
  if (asOf === null) return translate(locale, 'figure.noData');
  const age = now - asOf;
  if (age < 60_000) return translate(locale, 'time.asOf.justNow');
  if (age < 3_600_000) {
    const rtf = cached(
      `r|${locale}`,
      () => new Intl.RelativeTimeFormat(tag(locale), { style: 'short', numeric: 'always' }),
    );
    return translate(locale, 'time.asOf.relative', { ago: rtf.format(-Math.floor(age / 60_000), 'minute') });
  }
  if (romeDay(asOf).key === romeDay(now).key) {
    return translate(locale, 'time.asOf.time', { time: formatTime(asOf, locale) });
  }
  return translate(locale, 'time.asOf.date', { date: formatDateTime(asOf, locale) });
}
