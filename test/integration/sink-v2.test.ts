/**
 * The v2 write path end to end through the drainer: a real outbox and dead-letter log on disk, the
 * real InfluxV2Sink, and a local HTTP server playing InfluxDB 2.x. The server checks every request
 * (path, token, org, bucket, precision, line protocol) and answers from a script; the assertions
 * are on what it received and stored, and on the dead-letter log.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { NormalizedReading } from '../../contract/index.js';
import { FileDeadLetterLog } from '../../gateway/deadletter.js';
import { Drainer, type DrainerState } from '../../gateway/drainer.js';
import { toLineProtocol } from '../../gateway/line-protocol.js';
import { FileOutbox } from '../../gateway/outbox.js';
import { InfluxV2Sink } from '../../gateway/sinks/influx-v2.js';
import { openStorage, type TestStorage } from '../support/storage.js';
import { waitFor } from '../support/mqtt.js';

const TOKEN = 'v2-t0ken-for-tests==';
const ORG = 'valmalenco';
const BUCKET = 'valley';
const BACKOFF_BASE_MS = 20;
const BACKOFF_MAX_MS = 400;

/** measurement(,tag=value)* field=value(,field=value)* ms-timestamp, with backslash escapes. */
const NAME = String.raw`(?:[^\\,= ]|\\.)+`;
const FIELD = `${NAME}=-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?`;
const LINE = new RegExp(`^${NAME}(?:,${NAME}=${NAME})* ${FIELD}(?:,${FIELD})* \\d{13}$`);

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}
interface Request {
  lines: string[];
  problems: string[];
  status: number;
  at: number;
}

/** Checks a write request the way InfluxDB 2.x would parse it. */
function problemsOf(req: IncomingMessage, lines: string[]): string[] {
  const problems: string[] = [];
  const target = new URL(req.url ?? '/', 'http://x');
  if (req.method !== 'POST') problems.push(`method ${req.method}`);
  if (target.pathname !== '/api/v2/write') problems.push(`path ${target.pathname}`);
  if (req.headers.authorization !== `Token ${TOKEN}`)
    problems.push(`authorization ${req.headers.authorization}`);
  const query = Object.fromEntries(target.searchParams);
  if (JSON.stringify(query) !== JSON.stringify({ org: ORG, bucket: BUCKET, precision: 'ms' }))
    problems.push(`query ${target.search}`);
  for (const line of lines) if (!LINE.test(line)) problems.push(`not line protocol: ${line}`);
  return problems;
}

const json = { 'content-type': 'application/json; charset=utf-8' };
const CONFLICT =
  'failure writing points to database: partial write: field type conflict: input field "flow_l_s" on measurement "water_flow" is type float, already exists as type integer dropped=1';

let url: string;
let requests: Request[] = [];
/** Lines of every request answered 204, in order (the server's database). */
let stored: string[] = [];
let script: (lines: string[], n: number) => Answer = () => ({ status: 204 });

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    const answer = script(lines, requests.length);
    requests.push({ lines, problems: problemsOf(req, lines), status: answer.status, at: Date.now() });
    if (answer.status === 204) stored.push(...lines);
    res.writeHead(answer.status, answer.headers).end(answer.body);
  });
});

const t0 = Date.now() - 3_600_000;
function reading(i: number, deviceId = `t-flow-${i % 3}`): NormalizedReading {
  return {
    deviceId,
    kind: 'water_flow',
    corridor: 'water',
    municipality: 'chiesa',
    site: 't-reservoir',
    ts: t0 + i * 1000,
    seq: i,
    values: { flow_l_s: 1 + i / 10, totaliser_m3: 100 + i },
    receivedAt: t0 + i * 1000,
  };
}
const range = (from: number, to: number): NormalizedReading[] =>
  Array.from({ length: to - from }, (_, k) => reading(from + k));

