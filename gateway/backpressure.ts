/**
 * The outbox cap with a sink configured (DESIGN "Never drop silently"): once the unsent backlog
 * reaches the cap, new appends are held, neither written nor failed, until the drainer's commits
 * bring the backlog back under the resume mark. A held append holds the device's PUBACK, and
 * Aedes reads nothing more from a socket while a packet of its last read is unanswered, so
 * devices are slowed to what the sink takes and keep their readings meanwhile; nothing unsent is
 * ever evicted.
 *
 * A held append belongs to a connection that may end meanwhile (the broker's keepalive closes a
 * device whose link went silent, a reconnect takes the client id over), and the device then sends
 * the same readings again on its next connection. So a held append is dropped as soon as its
 * `signal` aborts (the broker aborts it when the connection closes), and the number and size of
 * held appends are capped: beyond the cap a new append is refused at once, and the broker closes
 * that connection without an ack. Either way the device never had a PUBACK and sends again;
 * nothing acknowledged is lost.
 *
 * A wrapper, not a feature of FileOutbox: the cap is a policy about the sink, the outbox is
 * storage (in local-only mode the same storage is bounded by retention instead). Ingest appends
 * and the drainer commits through it, so it sees both sides without polling.
 */
import { WriterStoppedError } from './group-commit.js';
import type { Logger } from './logger.js';
import type { AppendOptions, Clock, Outbox, OutboxBatch, OutboxPosition, OutboxStats } from './types.js';

/** A held append was dropped because its holder went away (the MQTT connection closed). */
export class HeldAppendAbandonedError extends Error {
  readonly code = 'E_HELD_ABANDONED';
  constructor() {
    super(
      'the connection closed while its readings were held at the outbox cap: not written, not ' +
        'acknowledged (the device sends them again)',
    );
  }
}

/** The held appends are at their cap: a new one is refused at once instead of being held. */
export class HeldAppendsFullError extends Error {
  readonly code = 'E_HELD_FULL';
  constructor(held: number, heldBytes: number, maxHeld: number, maxHeldBytes: number) {
    super(
      `outbox at its cap (VALLEY_OUTBOX_MAX) and ${held} appends (${heldBytes} bytes) already held, ` +
        `the most allowed (VALLEY_HELD_MAX = ${maxHeld}, VALLEY_HELD_SIZE = ${maxHeldBytes} bytes): ` +
        'refused without an ack (the device sends it again)',
    );
  }
}

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
  /** settings.heldAppendsMax: most appends held at once; beyond it they are refused at once. */
  maxHeldAppends: number;
  /** settings.heldBytesMax: most bytes (estimated) held at once; beyond it appends are refused. */
  maxHeldBytes: number;
}

export interface BackpressureState {
  holding: boolean;
  /** When the current hold began, epoch ms. */
  since?: number;
  heldAppends: number;
  heldBytes: number;
  backlogBytes: number;
  capBytes: number;
  /** Since start: held appends dropped because their connection closed. */
  abandonedAppends: number;
  /** Since start: appends refused at once because the held appends were at their cap. */
  refusedAppends: number;
}

interface Held {
  readings: Parameters<Outbox['append']>[0];
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
  /** Removes the abort listener, if any. */
  detach: () => void;
}

