import { describe, expect, it } from '@jest/globals';
import { DeviceRateLimiter, TokenBucket } from './rate-limit.js';

function manualClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function admittedOf(limiter: DeviceRateLimiter, id: string, n: number): number {
  let admitted = 0;
  for (let i = 0; i < n; i++) if (limiter.admit(id).admitted) admitted++;
  return admitted;
}

describe('TokenBucket', () => {
  it('lets a burst through, then refills at the rate', () => {
    const bucket = new TokenBucket(20, 100, 0);
    let taken = 0;
    while (bucket.take(0)) taken++;
    expect(taken).toBe(100);
    expect(bucket.take(49)).toBe(false); // 0.98 of a token
    expect(bucket.take(50)).toBe(true); // one token after 50 ms at 20/s
    expect(bucket.take(50)).toBe(false);
  });

  it('never holds more than the burst, however long it was idle', () => {
    const bucket = new TokenBucket(20, 5, 0);
    let taken = 0;
    while (bucket.take(3_600_000)) taken++;
    expect(taken).toBe(5);
  });

  it('neither drains nor mints tokens when the clock steps back', () => {
    const bucket = new TokenBucket(10, 2, 10_000);
    expect(bucket.take(10_000)).toBe(true);
    expect(bucket.take(10_000)).toBe(true);
    expect(bucket.take(5_000)).toBe(false);
    // 100 ms after the latest time seen, not after the step back.
    expect(bucket.take(10_100)).toBe(true);
  });
});

describe('DeviceRateLimiter', () => {
  it('limits each device on its own bucket', () => {
    const clock = manualClock();
    const limiter = new DeviceRateLimiter(clock, { rateLimitPerSecond: 20, rateBurst: 100 });
    expect(admittedOf(limiter, 'loop', 1000)).toBe(100);
    expect(admittedOf(limiter, 'calm', 50)).toBe(50);
    clock.advance(1000);
    expect(admittedOf(limiter, 'loop', 1000)).toBe(20);
  });

  it('gives at most one notice per interval, carrying the refusals since the previous one', () => {
    const clock = manualClock();
    const limiter = new DeviceRateLimiter(clock, { rateLimitPerSecond: 1, rateBurst: 1 }, 1000);
    expect(limiter.admit('d').admitted).toBe(true);
    const first = limiter.admit('d');
    expect(first).toEqual({ admitted: false, notice: { dropped: 1 } });
    for (let i = 0; i < 10; i++) expect(limiter.admit('d')).toEqual({ admitted: false });
    clock.advance(999);
    expect(limiter.admit('d')).toEqual({ admitted: false }); // 0.999 tokens, still inside the interval
    clock.advance(1);
    expect(limiter.admit('d')).toEqual({ admitted: true });
    expect(limiter.admit('d')).toEqual({ admitted: false, notice: { dropped: 12 } });
  });

  it('admits everything and keeps no state when the limit is 0', () => {
    const limiter = new DeviceRateLimiter(manualClock(), { rateLimitPerSecond: 0, rateBurst: 100 });
    expect(admittedOf(limiter, 'd', 10_000)).toBe(10_000);
    expect(limiter.size).toBe(0);
  });

  it('frees the bucket of a forgotten device, and idle full buckets on its own', () => {
    const clock = manualClock();
    const limiter = new DeviceRateLimiter(clock, { rateLimitPerSecond: 10, rateBurst: 10 });
    admittedOf(limiter, 'revoked', 100);
    admittedOf(limiter, 'idle', 1);
    expect(limiter.size).toBe(2);
    limiter.forget('revoked');
    expect(limiter.size).toBe(1);
    // A forgotten device starts again with a full bucket.
    expect(admittedOf(limiter, 'revoked', 100)).toBe(10);
    clock.advance(61_000);
    limiter.admit('other');
    // 'revoked' owes a notice for its refusals since its last one, so it stays; 'idle' is full again.
    expect(limiter.size).toBe(2);
  });
});
