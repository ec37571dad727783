/**
 * The drainer: moves durable readings from the outbox to the sink in batches and commits the
 * cursor only after the sink confirmed (DESIGN "InfluxDB down is normal"). Resends are harmless
 * (a point's identity is measurement + tags + timestamp), so every doubt resolves to "write
 * again", never to "skip". A batch is finished in place, retries included, before the next one
 * starts: an outage in the middle of a bisection does not dead-letter a line twice. A line the
 * sink refused is acknowledged data whose last copy is its dead-letter record: the batch is not
 * committed until that record is durable (a full or unwritable log is retried with backoff).
 */
import type { Settings } from '../config/settings.js';
import {
  DEADLETTER_VERSION,
  topics,
  type DeadLetterRecord,
  type NormalizedReading,
} from '../contract/index.js';
import { toLineProtocol } from './line-protocol.js';
import { LogBudget } from './log-budget.js';
import type { Logger } from './logger.js';
import {
  SinkError,
  type Clock,
  type DeadLetterLog,
  type Outbox,
  type Sink,
  type SinkFailureKind,
} from './types.js';

export type DrainerState = 'idle' | 'writing' | 'backoff' | 'misconfigured' | 'stopped';

export interface DrainerStats {
  state: DrainerState;
  lastError?: string;
  lastWriteAt?: number;
  /** Lines the sink accepted. */
  written: number;
  deadLettered: number;
  /** Failed writes that were retried (unavailable, misconfigured). */
  retries: number;
  /** now − receivedAt of the oldest uncommitted reading; 0 when nothing waits. */
  lagMs: number;
  /** Lines per write now (halved after a 413). */
  batchLines: number;
  /**
   * A reading the sink refused could not be dead-lettered (log full or unwritable): the drainer
   * retries it and commits nothing past it meanwhile.
   */
  deadLetterBlocked: boolean;
}

export interface DrainerDeps {
  outbox: Outbox;
  sink: Sink;
  deadLetter: DeadLetterLog;
  clock: Clock;
  logger: Logger;
  settings: Pick<Settings, 'drainBatchLines' | 'drainBackoffBaseMs' | 'drainBackoffMaxMs'>;
  /** Jitter source in [0, 1); injected so tests are reproducible. */
  random?: () => number;
  onState?: (state: DrainerState, lastError: string | undefined) => void;
  /** Fallback wake-up while idle, in case a durable notification is missed. Default 1 s. */
  idlePollMs?: number;
  /** How long stop() waits for an in-flight write. Default 5 s. */
  stopTimeoutMs?: number;
  /** Every sink write, timed, with its failure kind if it failed (for /metrics). */
  onWrite?: (write: SinkWriteObservation) => void;
}

export interface SinkWriteObservation {
  seconds: number;
  lines: number;
  /** Absent when the write succeeded. */
  failure?: SinkFailureKind;
}

interface FlushWaiter {
  check(): void;
  finish(drained: boolean): void;
  /** Shutdown: give up as soon as the sink stops answering (backoff, misconfigured). */
  whileAnswering: boolean;
}

