import { describe, expect, it } from '@jest/globals';
import { RecentReadings } from './dedupe.js';

describe('RecentReadings', () => {
  it('remembers identities per device and kind, bounded per device', () => {
    const r = new RecentReadings(2);
    const p = Promise.resolve();
    r.remember('a', 'k', 1, p);
    r.remember('a', 'k', 2, p);
    expect(r.get('a', 'k', 1)).toBe(p);
    expect(r.get('b', 'k', 1)).toBeUndefined();
    expect(r.get('a', 'other', 1)).toBeUndefined();
    r.remember('a', 'k', 3, p);
    expect(r.get('a', 'k', 1)).toBeUndefined();
    expect(r.size).toBe(2);
  });

  it('forgets an identity whose append failed, but not a newer one', () => {
    const r = new RecentReadings(10);
    const failed = Promise.reject(new Error('x'));
    failed.catch(() => {});
    const ok = Promise.resolve();
    r.remember('a', 'k', 1, failed);
    r.forgetIf('a', 'k', 1, failed);
    expect(r.get('a', 'k', 1)).toBeUndefined();
    r.remember('a', 'k', 2, ok);
    r.forgetIf('a', 'k', 2, failed);
    expect(r.get('a', 'k', 2)).toBe(ok);
  });
});
