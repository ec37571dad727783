/**
 * Failed logins are answered after a delay that grows per (address, client id) and is capped, so
 * a password guesser is slowed while the real device, which knows its secret, is never locked
 * out: a success answers at once and resets its key. Keys expire after a quiet period and the
 * table is bounded, so a scan over many client ids cannot grow memory.
 */
import type { Clock } from '../gateway/types.js';

interface Entry {
  failures: number;
  lastAt: number;
}

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly baseDelayMs: number,
    private readonly maxDelayMs: number,
    private readonly forgetAfterMs = 15 * 60_000,
    private readonly maxEntries = 10_000,
  ) {}

  /** Records a failure and returns how long to wait before answering it. */
  failure(address: string, clientId: string): number {
    const key = `${address}|${clientId}`;
    const now = this.clock.now();
    const entry = this.entries.get(key);
    const failures = entry && now - entry.lastAt < this.forgetAfterMs ? entry.failures + 1 : 1;
    this.entries.delete(key);
    this.entries.set(key, { failures, lastAt: now });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(failures - 1, 30));
  }

  success(address: string, clientId: string): void {
    this.entries.delete(`${address}|${clientId}`);
  }

  failuresOf(address: string, clientId: string): number {
    return this.entries.get(`${address}|${clientId}`)?.failures ?? 0;
  }
}
