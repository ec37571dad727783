import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataDirLock } from './data-lock.js';
import { startTestGateway } from '../test/support/gateway.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-lock-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('DataDirLock', () => {
  it('refuses a second owner, and frees the directory on release', async () => {
    const a = new DataDirLock(dir);
    await a.acquire();
    expect(await readFile(a.path, 'utf8')).toBe(`${process.pid}\n`);
    await expect(new DataDirLock(dir).acquire()).rejects.toThrow(
      /in use by another gateway.*VALLEY_DATA_DIR/,
    );
    await a.release();
    const b = new DataDirLock(dir);
    await b.acquire();
    await b.release();
  });

  it('takes over a lock left by a process that is gone', async () => {
    const lock = new DataDirLock(dir);
    // pid 2^22 + 1 is above Linux's pid_max limit: no such process.
    await writeFile(lock.path, `${2 ** 22 + 1}\n`);
    await lock.acquire();
    expect(await readFile(lock.path, 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
  });

  it('keeps a second gateway off a data directory in use', async () => {
    const first = await startTestGateway();
    try {
      await expect(startTestGateway({ dataDir: first.dataDir })).rejects.toThrow(/in use by another gateway/);
    } finally {
      await first.stop({ keepData: true });
    }
    const again = await startTestGateway({ dataDir: first.dataDir });
    await again.stop();
  });
});
