/**
 * At most one log line per key (a device id) per interval. A device that misbehaves in a loop must
 * not turn the gateway's log into a copy of its traffic (and fill the disk the outbox needs), yet
 * the first occurrence is logged at once and the next line says how many were left out.
 */
import type { Clock } from './types.js';

interface Entry {
  loggedAt: number;
  suppressed: number;
}

export class LogBudget {
  private readonly entries = new Map<string, Entry>();
  private sweptAt: number;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {
    this.sweptAt = clock.now();
  }

  /**
   * `undefined`: do not log now (counted). A number: log now; it is how many lines for this key
   * were left out since the previous one.
   */
  take(key: string): number | undefined {
    const now = this.clock.now();
    this.sweep(now);
    const entry = this.entries.get(key);
    if (entry && now - entry.loggedAt < this.intervalMs) {
      entry.suppressed++;
      return undefined;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.entries.set(key, { loggedAt: now, suppressed: 0 });
    return suppressed;
  }

  /** Keys past their interval with nothing left out are forgotten: memory follows the noisy ones. */
  private sweep(now: number): void {
    if (now - this.sweptAt < this.intervalMs) return;
    this.sweptAt = now;
    for (const [key, entry] of this.entries)
      if (entry.suppressed === 0 && now - entry.loggedAt >= this.intervalMs) this.entries.delete(key);
  }
}
