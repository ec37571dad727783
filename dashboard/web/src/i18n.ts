/**
 * The page's language: Italian by default, English on request, remembered in localStorage. Every
 * label is read through `t()` at render time, so switching re-renders the whole page at once.
 */
import {
  DEFAULT_LOCALE,
  isLocale,
  isMessageKey,
  translate,
  type Locale,
  type MessageKey,
  type Params,
} from '../../i18n/index.js';

const STORAGE_KEY = 'valley.locale';

function stored(): Locale {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return isLocale(value) ? value : DEFAULT_LOCALE;
  } catch {
    return DEFAULT_LOCALE; // storage disabled (private mode, kiosk policy): default language
  }
}

let current: Locale = stored();

export const locale = (): Locale => current;

export function setLocale(next: Locale): void {
  current = next;
  document.documentElement.lang = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered across reloads; the switch still works for this page.
  }
}

export const t = (key: MessageKey, params?: Params): string => translate(current, key, params);

/** For keys built from data (kinds, metrics, reject codes): the raw id when there is no label. */
export function tk(key: string, fallback: string, params?: Params): string {
  return isMessageKey(key) ? translate(current, key, params) : fallback;
}

export const kindLabel = (kind: string): string => tk(`kind.${kind}`, kind);
export const metricLabel = (kind: string, metric: string): string => tk(`metric.${kind}.${metric}`, metric);
