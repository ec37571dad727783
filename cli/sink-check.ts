/**
 * The start-up sink check: one ping, logged, never awaited by start(). InfluxDB down is normal
 * (DESIGN): the gateway starts anyway and the outbox keeps the readings; the log line tells the
 * operator at once whether the URL answers and which server version is behind it.
 */
import type { SinkPing } from '../dashboard/status-schema.js';
import type { Logger } from '../gateway/logger.js';
import type { InfluxSink } from '../gateway/sinks/index.js';
import type { Clock, Sink } from '../gateway/types.js';

function canPing(sink: Sink): sink is InfluxSink {
  return typeof (sink as Partial<InfluxSink>).ping === 'function';
}

export class StartupSinkCheck {
  private readonly abort = new AbortController();
  private pending: Promise<void> | undefined;
  private answer: SinkPing | undefined;

  constructor(
    private readonly sink: Sink,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /** The ping's outcome, once it came back. */
  get result(): SinkPing | undefined {
    return this.answer;
  }

  start(): void {
    const { sink, logger } = this;
    if (!canPing(sink) || this.pending) return;
    this.pending = sink.ping(this.abort.signal).then(
      (ping) => {
        if (this.abort.signal.aborted) return;
        this.answer = { ...ping, at: this.clock.now() };
        if (ping.ok) {
          logger.info(
            { sink: sink.description, version: ping.version ?? 'unknown' },
            `InfluxDB answered (version ${ping.version ?? 'unknown'}); credentials and database are checked by the first write`,
          );
        } else {
          logger.warn(
            { sink: sink.description, err: ping.error },
            'InfluxDB does not answer; readings wait in the outbox and are sent once it does',
          );
        }
      },
      (error: unknown) => logger.warn({ err: error }, 'InfluxDB ping failed'),
    );
  }

  /** Abandons a ping still out (a shutdown right after start must not wait for its timeout). */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.pending;
  }
}
