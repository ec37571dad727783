/**
 * The outbox cap with a sink configured (DESIGN "Never drop silently"): once the unsent backlog
 * reaches the cap, new appends are held, neither written nor failed, until the drainer's commits
 * bring the backlog back under the resume mark. A held append holds the device's PUBACK, and
 * Aedes reads nothing more from a socket while a packet of its last read is unanswered, so
 * devices are slowed to what the sink takes and keep their readings meanwhile; nothing unsent is
 * ever evicted.
 *
 * A wrapper, not a feature of FileOutbox: the cap is a policy about the sink, the outbox is
 * storage (in local-only mode the same storage is bounded by retention instead). Ingest appends
 * and the drainer commits through it, so it sees both sides without polling.
 */
import { WriterStoppedError } from './group-commit.js';
import type { Logger } from './logger.js';
import type { Clock, Outbox, OutboxBatch, OutboxPosition, OutboxStats } from './types.js';

export interface BackpressureDeps {
  outbox: Outbox;
  /** settings.outboxMaxBytes: held from a backlog of this many bytes. */
  capBytes: number;
  clock: Clock;
  logger: Logger;
  /**
   * Appends resume once the backlog is at most this share of the cap. Below 1, so one commit
   * does not release a burst that refills the cap at once and flaps the alert. Default 0.9.
   */
  resumeRatio?: number;
}

export interface BackpressureState {
  holding: boolean;
  /** When the current hold began, epoch ms. */
  since?: number;
  heldAppends: number;
  backlogBytes: number;
  capBytes: number;
}

interface Held {
  readings: Parameters<Outbox['append']>[0];
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class BackpressureOutbox implements Outbox {
  private readonly log: Logger;
  private readonly resumeBytes: number;
  private held: Held[] = [];
  private holdingSince: number | undefined;
  /** Appends held since the hold began (the log line at release says how many waited). */
  private heldInHold = 0;
  private stopped = false;

  constructor(private readonly deps: BackpressureDeps) {
    this.log = deps.logger.child({ module: 'backpressure' });
    this.resumeBytes = Math.floor(deps.capBytes * (deps.resumeRatio ?? 0.9));
  }

  async start(): Promise<void> {
    await this.deps.outbox.start();
    // A backlog recovered at the cap holds from the first append; say so at once.
    if (this.backlogBytes() >= this.deps.capBytes) this.engage();
  }

  /** Held appends are refused (their devices never got a PUBACK and send again), then the outbox stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    const held = this.held;
    this.held = [];
    for (const h of held) h.reject(new WriterStoppedError());
    await this.deps.outbox.stop();
  }

  append(readings: Parameters<Outbox['append']>[0]): Promise<void> {
    if (this.stopped) return Promise.reject(new WriterStoppedError());
    if (this.holdingSince === undefined) {
      // Appends already admitted finish, so the backlog can pass the cap by what was in flight:
      // at most one socket read per connection.
      if (this.backlogBytes() < this.deps.capBytes) return this.deps.outbox.append(readings);
      this.engage();
    }
    this.heldInHold++;
    return new Promise<void>((resolve, reject) => this.held.push({ readings, resolve, reject }));
  }

  read(from: OutboxPosition, maxRecords: number): Promise<OutboxBatch> {
    return this.deps.outbox.read(from, maxRecords);
  }

  get cursor(): OutboxPosition {
    return this.deps.outbox.cursor;
  }

  async commit(to: OutboxPosition): Promise<void> {
    await this.deps.outbox.commit(to);
    if (this.holdingSince !== undefined && this.backlogBytes() <= this.resumeBytes) this.release();
  }

  onDurable(listener: () => void): () => void {
    return this.deps.outbox.onDurable(listener);
  }

  stats(): OutboxStats {
    return {
      ...this.deps.outbox.stats(),
      capBytes: this.deps.capBytes,
      holding: this.holdingSince !== undefined,
      heldAppends: this.held.length,
    };
  }

  state(): BackpressureState {
    return {
      holding: this.holdingSince !== undefined,
      ...(this.holdingSince !== undefined && { since: this.holdingSince }),
      heldAppends: this.held.length,
      backlogBytes: this.backlogBytes(),
      capBytes: this.deps.capBytes,
    };
  }

  private backlogBytes(): number {
    return this.deps.outbox.stats().backlogBytes;
  }

  private engage(): void {
    this.holdingSince = this.deps.clock.now();
    this.heldInHold = 0;
    this.log.warn(
      { backlogBytes: this.backlogBytes(), capBytes: this.deps.capBytes },
      'outbox backlog reached its cap (VALLEY_OUTBOX_MAX): holding PUBACKs until InfluxDB takes the backlog',
    );
  }

  /** FIFO, so each device's readings reach the outbox in the order they were sent. */
  private release(): void {
    const held = this.held;
    const heldForMs = this.deps.clock.now() - (this.holdingSince ?? 0);
    this.held = [];
    this.holdingSince = undefined;
    this.log.info(
      { heldAppends: this.heldInHold, heldForMs, backlogBytes: this.backlogBytes() },
      'outbox backlog under its cap again: held readings are written and acknowledged',
    );
    for (const h of held) this.deps.outbox.append(h.readings).then(h.resolve, h.reject);
  }
}
