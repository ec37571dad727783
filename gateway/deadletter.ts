/**
 * The dead-letter log: JSON Lines files `deadletter-<6 digits>.jsonl`, one DeadLetterRecord per
 * line, group-committed like the outbox (a reject's record is durable before its PUBACK). It is
 * bounded (DESIGN "Never drop silently"): files rotate at a fraction of the cap, the oldest file
 * goes when the total would exceed the cap, and each device gets a share of the retained bytes so
 * one broken device cannot push everybody else's rejects out. A record that does not fit, or that
 * the disk refuses, is counted and logged but never makes `append` reject: the reading was
 * refused anyway, and holding the device's PUBACK for a diagnostic record would be worse.
 *
 * Records of stage `sink` are different: they hold acknowledged readings that InfluxDB refused,
 * and the dead-letter log is the only place left for them. They count against the total cap but
 * not against a device's share (a device's noisy rejects must not cost its acknowledged
 * readings), and when one is dropped (log full or unwritable) the drainer does not move past it
 * but retries (gateway/drainer.ts).
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { deadLetterRecordSchema, type DeadLetterRecord } from '../contract/index.js';
import { DEADLETTER_ID } from './deadletter-query.js';
import { forEachLine, GroupCommitWriter, type CommitFile, type DurableGroup } from './group-commit.js';
import { LogBudget } from './log-budget.js';
import type { Logger } from './logger.js';
import {
  defaultDirSync,
  type Clock,
  type DeadLetterAppendResult,
  type DeadLetterLog,
  type DirSyncFn,
  type SyncFn,
} from './types.js';

const FILE_NAME = /^deadletter-(\d{6,})\.jsonl$/;

/**
 * A record with its stable id `<file number>-<byte offset>-<8 hex of the line's SHA-256>`. Files
 * are append-only and deleted whole, so number and offset never move; the hash makes an id that
 * outlived its file (a wiped directory starts numbering at 1 again) never name another record.
 */
export interface DeadLetterEntry {
  id: string;
  record: DeadLetterRecord;
}

/** The file number in an id (undefined when it is not one). */
export function deadLetterIdFile(id: string): number | undefined {
  const m = DEADLETTER_ID.exec(id);
  return m ? Number(m[1]) : undefined;
}
const fileName = (n: number): string => `deadletter-${String(n).padStart(6, '0')}.jsonl`;

export interface DeadLetterDeps {
  dir: string;
  /** Cap of all retained files (settings.deadLetterMaxBytes). */
  maxBytes: number;
  /** Share of one device in the retained files (settings.deadLetterDeviceBytes). */
  deviceBytes: number;
  /** Rotation size; default an eighth of the cap, so deleting the oldest frees at most that. */
  fileBytes?: number;
  clock: Clock;
  logger: Logger;
  sync?: SyncFn;
  syncDir?: DirSyncFn;
}

type DropReason = 'device-share' | 'full' | 'unwritable';

interface LogFile {
  readonly n: number;
  readonly path: string;
  /** Durable bytes (for the file being written: its synced length). */
  bytes: number;
  records: number;
  /**
   * Bytes per device in this file (stage `ingest` only), subtracted from the shares when the file
   * is deleted.
   */
  readonly devices: Map<string, number>;
  /** Records of stage `sink` (acknowledged readings InfluxDB refused): a deletion says how many. */
  sinkRecords: number;
}

interface OpenLogFile extends CommitFile {
  readonly file: LogFile;
}

/**
 * Per admitted record: its size, and its device when it counts towards the device's share (not
 * for stage `sink`), so a failed group gives the bytes back.
 */
type Note = { device: string | undefined; bytes: number }[];

