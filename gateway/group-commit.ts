/**
 * Group commit for append-only files: every append queued while a write + sync is in flight joins
 * the next group, so thousands of appends share one fsync (DESIGN: "group fsync ⇒ resolve").
 * The writer owns the queue, the single flush loop and the descriptor; the owner (outbox,
 * dead-letter log) decides through hooks where groups go (opening, rolling files) and what a
 * failed write or sync means (retry in a new file, or give up on that group).
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { Logger } from './logger.js';
import { defaultSync, type SyncFn } from './types.js';

export interface CommitFile {
  readonly fh: FileHandle;
  /** Durable length: the next group is written at this offset. */
  size: number;
}

export interface DurableGroup<F extends CommitFile, N> {
  file: F;
  /** Where the group starts in the file. */
  offset: number;
  bytes: number;
  /** The note of every append in the group, in append order. */
  notes: N[];
}

export interface GroupCommitDeps<F extends CommitFile, N> {
  logger: Logger;
  sync?: SyncFn;
  /** Opens the file the next group goes to: before the first group, after a roll, after a failure. */
  openFile(): Promise<F>;
  /** Asked before each group: true closes the current (fully durable) file and opens a new one. */
  rollBefore?(file: F, groupBytes: number): boolean;
  /** A file was closed after a roll or at stop; everything in it is durable. */
  onClosed?(file: F): void;
  /** A group is durable; runs before its appends resolve. Must not throw. */
  onDurable?(group: DurableGroup<F, N>): void;
  /**
   * Opening, writing or syncing failed. The writer has already closed the descriptor without
   * syncing it again (its durable length is `file.size`). Answer the delay in ms before the same
   * group (plus everything queued meanwhile) is retried in a new file, or 'fail' to reject it.
   */
  onFailure(error: unknown, file: F | undefined, attempt: number): Promise<number | 'fail'>;
}

export class WriterStoppedError extends Error {
  readonly code = 'E_WRITER_STOPPED';
  constructor() {
    super('the writer is stopped: the append was not made durable');
  }
}

interface Waiter<N> {
  buf: Buffer;
  note: N;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class GroupCommitWriter<F extends CommitFile = CommitFile, N = void> {
  private readonly sync: SyncFn;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private queue: Waiter<N>[] = [];
  private inFlight = 0;
  private file: F | undefined;
  private flushing = false;
  private loop: Promise<void> = Promise.resolve();
  private kick: NodeJS.Immediate | undefined;
  private pause: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  private failing = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly deps: GroupCommitDeps<F, N>) {
    this.sync = deps.sync ?? defaultSync;
  }

  start(): Promise<void> {
    if (this.state === 'new') this.state = 'running';
    return Promise.resolve();
  }

