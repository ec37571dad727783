/**
 * VALLEY_SINK_GZIP against a real InfluxDB 1.x: both sinks send `Content-Encoding: gzip` and the
 * real influxd stores every line. A pass-through proxy in front of influxd records the headers and
 * forwards the body bytes untouched; for the v2 sink it maps `/api/v2/write?bucket=` onto 1.x's
 * `/write?db=` (Debian's 1.6 has no v2 API), so influxd itself decodes the gzip either way.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { resolveSettings } from '../../config/settings.js';
import { InfluxV1Sink } from '../../gateway/sinks/influx-v1.js';
import { InfluxV2Sink } from '../../gateway/sinks/influx-v2.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';

const DB = 'gzipdb';

interface Seen {
  path: string;
  encoding: string | undefined;
  status: number;
}

let influxd: InfluxdHandle;
let proxy: Server;
let proxyUrl: string;
const seen: Seen[] = [];

function forward(req: IncomingMessage, res: import('node:http').ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  let path = `${url.pathname}${url.search}`;
  if (url.pathname === '/api/v2/write') {
    const params = new URLSearchParams({
      db: url.searchParams.get('bucket') ?? '',
      precision: url.searchParams.get('precision') ?? 'ms',
    });
    path = `/write?${params.toString()}`;
  }
  const headers = { ...req.headers };
  delete headers.authorization; // the v2 token means nothing to a 1.x without auth
  const upstream = request(`${influxd.url}${path}`, { method: req.method, headers }, (answer) => {
    seen.push({
      path: url.pathname,
      encoding: req.headers['content-encoding'],
      status: answer.statusCode ?? 0,
    });
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => res.writeHead(502).end());
  req.pipe(upstream);
}

beforeAll(async () => {
  influxd = await startInfluxd();
  await influxd.createDatabase(DB);
  proxy = createServer(forward);
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
  await influxd.stop();
});

function lines(measurement: string, n: number): string[] {
  const t0 = Date.now() - 60_000;
  return Array.from({ length: n }, (_, i) => `${measurement},device=d${i % 7} value=${i}.5 ${t0 + i}`);
}

describe('gzip to the sink (VALLEY_SINK_GZIP)', () => {
  it('is off by default and read from VALLEY_SINK_GZIP or --sink-gzip', () => {
    expect(resolveSettings({}).settings.sinkGzip).toBe(false);
    expect(resolveSettings({ VALLEY_SINK_GZIP: 'on' }).settings.sinkGzip).toBe(true);
    expect(resolveSettings({ VALLEY_SINK_GZIP: 'on' }, { 'no-sink-gzip': true }).settings.sinkGzip).toBe(
      false,
    );
    expect(() => resolveSettings({ VALLEY_SINK_GZIP: 'maybe' })).toThrow(/VALLEY_SINK_GZIP.*not true\/false/);
  });

  it('v1: the batch goes gzipped and influxd stores every line', async () => {
    const sink = new InfluxV1Sink({ mode: 'v1', url: proxyUrl, db: DB }, { timeoutMs: 5000, gzip: true });
    await sink.write(lines('gz_v1', 2000));
    expect(seen.at(-1)).toEqual({ path: '/write', encoding: 'gzip', status: 204 });
    expect(await influxd.count(DB, 'gz_v1')).toBe(2000);
  });

  it('v2: the batch goes gzipped and influxd stores every line', async () => {
    const sink = new InfluxV2Sink(
      { mode: 'v2', url: proxyUrl, token: 't', org: 'o', bucket: DB },
      { timeoutMs: 5000, gzip: true },
    );
    await sink.write(lines('gz_v2', 2000));
    expect(seen.at(-1)).toEqual({ path: '/api/v2/write', encoding: 'gzip', status: 204 });
    expect(await influxd.count(DB, 'gz_v2')).toBe(2000);
  });

  it('without the setting the body goes plain', async () => {
    const v1 = new InfluxV1Sink({ mode: 'v1', url: proxyUrl, db: DB }, { timeoutMs: 5000 });
    await v1.write(lines('plain_v1', 10));
    expect(seen.at(-1)).toEqual({ path: '/write', encoding: undefined, status: 204 });
    const v2 = new InfluxV2Sink(
      { mode: 'v2', url: proxyUrl, token: 't', org: 'o', bucket: DB },
      { timeoutMs: 5000 },
    );
    await v2.write(lines('plain_v2', 10));
    expect(seen.at(-1)).toEqual({ path: '/api/v2/write', encoding: undefined, status: 204 });
    expect(await influxd.count(DB, 'plain_v1')).toBe(10);
    expect(await influxd.count(DB, 'plain_v2')).toBe(10);
  });
});
