import { describe, expect, it } from '@jest/globals';
import type { NormalizedReading } from '../contract/index.js';
import { BackpressureOutbox, HeldAppendAbandonedError, HeldAppendsFullError } from './backpressure.js';
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

function setup(limits: { maxHeldAppends?: number; maxHeldBytes?: number } = {}) {
  const inner = new MemoryOutbox();
  let now = 1000;
  const gate = new BackpressureOutbox({
    outbox: inner,
    capBytes: 1000,
    maxHeldAppends: limits.maxHeldAppends ?? 1000,
    maxHeldBytes: limits.maxHeldBytes ?? 1 << 20,
    clock: { now: () => now },
    logger: silentLogger(),
  });
  return { inner, gate, advance: (ms: number) => (now += ms) };
}

/** The estimate the wrapper makes of a held append's size. */
const heldSize = (readings: NormalizedReading[]) =>
  readings.reduce((sum, r) => sum + JSON.stringify(r).length + 1, 0);

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
      heldBytes: heldSize([reading(10), reading(11), reading(12)]),
      backlogBytes: 1000,
      capBytes: 1000,
      abandonedAppends: 0,
      refusedAppends: 0,
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

  it('drops a held append whose signal aborts, without writing it; a released one is not abandoned', async () => {
    const { inner, gate } = setup();
    inner.backlogBytes = 1000;
    await gate.start();
    const dead = new AbortController();
    const alive = new AbortController();
    const gone = track(gate.append([reading(1)], { signal: dead.signal }));
    const kept = track(gate.append([reading(2)], { signal: alive.signal }));
    const plain = track(gate.append([reading(3)]));
    await tick();
    expect(gate.state()).toMatchObject({ heldAppends: 3, heldBytes: heldSize([1, 2, 3].map(reading)) });

    dead.abort();
    await tick();
    expect(gone.error).toBeInstanceOf(HeldAppendAbandonedError);
    expect((gone.error as HeldAppendAbandonedError).code).toBe('E_HELD_ABANDONED');
    expect(gate.state()).toMatchObject({
      heldAppends: 2,
      heldBytes: heldSize([2, 3].map(reading)),
      abandonedAppends: 1,
    });

    // Already aborted when it arrives: refused at once, never held.
    await expect(gate.append([reading(4)], { signal: dead.signal })).rejects.toBeInstanceOf(
      HeldAppendAbandonedError,
    );
    expect(gate.state()).toMatchObject({ heldAppends: 2, abandonedAppends: 2 });

    await gate.commit({ segment: 0, offset: 0 });
    await tick();
    expect([kept.done, plain.done]).toEqual([true, true]);
    expect(inner.appended).toEqual([2, 3]);
    // Handed to the outbox: a later abort changes nothing.
    alive.abort();
    await tick();
    expect(gate.state()).toMatchObject({ heldAppends: 0, heldBytes: 0, abandonedAppends: 2 });

    // Below the cap an aborted signal does not matter: the append goes to the outbox.
    await gate.append([reading(5)], { signal: dead.signal });
    expect(inner.appended).toEqual([2, 3, 5]);
  });

  it('makes a lazy signal only for an append it holds', async () => {
    const { inner, gate } = setup();
    await gate.start();
    let made = 0;
    const controller = new AbortController();
    const lazy = () => {
      made++;
      return controller.signal;
    };
    await gate.append([reading(1)], { signal: lazy }); // below the cap: no signal needed
    expect(made).toBe(0);
    inner.backlogBytes = 1000;
    const held = track(gate.append([reading(2)], { signal: lazy }));
    await tick();
    expect(made).toBe(1);
    controller.abort();
    await tick();
    expect(held.error).toBeInstanceOf(HeldAppendAbandonedError);
    expect(inner.appended).toEqual([1]);
  });

  it('refuses appends at once beyond the held count and byte caps, and holds again when there is room', async () => {
    const { inner, gate } = setup({ maxHeldAppends: 2 });
    inner.backlogBytes = 1000;
    await gate.start();
    const first = new AbortController();
    const held = [
      track(gate.append([reading(1)], { signal: first.signal })),
      track(gate.append([reading(2)])),
    ];
    const refused = gate.append([reading(3)]);
    await expect(refused).rejects.toBeInstanceOf(HeldAppendsFullError);
    await expect(refused).rejects.toThrow(/VALLEY_HELD_MAX = 2/);
    expect(gate.state()).toMatchObject({ heldAppends: 2, refusedAppends: 1 });
    // A holder that goes away makes room.
    first.abort();
    await tick();
    const later = track(gate.append([reading(4)]));
    await tick();
    expect(gate.state()).toMatchObject({ heldAppends: 2, refusedAppends: 1, abandonedAppends: 1 });
    await gate.commit({ segment: 0, offset: 0 });
    await tick();
    expect([held[1]!.done, later.done]).toEqual([true, true]);
    expect(inner.appended).toEqual([2, 4]);

    const bySize = setup({ maxHeldBytes: heldSize([reading(1), reading(2)]) });
    bySize.inner.backlogBytes = 1000;
    await bySize.gate.start();
    const fits = track(bySize.gate.append([reading(1), reading(2)]));
    await expect(bySize.gate.append([reading(3)])).rejects.toThrow(/VALLEY_HELD_SIZE/);
    expect(bySize.gate.state()).toMatchObject({ heldAppends: 1, refusedAppends: 1 });
    await bySize.gate.commit({ segment: 0, offset: 0 });
    await tick();
    expect(fits.done).toBe(true);
  });
});