export class FileDeadLetterLog implements DeadLetterLog {
  private readonly writer: GroupCommitWriter<OpenLogFile, Note>;
  private readonly log: Logger;
  private readonly dropLogBudget: LogBudget;
  private readonly syncDir: DirSyncFn;
  private readonly fileBytes: number;
  private files: LogFile[] = [];
  private nextNumber = 1;
  /** Retained plus admitted-but-pending bytes, in total and per device. */
  private totalBytes = 0;
  private readonly deviceBytes = new Map<string, number>();
  private records = 0;
  private dropped = 0;
  private full = false;
  private readonly background = new Set<Promise<unknown>>();

  constructor(private readonly deps: DeadLetterDeps) {
    this.log = deps.logger.child({ module: 'deadletter' });
    this.dropLogBudget = new LogBudget(deps.clock, 60_000);
    this.syncDir = deps.syncDir ?? defaultDirSync;
    this.fileBytes = deps.fileBytes ?? Math.max(4096, Math.floor(deps.maxBytes / 8));
    this.writer = new GroupCommitWriter<OpenLogFile, Note>({
      logger: this.log,
      ...(deps.sync !== undefined && { sync: deps.sync }),
      openFile: () => this.openFile(),
      rollBefore: (f, bytes) => f.size > 0 && f.size + bytes > this.fileBytes,
      onDurable: (group) => this.landed(group),
      onFailure: async (error, file) => {
        this.log.error({ err: error }, 'dead-letter write failed: its records are dropped (counted)');
        if (file === undefined) return 'fail' as const;
        if (file.size === 0) {
          // Nothing durable in it: gone, so retries against a failing disk leave no empty files.
          this.files = this.files.filter((f) => f !== file.file);
          await rm(file.file.path, { force: true }).catch(() => undefined);
        } else {
          // Best effort: cut what did not become durable, so a restart does not list dropped records.
          await truncate(file.file.path, file.size).catch(() => undefined);
        }
        return 'fail' as const;
      },
    });
  }

  async start(): Promise<void> {
    try {
      await mkdir(this.deps.dir, { recursive: true });
      const found = (await readdir(this.deps.dir))
        .map((name) => ({ name, m: FILE_NAME.exec(name) }))
        .filter((f) => f.m !== null)
        .map((f) => ({ name: f.name, n: Number(f.m![1]) }))
        .sort((a, b) => a.n - b.n);
      for (const { name, n } of found) {
        this.nextNumber = Math.max(this.nextNumber, n + 1);
        const file = await this.scan(join(this.deps.dir, name), n);
        this.files.push(file);
        this.totalBytes += file.bytes;
        this.records += file.records;
        for (const [device, bytes] of file.devices) this.addShare(device, bytes);
      }
    } catch (error) {
      // Not fatal: the gateway still runs; rejects are acknowledged without a record.
      this.full = true;
      this.log.error({ err: error, dir: this.deps.dir }, 'dead-letter log unreadable or unwritable');
    }
    await this.writer.start();
  }

  async stop(): Promise<void> {
    await this.writer.stop();
    await Promise.allSettled([...this.background]);
  }

  async append(records: readonly DeadLetterRecord[]): Promise<DeadLetterAppendResult> {
    let dropped = 0;
    let text = '';
    const admitted: DeadLetterRecord[] = [];
    const note: Note = [];
    for (const record of records) {
      const line = `${JSON.stringify(record)}\n`;
      const bytes = Buffer.byteLength(line);
      const device = record.stage === 'sink' ? undefined : record.device;
      const refused = this.admit(device, bytes);
      if (refused !== undefined) {
        this.drop(record, refused);
        dropped++;
        continue;
      }
      admitted.push(record);
      note.push({ device, bytes });
      text += line;
    }
    if (admitted.length === 0) return { written: 0, dropped };
    try {
      await this.writer.append(Buffer.from(text), note);
      return { written: admitted.length, dropped };
    } catch (error) {
      for (const { device, bytes } of note) {
        this.totalBytes -= bytes;
        if (device !== undefined) this.addShare(device, -bytes);
      }
      for (const record of admitted) this.drop(record, 'unwritable', error);
      return { written: 0, dropped: dropped + admitted.length };
    }
  }

