/**
 * A gateway restart in the middle of a day: the engine's state is saved, a fresh engine restores
 * it (through JSON and the store's schema, as on disk) and replays what the outbox holds; its
 * figures must equal those of an engine that never stopped. Hand-computed values as in the other
 * engine tests.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pino from 'pino';
import type { NormalizedReading } from '../../contract/index.js';
import { DashboardStateStore, STATE_VERSION, stateJson } from '../state-store.js';
import { warmStart } from '../warm-start.js';
import { DashboardAggregator } from './engine.js';
import { connectedAggregator, feed, reading, reject, t, testRegistry } from './fixtures.js';
import type { EnergyCard, WaterCard } from './schemas.js';

const logger = pino({ level: 'silent' });
const CONNECTED = t('2026-11-24T00:00:00+01:00');

function cards(agg: DashboardAggregator, now: number): { water: WaterCard; energy: EnergyCard } {
  const snap = agg.snapshot('municipality:alpha', now);
  if (snap?.type !== 'municipality') throw new Error('no municipality snapshot');
  const water = snap.data.cards.find((c) => c.corridor === 'water');
  const energy = snap.data.cards.find((c) => c.corridor === 'energy');
  if (water?.corridor !== 'water' || energy?.corridor !== 'energy') throw new Error('cards missing');
  return { water, energy };
}

/** Two days of a tank meter (1 m³ per hour) and a school meter (10 kWh per hour), every 15 min. */
function twoDays(): NormalizedReading[] {
  const out: NormalizedReading[] = [];
  const start = t('2026-11-24T00:00:00+01:00');
  for (let i = 0; i <= 4 * 42; i++) {
    const ts = start + i * 15 * 60_000; // to 2026-11-25T18:00+01:00
    out.push(reading('wf-res', ts, { flow_l_s: 0.28, totaliser_m3: 500 + i * 0.25 }));
    out.push(reading('em-school', ts, { active_power_kw: 10, energy_import_kwh: 9000 + i * 2.5 }));
  }
  return out;
}

