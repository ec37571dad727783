/**
 * Which dead-letter records were replayed, and how: `replays.jsonl` beside the dead-letter files,
 * one `{ v, id, ...ReplayMark }` per line, fsynced before the replay answers. The newest line of
 * an id wins. The dead-letter records themselves are never rewritten (they are the evidence), so
 * the mark lives apart. At start, marks of files the cap has deleted are dropped and the file is
 * rewritten (tmp + fsync + rename + dir fsync), so it stays as bounded as the log it describes.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { replayMarkSchema, type ReplayMark } from './deadletter-query.js';
import { deadLetterIdFile } from './deadletter.js';
import type { Logger } from './logger.js';
import { defaultDirSync, defaultSync, type DirSyncFn, type SyncFn } from './types.js';

const MARKS_VERSION = 1;
const lineSchema = replayMarkSchema.extend({ v: z.literal(MARKS_VERSION), id: z.string() });

export class ReplayMarks {
  private readonly marks = new Map<string, ReplayMark>();
  private readonly path: string;
  private readonly sync: SyncFn;
  private readonly syncDir: DirSyncFn;

  constructor(
    private readonly deps: {
      dir: string;
      logger: Logger;
      /** The dead-letter files that still exist: marks of other files are stale. */
      liveFiles: () => Set<number>;
      sync?: SyncFn;
      syncDir?: DirSyncFn;
    },
  ) {
    this.path = join(deps.dir, 'replays.jsonl');
    this.sync = deps.sync ?? defaultSync;
    this.syncDir = deps.syncDir ?? defaultDirSync;
  }

  /** Loads the marks; call after the dead-letter log started (it knows the live files). */
  async start(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const live = this.deps.liveFiles();
    let stale = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let parsed;
      try {
        parsed = lineSchema.safeParse(JSON.parse(line));
      } catch {
        parsed = undefined;
      }
      // A torn last line (a crash mid-append) is dropped: that replay answered nobody.
      if (!parsed?.success) {
        stale++;
        continue;
      }
      const { v: _v, id, ...mark } = parsed.data;
      const file = deadLetterIdFile(id);
      if (file === undefined || !live.has(file)) {
        stale++;
        continue;
      }
      this.marks.set(id, mark);
    }
    if (stale > 0) await this.rewrite();
  }

  get(id: string): ReplayMark | undefined {
    return this.marks.get(id);
  }

  /** Durable when it resolves. Callers serialise (one replay at a time). */
  async set(id: string, mark: ReplayMark): Promise<void> {
    const fh = await open(this.path, 'a');
    try {
      await fh.write(`${JSON.stringify({ v: MARKS_VERSION, id, ...mark })}\n`);
      await this.sync(fh);
    } finally {
      await fh.close();
    }
    this.marks.set(id, mark);
  }

  private async rewrite(): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      let text = '';
      for (const [id, mark] of this.marks) text += `${JSON.stringify({ v: MARKS_VERSION, id, ...mark })}\n`;
      await fh.write(text);
      await this.sync(fh);
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    await this.syncDir(this.deps.dir);
    this.deps.logger.info({ kept: this.marks.size }, 'replay marks of deleted dead-letter files dropped');
  }
}
