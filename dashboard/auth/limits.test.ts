import { describe, expect, it } from '@jest/globals';
import { BusyError, Delays, ScryptGate } from './limits.js';

describe('ScryptGate', () => {
  it('runs at most `concurrency` at once, queues up to the limit, refuses beyond', async () => {
    const gate = new ScryptGate(2, 1);
    let running = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const work = () =>
      gate.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => releases.push(r));
        running--;
        return 'done';
      });
    const a = work();
    const b = work();
    const c = work(); // queued
    await expect(work()).rejects.toBeInstanceOf(BusyError);
    await Promise.resolve();
    expect(releases).toHaveLength(2);
    releases.shift()!();
    await a;
    await new Promise((r) => setImmediate(r));
    expect(releases).toHaveLength(2); // c took a's slot
    releases.forEach((r) => r());
    await expect(Promise.all([b, c])).resolves.toEqual(['done', 'done']);
    expect(peak).toBe(2);
  });
});

describe('Delays', () => {
  it('cancelAll resolves every pending wait at once and leaves no timer', async () => {
    const delays = new Delays();
    const started = Date.now();
    const waits = [delays.wait(60_000), delays.wait(60_000)];
    delays.cancelAll();
    await Promise.all(waits);
    expect(Date.now() - started).toBeLessThan(5000);
    await delays.wait(0);
  });
});
