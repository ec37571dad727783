import { createServer } from 'node:http';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { NormalizedReading } from '../contract/index.js';
import { FileDeadLetterLog } from './deadletter.js';
import { Drainer, type DrainerDeps, type DrainerState } from './drainer.js';
import { toLineProtocol } from './line-protocol.js';
import { createLogger, silentLogger } from './logger.js';
import { FileOutbox } from './outbox.js';
import { InfluxV1Sink } from './sinks/influx-v1.js';
import { SinkError, type Sink } from './types.js';

/** One scripted answer per write; after the script: the rules (InfluxDB-like) decide. */
type Answer = 'rules' | Error | { hold: Promise<void> };

/**
 * A Sink test double that behaves like InfluxDB 1.x where it matters: a batch holding a bad line
 * is refused whole (400, nothing written), a batch above `maxLines` gets 413.
 */
class ScriptedSink implements Sink {
  readonly description = 'scripted sink';
  readonly calls: string[][] = [];
  readonly accepted: string[] = [];
  constructor(
    private readonly script: Answer[] = [],
    private readonly rules: { bad?: (line: string) => boolean; maxLines?: number } = {},
  ) {}

  async write(lines: readonly string[]): Promise<void> {
    this.calls.push([...lines]);
    const answer = this.script.shift() ?? 'rules';
    if (answer instanceof Error) throw answer;
    if (answer !== 'rules') await answer.hold;
    if (this.rules.maxLines !== undefined && lines.length > this.rules.maxLines) {
      throw new SinkError('too-large', 'Request Entity Too Large', 413);
    }
    const bad = lines.find((line) => this.rules.bad?.(line) === true);
    if (bad !== undefined) {
      throw new SinkError(
        'rejected',
        `field type conflict: input field "flow_l_s" on ${bad.split(' ')[0]}`,
        400,
      );
    }
    this.accepted.push(...lines);
  }
}

const NOW = 1_790_000_900_000;
const clock = { now: () => NOW };

function reading(i: number, deviceId = `flow-${i % 3}`): NormalizedReading {
  return {
    deviceId,
    kind: 'water_flow',
    corridor: 'water',
    municipality: 'lanzada',
    site: 'res-1',
    ts: 1_790_000_000_000 + i * 1000,
    seq: i,
    values: { flow_l_s: 10 + (i % 7) },
    receivedAt: 1_790_000_000_000 + i * 1000,
  };
}
const range = (from: number, to: number, bad: number[] = []) =>
  Array.from({ length: to - from }, (_, k) =>
    reading(from + k, bad.includes(from + k) ? `bad-${from + k}` : undefined),
  );
const isBad = (line: string) => line.includes('device=bad-');

let dir: string;
const cleanups: (() => Promise<void>)[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-drainer-'));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function setup(sink: Sink, options: Partial<DrainerDeps> & { batch?: number } = {}) {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('debug', {
    write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>),
  });
  const outbox = new FileOutbox({
    dir: join(dir, 'outbox'),
    segmentBytes: 4096,
    clock,
    logger: silentLogger(),
  });
  const deadLetter = new FileDeadLetterLog({
    dir: join(dir, 'deadletter'),
    maxBytes: 1 << 20,
    deviceBytes: 1 << 18,
    clock,
    logger: silentLogger(),
  });
  await outbox.start();
  await deadLetter.start();
  const states: DrainerState[] = [];
  const drainer = new Drainer({
    outbox,
    sink,
    deadLetter,
    clock,
    logger,
    settings: { drainBatchLines: options.batch ?? 50, drainBackoffBaseMs: 4, drainBackoffMaxMs: 40 },
    random: () => 0.5,
    onState: (state) => states.push(state),
    ...options,
  });
  cleanups.push(async () => {
    await drainer.stop();
    await outbox.stop();
    await deadLetter.stop();
  });
  return { outbox, deadLetter, drainer, logs, states };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const lp = (readings: NormalizedReading[]) => readings.map(toLineProtocol);
