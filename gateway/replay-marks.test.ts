import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { DEADLETTER_VERSION, type DeadLetterRecord } from '../contract/index.js';
import { FileDeadLetterLog } from './deadletter.js';
import { silentLogger } from './logger.js';
import { ReplayMarks } from './replay-marks.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-marks-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function record(device: string, i: number): DeadLetterRecord {
  return {
    v: DEADLETTER_VERSION,
    reject: { code: 'E_RANGE', message: `value ${i}`, receivedAt: 1_790_000_000_000 + i },
    device,
    topic: `sensors/${device}/readings`,
    stage: 'ingest',
    payload: Buffer.from(`{"ts":${i}}`).toString('base64'),
  };
}

function log(fileBytes?: number): FileDeadLetterLog {
  return new FileDeadLetterLog({
    dir,
    maxBytes: 1200,
    deviceBytes: 100_000,
    ...(fileBytes !== undefined && { fileBytes }),
    clock: { now: () => 0 },
    logger: silentLogger(),
  });
}

const marks = (dl: FileDeadLetterLog) =>
  new ReplayMarks({ dir, logger: silentLogger(), liveFiles: () => dl.fileNumbers() });

describe('dead-letter ids and paging', () => {
  it('gives every record an id that survives a restart, and pages newest first', async () => {
    const dl = log();
    await dl.start();
    for (let i = 1; i <= 5; i++) await dl.append([record(i % 2 ? 'a' : 'b', i)]);
    const all = await dl.entries({ limit: 100 });
    expect(all.more).toBe(false);
    expect(all.entries.map((e) => e.record.reject.message)).toEqual([
      'value 5',
      'value 4',
      'value 3',
      'value 2',
      'value 1',
    ]);
    for (const { id } of all.entries) expect(id).toMatch(/^1-\d+-[0-9a-f]{8}$/);
    expect(new Set(all.entries.map((e) => e.id)).size).toBe(5);
    const first = await dl.entries({ limit: 2, match: (r) => r.device === 'a' });
    expect(first).toMatchObject({
      more: true,
      entries: [{ record: record('a', 5) }, { record: record('a', 3) }],
    });
    const next = await dl.entries({ limit: 2, before: first.entries[1]!.id, match: (r) => r.device === 'a' });
    expect(next).toEqual({ more: false, entries: [{ id: all.entries[4]!.id, record: record('a', 1) }] });
    await dl.stop();

    const again = log();
    await again.start();
    expect((await again.entries({ limit: 100 })).entries.map((e) => e.id)).toEqual(
      all.entries.map((e) => e.id),
    );
    await again.stop();
  });
});

describe('ReplayMarks', () => {
  it('keeps marks across a restart and drops those of files the cap deleted', async () => {
    // Small files (the cap is 1,200 bytes): the oldest goes while records keep coming.
    const dl = log(300);
    await dl.start();
    await dl.append([record('a', 1)]);
    const [oldest] = (await dl.entries({ limit: 1 })).entries;
    const m = marks(dl);
    await m.start();
    await m.set(oldest!.id, { at: 1, outcome: 'accepted', readings: 1 });
    for (let i = 2; i <= 12; i++) await dl.append([record('a', i)]);
    const [newest] = (await dl.entries({ limit: 1 })).entries;
    await m.set(newest!.id, { at: 2, outcome: 'rejected', readings: 0, code: 'E_RANGE', message: 'still' });
    expect(dl.fileNumbers().has(1)).toBe(false);
    await dl.stop();

    const dl2 = log(300);
    await dl2.start();
    const m2 = marks(dl2);
    await m2.start();
    expect(m2.get(oldest!.id)).toBeUndefined();
    expect(m2.get(newest!.id)).toEqual({
      at: 2,
      outcome: 'rejected',
      readings: 0,
      code: 'E_RANGE',
      message: 'still',
    });
    // The file was rewritten without the stale mark.
    const lines = (await readFile(join(dir, 'replays.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
    await dl2.stop();
  });
});
