/**
 * Validating one reading against the contract and the device's kind. Zod does the checking; this
 * file maps its issues to the contract's reject codes with a message that names the field.
 */
import type { z } from 'zod';
import {
  type KindDefinition,
  type RejectCode,
  parseTimestamp,
  readingEnvelopeSchema,
} from '../../contract/index.js';

export interface ValidReading {
  ts: number;
  seq?: number;
  values: Record<string, number>;
}

export interface ReadingProblem {
  code: RejectCode;
  message: string;
  path?: string;
  seq?: number;
  ts?: number;
}

export interface TimeWindow {
  now: number;
  futureSkewMs: number;
  lateWindowMs: number;
}

export type ValidationResult = { ok: true; reading: ValidReading } | ({ ok: false } & ReadingProblem);

export function validateReading(
  element: unknown,
  kind: KindDefinition,
  window: TimeWindow,
): ValidationResult {
  const envelope = commonEnvelope(element) ?? readingEnvelopeSchema.safeParse(element);
  const seq = seqOf(element);
  if (!envelope.success) {
    return { ok: false, ...fromEnvelopeIssues(envelope.error.issues, element), ...seqField(seq) };
  }

  const ts = parseTimestamp(envelope.data.ts);
  if (!ts.ok) return { ok: false, code: ts.code, message: ts.message, path: 'ts', ...seqField(seq) };
  const base = { ts: ts.ms, ...seqField(seq) };
  if (ts.ms > window.now + window.futureSkewMs) {
    return {
      ok: false,
      code: 'E_TS_FUTURE',
      message: `ts ${new Date(ts.ms).toISOString()} is ${Math.round((ts.ms - window.now) / 1000)} s ahead of the gateway clock (allowed: ${window.futureSkewMs / 1000} s); check the device clock`,
      path: 'ts',
      ...base,
    };
  }
  if (ts.ms < window.now - window.lateWindowMs) {
    return {
      ok: false,
      code: 'E_TS_TOO_OLD',
      message: `ts ${new Date(ts.ms).toISOString()} is older than the late window of ${Math.round(window.lateWindowMs / 3_600_000)} h`,
      path: 'ts',
      ...base,
    };
  }

  const values = commonValues(envelope.data.values, kind) ?? kind.values.safeParse(envelope.data.values);
  if (!values.success) return { ok: false, ...fromValueIssues(values.error.issues, kind), ...base };
  return {
    ok: true,
    reading: { ts: ts.ms, ...seqField(envelope.data.seq), values: values.data as Record<string, number> },
  };
}

/*
 * The fast path. Almost every reading is the common shape (an object of ts, seq?, values; values
 * all known metrics, finite and in range), and zod costs several object allocations and a
 * closure walk per reading on the gateway's one busy thread. These two accept only what the
 * schemas accept, with the same output (zod's key order included); anything else, valid or not,
 * answers undefined and goes through the schemas, so every reject keeps its zod-made message.
 */

type Parsed<T> = { success: true; data: T };
const ENVELOPE_KEYS = new Set(['ts', 'seq', 'values']);

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function commonEnvelope(
  element: unknown,
): Parsed<{ ts: unknown; seq?: number; values: Record<string, unknown> }> | undefined {
  if (!isPlainRecord(element)) return undefined;
  for (const key of Object.keys(element)) if (!ENVELOPE_KEYS.has(key)) return undefined;
  if (!Object.hasOwn(element, 'ts') || !isPlainRecord(element.values)) return undefined;
  const { ts, seq, values } = element;
  if (seq === undefined)
    return Object.hasOwn(element, 'seq') ? undefined : { success: true, data: { ts, values } };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return undefined;
  return { success: true, data: { ts, seq, values } };
}

/** Per kind: its metric specs by name (a Map: a `__proto__` key is just an unknown name) in schema order. */
const metricTables = new WeakMap<KindDefinition, Map<string, KindDefinition['metrics'][string]>>();

function metricTable(kind: KindDefinition): Map<string, KindDefinition['metrics'][string]> {
  let table = metricTables.get(kind);
  if (table === undefined) {
    table = new Map(Object.entries(kind.metrics));
    metricTables.set(kind, table);
  }
  return table;
}

