/**
 * Listing and replaying the dead-letter log (`GET /api/deadletter`, `POST /api/deadletter/replay`).
 * After an operator fixed what refused a reading (a site's capacity, a device's kind in the
 * registry, a conflicting field in InfluxDB), a replay sends the record again:
 * - stage `ingest`: its payload goes through the running gateway's normal ingest with the late
 *   window waived (the reading is old by now, through nobody's fault); everything else applies,
 *   so a reading that is still wrong is rejected again with its code. A replay's reject creates no
 *   new record and nothing on the device's rejects topic.
 * - stage `sink`: the normalized reading (validated when it arrived) is appended to the outbox
 *   again, and the drainer sends it as any other.
 *
 * Exactly once: a record replayed with the outcome `accepted` or `duplicate` is marked
 * (replay-marks.ts) and a later replay answers `duplicate` without sending it again. The mark is
 * written after the outbox append is durable; a crash between the two lets the record be replayed
 * once more, which writes nothing new either: ingest's dedupe drops a repeat it has seen recently,
 * and InfluxDB overwrites a point with the same measurement, tags and timestamp (DESIGN
 * "At-least-once in, exactly-once data"). Replays run one at a time, so two operators replaying
 * the same records cannot both pass the mark check.
 */
import { normalizedReadingSchema, type DeadLetterRecord } from '../contract/index.js';
import { deadLetterIdFile, type DeadLetterEntry, type FileDeadLetterLog } from './deadletter.js';
import {
  DEADLETTER_MAX_LIMIT,
  matchesFilter,
  type DeadLetterFilter,
  type DeadLetterPage,
  type DeadLetterQuery,
  type DeadLetterView,
  type ReplayAnswer,
  type ReplayMark,
  type ReplayRequest,
  type ReplayResult,
} from './deadletter-query.js';
import { UnknownDeviceError, type Ingest } from './ingest/ingest.js';
import type { Logger } from './logger.js';
import { ReplayMarks } from './replay-marks.js';
import type { Clock, Outbox, SyncFn } from './types.js';

export interface DeadLetterReplayDeps {
  deadLetter: FileDeadLetterLog;
  dir: string;
  ingest: Pick<Ingest, 'ingest'>;
  /** Where stage-sink readings go again (the outbox, behind the cap if any). */
  outbox: Pick<Outbox, 'append'>;
  clock: Clock;
  logger: Logger;
  sync?: SyncFn;
}

