/**
 * The outbox on disk (DESIGN "On-disk formats ... carry a version"): segment files
 * `<12 digits>.seg` (abandoned: `<12 digits>.abandoned-<good bytes>.seg`) with a header line and
 * one record per line, CRC32 (8 hex) + space + the reading's JSON; the cursor file; recovery's
 * scan and the reads of durable ranges. The outbox class keeps the bookkeeping and the writer.
 */
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { normalizedReadingSchema, type NormalizedReading } from '../contract/index.js';
import { forEachLine } from './group-commit.js';
import type { Logger } from './logger.js';
import { commonRecord } from './record-shape.js';
import type { DirSyncFn, OutboxBatch, OutboxPosition, SyncFn } from './types.js';

export const OUTBOX_FORMAT = 'valley-outbox';
export const OUTBOX_VERSION = 1;
export const SEGMENT_HEADER = Buffer.from(
  `${JSON.stringify({ format: OUTBOX_FORMAT, version: OUTBOX_VERSION })}\n`,
);
export const CURSOR_FILE = 'cursor.json';
export const CURSOR_TMP = 'cursor.json.tmp';
const SEGMENT_NAME = /^(\d{12})(?:\.abandoned-(\d+))?\.seg$/;
const cursorSchema = z.object({
  version: z.literal(1),
  segment: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
  committedAt: z.number(),
});

/** One segment file as the outbox tracks it. */
export interface Segment {
  readonly n: number;
  /** Changes once, when the segment is abandoned (renamed). */
  path: string;
  readonly headerBytes: number;
  /** Durable end: records are read up to here (synced length; an abandoned segment's good length). */
  end: number;
  records: number;
  lastWriteAt: number;
}

export function segmentName(n: number, abandonedGoodBytes?: number): string {
  const base = String(n).padStart(12, '0');
  return abandonedGoodBytes === undefined ? `${base}.seg` : `${base}.abandoned-${abandonedGoodBytes}.seg`;
}

/** Segment files in a directory listing, oldest first; `goodBytes` for abandoned ones. */
export function parseSegmentNames(
  names: readonly string[],
): { name: string; n: number; goodBytes?: number }[] {
  const found: { name: string; n: number; goodBytes?: number }[] = [];
  for (const name of names) {
    const m = SEGMENT_NAME.exec(name);
    if (m === null) continue;
    found.push({ name, n: Number(m[1]), ...(m[2] !== undefined && { goodBytes: Number(m[2]) }) });
  }
  return found.sort((a, b) => a.n - b.n);
}

export function encodeRecord(reading: NormalizedReading): string {
  const json = JSON.stringify(reading);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

const HEX = '0123456789abcdef';

/**
 * The records of one append, as the bytes the writer takes: what encodeRecord gives, joined, but
 * each reading's JSON is written once into one buffer and its CRC taken over those bytes (no
 * second UTF-8 pass inside crc32, no hex, line or joined strings to build and flatten per reading).
 */
export function encodeRecords(readings: readonly NormalizedReading[]): Buffer {
  const jsons = readings.map((r) => JSON.stringify(r));
  let bytes = 0;
  for (const json of jsons) bytes += Buffer.byteLength(json) + 10; // 8 hex, space, newline
  const buf = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const json of jsons) {
    const start = at + 9;
    const end = start + buf.write(json, start);
    let crc = crc32(buf.subarray(start, end));
    for (let i = 7; i >= 0; i--) {
      buf[at + i] = HEX.charCodeAt(crc & 0xf);
      crc >>>= 4;
    }
    buf[at + 8] = 0x20;
    buf[end] = 0x0a;
    at = end + 1;
  }
  return buf;
}

export function crcOk(line: Buffer): boolean {
  if (line.length < 10 || line[8] !== 0x20) return false;
  return crc32(line.subarray(9)) === Number.parseInt(line.toString('latin1', 0, 8), 16);
}

