/**
 * InfluxV2Sink against a local HTTP server that plays InfluxDB 2.x: it checks what the sink sends
 * and answers with scripted statuses, so every mapping to SinkError is pinned without a 2.x server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { freePort } from '../../test/support/ports.js';
import { SinkError } from '../types.js';
import { InfluxV2Sink } from './influx-v2.js';

const TOKEN = 'secret-t0ken==';
const NOW = Date.UTC(2026, 10, 25, 6, 0, 0);
const LINES = [
  'water_flow,device=wf-01,municipality=chiesa,corridor=water,site=primolo\\ tank flow_l_s=12.4,totaliser_m3=80231 1795586400000',
  'water_pressure,device=wp-02,municipality=lanzada,corridor=water,site=centro pressure_bar=4 1795586400001',
];

/** measurement(,tag=value)* field=value(,field=value)* timestamp-in-ms; backslash escapes allowed. */
const NAME = String.raw`(?:[^\\,= ]|\\.)+`;
const FIELD_VALUE = String.raw`(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?i?|"(?:[^"\\]|\\.)*"|t|f|true|false|T|F|TRUE|FALSE)`;
const FIELD = `${NAME}=${FIELD_VALUE}`;
const LINE = new RegExp(`^${NAME}(?:,${NAME}=${NAME})* ${FIELD}(?:,${FIELD})* (\\d+)$`);
function isLineProtocolMs(line: string): boolean {
  const ts = LINE.exec(line)?.[1];
  return ts !== undefined && ts.length === 13; // milliseconds in this century
}

interface Scripted {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}
interface Seen {
  problems: string[];
  body: string;
}

