/**
 * The outbox: the gateway's durable queue between ingest and the sink (and, in local-only mode,
 * the store itself). Segment files `<12 digits>.seg` hold a header line and one record per line:
 * CRC32 (8 hex) + space + the reading's JSON. Appends are group-committed; only synced bytes are
 * ever read, so a reader never sees a record that could still vanish in a crash. Local-only
 * retention is outbox-retention.ts's policy.
 */
import { mkdir, open, readdir, rename, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { NormalizedReading } from '../contract/index.js';
import { GroupCommitWriter, type CommitFile, type DurableGroup } from './group-commit.js';
import type { Logger } from './logger.js';
import { LocalRetention, type RetentionLimits } from './outbox-retention.js';
import {
  bytesBetween,
  comparePosition,
  countRecords,
  CURSOR_TMP,
  encodeRecords,
  isNoSpace,
  parseSegmentNames,
  readCursor,
  readSegments,
  samePosition,
  scanSegment,
  SEGMENT_HEADER,
  segmentName,
  writeCursor,
  type Segment,
} from './outbox-segments.js';
import {
  defaultDirSync,
  defaultSync,
  type Clock,
  type DirSyncFn,
  type Outbox,
  type OutboxBatch,
  type OutboxPosition,
  type OutboxStats,
  type SyncFn,
} from './types.js';

export type { RetentionLimits };

export interface OutboxDeps {
  dir: string;
  /** A new segment starts when a group would make the active one larger (settings.segmentBytes). */
  segmentBytes: number;
  clock: Clock;
  logger: Logger;
  sync?: SyncFn;
  syncDir?: DirSyncFn;
  /** No sink: nothing commits, the outbox is the store, bounded by `retention`. */
  localOnly?: boolean;
  retention?: RetentionLimits;
  /** Retry delays while the disk keeps failing (doubling). Defaults: 50 ms to 5 s. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

interface SegmentFile extends CommitFile {
  readonly segment: Segment;
}

export class FileOutbox implements Outbox {
  private readonly writer: GroupCommitWriter<SegmentFile, readonly NormalizedReading[]>;
  private readonly log: Logger;
  private readonly sync: SyncFn;
  private readonly syncDir: DirSyncFn;
  private segments: Segment[] = [];
  private active: Segment | undefined;
  private nextNumber = 1;
  private committed: OutboxPosition = { segment: 0, offset: 0 };
  private backlogRecords = 0;
  private backlogBytes = 0;
  private totalBytes = 0;
  private oldestReceivedAt: number | undefined;
  /** Local-only: set at start, once the cursor of a previous run with a sink (if any) is known. */
  private retention: LocalRetention | undefined;
  private abandoned = 0;
  private writeError: string | undefined;
  private retentionScheduled = false;
  private lastRead: { from: OutboxPosition; to: OutboxPosition; records: number } | undefined;
  private serial: Promise<unknown> = Promise.resolve();
  private readonly background = new Set<Promise<unknown>>();
  private readonly listeners = new Set<() => void>();
  private readonly listed = (seg: Segment): boolean => this.segments.includes(seg);

  constructor(private readonly deps: OutboxDeps) {
    if (deps.retention !== undefined && deps.localOnly !== true) {
      throw new Error('outbox retention deletes unsent data: only allowed in local-only mode');
    }
    this.log = deps.logger.child({ module: 'outbox' });
    this.sync = deps.sync ?? defaultSync;
    this.syncDir = deps.syncDir ?? defaultDirSync;
    this.writer = new GroupCommitWriter<SegmentFile, readonly NormalizedReading[]>({
      logger: this.log,
      sync: this.sync,
      openFile: () => this.createSegment(),
      rollBefore: (file, bytes) =>
        file.size > file.segment.headerBytes && file.size + bytes > deps.segmentBytes,
      onClosed: (file) => {
        if (this.active === file.segment) this.active = undefined;
        this.maybeRetain();
      },
      onDurable: (group) => this.landed(group),
      onFailure: (error, file, attempt) => this.abandon(error, file, attempt),
    });
  }

  async start(): Promise<void> {
    const { dir } = this.deps;
    await mkdir(dir, { recursive: true });
    await rm(join(dir, CURSOR_TMP), { force: true });
    const cursor = await readCursor(dir, this.log);
    this.committed = cursor ?? { segment: 0, offset: 0 };
    const retention = this.deps.localOnly
      ? new LocalRetention(this.deps.retention, cursor, this.log)
      : undefined;
    this.retention = retention;
    // Drained segments are gone, but a new one must still sort after the cursor.
    this.nextNumber = this.committed.segment + 1;
    for (const f of parseSegmentNames(await readdir(dir))) {
      this.nextNumber = Math.max(this.nextNumber, f.n + 1);
      // Records before the cursor were delivered: not backlog. Local-only keeps everything as
      // backlog and counts the records after a previous run's cursor instead (never sent).
      const countFrom = this.backlogFrom(f.n);
      const path = join(dir, f.name);
      const scanned = await scanSegment(path, f.goodBytes, retention?.unsentFrom(f.n) ?? countFrom, this.log);
      if (scanned === undefined) continue;
      const { recordsFrom, ...segment } = scanned;
      this.segments.push({ n: f.n, path, ...segment });
      this.totalBytes += segment.end;
      this.backlogRecords += retention ? segment.records : recordsFrom;
      this.backlogBytes += Math.max(0, segment.end - Math.max(segment.headerBytes, countFrom));
      retention?.recovered(f.n, recordsFrom);
    }
    if (!this.deps.localOnly) await this.deleteDrained();
    await this.refreshOldest();
    await this.writer.start();
    retention?.announce();
    if (this.deps.retention !== undefined) await this.applyRetention();
    this.log.info(
      { segments: this.segments.length, backlogRecords: this.backlogRecords, cursor: this.committed },
      'outbox recovered',
    );
  }

  async stop(): Promise<void> {
    await this.writer.stop();
    await Promise.allSettled([...this.background]);
    await this.serial;
  }

  append(readings: readonly NormalizedReading[]): Promise<void> {
    if (readings.length === 0) return Promise.resolve();
    // The readings ride along as the group's note: counts and receivedAt without re-parsing.
    return this.writer.append(encodeRecords(readings), readings);
  }

  get cursor(): OutboxPosition {
    return { ...this.committed };
  }

  async read(from: OutboxPosition, maxRecords: number): Promise<OutboxBatch> {
    const batch = await this.readRange(from, maxRecords);
    // Remembered so the commit that usually follows knows how many records it drains.
    this.lastRead = { from, to: batch.to, records: batch.records.length };
    return batch;
  }

  /** Every retained durable record, oldest first, in chunks (rollups rebuild from this). */
  async *readAll(chunkRecords = 1000): AsyncGenerator<NormalizedReading[]> {
    let from: OutboxPosition = { segment: 0, offset: 0 };
    for (;;) {
      const batch = await this.readRange(from, chunkRecords);
      if (batch.records.length > 0) yield batch.records;
      if (samePosition(batch.to, from)) return;
      from = batch.to;
    }
  }

  commit(to: OutboxPosition): Promise<void> {
    if (this.deps.localOnly)
      return Promise.reject(new Error('local-only outbox: there is no sink to commit to'));
    return this.exclusive(async () => {
      const from = this.committed;
      if (comparePosition(to, from) <= 0) return;
      const seg = this.segments.find((s) => s.n === to.segment);
      if (seg !== undefined && to.offset > seg.end) {
        throw new RangeError(`commit to ${to.segment}:${to.offset} is beyond the durable end ${seg.end}`);
      }
      const memo = this.lastRead;
      const records =
        memo !== undefined && samePosition(memo.from, from) && samePosition(memo.to, to)
          ? memo.records
          : await countRecords(this.segments, from, to, this.listed);
      const bytes = bytesBetween(this.segments, from, to);
      try {
        await writeCursor(this.deps.dir, to, this.deps.clock.now(), this.sync, this.syncDir);
      } catch (error) {
        if (!isNoSpace(error)) throw error;
        // A full disk: the cursor file needs a few bytes that only deleting drained segments can
        // free, and only a commit deletes them. The sink has confirmed everything before `to`, so
        // move on in memory and delete; the cursor on disk stays behind until a later commit
        // writes it, and a crash meanwhile only resends what InfluxDB already holds (overwrites).
        this.log.warn(
          { err: error, cursor: to },
          'disk full: cursor not persisted; drained segments are deleted to free space',
        );
      }
      this.committed = { segment: to.segment, offset: to.offset };
      this.backlogRecords = Math.max(0, this.backlogRecords - records);
      this.backlogBytes = Math.max(0, this.backlogBytes - bytes);
      await this.deleteDrained();
      await this.refreshOldest();
    });
  }

  onDurable(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): OutboxStats {
    return {
      backlogRecords: this.backlogRecords,
      backlogBytes: this.backlogBytes,
      oldestReceivedAt: this.oldestReceivedAt,
      segments: this.segments.length,
      pendingAppends: this.writer.pending,
      writable: this.writer.writable,
      ...(!this.writer.writable && this.writeError !== undefined && { writeError: this.writeError }),
      abandonedSegments: this.abandoned,
      retentionDeletedRecords: 0,
      ...this.retention?.stats(),
    };
  }

  /** Local-only: deletes the oldest closed segments beyond the age/size limits; counted and logged. */
  applyRetention(): Promise<{ segments: number; records: number }> {
    return this.exclusive(async () => {
      const victims =
        this.retention?.select(this.segments, this.active, this.totalBytes, this.deps.clock.now()) ?? [];
      let records = 0;
      for (const seg of victims) {
        records += seg.records;
        this.backlogBytes = Math.max(0, this.backlogBytes - (seg.end - seg.headerBytes));
      }
      this.backlogRecords = Math.max(0, this.backlogRecords - records);
      await this.removeSegments(victims);
      if (victims.length > 0) await this.refreshOldest();
      return { segments: victims.length, records };
    });
  }

  private async createSegment(): Promise<SegmentFile> {
    const n = this.nextNumber++;
    const path = join(this.deps.dir, segmentName(n));
    const fh = await open(path, 'wx');
    try {
      await fh.write(SEGMENT_HEADER, 0, SEGMENT_HEADER.length, 0);
      await this.sync(fh);
      // The file's name must be durable too before anything in it is acknowledged.
      await this.syncDir(this.deps.dir);
    } catch (error) {
      // Never synced again: the file held nothing acknowledged, so it simply goes.
      await fh.close().catch(() => undefined);
      await rm(path, { force: true }).catch(() => undefined);
      throw error;
    }
    const bytes = SEGMENT_HEADER.length;
    const now = this.deps.clock.now();
    const segment: Segment = { n, path, headerBytes: bytes, end: bytes, records: 0, lastWriteAt: now };
    this.segments.push(segment);
    this.active = segment;
    this.totalBytes += bytes;
    return { fh, size: bytes, segment };
  }

  private landed(group: DurableGroup<SegmentFile, readonly NormalizedReading[]>): void {
    const seg = group.file.segment;
    let records = 0;
    for (const readings of group.notes) records += readings.length;
    if (this.backlogRecords === 0) {
      let oldest = Infinity;
      for (const readings of group.notes) for (const r of readings) oldest = Math.min(oldest, r.receivedAt);
      this.oldestReceivedAt = oldest;
    }
    seg.end = group.file.size;
    seg.records += records;
    this.retention?.landed(records);
    seg.lastWriteAt = this.deps.clock.now();
    this.backlogRecords += records;
    this.backlogBytes += group.bytes;
    this.totalBytes += group.bytes;
    this.maybeRetain();
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (error) {
        this.log.error({ err: error }, 'onDurable listener threw');
      }
    }
  }

  /**
   * A write or sync failed: the segment keeps only its synced length (recorded in its new name,
   * so a restart honours it) and the group is retried in a new segment after a backoff.
   */
  private async abandon(error: unknown, file: SegmentFile | undefined, attempt: number): Promise<number> {
    const delay = Math.min(
      this.deps.retryMaxMs ?? 5000,
      (this.deps.retryBaseMs ?? 50) * 2 ** Math.min(attempt - 1, 20),
    );
    this.writeError = error instanceof Error ? error.message : String(error);
    this.log.error(
      { err: error, segment: file?.segment.n, goodBytes: file?.size, attempt, retryInMs: delay },
      'outbox disk write failed: appends held (no PUBACK) until a new segment takes them',
    );
    if (file === undefined) return delay;
    this.abandoned++;
    const seg = file.segment;
    const target = join(this.deps.dir, segmentName(seg.n, file.size));
    try {
      await rename(seg.path, target);
      seg.path = target;
      await this.syncDir(this.deps.dir).catch((e: unknown) =>
        this.log.error({ err: e }, 'dir fsync after abandon'),
      );
    } catch (renameError) {
      // Cutting the unsynced tail keeps a restart from reading records that are rewritten elsewhere.
      this.log.error({ err: renameError, segment: seg.n }, 'cannot mark segment abandoned: truncating');
      await truncate(seg.path, file.size).catch((e: unknown) =>
        this.log.error({ err: e }, 'truncate failed'),
      );
    }
    if (this.active === seg) this.active = undefined;
    return delay;
  }

  private readRange(from: OutboxPosition, maxRecords: number): Promise<OutboxBatch> {
    return readSegments(this.segments, from, maxRecords, this.listed, this.log);
  }

  /** Deletes closed segments wholly before the cursor; never the one being written. */
  private async deleteDrained(): Promise<void> {
    const c = this.committed;
    await this.removeSegments(
      this.segments.filter(
        (s) => s !== this.active && (s.n < c.segment || (s.n === c.segment && c.offset >= s.end)),
      ),
    );
  }

  private async removeSegments(victims: Segment[]): Promise<void> {
    if (victims.length === 0) return;
    this.segments = this.segments.filter((s) => !victims.includes(s));
    for (const seg of victims) {
      this.totalBytes -= seg.end;
      await rm(seg.path, { force: true });
    }
  }

  /** Where the backlog starts inside segment `n` at recovery. */
  private backlogFrom(n: number): number {
    const c = this.committed;
    if (this.deps.localOnly === true || n > c.segment) return 0;
    return n === c.segment ? c.offset : Infinity;
  }

  private async refreshOldest(): Promise<void> {
    if (this.backlogRecords <= 0) {
      this.oldestReceivedAt = undefined;
      return;
    }
    const from = this.deps.localOnly ? { segment: 0, offset: 0 } : this.committed;
    this.oldestReceivedAt = (await this.readRange(from, 1)).records[0]?.receivedAt;
  }

  private maybeRetain(): void {
    const first = this.segments[0];
    if (first === undefined || first === this.active || this.retentionScheduled) return;
    if (this.retention?.due(first, this.totalBytes, this.deps.clock.now()) !== true) return;
    this.retentionScheduled = true;
    const run = this.applyRetention()
      .catch((error: unknown) => this.log.error({ err: error }, 'outbox retention failed'))
      .finally(() => {
        this.retentionScheduled = false;
        this.background.delete(run);
      });
    this.background.add(run);
  }

  /** Commits and retention touch the same files and counters: one at a time. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.serial.then(task);
    this.serial = run.catch(() => undefined);
    return run;
  }
}