/** An outbox that holds `readings` (one chunk), as FileOutbox.readAll gives them. */
function outboxOf(readings: NormalizedReading[]) {
  return {
    readAll: (): AsyncIterable<readonly NormalizedReading[]> => ({
      [Symbol.asyncIterator]: () => {
        let given = readings.length === 0;
        return {
          next: () =>
            Promise.resolve(
              given
                ? { done: true as const, value: undefined }
                : ((given = true), { done: false, value: readings }),
            ),
        };
      },
    }),
  };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-dash-state-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('dashboard state across a restart', () => {
  test('saved at noon, restored, the afternoon replayed from the outbox: the same figures as no restart', async () => {
    const all = twoDays();
    const noon = t('2026-11-25T12:00:00+01:00');
    const before = all.filter((r) => r.receivedAt <= noon);
    const after = all.filter((r) => r.receivedAt > noon);
    const now = t('2026-11-25T18:01:00+01:00');

    const steady = connectedAggregator(CONNECTED);
    steady.countedSince = CONNECTED;
    feed(steady, all);
    steady.onRejected(
      { deviceId: 'wf-res', rejects: [reject('E_RANGE', t('2026-11-25T17:30:00+01:00'))] },
      now,
    );

    const first = connectedAggregator(CONNECTED);
    first.countedSince = CONNECTED;
    feed(first, before);
    const store = new DashboardStateStore(join(dir, 'a'), logger);
    await store.save(first.save(noon));

    // The new process: presence unknown (sessions ended), the outbox holds the whole two days.
    const second = new DashboardAggregator({ registry: testRegistry() });
    const result = await warmStart({
      store,
      aggregator: second,
      outbox: outboxOf(all),
      now: () => now,
      logger,
    });
    second.onRejected(
      { deviceId: 'wf-res', rejects: [reject('E_RANGE', t('2026-11-25T17:30:00+01:00'))] },
      now,
    );
    expect(result).toMatchObject({ restored: true, read: all.length, replayed: after.length });

    const a = cards(steady, now);
    const b = cards(second, now);
    // 18 h of today at 1 m³/h and 10 kWh/h; yesterday until 18:00, the same.
    expect(b.water.volumeToday_m3.value).toBeCloseTo(18, 9);
    expect(b.energy.energyToday_kwh.value).toBeCloseTo(180, 9);
    expect(b.energy.energyYesterdaySameTime_kwh.value).toBeCloseTo(180, 9);
    // Equal but for `stale`: until the devices reconnect their figures are their last known ones.
    expect(b.water.volumeToday_m3).toEqual({ ...a.water.volumeToday_m3, stale: true });
    expect(b.energy.energyToday_kwh).toEqual({ ...a.energy.energyToday_kwh, stale: true });
    expect(b.energy.energyYesterdaySameTime_kwh).toEqual({
      ...a.energy.energyYesterdaySameTime_kwh,
      stale: true,
    });
    // Nothing partial: counting began before yesterday.
    expect(b.water.volumeToday_m3.countedSince).toBeUndefined();

    const da = steady.snapshot('device:wf-res', now);
    const db = second.snapshot('device:wf-res', now);
    if (da?.type !== 'device' || db?.type !== 'device') throw new Error('no device snapshot');
    expect(db.data.totals).toEqual(da.data.totals);
    expect(db.data.lastHour).toEqual(da.data.lastHour);
    expect(db.data.lastHour).toMatchObject({ accepted: 4, rejected: 1, codes: { E_RANGE: 1 } });
    expect(db.data.metrics).toEqual(da.data.metrics);
    expect(db.data.lastReject).toEqual(da.data.lastReject);
    expect(db.countedSince).toBe(CONNECTED);
    // The restart ended the sessions: offline until the device reconnects, not "ok".
    expect(db.data.device.state).toBe('offline');
    expect(da.data.device.state).toBe('ok');
  });

  test('no saved state: the outbox is replayed and the day figures say since when they count', async () => {
    const all = twoDays();
    // With a sink the outbox keeps only what InfluxDB has not confirmed: here, from 15:00.
    const held = all.filter((r) => r.receivedAt >= t('2026-11-25T15:00:00+01:00'));
    const now = t('2026-11-25T18:01:00+01:00');
    const agg = new DashboardAggregator({ registry: testRegistry() });
    const result = await warmStart({
      store: new DashboardStateStore(join(dir, 'none'), logger),
      aggregator: agg,
      outbox: outboxOf(held),
      now: () => now,
      logger,
    });
    const oldest = held[0]!.receivedAt;
    expect(result).toEqual({
      restored: false,
      read: held.length,
      replayed: held.length,
      countedSince: oldest,
    });
    const { water, energy } = cards(agg, now);
    // 15:00 → 18:00 only, and marked partial with the instant counting began.
    expect(water.volumeToday_m3.value).toBeCloseTo(3, 9);
    expect(water.volumeToday_m3.countedSince).toBe(oldest);
    expect(energy.energyToday_kwh.countedSince).toBe(oldest);
    expect(agg.snapshot('overview', now)?.countedSince).toBe(oldest);
  });

  test('a backlog from before midnight that arrives after counting began is a whole day, not partial', () => {
    // A fresh gateway at 18:01; a device sends its whole backlog since yesterday 23:45 at once.
    const now = t('2026-11-25T18:01:00+01:00');
    const agg = new DashboardAggregator({ registry: testRegistry(), countedSince: now - 60_000 });
    const backlog = twoDays()
      .filter((r) => r.deviceId === 'wf-res' && r.ts >= t('2026-11-24T23:45:00+01:00'))
      .map((r) => ({ ...r, receivedAt: now - 1000 }));
    agg.onAccepted({ deviceId: 'wf-res', readings: backlog }, now - 1000);
    const { water } = cards(agg, now);
    expect(water.volumeToday_m3.value).toBeCloseTo(18, 9);
    expect(water.volumeToday_m3.countedSince).toBeUndefined();
    // Without the reading before midnight the beginning is unseen: partial, said so.
    const late = new DashboardAggregator({ registry: testRegistry(), countedSince: now - 60_000 });
    late.onAccepted({ deviceId: 'wf-res', readings: backlog.slice(8) }, now - 1000);
    expect(cards(late, now).water.volumeToday_m3.countedSince).toBe(now - 60_000);
  });

  test('an empty outbox and no state: counting starts now', async () => {
    const now = t('2026-11-25T18:01:00+01:00');
    const agg = new DashboardAggregator({ registry: testRegistry() });
    const result = await warmStart({
      store: new DashboardStateStore(join(dir, 'empty'), logger),
      aggregator: agg,
      outbox: outboxOf([]),
      now: () => now,
      logger,
    });
    expect(result.countedSince).toBe(now);
  });

  test('a torn or foreign state file is ignored, never trusted', async () => {
    const store = new DashboardStateStore(join(dir, 'torn'), logger);
    const agg = connectedAggregator(CONNECTED);
    feed(agg, twoDays().slice(0, 10));
    await store.save(agg.save(t('2026-11-24T02:00:00+01:00')));
    const text = JSON.stringify({ version: 1, ...agg.save(0) });
    await writeFile(store.path, text.slice(0, text.length / 2));
    await expect(store.load()).resolves.toBeUndefined();
    await writeFile(store.path, JSON.stringify({ version: 99, savedAt: 0, countedSince: 0, devices: [] }));
    await expect(store.load()).resolves.toBeUndefined();
    const bad = JSON.parse(text) as { devices: [string, { totals: { accepted: number } }][] };
    bad.devices[0]![1].totals.accepted = -5;
    await writeFile(store.path, JSON.stringify(bad));
    await expect(store.load()).resolves.toBeUndefined();
  });

  test('a device whose kind changed in the registry starts empty; removed devices are dropped', () => {
    const agg = connectedAggregator(CONNECTED);
    feed(agg, twoDays().slice(0, 20));
    const saved = agg.save(t('2026-11-24T03:00:00+01:00'));
    const entry = saved.devices.find(([id]) => id === 'wf-res');
    if (!entry) throw new Error('wf-res not saved');
    entry[1].kind = 'water_pressure';
    saved.devices.push(['gone', entry[1]]);
    const fresh = new DashboardAggregator({ registry: testRegistry() });
    fresh.restore(saved, t('2026-11-24T03:00:00+01:00'));
    const wf = fresh.snapshot('device:wf-res', t('2026-11-24T03:00:00+01:00'));
    const em = fresh.snapshot('device:em-school', t('2026-11-24T03:00:00+01:00'));
    expect(wf?.type === 'device' && wf.data.totals.accepted).toBe(0);
    expect(em?.type === 'device' && em.data.totals.accepted).toBe(10);
    expect(fresh.snapshot('device:gone', 0)).toBeNull();
  });

  test("a large fleet's state is written in parts, with event-loop turns between, as one stringify", async () => {
    const agg = connectedAggregator(CONNECTED);
    feed(agg, twoDays().slice(0, 40));
    const saved = agg.save(t('2026-11-24T03:00:00+01:00'));
    const record = saved.devices[0]![1];
    const large = {
      ...saved,
      devices: Array.from({ length: 1000 }, (_, i) => [`dev-${i}`, record] as const),
    };
    const state = { ...large, devices: large.devices.map(([id, r]) => [id, r] as [string, typeof r]) };
    let turns = 0;
    let writing = true;
    const spin = (): void => {
      turns++;
      if (writing) setImmediate(spin);
    };
    setImmediate(spin);
    const parts: string[] = [];
    for await (const part of stateJson(state)) parts.push(part);
    writing = false;
    expect(parts.join('')).toBe(JSON.stringify({ version: STATE_VERSION, ...state }));
    expect(parts.length).toBe(2 + 1000 / 200);
    expect(turns).toBeGreaterThanOrEqual(4); // the loop ran between the parts
    const empty = { ...saved, devices: [] };
    let text = '';
    for await (const part of stateJson(empty)) text += part;
    expect(text).toBe(JSON.stringify({ version: STATE_VERSION, ...empty }));
    // And through the store: what load() reads back is what was saved.
    const store = new DashboardStateStore(join(dir, 'large'), logger);
    await store.save(state);
    const loaded = await store.load();
    expect(loaded?.devices).toHaveLength(1000);
    expect(loaded?.devices[999]).toEqual(['dev-999', record]);
  });
});
