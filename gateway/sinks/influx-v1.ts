/**
 * The InfluxDB 1.x write API (`POST /write`): one HTTP request per `write()` call, so the drainer
 * learns exactly which batch was stored. Plain fetch is enough here; the client library would only
 * add buffering and retries that the outbox and drainer already own (DESIGN).
 *
 * The database is not created here: operators create it (and its retention policy), and a 404
 * becomes a 'config' error that says so. Creating it would need admin rights the writer should not
 * hold, and would silently write into a misspelt database.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { SinkConfig } from '../../config/settings.js';
import { systemClock, type Clock, type Sink } from '../types.js';
import { deadline } from './deadline.js';
import { basicAuth, pingInflux, redactUrl, sinkErrorFor, unreachableError } from './http.js';
import type { InfluxSinkOptions, PingResult, SinkTarget } from './http.js';

const gzipAsync = promisify(gzip);

export type InfluxV1Config = Extract<SinkConfig, { mode: 'v1' }>;

export class InfluxV1Sink implements Sink {
  readonly description: string;
  private readonly baseUrl: string;
  private readonly writeUrl: string;
  private readonly authorization: string | undefined;
  private readonly target: SinkTarget;
  private readonly clock: Clock;

  constructor(
    config: InfluxV1Config,
    private readonly opts: InfluxSinkOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    const url = new URL(config.url);
    // fetch() refuses URLs with user info; treat `http://user:pass@host` as credentials.
    const username = config.username ?? (url.username !== '' ? decodeURIComponent(url.username) : undefined);
    const password = config.password ?? decodeURIComponent(url.password);
    this.baseUrl = redactUrl(config.url);
    this.authorization = username !== undefined ? basicAuth(username, password) : undefined;
    const params = new URLSearchParams({ db: config.db, precision: 'ms' });
    if (config.rp !== undefined) params.set('rp', config.rp);
    this.writeUrl = `${this.baseUrl}/write?${params.toString()}`;
    const rp = config.rp !== undefined ? `, retention policy "${config.rp}"` : '';
    this.description = `InfluxDB v1 API at ${this.baseUrl}, database "${config.db}"${rp}`;
    this.target = {
      description: this.description,
      credentialsHint:
        username !== undefined
          ? `check INFLUX_USERNAME / INFLUX_PASSWORD and that user "${username}" may write to "${config.db}"`
          : 'authentication is enabled there: set INFLUX_USERNAME and INFLUX_PASSWORD',
      notFoundHint:
        `create the database first (CREATE DATABASE "${config.db}"), ` +
        'or INFLUX_URL does not point at an InfluxDB 1.x API (for 2.x/3.x use INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET)',
    };
  }

  async write(lines: readonly string[], cancel?: AbortSignal): Promise<void> {
    if (lines.length === 0) return;
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (this.authorization !== undefined) headers.authorization = this.authorization;
    const text = lines.join('\n');
    let body: string | Uint8Array = text;
    if (this.opts.gzip === true) {
      // Off the event loop (libuv's pool): a 5,000-line batch takes milliseconds to compress.
      body = new Uint8Array(await gzipAsync(text));
      headers['content-encoding'] = 'gzip';
    }
    const limit = deadline(this.opts.timeoutMs, cancel);
    let status: number;
    let answer: string;
    let res: Response;
    try {
      // A redirect would turn the POST into a GET and lose the batch: report it instead.
      res = await fetch(this.writeUrl, {
        method: 'POST',
        headers,
        body,
        signal: limit.signal,
        redirect: 'manual',
      });
      status = res.status;
      answer = await res.text();
    } catch (err) {
      throw unreachableError(this.description, err, this.opts.timeoutMs, limit.timedOut);
    } finally {
      limit.done();
    }
    if (status === 204) return;
    throw sinkErrorFor(
      {
        status,
        body: answer,
        retryAfter: res.headers.get('retry-after') ?? undefined,
        influxError: res.headers.get('x-influxdb-error') ?? undefined,
        location: res.headers.get('location') ?? undefined,
      },
      this.target,
      this.clock.now(),
    );
  }

  /** Reachability and version (X-Influxdb-Version); does not check credentials or the database. */
  ping(signal?: AbortSignal): Promise<PingResult> {
    return pingInflux(this.baseUrl, this.opts.timeoutMs, signal);
  }
}