  async list(options: { deviceId?: string; limit?: number } = {}): Promise<DeadLetterRecord[]> {
    const { deviceId, limit = 100 } = options;
    const out: DeadLetterRecord[] = [];
    for (const file of [...this.files].reverse()) {
      if (out.length >= limit) break;
      if (deviceId !== undefined && !file.devices.has(deviceId)) continue;
      const found: DeadLetterRecord[] = [];
      try {
        await forEachLine(file.path, 0, file.bytes, (line) => {
          const record = parseRecord(line);
          if (record !== undefined && (deviceId === undefined || record.device === deviceId))
            found.push(record);
          return true;
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted meanwhile
        throw error;
      }
      for (let i = found.length - 1; i >= 0 && out.length < limit; i--) out.push(found[i]!);
    }
    return out;
  }

  /**
   * Newest first, with ids: the records `match` accepts that come before `before` (an id, the
   * paging cursor), at most `limit`; `more` says whether older matching records exist. Reads the
   * retained files (bounded by the cap) on every call: an operator's page, not a hot path.
   */
  async entries(options: {
    limit: number;
    before?: string;
    match?: (record: DeadLetterRecord) => boolean;
    /** Only these files (the files some ids name). */
    files?: ReadonlySet<number>;
  }): Promise<{ entries: DeadLetterEntry[]; more: boolean }> {
    const { limit, match } = options;
    const cursor = options.before === undefined ? undefined : DEADLETTER_ID.exec(options.before);
    const beforeFile = cursor ? Number(cursor[1]) : Number.POSITIVE_INFINITY;
    const beforeOffset = cursor ? Number(cursor[2]) : Number.POSITIVE_INFINITY;
    const out: DeadLetterEntry[] = [];
    for (const file of [...this.files].reverse()) {
      if (out.length > limit) break;
      if (file.n > beforeFile || (options.files !== undefined && !options.files.has(file.n))) continue;
      const end = file.n === beforeFile ? Math.min(file.bytes, beforeOffset) : file.bytes;
      const found: DeadLetterEntry[] = [];
      try {
        await forEachLine(file.path, 0, end, (line, offset) => {
          const record = parseRecord(line);
          if (record !== undefined && (match === undefined || match(record)))
            found.push({ id: recordId(file.n, offset, line), record });
          return true;
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted meanwhile
        throw error;
      }
      for (let i = found.length - 1; i >= 0 && out.length <= limit; i--) out.push(found[i]!);
    }
    return { entries: out.slice(0, limit), more: out.length > limit };
  }

  /** The numbers of the retained files (the replay marks of other files are stale). */
  fileNumbers(): Set<number> {
    return new Set(this.files.map((f) => f.n));
  }

  stats(): { bytes: number; records: number; dropped: number; full: boolean } {
    return { bytes: this.totalBytes, records: this.records, dropped: this.dropped, full: this.full };
  }

  /**
   * Reserves room for a record. The device's share is judged after the deletions the total would
   * need, and nothing is deleted for a record that is refused: a noisy device cannot push other
   * devices' records out by knocking at its own limit. `device` undefined: no share applies
   * (stage `sink`).
   */
  private admit(device: string | undefined, bytes: number): DropReason | undefined {
    const { maxBytes } = this.deps;
    const current = this.writer.currentFile?.file;
    const victims: LogFile[] = [];
    let total = this.totalBytes;
    let share = device === undefined ? 0 : (this.deviceBytes.get(device) ?? 0);
    for (const file of this.files) {
      if (total + bytes <= maxBytes) break;
      if (file === current) continue;
      victims.push(file);
      total -= file.bytes;
      if (device !== undefined) share -= file.devices.get(device) ?? 0;
    }
    if (device !== undefined && share + bytes > this.deps.deviceBytes) return 'device-share';
    if (total + bytes > maxBytes) return 'full';
    for (const victim of victims) this.deleteFile(victim);
    this.totalBytes += bytes;
    if (device !== undefined) this.addShare(device, bytes);
    return undefined;
  }

  private drop(record: DeadLetterRecord, reason: DropReason, error?: unknown): void {
    this.dropped++;
    if (reason !== 'device-share') this.full = true;
    // One line per device per minute: a device whose share is full keeps sending bad readings.
    const suppressed = this.dropLogBudget.take(record.device);
    if (suppressed === undefined) return;
    this.log.warn(
      {
        deviceId: record.device,
        code: record.reject.code,
        reason,
        linesLeftOut: suppressed,
        ...(error !== undefined && { err: error }),
      },
      'dead-letter record dropped (counted in /api/status and /metrics)',
    );
  }

  private deleteFile(victim: LogFile): void {
    this.files = this.files.filter((f) => f !== victim);
    this.totalBytes -= victim.bytes;
    this.records -= victim.records;
    for (const [device, bytes] of victim.devices) this.addShare(device, -bytes);
    if (victim.sinkRecords > 0) {
      this.log.warn(
        { file: victim.path, records: victim.records, sinkRecords: victim.sinkRecords },
        'dead-letter cap reached: oldest file deleted, with readings InfluxDB refused (their only copy)',
      );
    } else {
      this.log.info(
        { file: victim.path, records: victim.records },
        'dead-letter cap reached: oldest file deleted',
      );
    }
    const removal = rm(victim.path, { force: true })
      .catch((error: unknown) => this.log.error({ err: error }, 'could not delete a dead-letter file'))
      .finally(() => this.background.delete(removal));
    this.background.add(removal);
  }

  private addShare(device: string, bytes: number): void {
    const next = (this.deviceBytes.get(device) ?? 0) + bytes;
    if (next > 0) this.deviceBytes.set(device, next);
    else this.deviceBytes.delete(device);
  }

  private async openFile(): Promise<OpenLogFile> {
    const n = this.nextNumber++;
    await mkdir(this.deps.dir, { recursive: true });
    const path = join(this.deps.dir, fileName(n));
    const fh = await open(path, 'wx');
    try {
      await this.syncDir(this.deps.dir);
    } catch (error) {
      await fh.close().catch(() => undefined);
      throw error;
    }
    const file: LogFile = { n, path, bytes: 0, records: 0, devices: new Map(), sinkRecords: 0 };
    this.files.push(file);
    return { fh, size: 0, file };
  }

  private landed(group: DurableGroup<OpenLogFile, Note>): void {
    const file = group.file.file;
    file.bytes = group.file.size;
    for (const note of group.notes) {
      file.records += note.length;
      this.records += note.length;
      for (const { device, bytes } of note) {
        if (device === undefined) file.sinkRecords++;
        else file.devices.set(device, (file.devices.get(device) ?? 0) + bytes);
      }
    }
    this.full = false;
  }

  private async scan(path: string, n: number): Promise<LogFile> {
    const { size } = await stat(path);
    const file: LogFile = { n, path, bytes: size, records: 0, devices: new Map(), sinkRecords: 0 };
    // A torn last line still counts towards the cap (it is on disk) but belongs to nobody.
    await forEachLine(path, 0, size, (line) => {
      const record = parseRecord(line);
      if (record === undefined) return true;
      file.records++;
      if (record.stage === 'sink') file.sinkRecords++;
      else file.devices.set(record.device, (file.devices.get(record.device) ?? 0) + line.length + 1);
      return true;
    });
    return file;
  }
}

function recordId(n: number, offset: number, line: Buffer): string {
  return `${n}-${offset}-${createHash('sha256').update(line).digest('hex').slice(0, 8)}`;
}

function parseRecord(line: Buffer): DeadLetterRecord | undefined {
  try {
    const parsed = deadLetterRecordSchema.safeParse(JSON.parse(line.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
