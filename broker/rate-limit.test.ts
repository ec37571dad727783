import { describe, expect, it } from '@jest/globals';
import { DeviceRateLimiter, TokenBucket } from './rate-limit.js';

function manualClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** Messages let through at once (no wait) out of `n` sent in the same instant. */
function admittedOf(limiter: DeviceRateLimiter, id: string, n: number): number {
  let admitted = 0;
  for (let i = 0; i < n; i++) {
    const decision = limiter.admit(id);
    if (decision.admitted && decision.delayMs === 0) admitted++;
  }
  return admitted;
}

describe('TokenBucket', () => {
  it('lets a burst through, then refills at the rate', () => {
    const bucket = new TokenBucket(20, 100, 0);
    let taken = 0;
    while (bucket.reserve(0) === 0) taken++;
    expect(taken).toBe(100);
    expect(bucket.reserve(49)).toBeUndefined(); // 0.98 of a token
    expect(bucket.reserve(50)).toBe(0); // one token after 50 ms at 20/s
    expect(bucket.reserve(50)).toBeUndefined();
  });

  it('reserves tokens ahead for a wait up to the limit, and refuses beyond it', () => {
    const bucket = new TokenBucket(10, 1, 0);
    expect(bucket.reserve(0, 250)).toBe(0);
    expect(bucket.reserve(0, 250)).toBe(100); // the next token comes in 100 ms
    expect(bucket.reserve(0, 250)).toBe(200);
    expect(bucket.reserve(0, 250)).toBeUndefined(); // 300 ms is too long: refused, nothing taken
    expect(bucket.reserve(100, 250)).toBe(200); // 100 ms later the queue moved on by one
  });

  it('never holds more than the burst, however long it was idle', () => {
    const bucket = new TokenBucket(20, 5, 0);
    let taken = 0;
    while (bucket.reserve(3_600_000) === 0) taken++;
    expect(taken).toBe(5);
  });

  it('neither drains nor mints tokens when the clock steps back', () => {
    const bucket = new TokenBucket(10, 2, 10_000);
    expect(bucket.reserve(10_000)).toBe(0);
    expect(bucket.reserve(10_000)).toBe(0);
    expect(bucket.reserve(5_000)).toBeUndefined();
    // 100 ms after the latest time seen, not after the step back.
    expect(bucket.reserve(10_100)).toBe(0);
  });
});

describe('DeviceRateLimiter', () => {
  it('paces a device that waits for its acks, refusing nothing', () => {
    const clock = manualClock();
    const limiter = new DeviceRateLimiter(clock, { rateLimitPerSecond: 20, rateBurst: 5 });
    expect(admittedOf(limiter, 'paced', 5)).toBe(5);
    // From now on each message waits 50 ms for its token; the device sends the next after its ack.
    for (let i = 0; i < 100; i++) {
      const decision = limiter.admit('paced');
      expect(decision).toEqual({ admitted: true, delayMs: 50 });
      clock.advance(50);
    }
    // One that does not wait: a second's worth is held, then refused.
    const waits: number[] = [];
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const decision = limiter.admit('paced');
      if (decision.admitted) waits.push(decision.delayMs);
      else refused++;
    }
    expect(waits).toHaveLength(20);
    expect(Math.max(...waits)).toBeLessThanOrEqual(1000);
    expect(refused).toBe(20);
  });

  it('limits each device on its own bucket', () => {
    const clock = manualClock();
    const limiter = new DeviceRateLimiter(clock, { rateLimitPerSecond: 20, rateBurst: 100 }, 1000, 0);
    expect(admittedOf(limiter, 'loop', 1000)).toBe(100);
    expect(admittedOf(limiter, 'calm', 50)).toBe(50);
    clock.advance(1000);
    expect(admittedOf(limiter, 'loop', 1000)).toBe(20);
  });

  it('gives at most one notice per interval, carrying the refusals since the previous one', () => {
    const clock = manualClock();
    const limiter = new DeviceRateLimiter(clock, { rateLimitPerSecond: 1, rateBurst: 1 }, 1000, 0);
    expect(limiter.admit('d').admitted).toBe(true);
    const first = limiter.admit('d');
    expect(first).toEqual({ admitted: false, notice: { dropped: 1 } });
    for (let i = 0; i < 10; i++) expect(limiter.admit('d')).toEqual({ admitted: false });
    clock.advance(999);
    expect(limiter.admit('d')).toEqual({ admitted: false }); // 0.999 tokens, still inside the interval
    clock.advance(1);
    expect(limiter.admit('d')).toEqual({ admitted: true, delayMs: 0 });
    expect(limiter.admit('d')).toEqual({ admitted: false, notice: { dropped: 12 } });
  });

  it('admits everything and keeps no state when the limit is 0', () => {
    const limiter = new DeviceRateLimiter(manualClock(), { rateLimitPerSecond: 0, rateBurst: 100 });
    expect(admittedOf(limiter, 'd', 10_000)).toBe(10_000);
    expect(limiter.size).toBe(0);
  });

  it('frees the bucket of a forgotten device, and idle full buckets on its own', () => {
    const clock = manualClock();
    const limiter = new DeviceRateLimiter(clock, { rateLimitPerSecond: 10, rateBurst: 10 }, 1000, 0);
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
