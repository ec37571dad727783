import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { NormalizedReading } from '../contract/index.js';
import { createLogger, silentLogger } from './logger.js';
import { FileOutbox, type OutboxDeps } from './outbox.js';
import { encodeRecord, segmentName } from './outbox-segments.js';
import type { OutboxPosition } from './types.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-outbox-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function reading(i: number): NormalizedReading {
  return {
    deviceId: `flow-${i % 3}`,
    kind: 'water_flow',
    corridor: 'water',
    municipality: 'lanzada',
    site: 'res-1',
    ts: 1_790_000_000_000 + i * 1000,
    seq: i,
    values: { flow_l_s: 10 + (i % 7), totaliser_m3: 1000 + i },
    receivedAt: 1_790_000_000_500 + i * 1000,
  };
}
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => reading(from + k));

function outbox(overrides: Partial<OutboxDeps> = {}): FileOutbox {
  let now = 1_790_000_100_000;
  return new FileOutbox({
    dir,
    segmentBytes: 4096,
    clock: { now: () => now++ },
    logger: silentLogger(),
    retryBaseMs: 5,
    ...overrides,
  });
}

/** Reads everything durable from `from`, following the batches as the drainer does. */
async function readFrom(box: FileOutbox, from: OutboxPosition, batch = 1000): Promise<NormalizedReading[]> {
  const out: NormalizedReading[] = [];
  for (;;) {
    const b = await box.read(from, batch);
    out.push(...b.records);
    if (b.to.segment === from.segment && b.to.offset === from.offset) return out;
    from = b.to;
  }
}

async function drainAll(box: FileOutbox, batch: number): Promise<NormalizedReading[]> {
  const out: NormalizedReading[] = [];
  for (;;) {
    const b = await box.read(box.cursor, batch);
    if (b.records.length === 0 && b.to.offset === b.from.offset && b.to.segment === b.from.segment)
      return out;
    out.push(...b.records);
    await box.commit(b.to);
  }
}

const segmentFiles = async () => (await readdir(dir)).filter((f) => f.endsWith('.seg')).sort();