  /** Resolves once `buf` is written and synced; rejects if it failed for good or on stop. */
  append(buf: Buffer, note: N): Promise<void> {
    if (this.state !== 'running') return Promise.reject(new WriterStoppedError());
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ buf, note, resolve, reject });
      this.schedule();
    });
  }

  /** Appends queued or in flight, not yet durable. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** False between a failed write/sync and the next durable group. */
  get writable(): boolean {
    return !this.failing;
  }

  /** The file the next group goes to, if one is open. */
  get currentFile(): F | undefined {
    return this.file;
  }

  /**
   * Stops accepting appends, lets the queued ones reach the disk (a failing disk's retry wait is
   * cut short and its appends rejected), then closes the file. A sync that never completes
   * keeps this pending: the caller bounds shutdown.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<void> {
    this.state = 'stopping';
    if (this.kick !== undefined) {
      clearImmediate(this.kick);
      this.kick = undefined;
      this.runLoop();
    }
    this.pause?.wake();
    await this.loop;
    const file = this.file;
    this.file = undefined;
    if (file !== undefined) await this.close(file);
    for (const w of this.queue.splice(0)) w.reject(new WriterStoppedError());
    this.state = 'stopped';
  }

  private schedule(): void {
    if (this.flushing || this.kick !== undefined) return;
    // Start on the next turn of the event loop: all packets of one socket read are processed in
    // the current turn, so they join the first group instead of each paying for an fsync.
    this.kick = setImmediate(() => {
      this.kick = undefined;
      this.runLoop();
    });
  }

  private runLoop(): void {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    this.loop = this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.queue;
        this.queue = [];
        await this.commit(group);
      }
    } finally {
      // Runs in the same microtask as the last empty-queue check, so no append slips between.
      this.flushing = false;
    }
  }

  private async commit(initial: Waiter<N>[]): Promise<void> {
    let group = initial;
    this.inFlight = group.length;
    for (let attempt = 1; ; attempt++) {
      let bytes = 0;
      for (const w of group) bytes += w.buf.length;
      let file = this.file;
      try {
        if (file !== undefined && this.deps.rollBefore?.(file, bytes) === true) {
          this.file = undefined;
          await this.close(file);
          file = undefined;
        }
        file ??= this.file = await this.deps.openFile();
        const offset = file.size;
        const data =
          group.length === 1
            ? group[0]!.buf
            : Buffer.concat(
                group.map((w) => w.buf),
                bytes,
              );
        await writeFully(file.fh, data, offset);
        await this.sync(file.fh);
        file.size = offset + bytes;
        this.failing = false;
        this.inFlight = 0;
        this.deps.onDurable?.({ file, offset, bytes, notes: group.map((w) => w.note) });
        for (const w of group) w.resolve();
        return;
      } catch (error) {
        this.failing = true;
        if (file !== undefined) {
          // Never sync this descriptor again: after a failed fsync the kernel may have dropped the
          // dirty pages and a later fsync would report success for data that is gone.
          this.file = undefined;
          await file.fh
            .close()
            .catch((e: unknown) => this.deps.logger.debug({ err: e }, 'close after failure'));
        }
        let decision: number | 'fail';
        try {
          decision = await this.deps.onFailure(error, file, attempt);
        } catch (hookError) {
          this.deps.logger.error({ err: hookError }, 'group commit failure hook threw');
          decision = 'fail';
        }
        if (decision !== 'fail' && this.state === 'running') await this.wait(decision);
        if (decision === 'fail' || this.state !== 'running') {
          const reason = decision === 'fail' ? error : new WriterStoppedError();
          this.inFlight = 0;
          for (const w of group) w.reject(reason);
          return;
        }
        // The failed group first, then whatever arrived meanwhile: one group into the new file.
        if (this.queue.length > 0) {
          group = group.concat(this.queue);
          this.queue = [];
          this.inFlight = group.length;
        }
      }
    }
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.pause = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.pause = { timer, wake };
    });
  }

  private async close(file: F): Promise<void> {
    try {
      await file.fh.close();
    } catch (error) {
      // Everything in it was synced already; a late close error changes nothing durable.
      this.deps.logger.warn({ err: error }, 'closing a synced file failed');
    }
    this.deps.onClosed?.(file);
  }
}

/** Positional write that survives short writes (a regular file may return fewer bytes). */
async function writeFully(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`short write at ${position + done}`);
    done += bytesWritten;
  }
}

/**
 * Calls `visit` for each complete line (without its '\n') between `start` and `end`, with the
 * line's offset; `visit` returns false to stop. An unterminated last piece is not visited: it was
 * torn. Answers the offset just after the last visited line (or `start`). Lines are views into a
 * read chunk, valid only during the call unless kept (they keep their chunk alive).
 */
export async function forEachLine(
  path: string,
  start: number,
  end: number,
  visit: (line: Buffer, offset: number) => boolean,
  chunkBytes = 1 << 20,
): Promise<number> {
  const fh = await open(path, 'r');
  try {
    let pos = start; // file offset of carry[0]
    let carry = Buffer.alloc(0);
    let lineEnd = start;
    while (pos + carry.length < end) {
      const want = Math.min(chunkBytes, end - pos - carry.length);
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(chunk, 0, want, pos + carry.length);
      if (bytesRead === 0) break;
      const buf =
        carry.length > 0
          ? Buffer.concat([carry, chunk.subarray(0, bytesRead)])
          : chunk.subarray(0, bytesRead);
      let from = 0;
      for (let nl = buf.indexOf(10, from); nl >= 0; nl = buf.indexOf(10, from)) {
        const keepGoing = visit(buf.subarray(from, nl), pos + from);
        from = nl + 1;
        lineEnd = pos + from;
        if (!keepGoing) return lineEnd;
      }
      carry = buf.subarray(from);
      pos += from;
    }
    return lineEnd;
  } finally {
    await fh.close();
  }
}
