/**
 * Local-only retention (DESIGN "Never drop silently"): without a sink the outbox is the store,
 * bounded by age and size, and the oldest closed segments go, counted and logged.
 *
 * A data dir a run with a sink left a cursor in is different: the readings after that cursor were
 * acknowledged and never sent to InfluxDB (nor are the ones stored since, which a later start with
 * a sink would send too). A segment holding any of them goes only when it is older than the age
 * limit AND the outbox is over the size limit, each such deletion logged with its count
 * (docs/operations.md).
 */
import type { Logger } from './logger.js';
import type { Segment } from './outbox-segments.js';
import type { OutboxPosition, OutboxStats } from './types.js';

export interface RetentionLimits {
  maxAgeMs?: number;
  maxBytes?: number;
}

type RetentionReason = 'age' | 'size' | 'age and size';

export class LocalRetention {
  /** Records after the cursor inside the cursor's own segment (never appended to again). */
  private unsentInCursorSegment = 0;
  private neverSent = 0;
  private deletedRecords = 0;
  private deletedNeverSent = 0;

  /** `sentUpTo`: the cursor a previous run with a sink left, if any. */
  constructor(
    private readonly limits: RetentionLimits | undefined,
    private readonly sentUpTo: OutboxPosition | undefined,
    private readonly log: Logger,
  ) {}

  /** Recovery: where the never-sent records start inside segment `n` (Infinity: none). */
  unsentFrom(n: number): number {
    const c = this.sentUpTo;
    if (c === undefined || n < c.segment) return Infinity;
    return n === c.segment ? c.offset : 0;
  }

  /** Recovery: segment `n` holds `unsent` records from unsentFrom(n) on. */
  recovered(n: number, unsent: number): void {
    this.neverSent += unsent;
    if (n === this.sentUpTo?.segment) this.unsentInCursorSegment = unsent;
  }

  /** After recovery: the loud line an operator must not miss. */
  announce(): void {
    if (this.neverSent === 0) return;
    this.log.warn(
      { neverSent: this.neverSent, cursor: this.sentUpTo },
      `local-only mode: ${this.neverSent} readings in the outbox were acknowledged but never sent to ` +
        'InfluxDB (a previous run had a sink and stopped before it took them). They are kept: ' +
        'retention deletes them only when older than VALLEY_RETENTION_AGE and the outbox is over ' +
        'VALLEY_RETENTION_SIZE. Start with INFLUX_* set again to send them.',
    );
  }

  /** New records were stored; with a cursor they lie after it. */
  landed(records: number): void {
    if (this.sentUpTo !== undefined) this.neverSent += records;
  }

  /** Whether the oldest segment is due (checked after each group commit, so cheap). */
  due(oldest: Segment, totalBytes: number, now: number): boolean {
    return this.reason(oldest, totalBytes, now) !== undefined;
  }

  /** The oldest segments to delete now (never `active`), each logged and counted. */
  select(
    segments: readonly Segment[],
    active: Segment | undefined,
    totalBytes: number,
    now: number,
  ): Segment[] {
    const victims: Segment[] = [];
    let total = totalBytes;
    for (const seg of segments) {
      if (seg === active) break;
      const reason = this.reason(seg, total, now);
      if (reason === undefined) break;
      victims.push(seg);
      total -= seg.end;
      this.deletedRecords += seg.records;
      const unsent = this.unsentIn(seg);
      if (unsent > 0) {
        this.neverSent = Math.max(0, this.neverSent - unsent);
        this.deletedNeverSent += unsent;
        this.log.warn(
          { segment: seg.n, records: seg.records, neverSent: unsent, reason },
          `retention deleted ${unsent} readings never sent to InfluxDB (local-only mode; older than ` +
            'VALLEY_RETENTION_AGE and the outbox over VALLEY_RETENTION_SIZE)',
        );
      } else {
        this.log.warn(
          { segment: seg.n, records: seg.records, reason },
          'retention deleted an outbox segment (local-only mode)',
        );
      }
    }
    return victims;
  }

  stats(): Pick<OutboxStats, 'retentionDeletedRecords' | 'neverSentRecords' | 'retentionDeletedNeverSent'> {
    return {
      retentionDeletedRecords: this.deletedRecords,
      ...(this.sentUpTo !== undefined && {
        neverSentRecords: this.neverSent,
        retentionDeletedNeverSent: this.deletedNeverSent,
      }),
    };
  }

  private unsentIn(seg: Segment): number {
    const c = this.sentUpTo;
    if (c === undefined || seg.n < c.segment) return 0;
    return seg.n === c.segment ? this.unsentInCursorSegment : seg.records;
  }

  /** Beyond the age or the size limit; beyond both when the segment holds never-sent readings. */
  private reason(seg: Segment, total: number, now: number): RetentionReason | undefined {
    const { limits } = this;
    if (limits === undefined) return undefined;
    const tooOld = limits.maxAgeMs !== undefined && now - seg.lastWriteAt > limits.maxAgeMs;
    const tooBig = limits.maxBytes !== undefined && total > limits.maxBytes;
    if (tooOld && tooBig) return 'age and size';
    if (this.unsentIn(seg) > 0) return undefined;
    return tooOld ? 'age' : tooBig ? 'size' : undefined;
  }
}
