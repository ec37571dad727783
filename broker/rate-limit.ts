/**
 * Per-device rate limit (DESIGN: 20 messages/s with a burst of 100; an array counts once): a
 * token bucket per device id. Over the limit, a message first waits for its token (at most
 * MAX_SHAPING_DELAY_MS): a device that waits for its PUBACKs is slowed down to the rate and loses
 * nothing. Only beyond that (a device that does not wait for its acks) is a message refused, and a
 * notice budget turns a refused flood into at most one E_RATE_LIMIT message per device per
 * interval instead of one per message.
 */
import type { Clock } from '../gateway/types.js';

export interface RateLimitSettings {
  /** Messages per second per device; 0 turns the limit off. */
  rateLimitPerSecond: number;
  /** Messages a device may send at once after a quiet spell (the bucket's size). */
  rateBurst: number;
}

/**
 * A token bucket: `burst` tokens, refilled continuously at `ratePerSecond`. It may go into debt
 * (tokens reserved ahead of time for messages that wait), never more than `maxWaitMs` worth.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  /**
   * Reserves one token: 0 when it is there now, else how many ms until it will be (the caller
   * waits that long), or undefined when that is longer than `maxWaitMs` (refused; nothing taken).
   */
  reserve(now: number, maxWaitMs = 0): number | undefined {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    const waitMs = ((1 - this.tokens) * 1000) / this.ratePerSecond;
    if (waitMs > maxWaitMs) return undefined;
    this.tokens -= 1;
    return Math.ceil(waitMs);
  }

  /** Whether the bucket is full again, i.e. forgetting it changes nothing. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  private refill(now: number): void {
    // A clock that steps back (NTP) must not drain the bucket or mint tokens.
    const elapsedMs = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.ratePerSecond) / 1000);
    this.updatedAt = Math.max(this.updatedAt, now);
  }
}

export type RateDecision =
  /** `delayMs`: how long the message waits for its token before it goes on (0: at once). */
  | { admitted: true; delayMs: number }
  /** `notice`: tell the device now, with how many messages were refused since the last notice. */
  | { admitted: false; notice?: { dropped: number } };

interface DeviceState {
  bucket: TokenBucket;
  droppedSinceNotice: number;
  lastNoticeAt: number;
}

/** How often a refusing device hears about it (and the log says so). */
export const RATE_NOTICE_INTERVAL_MS = 1000;
/**
 * The longest a message waits for its token. Long enough to pace a device that waits for each
 * PUBACK; short enough that few messages are held per device (about one second's worth).
 */
export const MAX_SHAPING_DELAY_MS = 1000;

export class DeviceRateLimiter {
  private readonly devices = new Map<string, DeviceState>();
  private sweptAt: number;

  constructor(
    private readonly clock: Clock,
    private readonly settings: RateLimitSettings,
    private readonly noticeIntervalMs = RATE_NOTICE_INTERVAL_MS,
    private readonly maxDelayMs = MAX_SHAPING_DELAY_MS,
  ) {
    this.sweptAt = clock.now();
  }

  get enabled(): boolean {
    return this.settings.rateLimitPerSecond > 0;
  }

  /** Devices with a bucket right now (bounded by the authenticated devices, i.e. the registry). */
  get size(): number {
    return this.devices.size;
  }

  admit(deviceId: string): RateDecision {
    if (!this.enabled) return { admitted: true, delayMs: 0 };
    const now = this.clock.now();
    this.sweep(now);
    let state = this.devices.get(deviceId);
    if (!state) {
      state = {
        bucket: new TokenBucket(this.settings.rateLimitPerSecond, this.settings.rateBurst, now),
        droppedSinceNotice: 0,
        lastNoticeAt: Number.NEGATIVE_INFINITY,
      };
      this.devices.set(deviceId, state);
    }
    const delayMs = state.bucket.reserve(now, this.maxDelayMs);
    if (delayMs !== undefined) return { admitted: true, delayMs };
    state.droppedSinceNotice++;
    if (now - state.lastNoticeAt < this.noticeIntervalMs) return { admitted: false };
    const dropped = state.droppedSinceNotice;
    state.droppedSinceNotice = 0;
    state.lastNoticeAt = now;
    return { admitted: false, notice: { dropped } };
  }

  /** A revoked, removed or moved device: its bucket goes with it. */
  forget(deviceId: string): void {
    this.devices.delete(deviceId);
  }

  /**
   * Once a minute, drop buckets that are full again and owe no notice: a full bucket behaves as a
   * new one, so memory follows the devices publishing right now, not every device ever seen.
   */
  private sweep(now: number): void {
    if (now - this.sweptAt < 60_000) return;
    this.sweptAt = now;
    for (const [id, state] of this.devices) {
      if (state.droppedSinceNotice === 0 && state.bucket.isFull(now)) this.devices.delete(id);
    }
  }
}
