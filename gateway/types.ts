/**
 * Interfaces between the gateway's parts, so each can be built and tested on its own. The
 * composition root (cli/) wires the real implementations.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { DeadLetterRecord, NormalizedReading } from '../contract/index.js';

/** Injected time source (tests and simulators control it). */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

/**
 * Makes written data durable. Default: `fh.datasync()`. Tests inject one that holds completion
 * (no PUBACK may leave before it resolves) or fails (the segment is abandoned).
 */
export type SyncFn = (fh: FileHandle) => Promise<void>;
export const defaultSync: SyncFn = (fh) => fh.datasync();

/**
 * Makes a directory's entries durable (a created, renamed or deleted file). Default: open the
 * directory and fsync it. Injected like SyncFn so tests can count or fail it.
 */
export type DirSyncFn = (dir: string) => Promise<void>;
export const defaultDirSync: DirSyncFn = async (dir) => {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
};

/** A place in the outbox: segment number and byte offset inside it. */
export interface OutboxPosition {
  segment: number;
  offset: number;
}

export interface OutboxBatch {
  records: NormalizedReading[];
  from: OutboxPosition;
  /** Position just after the last record of the batch: commit it once the sink confirmed. */
  to: OutboxPosition;
}

export interface OutboxStats {
  /** Durable records not yet committed by the drainer (local-only: records kept). */
  backlogRecords: number;
  backlogBytes: number;
  /** `receivedAt` of the oldest uncommitted record, epoch ms. */
  oldestReceivedAt: number | undefined;
  segments: number;
  /** Appends waiting for their fsync. */
  pendingAppends: number;
  writable: boolean;
  /** While `writable` is false: the disk's error (e.g. `ENOSPC: no space left on device`). */
  writeError?: string;
  /** Segments abandoned after a failed write or sync since start (a disk fault: alert on it). */
  abandonedSegments?: number;
  /** Local-only mode: records deleted by the retention limits so far (counted, never silent). */
  retentionDeletedRecords?: number;
  /**
   * Local-only mode on a data dir a run with a sink left a cursor in: records after that cursor,
   * acknowledged and never sent to InfluxDB; and how many of them retention deleted so far.
   */
  neverSentRecords?: number;
  retentionDeletedNeverSent?: number;
  /** With a sink (gateway/backpressure.ts): the cap on `backlogBytes` (VALLEY_OUTBOX_MAX). */
  capBytes?: number;
  /** With a sink: appends are held (no PUBACK) because the backlog reached the cap. */
  holding?: boolean;
  /** With a sink: appends waiting for room right now. */
  heldAppends?: number;
  /** With a sink: what the held appends would write, estimated (JSON length of their readings). */
  heldBytes?: number;
}

/**
 * A signal, or a function that makes it. The function is called only when the signal is needed
 * (an append held at the outbox cap), so a connection that never meets back-pressure costs no
 * AbortController (~460 bytes each; 5,000 connections: 2.3 MiB of heap).
 */
export type SignalSource = AbortSignal | (() => AbortSignal);

export interface AppendOptions {
  /**
   * Aborted when whoever waits for the append no longer can be answered (its MQTT connection
   * closed). An append still held by back-pressure (gateway/backpressure.ts) is then dropped and
   * rejected; one already handed to the storage is written anyway (the device resends; dedupe
   * absorbs it).
   */
  signal?: SignalSource | undefined;
}

export interface Outbox {
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Resolves once every record is fsynced (group commit). Rejects when stopping and, behind the
   * outbox cap, when a held append is abandoned (its signal aborted) or refused (too many held).
   */
  append(readings: readonly NormalizedReading[], options?: AppendOptions): Promise<void>;
  /** Durable records from `from`, at most `maxRecords`. Empty batch when nothing new. */
  read(from: OutboxPosition, maxRecords: number): Promise<OutboxBatch>;
  /** Committed cursor: everything before it reached the sink. */
  readonly cursor: OutboxPosition;
  /** Persists the cursor atomically (tmp + fsync + rename + dir fsync); deletes drained segments. */
  commit(to: OutboxPosition): Promise<void>;
  /** Called after each group commit made new records durable. */
  onDurable(listener: () => void): () => void;
  stats(): OutboxStats;
}

export interface DeadLetterAppendResult {
  written: number;
  /**
   * Not recorded: the log or the device's share is full, or the disk refused. Counted and logged.
   * Records of stage `sink` have no device share; the drainer retries them instead of moving on.
   */
  dropped: number;
}

export interface DeadLetterLog {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves once written records are fsynced; never rejects (a refused record is `dropped`). */
  append(records: readonly DeadLetterRecord[]): Promise<DeadLetterAppendResult>;
  /** Newest first. */
  list(options?: { deviceId?: string; limit?: number }): Promise<DeadLetterRecord[]>;
  stats(): { bytes: number; records: number; dropped: number; full: boolean };
}

/** Why a sink write failed; the drainer reacts per kind. */
export type SinkFailureKind =
  /** HTTP 400: some line is bad. Bisect. */
  | 'rejected'
  /** 401/403/404: configuration error. Stop draining, raise an alert, drop nothing. */
  | 'config'
  /** 413: batch too large. Halve it. */
  | 'too-large'
  /** 429/5xx/network/timeout: back off (Retry-After when given). */
  | 'unavailable';

export class SinkError extends Error {
  readonly code: string;
  constructor(
    readonly kind: SinkFailureKind,
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.code =
      kind === 'rejected'
        ? 'E_INFLUX_REJECTED'
        : kind === 'config'
          ? 'E_INFLUX_CONFIG'
          : kind === 'too-large'
            ? 'E_INFLUX_TOO_LARGE'
            : 'E_INFLUX_UNAVAILABLE';
  }
}

export interface Sink {
  /** e.g. `InfluxDB v1 API at http://127.0.0.1:8086, db "valley"` (no secrets). */
  readonly description: string;
  /**
   * Writes line-protocol lines (ms precision). Throws SinkError. `cancel` aborts the request (the
   * drainer's stop gives up on a write InfluxDB never answers); it then throws 'unavailable'.
   */
  write(lines: readonly string[], cancel?: AbortSignal): Promise<void>;
}
