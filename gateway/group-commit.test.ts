import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { forEachLine, GroupCommitWriter, WriterStoppedError, type CommitFile } from './group-commit.js';
import { silentLogger } from './logger.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-gc-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface NamedFile extends CommitFile {
  path: string;
}

/** A writer over numbered files in `dir`, with counters for what the tests look at. */
function makeWriter(
  options: {
    sync?: (fh: FileHandle) => Promise<void>;
    onFailure?: (error: unknown, file: NamedFile | undefined, attempt: number) => Promise<number | 'fail'>;
    rollAt?: number;
  } = {},
) {
  const opened: string[] = [];
  const durable: { path: string; offset: number; bytes: number; notes: number[] }[] = [];
  let syncs = 0;
  const writer = new GroupCommitWriter<NamedFile, number>({
    logger: silentLogger(),
    sync: async (fh) => {
      syncs++;
      await (options.sync ?? ((h: FileHandle) => h.datasync()))(fh);
    },
    openFile: async () => {
      const path = join(dir, `file-${opened.length + 1}`);
      opened.push(path);
      return { fh: await open(path, 'wx'), size: 0, path };
    },
    ...(options.rollAt !== undefined && {
      rollBefore: (f: NamedFile, bytes: number) => f.size > 0 && f.size + bytes > options.rollAt!,
    }),
    onDurable: (g) => durable.push({ path: g.file.path, offset: g.offset, bytes: g.bytes, notes: g.notes }),
    onFailure: options.onFailure ?? (() => Promise.resolve('fail' as const)),
  });
  return { writer, opened, durable, syncs: () => syncs };
}

function gate(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

async function waitFor(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 5000) throw new Error('condition not met in 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('GroupCommitWriter', () => {
  it('lets a thousand concurrent appends share one write and one sync, in order', async () => {
    const { writer, opened, durable, syncs } = makeWriter();
    await writer.start();
    const appends = Array.from({ length: 1000 }, (_, i) => writer.append(Buffer.from(`line ${i}\n`), i));
    expect(writer.pending).toBe(1000);
    await Promise.all(appends);
    expect(syncs()).toBe(1);
    expect(durable).toHaveLength(1);
    expect(durable[0]!.notes).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const text = await readFile(opened[0]!, 'utf8');
    expect(text).toBe(Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join(''));
    expect(writer.pending).toBe(0);
    await writer.stop();
  });

  it('does not resolve appends until the sync completes; appends during a sync form the next group', async () => {
    let held: ReturnType<typeof gate> | undefined = gate();
    const first = held;
    const { writer, syncs, durable } = makeWriter({
      sync: async (fh) => {
        if (held) await held.promise;
        await fh.datasync();
      },
    });
    await writer.start();
    const resolved: number[] = [];
    const a = writer.append(Buffer.from('a\n'), 1).then(() => resolved.push(1));
    await waitFor(() => syncs() === 1);
    const b = writer.append(Buffer.from('b\n'), 2).then(() => resolved.push(2));
    const c = writer.append(Buffer.from('c\n'), 3).then(() => resolved.push(3));
    await tick();
    expect(resolved).toEqual([]);
    expect(syncs()).toBe(1); // b and c wait for the next group, not a sync of their own
    held = undefined;
    first.release();
    await Promise.all([a, b, c]);
    expect(resolved).toEqual([1, 2, 3]);
    expect(syncs()).toBe(2);
    expect(durable.map((g) => g.notes)).toEqual([[1], [2, 3]]);
    expect(durable[1]!.offset).toBe(2);
    await writer.stop();
  });

  it('after a failed sync never syncs that descriptor again and retries the group plus later appends in a new file', async () => {
    const synced: FileHandle[] = [];
    let fail = false;
    const failures: { size: number | undefined; attempt: number }[] = [];
    const { writer, opened, durable } = makeWriter({
      sync: async (fh) => {
        synced.push(fh);
        if (fail) {
          fail = false;
          throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
        }
        await fh.datasync();
      },
      onFailure: (_error, file, attempt) => {
        failures.push({ size: file?.size, attempt });
        return Promise.resolve(200);
      },
    });
    await writer.start();
    await writer.append(Buffer.from('ok\n'), 0);
    fail = true;
    const x = writer.append(Buffer.from('x\n'), 1);
    await waitFor(() => failures.length === 1); // the retry waits 200 ms: y joins the retried group
    expect(writer.writable).toBe(false);
    const y = writer.append(Buffer.from('y\n'), 2);
    await Promise.all([x, y]);
    expect(writer.writable).toBe(true);
    expect(failures).toEqual([{ size: 3, attempt: 1 }]);
    expect(opened).toHaveLength(2);
    expect(synced[2]).not.toBe(synced[1]);
    expect(durable.at(-1)).toEqual({ path: opened[1], offset: 0, bytes: 4, notes: [1, 2] });
    expect(await readFile(opened[1]!, 'utf8')).toBe('x\ny\n');
    await writer.stop();
  });

  it("rejects the group when the owner answers 'fail', and carries on with the next", async () => {
    let fail = true;
    const { writer } = makeWriter({
      sync: async (fh) => {
        if (fail) throw Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC' });
        await fh.datasync();
      },
    });
    await writer.start();
    await expect(writer.append(Buffer.from('lost\n'), 1)).rejects.toThrow('ENOSPC');
    fail = false;
    await expect(writer.append(Buffer.from('kept\n'), 2)).resolves.toBeUndefined();
    await writer.stop();
  });

  it('rolls to a new file before a group that would pass the limit', async () => {
    const { writer, opened } = makeWriter({ rollAt: 10 });
    await writer.start();
    await writer.append(Buffer.from('12345678\n'), 1);
    await writer.append(Buffer.from('abc\n'), 2);
    expect(opened).toHaveLength(2);
    await writer.stop();
  });

  it('rejects appends after stop, and pending ones whose retry is cut short by stop', async () => {
    const { writer } = makeWriter({
      sync: () => Promise.reject(new Error('EIO: always')),
      onFailure: () => Promise.resolve(60_000),
    });
    await writer.start();
    const pending = writer.append(Buffer.from('x\n'), 1);
    await tick();
    await writer.stop();
    await expect(pending).rejects.toBeInstanceOf(WriterStoppedError);
    await expect(writer.append(Buffer.from('y\n'), 2)).rejects.toBeInstanceOf(WriterStoppedError);
  });
});

describe('forEachLine', () => {
  it('visits complete lines across chunk borders, skips a torn tail, and stops on request', async () => {
    const path = join(dir, 'lines');
    await writeFile(path, 'alpha\nbeta\ngamma-long-line\ntorn');
    const seen: [string, number][] = [];
    const end = await forEachLine(
      path,
      0,
      40,
      (line, offset) => (seen.push([line.toString(), offset]), true),
      4,
    );
    expect(seen).toEqual([
      ['alpha', 0],
      ['beta', 6],
      ['gamma-long-line', 11],
    ]);
    expect(end).toBe(27);
    const first: string[] = [];
    expect(await forEachLine(path, 6, 27, (line) => (first.push(line.toString()), false))).toBe(11);
    expect(first).toEqual(['beta']);
  });
});
