/**
 * One gateway per data directory. Two gateways sharing `data/` would share one cursor: one's
 * commit could move it past segments the other never sent, which would then be deleted as
 * drained. A lock file holds the owner's pid; a lock whose process is gone is taken over (a
 * crash or SIGKILL leaves it behind).
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Directories locked by this process (a second Valley in the same process is refused too). */
const heldHere = new Set<string>();

export class DataDirLockedError extends Error {
  readonly code = 'E_DATA_DIR_LOCKED';
}

export class DataDirLock {
  private held = false;
  readonly path: string;

  constructor(private readonly dir: string) {
    this.path = join(dir, 'valley.lock');
  }

  async acquire(): Promise<void> {
    if (heldHere.has(this.path)) throw this.lockedError(process.pid);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await open(this.path, 'wx');
        await fh.writeFile(`${process.pid}\n`);
        await fh.close();
        heldHere.add(this.path);
        this.held = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const owner = Number.parseInt(await readFile(this.path, 'utf8').catch(() => ''), 10);
        if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
          throw this.lockedError(owner);
        }
        // Stale: its process is gone (or it is our own pid from a previous life of this pid).
        await rm(this.path, { force: true });
      }
    }
    throw this.lockedError(undefined);
  }

  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    heldHere.delete(this.path);
    await rm(this.path, { force: true });
  }

  private lockedError(pid: number | undefined): DataDirLockedError {
    const who = pid === undefined ? 'another gateway' : `another gateway (pid ${pid})`;
    return new DataDirLockedError(
      `the data directory ${this.dir} is in use by ${who}; stop it, or give this one its own VALLEY_DATA_DIR / --data-dir`,
    );
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
