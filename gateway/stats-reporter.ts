/**
 * Every interval, one log line with what happened since the last one: readings accepted,
 * duplicated and rejected (by code), plus the outbox backlog and the sink's state. Operators read
 * this to see at a glance that data flows; nothing is logged per reading at info level.
 */
import type { Logger } from './logger.js';
import type { IngestCounts } from './ingest/ingest.js';

export interface StatsSnapshot {
  counts: IngestCounts;
  backlogRecords: number;
  oldestReceivedAt: number | undefined;
  sinkState: string;
  connectedDevices: number;
}

export class StatsReporter {
  private timer: NodeJS.Timeout | undefined;
  private last: IngestCounts | undefined;

  constructor(
    private readonly snapshot: () => StatsSnapshot,
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.last = structuredClone(this.snapshot().counts);
    this.timer = setInterval(() => this.report(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  report(): void {
    const s = this.snapshot();
    const last = this.last ?? { messages: 0, accepted: 0, duplicates: 0, rejected: {}, deadLetterDropped: 0 };
    const rejectedByCode: Record<string, number> = {};
    let rejected = 0;
    for (const [code, n] of Object.entries(s.counts.rejected)) {
      const delta = n - (last.rejected[code as keyof typeof last.rejected] ?? 0);
      if (delta > 0) rejectedByCode[code] = delta;
      rejected += delta;
    }
    const accepted = s.counts.accepted - last.accepted;
    const duplicates = s.counts.duplicates - last.duplicates;
    this.last = structuredClone(s.counts);
    this.logger.info(
      {
        accepted,
        duplicates,
        rejected,
        rejectedByCode,
        totals: { accepted: s.counts.accepted, duplicates: s.counts.duplicates },
        backlog: s.backlogRecords,
        backlogAgeS:
          s.oldestReceivedAt === undefined ? 0 : Math.round((this.now() - s.oldestReceivedAt) / 1000),
        sink: s.sinkState,
        devices: s.connectedDevices,
      },
      `readings in the last ${Math.round(this.intervalMs / 1000)} s: ${accepted} accepted, ${duplicates} duplicates, ${rejected} rejected`,
    );
  }
}