/** 'corrupt': bad CRC (torn or damaged); 'invalid': intact but not a reading of this version. */
export function decodeRecord(line: Buffer): NormalizedReading | 'corrupt' | 'invalid' {
  if (!crcOk(line)) return 'corrupt';
  try {
    const json: unknown = JSON.parse(line.toString('utf8', 9));
    const common = commonRecord(json);
    if (common !== undefined) return common;
    const parsed = normalizedReadingSchema.safeParse(json);
    return parsed.success ? parsed.data : 'invalid';
  } catch {
    return 'invalid';
  }
}

export const samePosition = (a: OutboxPosition, b: OutboxPosition): boolean =>
  a.segment === b.segment && a.offset === b.offset;
export const comparePosition = (a: OutboxPosition, b: OutboxPosition): number =>
  a.segment - b.segment || a.offset - b.offset;
export const isEnoent = (e: unknown): boolean => (e as NodeJS.ErrnoException | null)?.code === 'ENOENT';
/** The disk (or the user's quota) is full: deleting files frees room, retrying later may work. */
export const isNoSpace = (e: unknown): boolean => {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
};

function isCurrentHeader(line: string): boolean {
  try {
    const header = JSON.parse(line) as { format?: unknown; version?: unknown } | null;
    return header?.format === OUTBOX_FORMAT && header.version === OUTBOX_VERSION;
  } catch {
    return false;
  }
}

export interface ScannedSegment {
  headerBytes: number;
  /** End of the last complete line: a torn tail after it was never acknowledged. */
  end: number;
  records: number;
  /** Records at or after `countFrom`. */
  recordsFrom: number;
  lastWriteAt: number;
}

/**
 * Recovery's view of one segment. Undefined: a torn header (deleted: the header is synced before
 * anything in the file is acknowledged, so it held nothing) or an unknown format/version (left
 * untouched, logged loudly: a newer gateway wrote it, or it is not ours).
 */
export async function scanSegment(
  path: string,
  goodBytes: number | undefined,
  countFrom: number,
  log: Logger,
): Promise<ScannedSegment | undefined> {
  const { size, mtimeMs } = await stat(path);
  const limit = goodBytes === undefined ? size : Math.min(size, goodBytes);
  let head: string | undefined;
  await forEachLine(path, 0, Math.min(limit, 4096), (line) => {
    head = line.toString('utf8');
    return false;
  });
  if (head === undefined) {
    log.warn({ path }, 'deleting an outbox segment with a torn header (it held nothing acknowledged)');
    await rm(path, { force: true });
    return undefined;
  }
  if (!isCurrentHeader(head)) {
    log.error(
      { path, header: head },
      'outbox segment of an unknown format or version: left untouched, not read',
    );
    return undefined;
  }
  const headerBytes = Buffer.byteLength(head) + 1;
  let records = 0;
  let recordsFrom = 0;
  let corrupt = 0;
  let last: Buffer | undefined;
  const end = await forEachLine(path, headerBytes, limit, (line, offset) => {
    if (!crcOk(line)) corrupt++;
    else {
      records++;
      if (offset >= countFrom) recordsFrom++;
      last = line;
    }
    return true;
  });
  if (end < limit || corrupt > 0) {
    log.warn({ path, tornBytes: limit - end, corruptLines: corrupt }, 'ignored a torn or garbled tail');
  }
  const lastRecord = last === undefined ? undefined : decodeRecord(last);
  const lastWriteAt = typeof lastRecord === 'object' ? lastRecord.receivedAt : mtimeMs;
  return { headerBytes, end, records, recordsFrom, lastWriteAt };
}

/** Undefined when there is none, or it cannot be trusted (then draining starts from the oldest). */
export async function readCursor(dir: string, log: Logger): Promise<OutboxPosition | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, CURSOR_FILE), 'utf8');
  } catch (error) {
    if (isEnoent(error)) return undefined;
    throw error;
  }
  let parsed: ReturnType<typeof cursorSchema.safeParse> | undefined;
  try {
    parsed = cursorSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  if (parsed?.success !== true) {
    log.error(
      { text },
      'cursor unreadable or of an unknown version: draining from the oldest segment (resends are harmless)',
    );
    return undefined;
  }
  return { segment: parsed.data.segment, offset: parsed.data.offset };
}

