import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { DEADLETTER_VERSION, type DeadLetterRecord } from '../contract/index.js';
import { FileDeadLetterLog, type DeadLetterDeps } from './deadletter.js';
import { silentLogger } from './logger.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-dl-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function record(device: string, i: number): DeadLetterRecord {
  return {
    v: DEADLETTER_VERSION,
    reject: {
      code: 'E_RANGE',
      message: `value ${i} out of range`,
      path: 'values.flow_l_s',
      receivedAt: 1_790_000_000_000 + i,
    },
    device,
    topic: `sensors/${device}/readings`,
    stage: 'ingest',
    payload: Buffer.from(`{"ts":${i}}`).toString('base64'),
  };
}
const lineBytes = (r: DeadLetterRecord) => Buffer.byteLength(`${JSON.stringify(r)}\n`);

function log(overrides: Partial<DeadLetterDeps> = {}): FileDeadLetterLog {
  return new FileDeadLetterLog({
    dir,
    maxBytes: 1024 * 1024,
    deviceBytes: 64 * 1024,
    clock: { now: () => 1_790_000_000_000 },
    logger: silentLogger(),
    ...overrides,
  });
}

const files = async () => (await readdir(dir)).filter((f) => f.endsWith('.jsonl')).sort();

describe('FileDeadLetterLog', () => {
  it('writes JSON Lines records (v: 1) and lists them newest first, by device and limit', async () => {
    const dl = log();
    await dl.start();
    expect(await dl.append([record('a', 1), record('b', 2)])).toEqual({ written: 2, dropped: 0 });
    expect(await dl.append([record('a', 3)])).toEqual({ written: 1, dropped: 0 });
    expect(await files()).toEqual(['deadletter-000001.jsonl']);
    const text = await readFile(join(dir, 'deadletter-000001.jsonl'), 'utf8');
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual([record('a', 1), record('b', 2), record('a', 3)]);
    expect(await dl.list()).toEqual([record('a', 3), record('b', 2), record('a', 1)]);
    expect(await dl.list({ deviceId: 'a', limit: 1 })).toEqual([record('a', 3)]);
    expect(dl.stats()).toMatchObject({ records: 3, dropped: 0, full: false, bytes: text.length });
    await dl.stop();
  });

  it("drops what is beyond a device's share, counts it, and keeps writing for other devices", async () => {
    const size = lineBytes(record('noisy', 10));
    const dl = log({ deviceBytes: size * 3 });
    await dl.start();
    const result = await dl.append(Array.from({ length: 5 }, (_, i) => record('noisy', 10 + i)));
    expect(result).toEqual({ written: 3, dropped: 2 });
    expect(await dl.append([record('quiet', 1)])).toEqual({ written: 1, dropped: 0 });
    expect(dl.stats()).toMatchObject({ records: 4, dropped: 2, full: false });
    await dl.stop();

    // The share is recomputed from the files at start.
    const again = log({ deviceBytes: size * 3 });
    await again.start();
    expect(await again.append([record('noisy', 20)])).toEqual({ written: 0, dropped: 1 });
    expect(await again.append([record('quiet', 2)])).toEqual({ written: 1, dropped: 0 });
    await again.stop();
  });

  it("does not count sink-stage records (acknowledged readings) against a device's share, nor they it", async () => {
    const sinkRecord = (i: number): DeadLetterRecord => ({
      v: DEADLETTER_VERSION,
      reject: { code: 'E_SINK_REJECTED', message: 'field type conflict', ts: i, receivedAt: i },
      device: 'noisy',
      topic: 'sensors/noisy/readings',
      stage: 'sink',
      reading: {
        deviceId: 'noisy',
        kind: 'water_flow',
        corridor: 'water',
        municipality: 'lanzada',
        site: 'res-1',
        ts: i,
        values: { flow_l_s: 1 },
        receivedAt: i,
      },
    });
    const size = lineBytes(record('noisy', 10));
    const dl = log({ deviceBytes: size * 2 });
    await dl.start();
    expect(await dl.append([sinkRecord(1), sinkRecord(2), sinkRecord(3)])).toEqual({
      written: 3,
      dropped: 0,
    });
    // The device's share is still whole for its ingest rejects, and no more than whole.
    expect(await dl.append([record('noisy', 10), record('noisy', 11), record('noisy', 12)])).toEqual({
      written: 2,
      dropped: 1,
    });
    expect(await dl.append([sinkRecord(4)])).toEqual({ written: 1, dropped: 0 });
    await dl.stop();

    // The same after a restart, from the files.
    const again = log({ deviceBytes: size * 2 });
    await again.start();
    expect(await again.append([sinkRecord(5)])).toEqual({ written: 1, dropped: 0 });
    expect(await again.append([record('noisy', 13)])).toEqual({ written: 0, dropped: 1 });
    expect(again.stats()).toMatchObject({ records: 7, dropped: 1 });
    await again.stop();
  });

  it('rotates files and deletes the oldest when the total would pass the cap, freeing device shares', async () => {
    const size = lineBytes(record('d-00', 10));
    const dl = log({ maxBytes: size * 12, fileBytes: size * 4, deviceBytes: size * 6 });
    await dl.start();
    for (let i = 0; i < 40; i++) {
      expect(await dl.append([record(`d-0${i % 2}`, 10 + i)])).toEqual({ written: 1, dropped: 0 });
    }
    const names = await files();
    let total = 0;
    for (const f of names) total += (await stat(join(dir, f))).size;
    expect(total).toBeLessThanOrEqual(size * 12);
    expect(names.length).toBeLessThanOrEqual(3);
    expect(names[0]).not.toBe('deadletter-000001.jsonl');
    expect(dl.stats()).toMatchObject({ bytes: total, records: total / size, dropped: 0 });
    const newest = await dl.list({ limit: 2 });
    expect(newest).toEqual([record('d-01', 49), record('d-00', 48)]);
    await dl.stop();
  });

  it('deletes nothing for a record refused by its device share (a noisy device cannot push others out)', async () => {
    const size = lineBytes(record('noisy', 10));
    const dl = log({ maxBytes: size * 8, fileBytes: size * 4, deviceBytes: size * 4 });
    await dl.start();
    for (let i = 0; i < 4; i++) await dl.append([record('quiet', 10 + i)]);
    for (let i = 0; i < 4; i++) await dl.append([record('noisy', 20 + i)]);
    expect(await dl.append([record('noisy', 30), record('noisy', 31)])).toEqual({ written: 0, dropped: 2 });
    expect(await dl.list({ deviceId: 'quiet' })).toHaveLength(4);
    // The ring still turns for a record that fits its share: the oldest file goes.
    expect(await dl.append([record('quiet', 40)])).toEqual({ written: 1, dropped: 0 });
    expect(await dl.list({ deviceId: 'quiet' })).toEqual([record('quiet', 40)]);
    expect(dl.stats()).toMatchObject({ records: 5, dropped: 2, full: false });
    await dl.stop();
  });

  it('counts a torn last line towards the cap but lists only whole records', async () => {
    await writeFile(join(dir, 'deadletter-000004.jsonl'), `${JSON.stringify(record('a', 1))}\n{"v":1,"rej`);
    const dl = log();
    await dl.start();
    expect(await dl.list()).toEqual([record('a', 1)]);
    await dl.append([record('a', 2)]);
    expect(await files()).toEqual(['deadletter-000004.jsonl', 'deadletter-000005.jsonl']);
    expect(await dl.list({ deviceId: 'a' })).toEqual([record('a', 2), record('a', 1)]);
    await dl.stop();
  });

  it('never throws when the directory cannot exist (its parent is a file): drops, counts, reports full', async () => {
    const blocker = join(dir, 'not-a-dir');
    await writeFile(blocker, 'x');
    const dl = log({ dir: join(blocker, 'deadletter') });
    await expect(dl.start()).resolves.toBeUndefined();
    expect(await dl.append([record('a', 1), record('b', 2)])).toEqual({ written: 0, dropped: 2 });
    expect(dl.stats()).toMatchObject({ records: 0, dropped: 2, full: true, bytes: 0 });
    expect(await dl.list()).toEqual([]);
    await dl.stop();
  });

  it('drops the records of a failed sync, then recovers in a new file', async () => {
    let fail = false;
    const dl = log({
      sync: async (fh) => {
        if (fail) throw Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC' });
        await fh.datasync();
      },
    });
    await dl.start();
    await dl.append([record('a', 1)]);
    fail = true;
    expect(await dl.append([record('a', 2)])).toEqual({ written: 0, dropped: 1 });
    expect(dl.stats()).toMatchObject({ full: true, dropped: 1, records: 1 });
    fail = false;
    expect(await dl.append([record('a', 3)])).toEqual({ written: 1, dropped: 0 });
    expect(dl.stats()).toMatchObject({ full: false, records: 2 });
    expect(await files()).toHaveLength(2);
    expect(await dl.list({ deviceId: 'a' })).toEqual([record('a', 3), record('a', 1)]);
    await dl.stop();
    // The dropped record's bytes were cut: a restart does not bring it back.
    const again = log();
    await again.start();
    expect(await again.list()).toEqual([record('a', 3), record('a', 1)]);
    expect(again.stats().records).toBe(2);
    await again.stop();
  });

  it('drops (never rejects) appends after stop', async () => {
    const dl = log();
    await dl.start();
    await dl.stop();
    expect(await dl.append([record('a', 1)])).toEqual({ written: 0, dropped: 1 });
  });
});
