import { execFile } from 'node:child_process';
import { getEventListeners, setMaxListeners } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { deadline } from './deadline.js';

describe('deadline', () => {
  it('aborts with a TimeoutError when the time is up', async () => {
    const limit = deadline(20);
    await sleep(60);
    expect(limit.signal.aborted).toBe(true);
    expect(limit.timedOut).toBe(true);
    expect((limit.signal.reason as DOMException).name).toBe('TimeoutError');
    limit.done();
  });

  it('aborts with the reason of the cancel signal, without calling it a timeout', () => {
    const cancel = new AbortController();
    const limit = deadline(10_000, cancel.signal);
    const reason = new Error('stopping');
    cancel.abort(reason);
    expect(limit.signal.aborted).toBe(true);
    expect(limit.signal.reason).toBe(reason);
    expect(limit.timedOut).toBe(false);
    limit.done();
    const already = deadline(10_000, cancel.signal);
    expect(already.signal.reason).toBe(reason);
    expect(already.timedOut).toBe(false);
    expect(getEventListeners(cancel.signal, 'abort')).toHaveLength(0);
    already.done();
  });

  it('does not call a cancelled request timed out when its timer comes due before done()', async () => {
    const cancel = new AbortController();
    const limit = deadline(20, cancel.signal);
    cancel.abort();
    await sleep(60);
    expect(limit.timedOut).toBe(false);
    limit.done();
  });

  it('once done, neither the timer nor the cancel signal reaches it, and no listener is left', async () => {
    const cancel = new AbortController();
    setMaxListeners(0, cancel.signal); // 1,000 requests at once on one signal, on purpose
    const limits = Array.from({ length: 1000 }, () => deadline(20, cancel.signal));
    expect(getEventListeners(cancel.signal, 'abort')).toHaveLength(1000);
    for (const limit of limits) limit.done();
    expect(getEventListeners(cancel.signal, 'abort')).toHaveLength(0);
    await sleep(60);
    cancel.abort();
    expect(limits.some((l) => l.signal.aborted || l.timedOut)).toBe(false);
  });

  it('leaves nothing behind on a long-lived cancel signal over 100,000 requests', async () => {
    // In its own process, with a collector to call. The old pattern in this script: AbortSignal.any()
    // alone kept ~62 bytes per request on the long-lived signal for good (6 MB); with
    // AbortSignal.timeout(60 s) as well, whose timers hold their signals, 240 MB.
    const script = `
      import { deadline } from ${JSON.stringify(join(import.meta.dirname, 'deadline.ts'))};
      const cancel = new AbortController();
      const used = () => { gc(); gc(); return process.memoryUsage().heapUsed; };
      for (let i = 0; i < 10_000; i++) deadline(60_000, cancel.signal).done();
      const before = used();
      for (let i = 0; i < 100_000; i++) deadline(60_000, cancel.signal).done();
      console.log(used() - before);`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', '--input-type=module', '--eval', script],
      { env: { ...process.env, NODE_OPTIONS: '' } },
    );
    expect(Number(stdout.trim())).toBeLessThan(1.5 * 2 ** 20);
  }, 30_000);
});