/** Atomic: tmp file, fsync, rename, directory fsync. A crash leaves the old or the new cursor. */
export async function writeCursor(
  dir: string,
  to: OutboxPosition,
  committedAt: number,
  sync: SyncFn,
  syncDir: DirSyncFn,
): Promise<void> {
  const tmp = join(dir, CURSOR_TMP);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(
      `${JSON.stringify({ version: 1, segment: to.segment, offset: to.offset, committedAt })}\n`,
    );
    await sync(fh);
  } catch (error) {
    // A half-written tmp file only takes room (a full disk needs every byte back).
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    throw error;
  }
  await fh.close();
  await rename(tmp, join(dir, CURSOR_FILE));
  await syncDir(dir);
}

/** Is this segment still retained (not deleted by a commit or retention)? */
type Listed = (seg: Segment) => boolean;

/**
 * Durable records from `from` across segments. Moving past a segment's end loses nothing: a
 * later segment exists only once the earlier one is closed. Damaged lines are skipped (logged),
 * and `to` moves past them, so the drainer never stalls on them.
 */
export async function readSegments(
  segments: readonly Segment[],
  from: OutboxPosition,
  maxRecords: number,
  listed: Listed,
  log: Logger,
): Promise<OutboxBatch> {
  const records: NormalizedReading[] = [];
  let to = from;
  for (const seg of segments.filter((s) => s.n >= from.segment)) {
    if (records.length >= maxRecords) break;
    const start = seg.n === from.segment ? Math.max(from.offset, seg.headerBytes) : seg.headerBytes;
    let stop: number | undefined = start;
    if (start < seg.end) {
      let invalid = 0;
      stop = await visitSegment(seg, start, seg.end, listed, (line) => {
        const r = decodeRecord(line);
        if (typeof r === 'object') records.push(r);
        else invalid++;
        return records.length < maxRecords;
      });
      if (invalid > 0) log.error({ segment: seg.n, invalid }, 'skipped damaged outbox records');
    }
    if (stop !== undefined) to = { segment: seg.n, offset: stop };
  }
  return { records, from, to };
}

/** Intact records between two positions (what a commit drains when it was not just read). */
export async function countRecords(
  segments: readonly Segment[],
  from: OutboxPosition,
  to: OutboxPosition,
  listed: Listed,
): Promise<number> {
  let records = 0;
  for (const seg of segments.filter((s) => s.n >= from.segment && s.n <= to.segment)) {
    const start = seg.n === from.segment ? Math.max(from.offset, seg.headerBytes) : seg.headerBytes;
    const end = seg.n === to.segment ? to.offset : seg.end;
    if (start >= end) continue;
    await visitSegment(seg, start, end, listed, (line) => {
      if (crcOk(line)) records++;
      return true;
    });
  }
  return records;
}

export function bytesBetween(segments: readonly Segment[], from: OutboxPosition, to: OutboxPosition): number {
  let bytes = 0;
  for (const seg of segments) {
    if (seg.n < from.segment || seg.n > to.segment) continue;
    const start = seg.n === from.segment ? Math.max(from.offset, seg.headerBytes) : seg.headerBytes;
    const end = seg.n === to.segment ? Math.min(to.offset, seg.end) : seg.end;
    bytes += Math.max(0, end - start);
  }
  return bytes;
}

/** forEachLine on a segment that may be renamed (abandoned) or deleted meanwhile. */
async function visitSegment(
  seg: Segment,
  start: number,
  end: number,
  listed: Listed,
  visit: (line: Buffer) => boolean,
): Promise<number | undefined> {
  for (;;) {
    const path = seg.path;
    try {
      return await forEachLine(path, start, end, visit);
    } catch (error) {
      if (!isEnoent(error)) throw error;
      if (!listed(seg)) return undefined;
      if (seg.path === path) throw error;
    }
  }
}