const slowRetries = { drainBatchLines: 50, drainBackoffBaseMs: 4, drainBackoffMaxMs: 60_000 };

describe('Drainer', () => {
  it('delivers everything exactly as the outbox holds it, in batches, and wakes up for new appends', async () => {
    const sink = new ScriptedSink();
    const { outbox, drainer } = await setup(sink, { batch: 40 });
    await outbox.append(range(0, 100));
    expect(drainer.stats().lagMs).toBe(NOW - reading(0).receivedAt);
    drainer.start();
    expect(await drainer.flush(5000)).toBe(true);
    expect(sink.calls.map((c) => c.length)).toEqual([40, 40, 20]);
    await waitFor(() => drainer.stats().state === 'idle', 'idle');
    await outbox.append(range(100, 130));
    expect(await drainer.flush(5000)).toBe(true);
    expect(sink.accepted).toEqual(lp(range(0, 130)));
    expect(outbox.stats()).toMatchObject({ backlogRecords: 0, oldestReceivedAt: undefined });
    expect(drainer.stats()).toMatchObject({ written: 130, deadLettered: 0, retries: 0, lagMs: 0 });
  });

  it('bisects a refused batch down to the bad lines, dead-letters them with stage sink, and moves on', async () => {
    const sink = new ScriptedSink([], { bad: isBad });
    const { outbox, deadLetter, drainer } = await setup(sink, { batch: 40 });
    const readings = range(0, 40, [7, 23]);
    await outbox.append(readings);
    drainer.start();
    expect(await drainer.flush(5000)).toBe(true);
    const good = readings.filter((r) => !r.deviceId.startsWith('bad-'));
    expect(sink.accepted).toEqual(lp(good));
    expect(sink.calls.slice(0, 3).map((c) => c.length)).toEqual([40, 20, 10]);
    const records = await deadLetter.list();
    expect(records.map((r) => r.reading)).toEqual([readings[23], readings[7]]);
    for (const r of records) {
      expect(r).toMatchObject({ v: 1, stage: 'sink', reject: { code: 'E_SINK_REJECTED' } });
      expect(r.reject.message).toContain('field type conflict');
      expect(r.topic).toBe(`sensors/${r.device}/readings`);
    }
    expect(drainer.stats()).toMatchObject({ written: 38, deadLettered: 2 });
  });

  it('retries in place when the sink goes away during a bisection: each bad line is dead-lettered once', async () => {
    const down = () => new SinkError('unavailable', 'connect ECONNREFUSED', undefined);
    const sink = new ScriptedSink(['rules', down(), 'rules', down(), down()], { bad: isBad });
    const { outbox, deadLetter, drainer } = await setup(sink, { batch: 16 });
    const readings = range(0, 16, [3]);
    await outbox.append(readings);
    drainer.start();
    expect(await drainer.flush(5000)).toBe(true);
    expect(sink.accepted).toEqual(lp(readings.filter((r) => r.deviceId !== 'bad-3')));
    expect((await deadLetter.list()).map((r) => r.reading)).toEqual([readings[3]]);
    expect(drainer.stats()).toMatchObject({ deadLettered: 1, retries: 3 });
  });

  it('halves the batch on 413 and keeps the smaller size, writing every line once', async () => {
    const sink = new ScriptedSink([], { maxLines: 8 });
    const { outbox, drainer } = await setup(sink, { batch: 32 });
    await outbox.append(range(0, 40));
    drainer.start();
    expect(await drainer.flush(5000)).toBe(true);
    expect(sink.calls.map((c) => c.length)).toEqual([32, 16, 8, 8, 16, 8, 8, 8]);
    expect(sink.accepted).toEqual(lp(range(0, 40)));
    expect(drainer.stats()).toMatchObject({ batchLines: 8, written: 40, deadLettered: 0 });
  });

  it('backs off with jitter, honours Retry-After when it is longer, and commits only after success', async () => {
    const down = (retryAfterMs?: number) => new SinkError('unavailable', 'HTTP 503', 503, retryAfterMs);
    const sink = new ScriptedSink([down(30), down(), down()]);
    const { outbox, drainer, logs, states } = await setup(sink);
    await outbox.append(range(0, 5));
    const before = outbox.cursor;
    drainer.start();
    await waitFor(() => sink.calls.length === 3, 'three failed writes');
    expect(outbox.cursor).toEqual(before);
    expect(outbox.stats().backlogRecords).toBe(5);
    expect(await drainer.flush(5000)).toBe(true);
    // base 4, max 40, random 0.5: 4 (Retry-After 30 wins), then 4 + 0.5 × (8 − 4), then 4 + 0.5 × (16 − 4)
    const delays = logs.filter((l) => l.msg === 'sink unavailable; backing off').map((l) => l.delayMs);
    expect(delays).toEqual([30, 6, 10]);
    expect(sink.calls).toHaveLength(4);
    for (const call of sink.calls) expect(call).toEqual(lp(range(0, 5)));
    expect(outbox.cursor).not.toEqual(before);
    expect(states).toContain('backoff');
    expect(drainer.stats()).toMatchObject({ retries: 3, written: 5, lastError: 'HTTP 503' });
  });

  it('does not commit while a write is in flight', async () => {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const sink = new ScriptedSink([{ hold }]);
    const { outbox, drainer } = await setup(sink);
    await outbox.append(range(0, 3));
    const before = outbox.cursor;
    drainer.start();
    await waitFor(() => sink.calls.length === 1, 'the write to start');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(drainer.stats().state).toBe('writing');
    expect(outbox.cursor).toEqual(before);
    release();
    expect(await drainer.flush(5000)).toBe(true);
    expect(outbox.cursor).not.toEqual(before);
  });

  it('reports misconfiguration, drops nothing, and resumes once the sink accepts', async () => {
    const sink = new ScriptedSink([
      new SinkError('config', 'HTTP 401: unauthorized', 401),
      new Error('socket hang up'),
    ]);
    const seen: [DrainerState, string | undefined][] = [];
    const { outbox, deadLetter, drainer } = await setup(sink, { onState: (s, e) => seen.push([s, e]) });
    await outbox.append(range(0, 4));
    drainer.start();
    await waitFor(() => seen.some(([s]) => s === 'misconfigured'), 'misconfigured');
    expect(seen).toContainEqual(['misconfigured', 'HTTP 401: unauthorized']);
    expect(await drainer.flush(5000)).toBe(true);
    expect(sink.accepted).toEqual(lp(range(0, 4)));
    expect(await deadLetter.list()).toEqual([]);
    // The plain Error was treated as "unavailable": retried, not dropped.
    expect(drainer.stats()).toMatchObject({ retries: 2, deadLettered: 0, lastError: 'socket hang up' });
  });

  it('flush gives up after its timeout while the sink is down; stop ends the backoff and leaves no timer', async () => {
    const down = new SinkError('unavailable', 'HTTP 503', 503, 60_000);
    const sink = new ScriptedSink([down]);
    // A long maximum, so the Retry-After of a minute is honoured in full.
    const { outbox, drainer } = await setup(sink, { settings: slowRetries });
    await outbox.append(range(0, 2));
    drainer.start();
    expect(await drainer.flush(50)).toBe(false);
    expect(drainer.stats().state).toBe('backoff');
    await drainer.stop();
    expect(drainer.stats().state).toBe('stopped');
    expect(outbox.stats().backlogRecords).toBe(2);
  });

  it('flush whileAnswering (shutdown) gives up as soon as the sink stops answering', async () => {
    const down = new SinkError('unavailable', 'HTTP 503', 503, 60_000);
    const sink = new ScriptedSink([down]);
    // A long maximum, so the Retry-After of a minute is honoured in full.
    const { outbox, drainer } = await setup(sink, { settings: slowRetries });
    await outbox.append(range(0, 2));
    drainer.start();
    const flushedAt = Date.now();
    expect(await drainer.flush(30_000, { whileAnswering: true })).toBe(false);
    expect(Date.now() - flushedAt).toBeLessThan(10_000); // not the 30 s budget
    expect(drainer.stats().state).toBe('backoff');
    expect(await drainer.flush(30_000, { whileAnswering: true })).toBe(false); // already down
    await drainer.stop();
    expect(outbox.stats().backlogRecords).toBe(2);
  });

  it('stop waits for an in-flight write only up to its bound', async () => {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const sink = new ScriptedSink([{ hold }]);
    const { outbox, drainer } = await setup(sink, { stopTimeoutMs: 30 });
    await outbox.append(range(0, 2));
    drainer.start();
    await waitFor(() => sink.calls.length === 1, 'the write to start');
    await drainer.stop();
    expect(drainer.stats().state).toBe('stopped');
    release();
  });

  it('does not commit past a refused reading while the dead-letter log cannot write it, and retries until it can', async () => {
    let failing = true;
    const deadLetter = new FileDeadLetterLog({
      dir: join(dir, 'deadletter-faulty'),
      maxBytes: 1 << 20,
      deviceBytes: 1 << 18,
      clock,
      logger: silentLogger(),
      sync: async (fh) => {
        if (failing) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        await fh.datasync();
      },
    });
    await deadLetter.start();
    cleanups.push(() => deadLetter.stop());
    const sink = new ScriptedSink([], { bad: isBad });
    const { outbox, drainer, logs } = await setup(sink, { batch: 8, deadLetter });
    const readings = range(0, 8, [5]);
    await outbox.append(readings);
    const before = outbox.cursor;
    drainer.start();
    const blockedLogs = () =>
      logs.filter((l) => String(l.msg).startsWith('a reading InfluxDB refused cannot'));
    await waitFor(() => blockedLogs().length >= 3, 'three attempts at the dead-letter record');
    expect(outbox.cursor).toEqual(before);
    expect(outbox.stats().backlogRecords).toBe(8);
    expect(deadLetter.stats().full).toBe(true);
    expect(drainer.stats()).toMatchObject({ deadLetterBlocked: true, deadLettered: 0 });

    failing = false;
    expect(await drainer.flush(5000)).toBe(true);
    expect((await deadLetter.list()).map((r) => r.reading)).toEqual([readings[5]]);
    expect(deadLetter.stats()).toMatchObject({ full: false, records: 1 });
    expect(drainer.stats()).toMatchObject({ deadLetterBlocked: false, deadLettered: 1, written: 7 });
    expect(sink.accepted).toEqual(lp(readings.filter((r) => r.deviceId !== 'bad-5')));
    // The failed attempts left no empty files behind.
    expect((await readdir(join(dir, 'deadletter-faulty'))).filter((f) => f.endsWith('.jsonl'))).toHaveLength(
      1,
    );
  });

  it('keeps a refused reading in the outbox while it does not fit the dead-letter cap; a larger cap after a restart takes it', async () => {
    const sink = new ScriptedSink([], { bad: isBad });
    const tiny = new FileDeadLetterLog({
      dir: join(dir, 'deadletter-small'),
      maxBytes: 100, // smaller than one record
      deviceBytes: 100,
      clock,
      logger: silentLogger(),
    });
    await tiny.start();
    const { outbox, drainer } = await setup(sink, { batch: 4, deadLetter: tiny });
    const readings = range(0, 4, [1]);
    await outbox.append(readings);
    const before = outbox.cursor;
    drainer.start();
    await waitFor(() => drainer.stats().deadLetterBlocked, 'the drainer blocked on the dead-letter log');
    expect(tiny.stats()).toMatchObject({ full: true, records: 0 });
    await drainer.stop();
    await tiny.stop();
    expect(outbox.cursor).toEqual(before);
    expect(outbox.stats().backlogRecords).toBe(4);

    // The operator raises VALLEY_DEADLETTER_MAX and restarts; the per-device share does not apply to
    // acknowledged readings InfluxDB refused, however small.
    const larger = new FileDeadLetterLog({
      dir: join(dir, 'deadletter-small'),
      maxBytes: 1 << 20,
      deviceBytes: 10,
      clock,
      logger: silentLogger(),
    });
    await larger.start();
    cleanups.push(() => larger.stop());
    const again = new Drainer({
      outbox,
      sink,
      deadLetter: larger,
      clock,
      logger: silentLogger(),
      settings: { drainBatchLines: 4, drainBackoffBaseMs: 4, drainBackoffMaxMs: 40 },
      random: () => 0.5,
    });
    cleanups.push(() => again.stop());
    again.start();
    expect(await again.flush(5000)).toBe(true);
    expect((await larger.list()).map((r) => r.reading)).toEqual([readings[1]]);
    expect(again.stats()).toMatchObject({ deadLettered: 1, deadLetterBlocked: false });
    expect(new Set(sink.accepted)).toEqual(new Set(lp(readings.filter((r) => r.deviceId !== 'bad-1'))));
  });

  it('waits at most drainBackoffMaxMs when Retry-After asks for longer', async () => {
    const down = (retryAfterMs: number) => new SinkError('unavailable', 'HTTP 503', 503, retryAfterMs);
    const sink = new ScriptedSink([down(9_999_999_000), down(2 ** 40)]);
    const { outbox, drainer, logs } = await setup(sink);
    await outbox.append(range(0, 3));
    drainer.start();
    expect(await drainer.flush(5000)).toBe(true);
    const delays = logs.filter((l) => l.msg === 'sink unavailable; backing off').map((l) => l.delayMs);
    expect(delays).toEqual([40, 40]);
    expect(sink.calls).toHaveLength(3);
  });

  it('never spins on a delay longer than a timer can wait', async () => {
    const sink = new ScriptedSink([new SinkError('unavailable', 'HTTP 503', 503, 2 ** 33)]);
    // Settings out of range on purpose (the schema refuses them): the sleep itself must hold.
    const { outbox, drainer } = await setup(sink, {
      settings: { drainBatchLines: 10, drainBackoffBaseMs: 2 ** 32, drainBackoffMaxMs: 2 ** 33 },
    });
    await outbox.append(range(0, 1));
    drainer.start();
    await waitFor(() => sink.calls.length === 1, 'the first write');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sink.calls).toHaveLength(1);
    expect(drainer.stats().state).toBe('backoff');
  });

  it('honours Retry-After of a real HTTP answer only up to drainBackoffMaxMs, without a hot loop', async () => {
    let writes = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        writes++;
        res.writeHead(503, { 'Retry-After': '9999999', 'Content-Type': 'application/json' });
        res.end('{"error":"overloaded"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const sink = new InfluxV1Sink({ mode: 'v1', url, db: 'valley' }, { timeoutMs: 2000 });
    const { outbox, drainer, logs } = await setup(sink, {
      settings: { drainBatchLines: 10, drainBackoffBaseMs: 50, drainBackoffMaxMs: 100 },
    });
    await outbox.append(range(0, 2));
    drainer.start();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await drainer.stop();
    // About one write per 100 ms (the clamp), not one per millisecond, and not one in 115 days.
    expect(writes).toBeGreaterThanOrEqual(3);
    expect(writes).toBeLessThanOrEqual(12);
    const delays = logs.filter((l) => l.msg === 'sink unavailable; backing off').map((l) => l.delayMs);
    expect(delays.every((d) => d === 100)).toBe(true);
    expect(outbox.stats().backlogRecords).toBe(2);
  });
});
