import { describe, expect, it } from '@jest/globals';
import type { NormalizedReading } from '../contract/index.js';
import { BackpressureOutbox } from './backpressure.js';
import { silentLogger } from './logger.js';
import type { Outbox, OutboxBatch, OutboxPosition, OutboxStats } from './types.js';

/** An outbox in memory: each reading adds 100 bytes of backlog; a commit to offset N leaves N bytes. */
class MemoryOutbox implements Outbox {
  backlogBytes = 0;
  appended: number[] = [];
  stopped = false;
  start = () => Promise.resolve();
  stop = () => {
    this.stopped = true;
    return Promise.resolve();
  };
  append(readings: readonly NormalizedReading[]): Promise<void> {
    for (const r of readings) this.appended.push(r.ts);
    this.backlogBytes += 100 * readings.length;
    return Promise.resolve();
  }
  read(from: OutboxPosition): Promise<OutboxBatch> {
    return Promise.resolve({ records: [], from, to: from });
  }
  readonly cursor = { segment: 0, offset: 0 };
  commit(to: OutboxPosition): Promise<void> {
    this.backlogBytes = to.offset;
    return Promise.resolve();
  }
  onDurable = () => () => {};
  stats(): OutboxStats {
    return {
      backlogRecords: this.backlogBytes / 100,
      backlogBytes: this.backlogBytes,
      oldestReceivedAt: undefined,
      segments: 1,
      pendingAppends: 0,
      writable: true,
    };
  }
}

const reading = (ts: number): NormalizedReading => ({
  deviceId: 'd',
  kind: 'water_flow',
  corridor: 'water',
  municipality: 'm',
  site: 's',
  ts,
  values: { flow_l_s: 1 },
  receivedAt: ts,
});

function setup() {
  const inner = new MemoryOutbox();
  let now = 1000;
  const gate = new BackpressureOutbox({
    outbox: inner,
    capBytes: 1000,
    clock: { now: () => now },
    logger: silentLogger(),
  });
  return { inner, gate, advance: (ms: number) => (now += ms) };
}

/** Appends and records when each resolves or rejects. */
function track(p: Promise<void>): { done: boolean; error?: unknown } {
  const state: { done: boolean; error?: unknown } = { done: false };
  p.then(
    () => (state.done = true),
    (error: unknown) => (state.error = error),
  );
  return state;
}

const tick = () => new Promise((r) => setImmediate(r));

describe('BackpressureOutbox', () => {
  it('passes appends through below the cap and holds them once the backlog reaches it', async () => {
    const { inner, gate, advance } = setup();
    await gate.start();
    for (let i = 0; i < 10; i++) await gate.append([reading(i)]);
    expect(gate.state()).toMatchObject({ holding: false, backlogBytes: 1000 });
    advance(5);
    const held = [track(gate.append([reading(10)])), track(gate.append([reading(11), reading(12)]))];
    await tick();
    expect(held.map((h) => h.done)).toEqual([false, false]);
    expect(inner.appended).toHaveLength(10);
    expect(gate.state()).toEqual({
      holding: true,
      since: 1005,
      heldAppends: 2,
      backlogBytes: 1000,
      capBytes: 1000,
    });
    expect(gate.stats()).toMatchObject({ holding: true, heldAppends: 2, capBytes: 1000 });

    // A commit that leaves the backlog above the resume mark (90 %) releases nothing.
    await gate.commit({ segment: 0, offset: 950 });
    await tick();
    expect(held.map((h) => h.done)).toEqual([false, false]);
    // While holding, a new append waits behind the held ones even with room: order is kept.
    const later = track(gate.append([reading(13)]));
    await gate.commit({ segment: 0, offset: 100 });
    await tick();
    expect([...held, later].map((h) => h.done)).toEqual([true, true, true]);
    expect(inner.appended).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(gate.state().holding).toBe(false);
  });

  it('holds from the start when the recovered backlog is at the cap', async () => {
    const { inner, gate } = setup();
    inner.backlogBytes = 1200;
    await gate.start();
    expect(gate.state().holding).toBe(true);
    await gate.commit({ segment: 0, offset: 0 });
    expect(gate.state().holding).toBe(false);
  });

  it('refuses held appends at stop, without writing them', async () => {
    const { inner, gate } = setup();
    inner.backlogBytes = 1000;
    await gate.start();
    const held = track(gate.append([reading(1)]));
    await gate.stop();
    await tick();
    expect(held.error).toBeInstanceOf(Error);
    expect(inner.appended).toEqual([]);
    expect(inner.stopped).toBe(true);
    await expect(gate.append([reading(2)])).rejects.toThrow(/stopped/);
  });
});