export class BackpressureOutbox implements Outbox {
  private readonly log: Logger;
  private readonly resumeBytes: number;
  /** Insertion-ordered (FIFO release) with O(1) removal when a holder goes away. */
  private held = new Set<Held>();
  private heldBytes = 0;
  private holdingSince: number | undefined;
  /** Appends held since the hold began (the log line at release says how many waited). */
  private heldInHold = 0;
  /** Of those, dropped or refused during this hold (logged at release, once). */
  private abandonedInHold = 0;
  private refusedInHold = 0;
  private abandonedTotal = 0;
  private refusedTotal = 0;
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
    for (const h of this.takeHeld()) h.reject(new WriterStoppedError());
    await this.deps.outbox.stop();
  }

  /**
   * Below the cap: straight to the outbox (the signal is not used there). At the cap: held until
   * the backlog is under the resume mark; dropped and rejected if `signal` aborts meanwhile;
   * refused at once when the held appends are at their cap.
   */
  append(readings: Parameters<Outbox['append']>[0], options: AppendOptions = {}): Promise<void> {
    if (this.stopped) return Promise.reject(new WriterStoppedError());
    if (this.holdingSince === undefined) {
      // Appends already admitted finish, so the backlog can pass the cap by what was in flight:
      // at most one socket read per connection.
      if (this.backlogBytes() < this.deps.capBytes) return this.deps.outbox.append(readings);
      this.engage();
    }
    const signal = typeof options.signal === 'function' ? options.signal() : options.signal;
    if (signal?.aborted === true) {
      this.abandonedTotal++;
      this.abandonedInHold++;
      return Promise.reject(new HeldAppendAbandonedError());
    }
    const bytes = estimateBytes(readings);
    const { maxHeldAppends, maxHeldBytes } = this.deps;
    if (this.held.size >= maxHeldAppends || this.heldBytes + bytes > maxHeldBytes) {
      this.refusedTotal++;
      if (this.refusedInHold++ === 0) {
        this.log.warn(
          { heldAppends: this.held.size, heldBytes: this.heldBytes, maxHeldAppends, maxHeldBytes },
          'held appends at their cap (VALLEY_HELD_MAX / VALLEY_HELD_SIZE): further readings are ' +
            'refused without an ack and their connections closed until the backlog shrinks',
        );
      }
      return Promise.reject(
        new HeldAppendsFullError(this.held.size, this.heldBytes, maxHeldAppends, maxHeldBytes),
      );
    }
    this.heldInHold++;
    return new Promise<void>((resolve, reject) => {
      const entry: Held = { readings, bytes, resolve, reject, detach: () => undefined };
      if (signal !== undefined) {
        const onAbort = (): void => {
          // Released meanwhile: the outbox has it, it is written; nothing to abandon.
          if (!this.held.delete(entry)) return;
          this.heldBytes -= entry.bytes;
          this.abandonedTotal++;
          this.abandonedInHold++;
          this.log.debug({ readings: readings.length }, 'held append abandoned: its connection closed');
          reject(new HeldAppendAbandonedError());
        };
        signal.addEventListener('abort', onAbort, { once: true });
        entry.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.held.add(entry);
      this.heldBytes += bytes;
    });
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
      heldAppends: this.held.size,
      heldBytes: this.heldBytes,
    };
  }

  state(): BackpressureState {
    return {
      holding: this.holdingSince !== undefined,
      ...(this.holdingSince !== undefined && { since: this.holdingSince }),
      heldAppends: this.held.size,
      heldBytes: this.heldBytes,
      backlogBytes: this.backlogBytes(),
      capBytes: this.deps.capBytes,
      abandonedAppends: this.abandonedTotal,
      refusedAppends: this.refusedTotal,
    };
  }

  private backlogBytes(): number {
    return this.deps.outbox.stats().backlogBytes;
  }

  private engage(): void {
    this.holdingSince = this.deps.clock.now();
    this.heldInHold = 0;
    this.abandonedInHold = 0;
    this.refusedInHold = 0;
    this.log.warn(
      { backlogBytes: this.backlogBytes(), capBytes: this.deps.capBytes },
      'outbox backlog reached its cap (VALLEY_OUTBOX_MAX): holding PUBACKs until InfluxDB takes the backlog',
    );
  }

  /** FIFO, so each device's readings reach the outbox in the order they were sent. */
  private release(): void {
    const heldForMs = this.deps.clock.now() - (this.holdingSince ?? 0);
    const held = this.takeHeld();
    this.holdingSince = undefined;
    this.log.info(
      {
        heldAppends: this.heldInHold,
        released: held.length,
        abandoned: this.abandonedInHold,
        refused: this.refusedInHold,
        heldForMs,
        backlogBytes: this.backlogBytes(),
      },
      'outbox backlog under its cap again: held readings are written and acknowledged',
    );
    for (const h of held) this.deps.outbox.append(h.readings).then(h.resolve, h.reject);
  }

  /** Empties the held set; from here on an abort of their signals changes nothing. */
  private takeHeld(): Held[] {
    const held = [...this.held];
    this.held = new Set();
    this.heldBytes = 0;
    for (const h of held) h.detach();
    return held;
  }
}

/**
 * What a held append would occupy: the JSON length of its readings, about what it costs in
 * memory as parsed objects and in the outbox once written. Computed only for held appends.
 */
function estimateBytes(readings: Parameters<Outbox['append']>[0]): number {
  let bytes = 0;
  for (const r of readings) bytes += JSON.stringify(r).length + 1;
  return bytes;
}