const NOT_ANSWERING: ReadonlySet<DrainerState> = new Set(['backoff', 'misconfigured']);
/** The longest delay setTimeout honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Drainer {
  private readonly log: Logger;
  private readonly rejectLogBudget: LogBudget;
  private readonly random: () => number;
  private state: DrainerState = 'stopped';
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private batchLines: number;
  private attempt = 0;
  private written = 0;
  private deadLettered = 0;
  private retries = 0;
  private lastError: string | undefined;
  private lastWriteAt: number | undefined;
  private deadLetterBlocked = false;
  private durableSinceRead = false;
  private sleeper: { timer: NodeJS.Timeout; wake: () => void; idle: boolean } | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly flushWaiters = new Set<FlushWaiter>();
  /** Aborts a write still out when stop() gives up on it, so no request outlives the drainer. */
  private cancel = new AbortController();

  constructor(private readonly deps: DrainerDeps) {
    this.log = deps.logger.child({ module: 'drainer', sink: deps.sink.description });
    this.rejectLogBudget = new LogBudget(deps.clock, 60_000);
    this.random = deps.random ?? Math.random;
    this.batchLines = deps.settings.drainBatchLines;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.cancel = new AbortController();
    this.unsubscribe = this.deps.outbox.onDurable(() => {
      this.durableSinceRead = true;
      if (this.sleeper?.idle === true) this.sleeper.wake();
    });
    this.setState('idle');
    this.loop = this.run();
  }

  /** Stops the loop; an in-flight write is awaited up to stopTimeoutMs. Leaves no timer behind. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.sleeper?.wake();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>(
      (resolve) => (timer = setTimeout(resolve, this.deps.stopTimeoutMs ?? 5000)),
    );
    await Promise.race([this.loop, bound]);
    clearTimeout(timer);
    // The batch stays uncommitted and is resent after the next start (InfluxDB overwrites it).
    this.cancel.abort();
    this.setState('stopped');
    for (const waiter of [...this.flushWaiters]) waiter.finish(this.backlogEmpty());
  }

  /**
   * True once the backlog reached zero within `timeoutMs`. With `whileAnswering` (shutdown: DESIGN
   * flushes only while the sink answers) it is false at once when the sink is, or goes, down.
   */
  flush(timeoutMs: number, options: { whileAnswering?: boolean } = {}): Promise<boolean> {
    const whileAnswering = options.whileAnswering === true;
    if (this.backlogEmpty()) return Promise.resolve(true);
    if (!this.running || (whileAnswering && NOT_ANSWERING.has(this.state))) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: FlushWaiter = {
        whileAnswering,
        check: () => {
          if (this.backlogEmpty()) waiter.finish(true);
        },
        finish: (drained) => {
          clearTimeout(timer);
          this.flushWaiters.delete(waiter);
          resolve(drained);
        },
      };
      const timer = setTimeout(() => waiter.finish(false), timeoutMs);
      this.flushWaiters.add(waiter);
    });
  }

  stats(): DrainerStats {
    const oldest = this.deps.outbox.stats().oldestReceivedAt;
    return {
      state: this.state,
      ...(this.lastError !== undefined && { lastError: this.lastError }),
      ...(this.lastWriteAt !== undefined && { lastWriteAt: this.lastWriteAt }),
      written: this.written,
      deadLettered: this.deadLettered,
      retries: this.retries,
      lagMs: oldest === undefined ? 0 : Math.max(0, this.deps.clock.now() - oldest),
      batchLines: this.batchLines,
      deadLetterBlocked: this.deadLetterBlocked,
    };
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.step();
      } catch (error) {
        // The outbox could not be read or the cursor not written: retry, nothing is lost.
        if (!this.running) break;
        this.lastError = error instanceof Error ? error.message : String(error);
        this.log.error({ err: error }, 'outbox read or commit failed; retrying');
        this.setState('backoff');
        await this.sleep(this.backoffDelay(undefined), false);
      }
    }
  }

  private async step(): Promise<void> {
    const { outbox } = this.deps;
    this.durableSinceRead = false;
    const batch = await outbox.read(outbox.cursor, this.batchLines);
    if (batch.records.length === 0) {
      // Damaged lines or a drained segment end: move the cursor past them.
      if (batch.to.segment !== batch.from.segment || batch.to.offset !== batch.from.offset) {
        await outbox.commit(batch.to);
        return;
      }
      this.setState('idle');
      this.notifyFlush();
      if (!this.durableSinceRead) await this.sleep(this.deps.idlePollMs ?? 1000, true);
      return;
    }
    this.setState('writing');
    const lines: string[] = [];
    const readings: NormalizedReading[] = [];
    for (const reading of batch.records) {
      let line: string;
      try {
        line = toLineProtocol(reading);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (!(await this.deadLetter(reading, message))) return; // stopped: not committed
        continue;
      }
      lines.push(line);
      readings.push(reading);
    }
    if (!(await this.writeRange(lines, readings, 0, lines.length))) return; // stopped mid-batch
    await outbox.commit(batch.to);
    this.notifyFlush();
  }

  /**
   * Writes lines[lo, hi) until the sink took them or they are dead-lettered. False when stopped
   * before that: the batch is then not committed and is written again after the next start.
   */
  private async writeRange(
    lines: string[],
    readings: NormalizedReading[],
    lo: number,
    hi: number,
  ): Promise<boolean> {
    if (lo >= hi) return true;
    while (this.running) {
      const startedAt = performance.now();
      try {
        await this.deps.sink.write(
          lo === 0 && hi === lines.length ? lines : lines.slice(lo, hi),
          this.cancel.signal,
        );
        this.deps.onWrite?.({ seconds: (performance.now() - startedAt) / 1000, lines: hi - lo });
        this.written += hi - lo;
        this.lastWriteAt = this.deps.clock.now();
        this.attempt = 0;
        this.setState('writing');
        return true;
      } catch (caught) {
        const error =
          caught instanceof SinkError
            ? caught
            : new SinkError('unavailable', caught instanceof Error ? caught.message : String(caught));
        this.deps.onWrite?.({
          seconds: (performance.now() - startedAt) / 1000,
          lines: hi - lo,
          failure: error.kind,
        });
        if (error.kind === 'rejected' || error.kind === 'too-large') {
          if (error.kind === 'too-large')
            this.batchLines = Math.max(1, Math.min(this.batchLines, (hi - lo) >> 1));
          if (hi - lo === 1) return await this.deadLetter(readings[lo]!, error.message);
          // Bisect: InfluxDB 1.x refuses a whole batch for one bad line; halves isolate it.
          const mid = lo + ((hi - lo) >> 1);
          if (!(await this.writeRange(lines, readings, lo, mid))) return false;
          return await this.writeRange(lines, readings, mid, hi);
        }
        this.retries++;
        this.lastError = error.message;
        if (error.kind === 'config') {
          // A wrong URL, token or database: nothing is dropped; retry slowly until it is fixed.
          this.setState('misconfigured');
          this.log.error({ err: error, status: error.status }, 'sink misconfigured; retrying slowly');
          await this.sleep(this.deps.settings.drainBackoffMaxMs, false);
        } else {
          const delayMs = this.backoffDelay(error.retryAfterMs);
          this.setState('backoff');
          this.log.warn(
            { err: error.message, status: error.status, delayMs },
            'sink unavailable; backing off',
          );
          await this.sleep(delayMs, false);
        }
      }
    }
    return false;
  }

  /**
   * Records a reading the sink refused. It was acknowledged, and once the batch is committed the
   * record is its only copy: while the log refuses it (full, unwritable) the drainer retries with
   * backoff and commits nothing. False when stopped before it was recorded.
   */
  private async deadLetter(reading: NormalizedReading, message: string): Promise<boolean> {
    const record: DeadLetterRecord = {
      v: DEADLETTER_VERSION,
      reject: {
        code: 'E_SINK_REJECTED',
        message,
        ts: reading.ts,
        receivedAt: reading.receivedAt,
        ...(reading.seq !== undefined && { seq: reading.seq }),
      },
      device: reading.deviceId,
      topic: topics.readings(reading.deviceId),
      stage: 'sink',
      reading,
    };
    // append never rejects; a refused record comes back as `dropped` (and the log says why).
    while ((await this.deps.deadLetter.append([record])).written === 0) {
      if (!this.running) return false;
      const delayMs = this.backoffDelay(undefined);
      this.deadLetterBlocked = true;
      this.lastError = 'the dead-letter log is full or cannot be written (VALLEY_DEADLETTER_MAX)';
      this.log.error(
        { deviceId: reading.deviceId, ts: reading.ts, delayMs },
        'a reading InfluxDB refused cannot be dead-lettered (log full or unwritable): nothing is ' +
          'committed past it; retrying',
      );
      await this.sleep(delayMs, false);
      if (!this.running) return false;
    }
    if (this.deadLetterBlocked) {
      this.deadLetterBlocked = false;
      this.attempt = 0;
      this.log.info({ deviceId: reading.deviceId, ts: reading.ts }, 'dead-letter log writable again');
    }
    this.deadLettered++;
    // A field-type conflict refuses every reading of a device: one line per device per minute.
    const suppressed = this.rejectLogBudget.take(reading.deviceId);
    if (suppressed !== undefined)
      this.log.warn(
        {
          deviceId: reading.deviceId,
          code: 'E_SINK_REJECTED',
          ts: reading.ts,
          message,
          linesLeftOut: suppressed,
        },
        'sink rejected a reading: dead-lettered',
      );
    return true;
  }

  /**
   * Exponential with full jitter between base and the current ceiling; Retry-After wins if longer,
   * up to drainBackoffMaxMs: a sink asking for hours (or more than a timer can wait) is asked
   * again at the longest backoff, which costs one refused write.
   */
  private backoffDelay(retryAfterMs: number | undefined): number {
    const { drainBackoffBaseMs: base, drainBackoffMaxMs: max } = this.deps.settings;
    const ceiling = Math.min(max, base * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    const jittered = Math.round(base + this.random() * Math.max(0, ceiling - base));
    return Math.max(jittered, Math.min(retryAfterMs ?? 0, max));
  }

  private sleep(ms: number, idle: boolean): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleeper = undefined;
        resolve();
      };
      // Node fires a timer above 2^31 − 1 ms after 1 ms: never let a setting turn a wait into a spin.
      const timer = setTimeout(wake, Math.min(Math.max(0, ms), MAX_TIMER_MS));
      this.sleeper = { timer, wake, idle };
    });
  }

  private backlogEmpty(): boolean {
    return this.deps.outbox.stats().backlogRecords === 0;
  }

  private notifyFlush(): void {
    for (const waiter of [...this.flushWaiters]) waiter.check();
  }

  private setState(state: DrainerState): void {
    if (state === this.state) return;
    this.state = state;
    if (NOT_ANSWERING.has(state))
      for (const waiter of [...this.flushWaiters]) if (waiter.whileAnswering) waiter.finish(false);
    try {
      this.deps.onState?.(state, this.lastError);
    } catch (error) {
      this.log.error({ err: error }, 'onState listener threw');
    }
  }
}