describe('InfluxV2Sink (scripted InfluxDB 2.x)', () => {
  let url: string;
  let answer: Scripted = { status: 204 };
  let seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const target = new URL(req.url ?? '/', 'http://x');
      const problems: string[] = [];
      if (req.method !== 'POST') problems.push(`method ${req.method}`);
      if (target.pathname !== '/api/v2/write') problems.push(`path ${target.pathname}`);
      if (req.headers.authorization !== `Token ${TOKEN}`)
        problems.push(`authorization ${req.headers.authorization}`);
      const q = Object.fromEntries(target.searchParams);
      if (JSON.stringify(q) !== JSON.stringify({ org: 'valmalenco', bucket: 'valley', precision: 'ms' })) {
        problems.push(`query ${target.search}`);
      }
      if (!req.headers['content-type']?.startsWith('text/plain'))
        problems.push(`type ${req.headers['content-type']}`);
      for (const line of body.split('\n')) if (!isLineProtocolMs(line)) problems.push(`bad line: ${line}`);
      seen.push({ problems, body });
      res.writeHead(answer.status, answer.headers).end(answer.body);
    });
  });
  const sink = (timeoutMs = 5000): InfluxV2Sink =>
    new InfluxV2Sink(
      { mode: 'v2', url, token: TOKEN, org: 'valmalenco', bucket: 'valley' },
      { timeoutMs, clock: { now: () => NOW } },
    );
  async function failure(write: Promise<void>): Promise<SinkError> {
    try {
      await write;
    } catch (err) {
      if (err instanceof SinkError) return err;
      throw err;
    }
    throw new Error('the write succeeded, a SinkError was expected');
  }

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    seen = [];
  });

  it('POSTs valid line protocol to /api/v2/write with the token, org, bucket and precision=ms', async () => {
    answer = { status: 204 };
    await sink().write(LINES);
    expect(seen).toEqual([{ problems: [], body: LINES.join('\n') }]);
    expect(sink().description).toBe(`InfluxDB v2 API at ${url}, bucket "valley" of org "valmalenco"`);
  });

  it('sends nothing for an empty batch', async () => {
    await sink().write([]);
    expect(seen).toEqual([]);
  });

  const json = { 'content-type': 'application/json; charset=utf-8' };
  const cases: [string, Scripted, Partial<SinkError>, string][] = [
    [
      '400 → rejected with InfluxDB message',
      {
        status: 400,
        headers: json,
        body: '{"code":"invalid","message":"unable to parse \'x\': missing fields"}',
      },
      { kind: 'rejected', status: 400, retryAfterMs: undefined },
      "refused the batch (HTTP 400): unable to parse 'x': missing fields",
    ],
    [
      '401 → config',
      { status: 401, headers: json, body: '{"code":"unauthorized","message":"unauthorized access"}' },
      { kind: 'config', status: 401 },
      'InfluxDB refused the credentials (HTTP 401: unauthorized access)',
    ],
    [
      '404 → config naming org and bucket',
      { status: 404, headers: json, body: '{"code":"not found","message":"bucket \\"valley\\" not found"}' },
      { kind: 'config', status: 404 },
      'org "valmalenco" or bucket "valley" does not exist',
    ],
    [
      '413 → too-large',
      { status: 413, headers: json, body: '{"code":"request too large","message":"unable to read data"}' },
      { kind: 'too-large', status: 413 },
      'too large (HTTP 413)',
    ],
    [
      '429 with Retry-After: 2 → unavailable, retry in 2 s',
      { status: 429, headers: { ...json, 'retry-after': '2' }, body: '{"code":"too many requests"}' },
      { kind: 'unavailable', status: 429, retryAfterMs: 2000 },
      'unavailable (HTTP 429)',
    ],
    [
      '503 → unavailable without a retry hint',
      { status: 503, body: 'upstream down' },
      { kind: 'unavailable', status: 503, retryAfterMs: undefined },
      'unavailable (HTTP 503): upstream down',
    ],
    [
      '503 with an HTTP-date Retry-After → delay from the injected clock',
      { status: 503, headers: { 'retry-after': new Date(NOW + 90_000).toUTCString() } },
      { kind: 'unavailable', status: 503, retryAfterMs: 90_000 },
      'unavailable (HTTP 503)',
    ],
    [
      '200 instead of 204 → config (not a write API: never taken as stored)',
      { status: 200, headers: { 'content-type': 'text/html' }, body: '<html>hello</html>' },
      { kind: 'config', status: 200 },
      'answered HTTP 200 instead of 204',
    ],
  ];
  it.each(cases)('%s', async (_name, scripted, expected, message) => {
    answer = scripted;
    const err = await failure(sink().write(LINES));
    expect(err).toMatchObject(expected);
    expect(err.message).toContain(message);
    expect(err.message).not.toContain(TOKEN);
    expect(seen.map((s) => s.problems)).toEqual([[]]);
  });

  it('no server: unavailable naming the URL and the cause', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const err = await failure(
      new InfluxV2Sink(
        { mode: 'v2', url: closed, token: TOKEN, org: 'o', bucket: 'b' },
        { timeoutMs: 2000 },
      ).write(LINES),
    );
    expect(err).toMatchObject({ kind: 'unavailable', status: undefined });
    expect(err.message).toContain(`${closed}, bucket "b" of org "o" is unreachable`);
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('no answer within the timeout: unavailable, and the request is abandoned', async () => {
    const hanging = createServer(() => undefined); // never answers
    const clientGone = new Promise((resolve) => hanging.once('connection', (s) => s.once('close', resolve)));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    try {
      const port = (hanging.address() as AddressInfo).port;
      const config = {
        mode: 'v2',
        url: `http://127.0.0.1:${port}`,
        token: TOKEN,
        org: 'o',
        bucket: 'b',
      } as const;
      const err = await failure(new InfluxV2Sink(config, { timeoutMs: 150 }).write(LINES));
      expect(err).toMatchObject({ kind: 'unavailable', status: undefined });
      expect(err.message).toContain('did not answer within 150 ms');
      await clientGone; // the sink closed its socket: no request left hanging after the error
    } finally {
      hanging.closeAllConnections();
      await new Promise((resolve) => hanging.close(resolve));
    }
  });
});
