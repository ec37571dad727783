/**
 * The fast path of reading back an outbox record. Every record the drainer sends (and every one
 * the rollups rebuild from) is checked against the normalized-reading schema; with zod that is a
 * walk of a dozen checks and a copy per record, on the thread ingest needs. Records are written by
 * this gateway in the schema's own key order, so this accepts exactly that common shape and
 * answers the parsed object itself; anything else (an older writer, unknown keys, damaged data)
 * answers undefined and goes through the schema. It accepts only what the schema accepts, with
 * the same output (record-shape.test.ts checks both against zod).
 */
import type { NormalizedReading } from '../contract/index.js';

/** normalizedReadingSchema's keys in its order, with whether each may be left out. */
const KEYS: readonly (readonly [string, 'string' | 'number' | 'seq' | 'values' | 'flags', boolean])[] = [
  ['deviceId', 'string', false],
  ['kind', 'string', false],
  ['corridor', 'string', false],
  ['municipality', 'string', false],
  ['site', 'string', false],
  ['ts', 'number', false],
  ['seq', 'seq', true],
  ['values', 'values', false],
  ['receivedAt', 'number', false],
  ['flags', 'flags', true],
];

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function fits(type: (typeof KEYS)[number][1], v: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'seq':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    case 'values': {
      if (!isPlainRecord(v)) return false;
      for (const key of Object.keys(v)) {
        const n = v[key];
        if (key === '__proto__' || typeof n !== 'number' || !Number.isFinite(n)) return false;
      }
      return true;
    }
    case 'flags':
      return Array.isArray(v) && v.every((f) => f === 'counter_reset');
  }
}

export function commonRecord(parsed: unknown): NormalizedReading | undefined {
  if (!isPlainRecord(parsed)) return undefined;
  let k = 0;
  for (const key of Object.keys(parsed)) {
    // Keys in the schema's order, optional ones possibly absent, nothing else.
    while (k < KEYS.length && KEYS[k]![0] !== key) {
      if (!KEYS[k]![2]) return undefined;
      k++;
    }
    if (k === KEYS.length || !fits(KEYS[k]![1], parsed[key])) return undefined;
    k++;
  }
  for (; k < KEYS.length; k++) if (!KEYS[k]![2]) return undefined;
  return parsed as NormalizedReading;
}
