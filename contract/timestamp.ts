/**
 * Reading timestamps: epoch milliseconds, or ISO-8601 with a zone. The two mistakes real devices
 * make most (epoch seconds, local time without zone) get codes of their own so the integrator
 * knows what to fix.
 */
import type { RejectCode } from './codes.js';

/** Below this a number is epoch seconds (1e11 ms is 1973; 1e11 s is year 5138). */
export const EPOCH_SECONDS_LIMIT = 1e11;
/** Upper bound for a sane epoch-ms value (year 2286); beyond is a schema error, not "future". */
const EPOCH_MS_MAX = 1e13;

const ISO_WITH_ZONE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)$/;
const ISO_NO_ZONE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?$/;

export type TimestampResult = { ok: true; ms: number } | { ok: false; code: RejectCode; message: string };

export function parseTimestamp(ts: unknown): TimestampResult {
  if (typeof ts === 'number') {
    if (!Number.isFinite(ts)) return { ok: false, code: 'E_SCHEMA', message: 'ts must be a finite number' };
    if (ts < 0) return { ok: false, code: 'E_SCHEMA', message: 'ts must not be negative' };
    if (ts < EPOCH_SECONDS_LIMIT) {
      return {
        ok: false,
        code: 'E_TS_SECONDS',
        message: `ts ${ts} looks like epoch seconds; send epoch milliseconds (e.g. ${Math.round(ts * 1000)})`,
      };
    }
    if (ts > EPOCH_MS_MAX)
      return { ok: false, code: 'E_SCHEMA', message: `ts ${ts} is not epoch milliseconds` };
    return { ok: true, ms: Math.floor(ts) };
  }
  if (typeof ts === 'string') {
    const m = ISO_WITH_ZONE.exec(ts);
    if (m) {
      const ms = Date.parse(normaliseIso(ts));
      if (Number.isNaN(ms) || !fieldsInRange(m)) {
        return { ok: false, code: 'E_SCHEMA', message: `ts "${clip(ts)}" is not a valid date and time` };
      }
      return { ok: true, ms };
    }
    if (ISO_NO_ZONE.test(ts)) {
      return {
        ok: false,
        code: 'E_TS_NO_ZONE',
        message: `ts "${ts}" has no time zone; add "Z" for UTC or an offset such as "+01:00"`,
      };
    }
    return {
      ok: false,
      code: 'E_SCHEMA',
      message: `ts "${clip(ts)}" is neither epoch milliseconds nor ISO-8601 with a zone`,
    };
  }
  if (ts === undefined) return { ok: false, code: 'E_SCHEMA', message: 'ts is required' };
  return { ok: false, code: 'E_SCHEMA', message: 'ts must be epoch milliseconds or an ISO-8601 string' };
}

/** Date.parse is strict about a few spellings ISO allows: space separator, comma, `+0100`, `+01`. */
function normaliseIso(ts: string): string {
  let s = ts.replace(' ', 'T').replace(',', '.');
  s = s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2').replace(/([+-]\d{2})$/, '$1:00');
  // Date.parse accepts at most millisecond precision reliably: trim extra fraction digits.
  s = s.replace(/\.(\d{3})\d+/, '.$1');
  return s.replace(/z$/, 'Z');
}

function fieldsInRange(m: RegExpExecArray): boolean {
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  const daysInMonth = new Date(Date.UTC(Number(m[1]), month, 0)).getUTCDate();
  return day <= daysInMonth;
}

function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