export class DeadLetterReplay {
  private readonly marks: ReplayMarks;
  private readonly log: Logger;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: DeadLetterReplayDeps) {
    this.log = deps.logger.child({ module: 'deadletter-replay' });
    this.marks = new ReplayMarks({
      dir: deps.dir,
      logger: this.log,
      liveFiles: () => deps.deadLetter.fileNumbers(),
      ...(deps.sync && { sync: deps.sync }),
    });
  }

  /** After the dead-letter log started. Unreadable marks are logged, not fatal (as the log). */
  async start(): Promise<void> {
    try {
      await this.marks.start();
    } catch (error) {
      this.log.error(
        { err: error },
        'replay marks unreadable: replays may be sent again (dedupe absorbs them)',
      );
    }
  }

  async list(query: DeadLetterQuery): Promise<DeadLetterPage> {
    const { entries, more } = await this.deps.deadLetter.entries({
      limit: query.limit,
      ...(query.cursor !== undefined && { before: query.cursor }),
      match: (r) => matchesFilter(query, r),
    });
    return {
      records: entries.map((e) => this.view(e)),
      nextCursor: more && entries.length > 0 ? entries.at(-1)!.id : null,
    };
  }

  /** Serialised: one replay at a time (see the file comment). */
  replay(request: ReplayRequest): Promise<ReplayAnswer> {
    const run = this.queue.then(() => this.replayNow(request));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async replayNow(request: ReplayRequest): Promise<ReplayAnswer> {
    const selected = await this.select(request);
    const results: ReplayResult[] = [];
    for (const item of selected) {
      results.push('entry' in item ? await this.replayOne(item.entry) : item.missing);
    }
    const count = (o: ReplayResult['outcome']) => results.filter((r) => r.outcome === o).length;
    const answer: ReplayAnswer = {
      results,
      accepted: count('accepted'),
      duplicate: count('duplicate'),
      rejected: count('rejected'),
      notFound: count('not-found'),
    };
    const { results: _r, ...summary } = answer;
    this.log.info(summary, 'dead-letter replay');
    return answer;
  }

  private async select(
    request: ReplayRequest,
  ): Promise<({ entry: DeadLetterEntry } | { missing: ReplayResult })[]> {
    if (request.ids === undefined) {
      const filter: DeadLetterFilter = request;
      const { entries } = await this.deps.deadLetter.entries({
        limit: request.limit ?? DEADLETTER_MAX_LIMIT,
        match: (r) => matchesFilter(filter, r),
      });
      // Oldest first: a device's readings reach the outbox in the order they were refused.
      return entries.reverse().map((entry) => ({ entry }));
    }
    const wanted = new Set(request.ids);
    const found = new Map<string, DeadLetterEntry>();
    // One pass over the files the ids name (each at most an eighth of the cap).
    const files = new Set(request.ids.map((id) => deadLetterIdFile(id) ?? -1));
    const { entries } = await this.deps.deadLetter.entries({ limit: Number.MAX_SAFE_INTEGER, files });
    for (const entry of entries) if (wanted.has(entry.id)) found.set(entry.id, entry);
    return [...wanted].map((id) => {
      const entry = found.get(id);
      if (entry) return { entry };
      const message = 'no such dead-letter record (a wrong id, or the cap deleted its file)';
      return { missing: { id, outcome: 'not-found', readings: 0, code: 'E_NOT_FOUND', message } };
    });
  }

  private async replayOne({ id, record }: DeadLetterEntry): Promise<ReplayResult> {
    const base = { id, device: record.device };
    const earlier = this.marks.get(id);
    if (earlier && earlier.outcome !== 'rejected') {
      return {
        ...base,
        outcome: 'duplicate',
        readings: 0,
        message: `already replayed at ${new Date(earlier.at).toISOString()}`,
      };
    }
    let mark: ReplayMark;
    try {
      mark = await this.send(record);
    } catch (error) {
      // The outbox refused (stopping, or held too long behind the cap): nothing is marked, the
      // operator may try again.
      this.log.warn({ err: error, id }, 'dead-letter replay could not be written');
      const code = (error as { code?: unknown }).code;
      return {
        ...base,
        outcome: 'rejected',
        readings: 0,
        code: typeof code === 'string' ? code : 'E_UNAVAILABLE',
        message: error instanceof Error ? error.message : String(error),
      };
    }
    await this.marks.set(id, mark);
    const { at: _at, ...rest } = mark;
    return { ...base, ...rest };
  }

  private async send(record: DeadLetterRecord): Promise<ReplayMark> {
    const at = this.deps.clock.now();
    if (record.stage === 'sink') {
      const reading = normalizedReadingSchema.safeParse(record.reading);
      if (!reading.success)
        return {
          at,
          outcome: 'rejected',
          readings: 0,
          code: 'E_SCHEMA',
          message: 'the record holds no normalized reading',
        };
      await this.deps.outbox.append([reading.data]);
      return { at, outcome: 'accepted', readings: 1 };
    }
    if (record.payload === undefined)
      return {
        at,
        outcome: 'rejected',
        readings: 0,
        code: 'E_SCHEMA',
        message: 'the record holds no payload',
      };
    try {
      const outcome = await this.deps.ingest.ingest(record.device, Buffer.from(record.payload, 'base64'), {
        lateWindowWaived: true,
        replay: true,
      });
      if (outcome.accepted > 0) {
        const first = outcome.rejects[0];
        return {
          at,
          outcome: 'accepted',
          readings: outcome.accepted,
          ...(first && {
            code: first.code,
            message: `${outcome.rejects.length} rejected again: ${first.message}`,
          }),
        };
      }
      const first = outcome.rejects[0];
      if (first) return { at, outcome: 'rejected', readings: 0, code: first.code, message: first.message };
      return { at, outcome: 'duplicate', readings: 0, message: 'the gateway has these readings already' };
    } catch (error) {
      if (!(error instanceof UnknownDeviceError)) throw error;
      return { at, outcome: 'rejected', readings: 0, code: error.code, message: error.message };
    }
  }

  private view({ id, record }: DeadLetterEntry): DeadLetterView {
    return {
      id,
      device: record.device,
      topic: record.topic,
      stage: record.stage,
      reject: record.reject,
      ...(record.payload !== undefined && { payload: record.payload }),
      ...(record.reading !== undefined && { reading: record.reading }),
      replay: this.marks.get(id) ?? null,
    };
  }
}
