/**
 * What InfluxDB's HTTP answers mean for the drainer, shared by the v1 and v2 sinks so both APIs
 * fail the same way. Only 204 counts as written: every InfluxDB write API answers 204, and a 200
 * from something else (a proxy's catch-all page) must not make the drainer commit unsent data.
 */
import { z } from 'zod';
import { SinkError, type Clock } from '../types.js';
import { deadline } from './deadline.js';

export interface InfluxSinkOptions {
  /** Limit for one write, connect to last byte (settings.sinkTimeoutMs). */
  timeoutMs: number;
  /** For a Retry-After given as an HTTP-date. */
  clock?: Clock;
  /** Send the batch gzipped (`Content-Encoding: gzip`); every InfluxDB write API accepts it. */
  gzip?: boolean;
}

/** 1.x answers `{"error": ...}`; 2.x and 3.x (also on their v1-compatible `/write`) `{"code", "message"}`. */
const errorBodySchema = z.union([
  z.object({ error: z.string() }),
  z.object({ message: z.string(), code: z.string().optional() }),
]);

export function influxErrorText(body: string, headerError?: string): string {
  try {
    const parsed = errorBodySchema.safeParse(JSON.parse(body));
    if (parsed.success) return 'error' in parsed.data ? parsed.data.error : parsed.data.message;
  } catch {
    // not JSON: a proxy page or 1.x's plain "404 page not found"
  }
  return headerError ?? (body.trim().slice(0, 300) || '(empty answer)');
}

/** Retry-After is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  const v = value?.trim();
  if (v === undefined || v === '') return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // All three HTTP-date forms start with a day name; Date.parse alone would take "-1" as a year.
  if (!/^[A-Za-z]{3}/.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

export interface HttpAnswer {
  status: number;
  body: string;
  retryAfter?: string | undefined;
  /** 1.x repeats its error in the X-Influxdb-Error header. */
  influxError?: string | undefined;
  location?: string | undefined;
}

/** Per-API wording, so an operator reads which setting to change. */
export interface SinkTarget {
  /** The sink's description (no secrets). */
  description: string;
  /** Said on 401/403. */
  credentialsHint: string;
  /** Said on 404. */
  notFoundHint: string;
}

export function sinkErrorFor(answer: HttpAnswer, target: SinkTarget, nowMs: number): SinkError {
  const { status } = answer;
  const said = influxErrorText(answer.body, answer.influxError);
  const where = target.description;
  if (status === 400 || status === 422) {
    return new SinkError('rejected', `${where} refused the batch (HTTP ${status}): ${said}`, status);
  }
  if (status === 401 || status === 403) {
    return new SinkError(
      'config',
      `InfluxDB refused the credentials (HTTP ${status}: ${said}) at ${where}: ${target.credentialsHint}`,
      status,
    );
  }
  if (status === 404) {
    return new SinkError('config', `${where} answered 404 (${said}): ${target.notFoundHint}`, status);
  }
  if (status === 413) {
    return new SinkError('too-large', `${where} refused the batch as too large (HTTP 413): ${said}`, status);
  }
  if (status === 408 || status === 429 || status >= 500) {
    return new SinkError(
      'unavailable',
      `${where} is unavailable (HTTP ${status}): ${said}`,
      status,
      parseRetryAfterMs(answer.retryAfter, nowMs),
    );
  }
  if (status >= 300 && status < 400) {
    const to = answer.location !== undefined ? ` to ${redactUrl(answer.location)}` : '';
    return new SinkError(
      'config',
      `${where} redirected the write${to} (HTTP ${status}): use that URL`,
      status,
    );
  }
  // Other 2xx and 4xx: the URL reaches something that is not this InfluxDB write API.
  return new SinkError(
    'config',
    `${where} answered HTTP ${status} instead of 204 (${said}): is the URL an InfluxDB write API?`,
    status,
  );
}

/** Network failure or timeout: the drainer backs off and retries. */
export function unreachableError(
  description: string,
  err: unknown,
  timeoutMs: number,
  timedOut: boolean,
): SinkError {
  return new SinkError(
    'unavailable',
    timedOut
      ? `${description} did not answer within ${timeoutMs} ms`
      : `${description} is unreachable: ${describeCause(err)}`,
  );
}

/**
 * fetch() throws "fetch failed" and hides the reason (ECONNREFUSED …) in `cause`. Duck-typed, not
 * `instanceof Error`: undici's errors can come from another realm (Jest's VM contexts).
 */
export function describeCause(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  while (typeof e === 'object' && e !== null && 'message' in e && typeof e.message === 'string') {
    parts.push(e.message);
    e = 'cause' in e && parts.length < 4 ? e.cause : undefined;
  }
  return parts.length > 0 ? parts.join(': ') : String(err);
}

export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** The URL as shown in messages: without user info, trailing slash dropped. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/+$/, '');
  } catch {
    return '(invalid URL)';
  }
}

export interface PingResult {
  ok: boolean;
  version?: string;
  error?: string;
}

/** GET /ping: answered without credentials by 1.x and 2.x; the version says which server it is. */
export async function pingInflux(url: string, timeoutMs: number, signal?: AbortSignal): Promise<PingResult> {
  const limit = deadline(timeoutMs, signal);
  try {
    const res = await fetch(`${url.replace(/\/+$/, '')}/ping`, { signal: limit.signal });
    await res.arrayBuffer();
    const version = res.headers.get('x-influxdb-version') ?? undefined;
    return {
      ok: res.ok,
      ...(version !== undefined && { version }),
      ...(!res.ok && { error: `GET /ping answered HTTP ${res.status}` }),
    };
  } catch (err) {
    return { ok: false, error: describeCause(err) };
  } finally {
    limit.done();
  }
}
