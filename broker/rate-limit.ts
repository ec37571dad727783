/**
 * Per-device rate limit (DESIGN: 20 messages/s with a burst of 100; an array counts once): a
 * token bucket per device id, and a notice budget so a refused flood turns into at most one
 * E_RATE_LIMIT message per device per interval instead of one per message.
 */
import type { Clock } from '../gateway/types.js';

export interface RateLimitSettings {
  /** Messages per second per device; 0 turns the limit off. */
  rateLimitPerSecond: number;
  /** Messages a device may send at once after a quiet spell (the bucket's size). */
  rateBurst: number;
}

/** A classic token bucket: `burst` tokens, refilled continuously at `ratePerSecond`. */
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

  /** Takes one token if there is one. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
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
  | { admitted: true }
  /** `notice`: tell the device now, with how many messages were refused since the last notice. */
  | { admitted: false; notice?: { dropped: number } };

interface DeviceState {
  bucket: TokenBucket;
  droppedSinceNotice: number;
  lastNoticeAt: number;
}

/** How often a refusing device hears about it (and the log says so). */
export const RATE_NOTICE_INTERVAL_MS = 1000;

export class DeviceRateLimiter {
  private readonly devices = new Map<string, DeviceState>();
  private sweptAt: number;

  constructor(
    private readonly clock: Clock,
    private readonly settings: RateLimitSettings,
    private readonly noticeIntervalMs = RATE_NOTICE_INTERVAL_MS,
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
    if (!this.enabled) return { admitted: true };
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
    if (state.bucket.take(now)) return { admitted: true };
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
