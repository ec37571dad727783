/**
 * The InfluxDB v2 write API (`POST /api/v2/write`: InfluxDB 2.x, Cloud, 3.x).
 *
 * Why the library's `transport.request()` and not its WriteApi: the WriteApi buffers, retries on
 * its own schedule, drops lines after its retries, evicts the oldest at `maxBufferLines`, and its
 * `flush()` can resolve before in-flight batches finish (DESIGN). The drainer needs one request
 * per call, its status code and Retry-After, and nothing kept or dropped behind its back. The
 * transport sends exactly one request (no retries; those live in the WriteApi), rejects with an
 * HttpError carrying status, body and headers, and still gives us the library's URL handling
 * (path prefix behind a proxy) and `Authorization: Token`.
 */
import {
  HttpError,
  InfluxDB,
  RequestTimedOutError,
  setLogger,
  type Transport,
} from '@influxdata/influxdb-client';
import type { SinkConfig } from '../../config/settings.js';
import { systemClock, type Clock, type Sink } from '../types.js';
import { deadline } from './deadline.js';
import { pingInflux, redactUrl, sinkErrorFor, unreachableError } from './http.js';
import type { HttpAnswer, InfluxSinkOptions, PingResult, SinkTarget } from './http.js';

export type InfluxV2Config = Extract<SinkConfig, { mode: 'v2' }>;

// The library logs to the console by itself (library code must not). On this path it only warns
// about a `/api/v2` suffix in the URL, which it then strips; every failure reaches the drainer as a
// SinkError. The logger is global to the library, so this also silences other users of it.
setLogger({ error: () => undefined, warn: () => undefined });

function header(headers: HttpError['headers'], name: string): string | undefined {
  const value = headers?.[name];
  return Array.isArray(value) ? value[0] : value;
}

export class InfluxV2Sink implements Sink {
  readonly description: string;
  private readonly baseUrl: string;
  private readonly transport: Transport;
  private readonly writePath: string;
  private readonly target: SinkTarget;
  private readonly clock: Clock;

  constructor(
    config: InfluxV2Config,
    private readonly opts: InfluxSinkOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.baseUrl = redactUrl(config.url);
    // `timeout` is the library's socket idle timeout; the AbortSignal in write() bounds the whole
    // request and is what actually closes the socket.
    this.transport = new InfluxDB({
      url: config.url,
      token: config.token,
      timeout: opts.timeoutMs,
    }).transport;
    const params = new URLSearchParams({ org: config.org, bucket: config.bucket, precision: 'ms' });
    this.writePath = `/api/v2/write?${params.toString()}`;
    this.description = `InfluxDB v2 API at ${this.baseUrl}, bucket "${config.bucket}" of org "${config.org}"`;
    this.target = {
      description: this.description,
      credentialsHint: `check INFLUX_TOKEN: it must be valid and allowed to write to bucket "${config.bucket}"`,
      notFoundHint:
        `org "${config.org}" or bucket "${config.bucket}" does not exist (create the bucket), ` +
        'or INFLUX_URL is not an InfluxDB 2.x/3.x API (InfluxDB 1.x has no /api/v2/write: use INFLUX_DB)',
    };
  }

  async write(lines: readonly string[], cancel?: AbortSignal): Promise<void> {
    if (lines.length === 0) return;
    const limit = deadline(this.opts.timeoutMs, cancel);
    let status = 0;
    try {
      await this.transport.request(
        this.writePath,
        lines.join('\n'),
        {
          method: 'POST',
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          signal: limit.signal,
          // The transport gzips bodies longer than the threshold and sets Content-Encoding itself.
          ...(this.opts.gzip === true && { gzipThreshold: 0 }),
        },
        (_headers, statusCode) => (status = statusCode ?? 0),
      );
    } catch (err) {
      if (err instanceof HttpError) throw sinkErrorFor(this.answerOf(err), this.target, this.clock.now());
      const timedOut = limit.timedOut || err instanceof RequestTimedOutError;
      throw unreachableError(this.description, err, this.opts.timeoutMs, timedOut);
    } finally {
      limit.done();
    }
    // Any other 2xx resolves too; only 204 means InfluxDB stored the batch.
    if (status !== 204) throw sinkErrorFor({ status, body: '' }, this.target, this.clock.now());
  }

  /** Reachability and version (X-Influxdb-Version); does not check the token, org or bucket. */
  ping(signal?: AbortSignal): Promise<PingResult> {
    return pingInflux(this.baseUrl, this.opts.timeoutMs, signal);
  }

  private answerOf(err: HttpError): HttpAnswer {
    return {
      status: err.statusCode,
      body: err.body ?? '',
      retryAfter: header(err.headers, 'retry-after'),
      influxError: header(err.headers, 'x-influxdb-error'),
      location: header(err.headers, 'location'),
    };
  }
}
