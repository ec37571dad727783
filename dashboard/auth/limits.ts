/**
 * Two small limits of the login path, which anyone who reaches the server can call:
 * - `ScryptGate`: at most `concurrency` password checks at once and a bounded queue. scrypt takes
 *   ~42 ms of a libuv thread and shares the pool of 4 with the outbox's fsync (DESIGN "Facts
 *   checked"): a flood of logins must not hold back the PUBACKs of the whole valley.
 * - `Delays`: the late answers to failed logins, cancelled at stop so no timer outlives the server.
 */

export class BusyError extends Error {
  readonly code = 'E_BUSY';
}

export class ScryptGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency = 2,
    private readonly maxWaiting = 32,
  ) {}

  /** Runs `work` when a slot is free; rejects with BusyError when the queue is full. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxWaiting) throw new BusyError('too many logins at once');
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, so `running` counts it all along.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

export class Delays {
  private readonly pending = new Map<NodeJS.Timeout, () => void>();

  /** Resolves after `ms`, or at once when `cancelAll` runs first. */
  wait(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(timer);
        resolve();
      }, ms);
      this.pending.set(timer, resolve);
    });
  }

  cancelAll(): void {
    for (const [timer, resolve] of this.pending) {
      clearTimeout(timer);
      resolve();
    }
    this.pending.clear();
  }
}