export function commonValues(
  values: Record<string, unknown>,
  kind: KindDefinition,
): Parsed<unknown> | undefined {
  const table = metricTable(kind);
  const keys = Object.keys(values);
  if (keys.length === 0) return undefined;
  for (const key of keys) {
    const spec = table.get(key);
    const v = values[key];
    if (spec === undefined || typeof v !== 'number' || !Number.isFinite(v)) return undefined;
    if (v < spec.min || v > spec.max || (spec.integer === true && !Number.isSafeInteger(v))) return undefined;
  }
  if (keys.length === 1) return { success: true, data: { [keys[0]!]: values[keys[0]!] } };
  // zod's output lists the keys in the schema's order, whatever the device's order was.
  const out: Record<string, unknown> = {};
  for (const name of table.keys()) if (Object.hasOwn(values, name)) out[name] = values[name];
  return { success: true, data: out };
}

function seqOf(element: unknown): number | undefined {
  if (element === null || typeof element !== 'object') return undefined;
  const seq = (element as { seq?: unknown }).seq;
  return typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0 ? seq : undefined;
}

function seqField(seq: number | undefined): { seq?: number } {
  return seq === undefined ? {} : { seq };
}

function pathOf(issue: z.core.$ZodIssue, prefix = ''): string {
  const parts = [prefix, ...issue.path.map(String)].filter((p) => p !== '');
  return parts.join('.');
}

function fromEnvelopeIssues(issues: z.core.$ZodIssue[], element: unknown): ReadingProblem {
  const issue = issues[0]!;
  if (issue.path.length === 0 && issue.code === 'invalid_type') {
    return {
      code: 'E_SCHEMA',
      message: 'each reading must be an object {"ts", "seq"?, "values"}, not an array, text or number',
    };
  }
  if (issue.code === 'unrecognized_keys') {
    return {
      code: 'E_SCHEMA',
      message: `unknown field ${listKeys(issue.keys)}; a reading has ts, seq and values`,
    };
  }
  const path = pathOf(issue);
  // zod does not report the input: a field is missing when the object has no such own key.
  const field = issue.path[0];
  const missing =
    typeof field === 'string' &&
    element !== null &&
    typeof element === 'object' &&
    !Object.prototype.hasOwnProperty.call(element, field);
  if (missing) {
    return { code: 'E_SCHEMA', message: `${path} is required`, path };
  }
  return {
    code: 'E_SCHEMA',
    message: path ? `${path}: ${issue.message}` : issue.message,
    ...(path && { path }),
  };
}

function fromValueIssues(issues: z.core.$ZodIssue[], kind: KindDefinition): ReadingProblem {
  // Unknown metrics first: they usually mean the device is registered under the wrong kind.
  const unknown = issues.find((i) => i.code === 'unrecognized_keys');
  if (unknown && unknown.code === 'unrecognized_keys') {
    return {
      code: 'E_UNKNOWN_METRIC',
      message: `unknown metric ${listKeys(unknown.keys)} for kind ${kind.id} (its metrics: ${Object.keys(kind.metrics).join(', ')})`,
      path: `values.${clip(unknown.keys[0] ?? '')}`,
    };
  }
  const range = issues.find((i) => i.code === 'too_big' || i.code === 'too_small');
  if (range) return { code: 'E_RANGE', message: range.message, path: pathOf(range, 'values') };
  const issue = issues[0]!;
  const path = pathOf(issue, 'values');
  return { code: 'E_SCHEMA', message: issue.message, path };
}

/** Keys a device made up: a few of them, each clipped, so the reject stays short whatever it sent. */
function listKeys(keys: string[]): string {
  const shown = keys.slice(0, MAX_KEYS_NAMED).map((k) => `"${clip(k)}"`);
  const rest = keys.length - shown.length;
  return rest > 0 ? `${shown.join(', ')} and ${rest} more` : shown.join(', ');
}

const MAX_KEYS_NAMED = 5;

function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
