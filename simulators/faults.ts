/**
 * The faults `valley simulate` injects and the outcome each must have at a gateway that keeps the
 * contract. One table, used by the runner, the summary, the reports and docs/simulators.md.
 */
import type { KindDefinition, RejectCode } from '../contract/index.js';
import { localTime } from './local-time.js';
import type { Values } from './generators/types.js';

export type Expected =
  | { type: 'accept' }
  | { type: 'reject'; code: RejectCode }
  | { type: 'connack_refused' }
  | { type: 'connection_closed' };

export const FAULT_TYPES = [
  'out_of_range',
  'wrong_type',
  'malformed_json',
  'unknown_metric',
  'epoch_seconds',
  'iso_no_zone',
  'future_clock',
  'duplicate',
  'backlog',
  'counter_reset',
  'wrong_secret',
  'foreign_topic',
] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

export interface FaultSpec {
  description: string;
  expected: Expected;
}

export const FAULTS: Record<FaultType, FaultSpec> = {
  out_of_range: {
    description: 'a metric above the maximum of its kind (or the site capacity)',
    expected: { type: 'reject', code: 'E_RANGE' },
  },
  wrong_type: { description: 'a metric sent as a string', expected: { type: 'reject', code: 'E_SCHEMA' } },
  malformed_json: { description: 'a truncated JSON payload', expected: { type: 'reject', code: 'E_JSON' } },
  unknown_metric: {
    description: 'a metric name the kind does not have',
    expected: { type: 'reject', code: 'E_UNKNOWN_METRIC' },
  },
  epoch_seconds: { description: 'ts in epoch seconds', expected: { type: 'reject', code: 'E_TS_SECONDS' } },
  iso_no_zone: {
    description: 'ts as local ISO time without zone',
    expected: { type: 'reject', code: 'E_TS_NO_ZONE' },
  },
  future_clock: {
    description: 'ts one hour ahead of the clock',
    expected: { type: 'reject', code: 'E_TS_FUTURE' },
  },
  duplicate: {
    description: 'the previous reading sent again, byte for byte',
    expected: { type: 'accept' },
  },
  backlog: {
    description: 'hours of buffered readings in one array after a link outage',
    expected: { type: 'accept' },
  },
  counter_reset: { description: 'counters restart from zero after a reboot', expected: { type: 'accept' } },
  wrong_secret: { description: 'CONNECT with a wrong secret', expected: { type: 'connack_refused' } },
  foreign_topic: {
    description: "a publish on another device's readings topic",
    expected: { type: 'connection_closed' },
  },
};

export function describeExpected(expected: Expected): string {
  switch (expected.type) {
    case 'accept':
      return 'acknowledged, no reject';
    case 'reject':
      return `acknowledged, reject ${expected.code}`;
    case 'connack_refused':
      return 'CONNACK refused';
    case 'connection_closed':
      return 'connection closed, nothing written';
  }
}

/** `all` or a comma list of fault names; throws with the known names on a typo. */
export function parseFaultList(text: string): FaultType[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 1 && names[0] === 'all') return [...FAULT_TYPES];
  const unknown = names.filter((n) => !(FAULT_TYPES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new Error(
      `unknown fault ${unknown.map((u) => `"${u}"`).join(', ')} (known: all, ${FAULT_TYPES.join(', ')})`,
    );
  }
  return [...new Set(names)] as FaultType[];
}

export interface Reading {
  ts: number;
  seq: number;
  values: Values;
}

/** What a reject for this payload can carry to identify it (contract/reject.ts). */
export interface PayloadKeys {
  ts?: number;
  seq?: number;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Local wall-clock time without zone, the mistake of a device configured in local time. */
function isoWithoutZone(ts: number): string {
  const lt = localTime(ts);
  const h = Math.floor(lt.hour);
  const m = Math.floor((lt.hour - h) * 60);
  return `${lt.year}-${pad(lt.month)}-${pad(lt.day)}T${pad(h)}:${pad(m)}:00`;
}

/** A metric to spoil: the first that is not a counter, else the first. */
function victim(kind: KindDefinition, values: Values): string {
  const names = Object.keys(values);
  return names.find((n) => !kind.metrics[n]?.counter) ?? names[0] ?? Object.keys(kind.metrics)[0]!;
}

/**
 * The payload of a reject fault, made from an honest reading, and the keys a reject for it can
 * carry. `nowMs` is the gateway's clock as the device believes it (for the future-clock fault).
 */
export function faultPayload(
  fault: Exclude<FaultType, 'duplicate' | 'backlog' | 'counter_reset' | 'wrong_secret' | 'foreign_topic'>,
  reading: Reading,
  kind: KindDefinition,
  nowMs: number,
): { payload: string; keys: PayloadKeys } {
  const { ts, seq, values } = reading;
  const metric = victim(kind, values);
  switch (fault) {
    case 'out_of_range': {
      const spec = kind.metrics[metric]!;
      const above = spec.max + Math.max(1, Math.abs(spec.max) * 0.5);
      return {
        payload: JSON.stringify({
          ts,
          seq,
          values: { ...values, [metric]: spec.integer ? Math.ceil(above) : above },
        }),
        keys: { ts, seq },
      };
    }
    case 'wrong_type':
      return {
        payload: JSON.stringify({ ts, seq, values: { ...values, [metric]: String(values[metric] ?? 1) } }),
        keys: { ts, seq },
      };
    case 'malformed_json':
      return { payload: JSON.stringify({ ts, seq, values }).slice(0, -3), keys: {} };
    case 'unknown_metric':
      return {
        payload: JSON.stringify({ ts, seq, values: { ...values, firmware_debug_count: 1 } }),
        keys: { ts, seq },
      };
    case 'epoch_seconds':
      return { payload: JSON.stringify({ ts: Math.floor(ts / 1000), seq, values }), keys: { seq } };
    case 'iso_no_zone':
      return { payload: JSON.stringify({ ts: isoWithoutZone(ts), seq, values }), keys: { seq } };
    case 'future_clock': {
      const future = nowMs + 3_600_000;
      return { payload: JSON.stringify({ ts: future, seq, values }), keys: { ts: future, seq } };
    }
  }
}