interface Rig {
  outbox: FileOutbox;
  deadLetter: FileDeadLetterLog;
  drainer: Drainer;
  states: DrainerState[];
}
const open: { rig: Rig; storage: TestStorage }[] = [];

async function rig(batchLines: number, backoffMaxMs = BACKOFF_MAX_MS): Promise<Rig> {
  const storage = await openStorage('valley-v2-');
  const { outbox, deadLetter, clock, logger } = storage;
  const states: DrainerState[] = [];
  const drainer = new Drainer({
    outbox,
    deadLetter,
    sink: new InfluxV2Sink({ mode: 'v2', url, token: TOKEN, org: ORG, bucket: BUCKET }, { timeoutMs: 2000 }),
    clock,
    logger,
    settings: {
      drainBatchLines: batchLines,
      drainBackoffBaseMs: BACKOFF_BASE_MS,
      drainBackoffMaxMs: backoffMaxMs,
    },
    random: () => 0.5,
    idlePollMs: 50,
    onState: (state) => states.push(state),
  });
  const r = { outbox, deadLetter, drainer, states };
  open.push({ rig: r, storage });
  return r;
}

function countOf(lines: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const { rig: r, storage } of open.splice(0)) {
    await r.drainer.stop();
    await storage.close();
  }
  requests = [];
  stored = [];
  script = () => ({ status: 204 });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('v2 sink through the drainer', () => {
  it('400: bisects to the bad line, dead-letters it with the server message, writes the good ones once', async () => {
    const readings = [...range(0, 13), reading(13, 't-bad-1'), ...range(14, 32)];
    const bad = toLineProtocol(readings[13]!);
    // All or nothing, as InfluxDB refuses a batch that creates a shard: a 400 stores no line.
    script = (lines) =>
      lines.includes(bad)
        ? { status: 400, headers: json, body: JSON.stringify({ code: 'invalid', message: CONFLICT }) }
        : { status: 204 };
    const { outbox, deadLetter, drainer } = await rig(32);
    await outbox.append(readings);
    drainer.start();
    expect(await drainer.flush(10_000)).toBe(true);

    expect(requests.flatMap((r) => r.problems)).toEqual([]);
    const good = readings.filter((r) => r.deviceId !== 't-bad-1').map(toLineProtocol);
    expect([...countOf(stored)]).toEqual(good.map((line) => [line, 1]));
    // Bisection of 32 lines: the bad line is sent once per level (32, 16, 8, 4, 2, 1), every good
    // line at most once per level above the request that stored it.
    const sent = countOf(requests.flatMap((r) => r.lines));
    expect(sent.get(bad)).toBe(6);
    for (const line of good) expect(sent.get(line)).toBeLessThanOrEqual(6);
    expect(requests).toHaveLength(1 + 2 * 5);

    const records = await deadLetter.list();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      v: 1,
      stage: 'sink',
      device: 't-bad-1',
      topic: 'sensors/t-bad-1/readings',
      reject: { code: 'E_SINK_REJECTED', ts: readings[13]!.ts, seq: 13 },
      reading: readings[13],
    });
    expect(records[0]!.reject.message).toContain(`refused the batch (HTTP 400): ${CONFLICT}`);
    expect(drainer.stats()).toMatchObject({ written: 31, deadLettered: 1 });
    expect(outbox.stats().backlogRecords).toBe(0);
  });

  it('401: stops retrying fast (misconfigured), drops nothing, and delivers once the token is fixed', async () => {
    script = () => ({
      status: 401,
      headers: json,
      body: '{"code":"unauthorized","message":"unauthorized access"}',
    });
    const { outbox, deadLetter, drainer, states } = await rig(100);
    const readings = range(0, 10);
    await outbox.append(readings);
    const startedAt = Date.now();
    drainer.start();
    await waitFor(() => drainer.stats().state === 'misconfigured', 5000, 'misconfigured');
    await new Promise((resolve) => setTimeout(resolve, 3 * BACKOFF_MAX_MS));
    const window = Date.now() - startedAt;
    // Retried at the slowest backoff, never at the fast first steps (which would be ~50 tries).
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(requests.length).toBeLessThanOrEqual(Math.ceil(window / BACKOFF_MAX_MS) + 1);
    expect(drainer.stats()).toMatchObject({ state: 'misconfigured', deadLettered: 0, written: 0 });
    expect(drainer.stats().lastError).toContain('InfluxDB refused the credentials (HTTP 401');
    expect(drainer.stats().lastError).toContain('check INFLUX_TOKEN');
    expect(drainer.stats().lastError).not.toContain(TOKEN);
    expect(outbox.stats().backlogRecords).toBe(10);
    expect(stored).toEqual([]);

    script = () => ({ status: 204 });
    expect(await drainer.flush(5000)).toBe(true);
    expect(requests.flatMap((r) => r.problems)).toEqual([]);
    expect(stored).toEqual(readings.map(toLineProtocol));
    expect(await deadLetter.list()).toEqual([]);
    expect(states).toContain('misconfigured');
    expect(drainer.stats()).toMatchObject({ written: 10, deadLettered: 0 });
  });

  it('413: halves the batch until the server takes it, and keeps the smaller size', async () => {
    script = (lines) =>
      lines.length > 4
        ? { status: 413, headers: json, body: '{"code":"request too large","message":"unable to read data"}' }
        : { status: 204 };
    const { outbox, deadLetter, drainer } = await rig(16);
    const readings = range(0, 20);
    await outbox.append(readings);
    drainer.start();
    expect(await drainer.flush(10_000)).toBe(true);
    expect(requests.flatMap((r) => r.problems)).toEqual([]);
    expect(requests.map((r) => r.lines.length)).toEqual([16, 8, 4, 4, 8, 4, 4, 4]);
    expect(stored).toEqual(readings.map(toLineProtocol));
    expect(await deadLetter.list()).toEqual([]);
    expect(drainer.stats()).toMatchObject({ batchLines: 4, written: 20, deadLettered: 0 });
  });

  it('429 with Retry-After: waits as long as the server asks (up to VALLEY_BACKOFF_MAX), then delivers', async () => {
    script = (_lines, n) =>
      n === 0
        ? { status: 429, headers: { ...json, 'retry-after': '1' }, body: '{"code":"too many requests"}' }
        : { status: 204 };
    const { outbox, deadLetter, drainer, states } = await rig(100, 5000);
    const readings = range(0, 5);
    await outbox.append(readings);
    drainer.start();
    expect(await drainer.flush(10_000)).toBe(true);
    expect(requests.map((r) => r.status)).toEqual([429, 204]);
    // Without Retry-After the first retry would come after 20–40 ms.
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(states).toContain('backoff');
    expect(stored).toEqual(readings.map(toLineProtocol));
    expect(await deadLetter.list()).toEqual([]);
    expect(drainer.stats()).toMatchObject({ retries: 1, written: 5, deadLettered: 0 });
  });

  it('503: backs off, then delivers every line once', async () => {
    script = (_lines, n) => (n < 3 ? { status: 503, body: 'upstream unavailable' } : { status: 204 });
    const { outbox, deadLetter, drainer, states } = await rig(100);
    const readings = range(0, 7);
    await outbox.append(readings);
    drainer.start();
    expect(await drainer.flush(10_000)).toBe(true);
    expect(requests.flatMap((r) => r.problems)).toEqual([]);
    expect(requests.map((r) => r.status)).toEqual([503, 503, 503, 204]);
    for (const r of requests) expect(r.lines).toEqual(readings.map(toLineProtocol));
    expect(stored).toEqual(readings.map(toLineProtocol));
    expect(states).toContain('backoff');
    expect(await deadLetter.list()).toEqual([]);
    expect(drainer.stats()).toMatchObject({ retries: 3, written: 7, deadLettered: 0 });
    expect(drainer.stats().lastError).toContain('unavailable (HTTP 503): upstream unavailable');
  });
});
