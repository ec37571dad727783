import { describe, expect, it } from '@jest/globals';
import { readingsToFullWindow, RecentReadings } from './dedupe.js';

describe('RecentReadings', () => {
  it('remembers identities per device and kind, bounded per device', () => {
    const r = new RecentReadings(2);
    const p = Promise.resolve();
    r.remember('a', 'k', [1], p);
    r.remember('a', 'k', [2], p);
    expect(r.get('a', 'k', 1)).toBe(p);
    expect(r.get('b', 'k', 1)).toBeUndefined();
    expect(r.get('a', 'other', 1)).toBeUndefined();
    r.remember('a', 'k', [3], p);
    expect(r.get('a', 'k', 1)).toBeUndefined();
    expect(r.size).toBe(2);
  });

  it('forgets an identity whose append failed, but not a newer one', () => {
    const r = new RecentReadings(10);
    const failed = Promise.reject(new Error('x'));
    failed.catch(() => {});
    const ok = Promise.resolve();
    r.remember('a', 'k', [1], failed);
    r.forgetIf('a', 'k', [1], failed);
    expect(r.get('a', 'k', 1)).toBeUndefined();
    r.remember('a', 'k', [2], ok);
    r.forgetIf('a', 'k', [2], failed);
    expect(r.get('a', 'k', 2)).toBe(ok);
  });
});

describe('RecentReadings, compact window', () => {
  it('answers a settled reading with a resolved promise, an in-flight one with its own', async () => {
    const r = new RecentReadings(8);
    let finish!: () => void;
    const inFlight = new Promise<void>((resolve) => (finish = resolve));
    r.remember('a', 'k', [1_764_133_200_000], inFlight);
    expect(r.get('a', 'k', 1_764_133_200_000)).toBe(inFlight);
    finish();
    await inFlight;
    await Promise.resolve();
    const later = r.get('a', 'k', 1_764_133_200_000);
    expect(later).toBeDefined();
    expect(later).not.toBe(inFlight);
    await expect(later).resolves.toBeUndefined();
  });

  it('starts a clean window when the device changes kind', () => {
    const r = new RecentReadings(8);
    r.remember('a', 'k', [1], Promise.resolve());
    r.remember('a', 'other', [2], Promise.resolve());
    expect(r.get('a', 'k', 1)).toBeUndefined();
    expect(r.get('a', 'other', 2)).toBeDefined();
    expect(r.size).toBe(1);
  });

  it('agrees with a plain FIFO model through growth, eviction, repeats and forgets', () => {
    // A seeded generator keeps the sequence reproducible; timestamps collide often on purpose.
    let seed = 42;
    const random = (): number => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed / 4_294_967_296;
    };
    const window = 100;
    const r = new RecentReadings(window);
    // The window is the last `window` remembered readings: a forgotten one (failed append) keeps
    // its place in the FIFO as a hole until it ages out.
    const model: (number | null)[] = []; // oldest first
    const ok = Promise.resolve();
    const drop = (ts: number): void => {
      const at = model.indexOf(ts);
      if (at >= 0) model[at] = null;
    };
    const push = (ts: number): void => {
      drop(ts);
      model.push(ts);
      if (model.length > window) model.shift();
    };
    for (let step = 0; step < 20_000; step++) {
      const ts = 1_764_133_200_000 + Math.floor(random() * 300) * 1000;
      const action = random();
      if (action < 0.7) {
        r.remember('d', 'k', [ts], ok);
        push(ts);
      } else if (action < 0.8) {
        const failed = Promise.reject(new Error('append failed'));
        failed.catch(() => {});
        r.remember('d', 'k', [ts], failed);
        push(ts);
        r.forgetIf('d', 'k', [ts], failed);
        drop(ts);
      }
      const probe = 1_764_133_200_000 + Math.floor(random() * 300) * 1000;
      expect(r.get('d', 'k', probe) !== undefined).toBe(model.includes(probe));
    }
    expect(r.size).toBe(model.filter((ts) => ts !== null).length);
  });
});

describe('readingsToFullWindow', () => {
  it('is the reading at which a window really reaches its full size', () => {
    for (const max of [1, 16, 17, 1000, 4096]) {
      const recent = new RecentReadings(max);
      let reachedAt = 0;
      for (let n = 1; reachedAt === 0; n++) {
        recent.remember('d', 'water_pressure', [1_700_000_000_000 + n], Promise.resolve());
        if (recent.capacity('d') === max) reachedAt = n;
      }
      expect({ max, reachedAt }).toEqual({ max, reachedAt: readingsToFullWindow(max) });
    }
  });

  it('is the reading at which the doubling ring reaches its size', () => {
    expect(readingsToFullWindow(4096)).toBe(2049); // 16, 32, … 2048 full → 4096
    expect(readingsToFullWindow(1000)).toBe(513); // … 512 full → 1000
    expect(readingsToFullWindow(17)).toBe(17); // 16 full → 17
    expect(readingsToFullWindow(16)).toBe(1);
    expect(readingsToFullWindow(1)).toBe(1);
  });
});
