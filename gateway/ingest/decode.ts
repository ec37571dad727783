/**
 * Decoding a `readings` payload: strict UTF-8, JSON, one reading or a backlog array. Every failure
 * is a reject with a stable code; nothing here throws.
 */
import type { RejectCode } from '../../contract/index.js';

export type DecodeResult =
  { ok: true; elements: unknown[]; isArray: boolean } | { ok: false; code: RejectCode; message: string };

// `fatal: true`: invalid UTF-8 is refused rather than replaced with U+FFFD, so a corrupted payload
// cannot turn into a different, valid-looking reading.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function decodePayload(payload: Uint8Array, maxReadings: number): DecodeResult {
  if (payload.length === 0) return { ok: false, code: 'E_JSON', message: 'the payload is empty' };
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return { ok: false, code: 'E_JSON', message: 'the payload is not valid UTF-8' };
  }
  let parsed: unknown;
  try {
    // JSON.parse never pollutes prototypes: `__proto__` becomes an own key, which the strict
    // schemas then refuse.
    parsed = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof SyntaxError ? error.message : 'nesting too deep';
    return { ok: false, code: 'E_JSON', message: `the payload is not valid JSON: ${clip(detail)}` };
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) return { ok: false, code: 'E_SCHEMA', message: 'the backlog array is empty' };
    if (parsed.length > maxReadings) {
      return {
        ok: false,
        code: 'E_TOO_MANY_READINGS',
        message: `the backlog array has ${parsed.length} readings; at most ${maxReadings} per message`,
      };
    }
    return { ok: true, elements: parsed, isArray: true };
  }
  if (parsed !== null && typeof parsed === 'object') return { ok: true, elements: [parsed], isArray: false };
  return {
    ok: false,
    code: 'E_SCHEMA',
    message: 'the payload must be a reading object {"ts", "values"} or an array of them',
  };
}

function clip(s: string): string {
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}