describe('FileOutbox', () => {
  it('appends, reads and commits across segment rolls, deleting drained segments', async () => {
    const box = outbox();
    await box.start();
    for (let i = 0; i < 100; i += 10) await box.append(range(i, i + 10));
    expect((await segmentFiles()).length).toBeGreaterThan(3);
    expect(box.stats()).toMatchObject({ backlogRecords: 100, oldestReceivedAt: reading(0).receivedAt });
    const first = await box.read(box.cursor, 25);
    expect(first.records).toEqual(range(0, 25));
    await box.commit(first.to);
    expect(box.stats()).toMatchObject({ backlogRecords: 75, oldestReceivedAt: reading(25).receivedAt });
    expect(await drainAll(box, 7)).toEqual(range(25, 100));
    expect(box.stats()).toMatchObject({ backlogRecords: 0, backlogBytes: 0, oldestReceivedAt: undefined });
    expect(await segmentFiles()).toHaveLength(1); // only the active one is kept
    const cursor = JSON.parse(await readFile(join(dir, 'cursor.json'), 'utf8')) as Record<string, unknown>;
    expect(cursor).toMatchObject({ version: 1, segment: box.cursor.segment, offset: box.cursor.offset });
    await box.stop();
  });

  it('starts every segment with a versioned header and stores CRC-framed JSON lines', async () => {
    const box = outbox();
    await box.start();
    await box.append([reading(1)]);
    await box.stop();
    const [file] = await segmentFiles();
    const text = await readFile(join(dir, file!), 'utf8');
    expect(text).toBe(`{"format":"valley-outbox","version":1}\n${encodeRecord(reading(1))}`);
    expect(text.split('\n')[1]).toMatch(/^[0-9a-f]{8} \{/);
  });

  it('recovers everything acknowledged after a restart, and the cursor with it', async () => {
    const first = outbox();
    await first.start();
    for (let i = 0; i < 60; i += 20) await first.append(range(i, i + 20));
    const b = await first.read(first.cursor, 30);
    await first.commit(b.to);
    await first.stop();

    const second = outbox();
    await second.start();
    expect(second.cursor).toEqual(b.to);
    expect(second.stats()).toMatchObject({ backlogRecords: 30, oldestReceivedAt: reading(30).receivedAt });
    expect(await readFrom(second, second.cursor)).toEqual(range(30, 60));
    await second.append([reading(60)]);
    expect(await drainAll(second, 100)).toEqual(range(30, 61));
    await second.stop();
  });

  it('ignores a torn or garbled tail and starts a fresh segment instead of appending after it', async () => {
    const first = outbox();
    await first.start();
    await first.append(range(0, 5));
    await first.stop();
    const [last] = await segmentFiles();
    const good = encodeRecord(reading(5));
    await appendFile(join(dir, last!), `00000000${good.slice(8)}${good.slice(0, 30)}`);
    const tornSize = (await stat(join(dir, last!))).size;

    const second = outbox();
    await second.start();
    expect(second.stats().backlogRecords).toBe(5);
    await second.append([reading(6)]);
    expect(await readFrom(second, second.cursor)).toEqual([...range(0, 5), reading(6)]);
    expect((await stat(join(dir, last!))).size).toBe(tornSize);
    expect(await segmentFiles()).toHaveLength(2);
    await second.stop();
  });

  it('fsyncs the directory after creating a segment, before acknowledging anything in it', async () => {
    const events: string[] = [];
    const box = outbox({
      segmentBytes: 1000,
      syncDir: async () => {
        events.push('dir');
        await Promise.resolve();
      },
      sync: async (fh) => {
        events.push('file');
        await fh.datasync();
      },
    });
    await box.start();
    for (let i = 0; i < 30; i += 10) {
      await box.append(range(i, i + 10));
      events.push('ack');
    }
    const segments = (await segmentFiles()).length;
    expect(segments).toBe(3);
    // per segment: header sync, dir sync, then the group's sync and its ack
    expect(events).toEqual([
      'file',
      'dir',
      'file',
      'ack',
      'file',
      'dir',
      'file',
      'ack',
      'file',
      'dir',
      'file',
      'ack',
    ]);
    await box.stop();
  });

  it('holds appends while the sync is held', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let hold = false;
    const box = outbox({
      sync: async (fh) => {
        if (hold) await held;
        await fh.datasync();
      },
    });
    await box.start();
    await box.append([reading(0)]);
    hold = true;
    let acked = false;
    const pending = box.append([reading(1)]).then(() => (acked = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(acked).toBe(false);
    expect(box.stats()).toMatchObject({ pendingAppends: 1, backlogRecords: 1 });
    expect((await box.read(box.cursor, 10)).records).toEqual([reading(0)]);
    release();
    await pending;
    expect(box.stats()).toMatchObject({ pendingAppends: 0, backlogRecords: 2 });
    await box.stop();
  });

  it('after a failed sync abandons the segment at its synced length and rewrites the records in a new one', async () => {
    let failures = 0;
    const box = outbox({
      sync: async (fh: FileHandle) => {
        if (failures > 0) {
          failures--;
          throw Object.assign(new Error('EIO: injected fsync failure'), { code: 'EIO' });
        }
        await fh.datasync();
      },
      retryBaseMs: 30,
    });
    await box.start();
    await box.append(range(0, 3));
    const [original] = await segmentFiles();
    const goodLength = (await stat(join(dir, original!))).size;
    failures = 2; // the group's sync, then the new segment's header sync
    let acked = false;
    const pending = box.append(range(3, 6)).then(() => (acked = true));
    for (let waited = 0; box.stats().writable; waited += 2) {
      if (waited > 5000) throw new Error('the sync never failed');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(box.stats()).toMatchObject({ writable: false, pendingAppends: 1 });
    const later = box.append(range(6, 8));
    expect(acked).toBe(false);
    await Promise.all([pending, later]);
    expect(box.stats()).toMatchObject({ writable: true, backlogRecords: 8, abandonedSegments: 1 });

    const files = await segmentFiles();
    const abandoned = `${original!.slice(0, 12)}.abandoned-${goodLength}.seg`;
    expect(files).toContain(abandoned);
    // The failed group's bytes are in the abandoned file, past its good length: never read.
    expect((await stat(join(dir, abandoned))).size).toBeGreaterThan(goodLength);
    expect(await readFrom(box, box.cursor)).toEqual(range(0, 8));
    await box.stop();

    const again = outbox();
    await again.start();
    expect(again.stats().backlogRecords).toBe(8);
    expect(await drainAll(again, 3)).toEqual(range(0, 8));
    expect(await segmentFiles()).toHaveLength(0); // all drained, none active yet
    await again.stop();
  });

  it('on a full disk moves the cursor in memory and deletes drained segments; a restart resends from the old cursor', async () => {
    let noSpace = false;
    const sync = async (fh: FileHandle) => {
      if (noSpace) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      await fh.datasync();
    };
    const first = outbox({ sync });
    await first.start();
    for (let i = 0; i < 60; i += 10) await first.append(range(i, i + 10));
    const early = await first.read(first.cursor, 10);
    await first.commit(early.to);
    const segments = (await segmentFiles()).length;
    // The sink took 40 more; the cursor file cannot be written (only the cursor syncs from here).
    noSpace = true;
    const b = await first.read(first.cursor, 40);
    await first.commit(b.to);
    expect(first.cursor).toEqual(b.to);
    expect(first.stats().backlogRecords).toBe(10);
    expect((await segmentFiles()).length).toBeLessThan(segments); // room made
    expect(await readdir(dir)).not.toContain('cursor.json.tmp');
    noSpace = false;
    await first.stop();

    // The cursor on disk is the early one: a restart resends from the oldest segment still there.
    const second = outbox();
    await second.start();
    expect(second.cursor).toEqual(early.to);
    const resent = await drainAll(second, 100);
    expect(resent.slice(-10)).toEqual(range(50, 60));
    expect(resent.length).toBeLessThan(50);
    await second.stop();
  });

  it('numbers new segments after the cursor even when every segment was drained and deleted', async () => {
    const first = outbox();
    await first.start();
    for (let i = 0; i < 40; i += 10) await first.append(range(i, i + 10));
    await drainAll(first, 15);
    await first.stop();
    const second = outbox();
    await second.start();
    const cursor = second.cursor;
    expect(cursor.segment).toBeGreaterThan(1);
    await second.append(range(40, 42));
    await second.stop();
    expect(await segmentFiles()).toEqual([segmentName(cursor.segment + 1)]);
    const third = outbox();
    await third.start();
    expect(third.stats().backlogRecords).toBe(2);
    expect(await drainAll(third, 10)).toEqual(range(40, 42));
    await third.stop();
  });

  it('leaves a segment of an unknown version untouched and unread', async () => {
    const foreign = `{"format":"valley-outbox","version":99}\nsomething newer\n`;
    await writeFile(join(dir, segmentName(1)), foreign);
    const box = outbox();
    await box.start();
    await box.append([reading(0)]);
    expect(await drainAll(box, 10)).toEqual([reading(0)]);
    expect(await readFile(join(dir, segmentName(1)), 'utf8')).toBe(foreign);
    expect(await segmentFiles()).toEqual([segmentName(1), segmentName(2)]);
    await box.stop();
  });

  it('local-only: keeps everything, refuses commits, and retention deletes the oldest segments by size', async () => {
    const box = outbox({ localOnly: true, retention: { maxBytes: 6000 } });
    await box.start();
    for (let i = 0; i < 100; i += 10) await box.append(range(i, i + 10));
    await box.stop(); // lets the retention that appends scheduled finish
    const files = await segmentFiles();
    let bytes = 0;
    for (const f of files) bytes += (await stat(join(dir, f))).size;
    expect(bytes).toBeLessThanOrEqual(6000 + 4096);
    const deleted = box.stats().retentionDeletedRecords!;
    expect(deleted).toBeGreaterThan(0);

    const again = outbox({ localOnly: true, retention: { maxBytes: 6000 } });
    await again.start();
    const kept: NormalizedReading[] = [];
    for await (const chunk of again.readAll(7)) kept.push(...chunk);
    expect(kept).toEqual(range(deleted, 100)); // the oldest went, nothing else
    expect(again.stats()).toMatchObject({
      backlogRecords: 100 - deleted,
      oldestReceivedAt: reading(deleted).receivedAt,
    });
    await expect(again.commit({ segment: 9, offset: 0 })).rejects.toThrow('local-only');
    await again.stop();
  });

  it('local-only: retention by age spares the active segment', async () => {
    let now = 0;
    const box = outbox({ localOnly: true, retention: { maxAgeMs: 60_000 }, clock: { now: () => now } });
    await box.start();
    for (let i = 0; i < 40; i += 10) await box.append(range(i, i + 10));
    const before = (await segmentFiles()).length;
    expect(before).toBeGreaterThan(1);
    now = 120_000;
    const result = await box.applyRetention();
    expect(result.segments).toBe(before - 1);
    expect(await segmentFiles()).toHaveLength(1);
    expect(box.stats().retentionDeletedRecords).toBe(result.records);
    expect(box.stats().backlogRecords).toBe(40 - result.records);
    await box.stop();
  });

  it('local-only after a run with a sink: says how many readings were never sent, and retention keeps them unless beyond age and size', async () => {
    // A run with InfluxDB that sent the first 30 readings and stopped.
    const withSink = outbox();
    await withSink.start();
    for (let i = 0; i < 100; i += 10) await withSink.append(range(i, i + 10));
    await withSink.commit((await withSink.read(withSink.cursor, 30)).to);
    await withSink.stop();

    const logs: { level: number; msg: string; neverSent?: number; reason?: string }[] = [];
    const logger = createLogger('debug', {
      write: (line: string) => void logs.push(JSON.parse(line) as (typeof logs)[number]),
    });
    let now = 1_790_000_200_000; // minutes after the readings
    const hour = 3_600_000;
    const open = (maxBytes: number) =>
      outbox({ localOnly: true, retention: { maxAgeMs: hour, maxBytes }, clock: { now: () => now }, logger });

    // Over the size limit but young: nothing never-sent goes.
    const box = open(4000);
    await box.start();
    const warning = logs.find((l) => l.msg.includes('never sent to InfluxDB'));
    expect(warning).toMatchObject({ level: 40, neverSent: 70 });
    expect(warning?.msg).toContain('70 readings in the outbox were acknowledged but never sent');
    expect(box.stats()).toMatchObject({ neverSentRecords: 70, retentionDeletedRecords: 0 });
    // New local-only readings lie after the cursor too: a sink, once back, would send them.
    await box.append(range(100, 110));
    expect(box.stats().neverSentRecords).toBe(80);
    expect(await box.applyRetention()).toEqual({ segments: 0, records: 0 });

    // Old as well: the oldest go until the size fits, each deletion logged with its count.
    now += 2 * hour;
    const result = await box.applyRetention();
    expect(result.records).toBeGreaterThan(0);
    const deletions = logs.filter((l) => l.msg.startsWith('retention deleted') && l.neverSent !== undefined);
    expect(deletions.length).toBe(result.segments);
    expect(deletions.every((l) => l.level === 40 && l.reason === 'age and size')).toBe(true);
    const deletedNeverSent = deletions.reduce((sum, l) => sum + l.neverSent!, 0);
    expect(box.stats()).toMatchObject({
      retentionDeletedRecords: result.records,
      retentionDeletedNeverSent: deletedNeverSent,
      neverSentRecords: 80 - deletedNeverSent,
    });
    const kept: NormalizedReading[] = [];
    for await (const chunk of box.readAll()) kept.push(...chunk);
    expect(kept).toEqual(range(110 - kept.length, 110)); // the oldest went, nothing else
    await box.stop();

    // Old but within the size limit: kept.
    const roomy = open(1 << 30);
    await roomy.start();
    expect(await roomy.applyRetention()).toEqual({ segments: 0, records: 0 });
    expect(roomy.stats().neverSentRecords).toBe(80 - deletedNeverSent);
    await roomy.stop();
  });

  it('refuses retention when a sink is configured (unsent data is never evicted)', () => {
    expect(() => outbox({ retention: { maxBytes: 1 } })).toThrow('local-only');
  });
});
