/**
 * The live dashboard on real parts: the whole gateway in-process, MQTT.js devices publishing, a
 * socket.io-client in the rooms. Figures are compared with values computed by hand from what the
 * publishers sent; the push rate is counted from the client's side.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import type { RoomSnapshot } from '../../dashboard/aggregate/index.js';
import { closeClient, connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { TEST_DEVICES } from '../support/registry.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { connectLive, join, liveClient, type LiveRecorder } from '../support/live.js';

const PUSH_MS = 200;
let gw: TestGateway;
/** Connections by device id (the promise, so parallel publishers share one connection). */
const devices = new Map<string, Promise<MqttClient>>();
const live: LiveRecorder[] = [];

function device(key: keyof typeof TEST_DEVICES): Promise<MqttClient> {
  const id = TEST_DEVICES[key].id;
  let client = devices.get(id);
  if (!client) devices.set(id, (client = connectDevice(gw.mqttUrl, id, gw.registry.secrets[id]!)));
  return client;
}

async function publish(
  key: keyof typeof TEST_DEVICES,
  ts: number,
  values: Record<string, number>,
): Promise<void> {
  const id = TEST_DEVICES[key].id;
  await publishAcked(await device(key), `sensors/${id}/readings`, JSON.stringify({ ts, values }));
}

function client(): LiveRecorder {
  const rec = liveClient(gw.httpUrl);
  live.push(rec);
  return rec;
}

type Overview = Extract<RoomSnapshot, { type: 'overview' }>;
function card<C extends 'water' | 'mobility'>(snapshot: RoomSnapshot | undefined, corridor: C) {
  if (snapshot?.type !== 'overview') return undefined;
  const found = snapshot.data.cards.find((c) => c.corridor === corridor && c.municipality === 'chiesa');
  return found as Extract<Overview['data']['cards'][number], { corridor: C }> | undefined;
}

function metric(snapshot: RoomSnapshot | undefined, name: string): number | null | undefined {
  if (snapshot?.type !== 'device') return undefined;
  return snapshot.data.metrics.find((m) => m.metric === name)?.value;
}

beforeAll(async () => {
  gw = await startTestGateway({ settings: { pushIntervalMs: PUSH_MS } });
});

afterAll(async () => {
  for (const rec of live) rec.socket.disconnect();
  await Promise.all([...devices.values()].map(async (c) => closeClient(await c)));
  await gw?.stop();
});

describe('live dashboard over Socket.IO', () => {
  const t0 = Date.now() - 60_000;
  const flow1 = TEST_DEVICES.flow.id;

  it('a join answers the full snapshot at once; deltas carry the figures the publishers produced', async () => {
    const rec = client();
    await connectLive(rec);
    expect(rec.sessions).toEqual([{ user: null }]); // open dashboard: no users in the registry
    expect(await join(rec, 'overview')).toEqual({ ok: true });
    // The snapshot came before the ack (same socket, in order), and nothing was published yet.
    expect(rec.snapshots.map((m) => m.room)).toEqual(['overview']);
    expect(card(rec.latest('overview'), 'water')?.totalFlow_l_s).toMatchObject({ value: null, asOf: null });
    expect(await join(rec, `device:${flow1}`)).toEqual({ ok: true });
    expect(rec.latest(`device:${flow1}`)?.type).toBe('device');

    await publish('flow', t0, { flow_l_s: 4.5, totaliser_m3: 100 });
    await publish('flow2', t0 + 1000, { flow_l_s: 7.25, totaliser_m3: 200 });
    await publish('parking', t0 + 2000, { occupied_spaces: 20 }); // capacity 50 in the test registry

    // Total flow = 4.5 + 7.25 l/s; occupancy = 20 / 50 = 40 %, 30 spaces free.
    await waitFor(
      () => card(rec.latest('overview'), 'water')?.totalFlow_l_s.value === 11.75,
      5000,
      'total flow',
    );
    await waitFor(
      () => card(rec.latest('overview'), 'mobility')?.occupancy_pct.value === 40,
      5000,
      'occupancy',
    );
    const water = card(rec.latest('overview'), 'water')!;
    expect(water.totalFlow_l_s).toMatchObject({
      value: 11.75,
      asOf: t0,
      devices: 2,
      expected: 2,
      stale: false,
    });
    const mobility = card(rec.latest('overview'), 'mobility')!;
    expect(mobility.freeSpaces.value).toBe(30);
    expect(mobility.carParks[0]?.occupancy_pct.value).toBe(40);
    await waitFor(() => metric(rec.latest(`device:${flow1}`), 'flow_l_s') === 4.5, 5000, 'the device room');
    expect(rec.deltas.length).toBeGreaterThan(0);
    // A room not joined is never pushed.
    expect(rec.deltas.every((m) => m.room === 'overview' || m.room === `device:${flow1}`)).toBe(true);
  });

  it('refuses unknown rooms, and a leave stops the deltas of that room', async () => {
    const rec = client();
    await connectLive(rec);
    expect(await join(rec, 'nonsense')).toEqual({ ok: false, error: 'unknown room' });
    expect(await join(rec, 'device:no-such-device')).toEqual({
      ok: false,
      error: 'no such room: device:no-such-device',
    });
    expect(await join(rec, `device:${flow1}`)).toEqual({ ok: true });
    expect(await rec.socket.timeout(5000).emitWithAck('leave', `device:${flow1}`)).toEqual({ ok: true });
    const before = rec.deltas.length;
    await publish('flow', t0 + 5000, { flow_l_s: 5 });
    await new Promise((r) => setTimeout(r, 3 * PUSH_MS));
    expect(rec.deltas.length).toBe(before);
  });

  it('a reconnecting client is right at once: the snapshot on join holds the current figures', async () => {
    const rec = client();
    await connectLive(rec);
    await join(rec, 'overview');
    rec.socket.disconnect();
    await publish('flow2', t0 + 6000, { flow_l_s: 8 }); // while it is away: total 5 + 8
    rec.snapshots.length = 0;
    await connectLive(rec);
    expect(await join(rec, 'overview')).toEqual({ ok: true });
    const snapshot = rec.snapshots.find((m) => m.room === 'overview')?.data;
    expect(card(snapshot, 'water')?.totalFlow_l_s.value).toBe(13);
  });

  it('a client on HTTP long-polling gets every room it is in (two rooms change in one tick)', async () => {
    const rec = liveClient(gw.httpUrl, undefined, ['polling']);
    live.push(rec);
    await connectLive(rec);
    await join(rec, 'overview');
    await join(rec, `device:${flow1}`);
    await publish('flow', t0 + 7000, { flow_l_s: 6 });
    await waitFor(() => card(rec.latest('overview'), 'water')?.totalFlow_l_s.value === 14, 5000, 'overview');
    await waitFor(() => metric(rec.latest(`device:${flow1}`), 'flow_l_s') === 6, 5000, 'the device room');
  });

  it('a burst of 500 readings gives a bounded number of deltas, the last one right', async () => {
    const rec = client();
    await connectLive(rec, 5000);
    await join(rec, 'overview');
    await join(rec, `device:${flow1}`);
    const before = { overview: count(rec, 'overview'), device: count(rec, `device:${flow1}`) };
    const started = Date.now();
    // 5 devices x 100 readings, in 10 waves of 50 about 100 ms apart (so the burst spans several
    // push ticks), each wave published without waiting for its PUBACKs.
    const keys = ['flow', 'flow2', 'pressure', 'level', 'parking'] as const;
    const base = t0 + 10_000;
    for (let wave = 0; wave < 10; wave++) {
      const jobs: Promise<void>[] = [];
      for (const [k, key] of keys.entries()) {
        for (let i = wave * 10; i < wave * 10 + 10; i++) {
          const ts = base + i * 100 + k;
          const values: Record<string, number> =
            key === 'flow' || key === 'flow2'
              ? { flow_l_s: k + i / 100 }
              : key === 'pressure'
                ? { pressure_bar: 3 + i / 100 }
                : key === 'level'
                  ? { level_pct: 50 + i / 10 }
                  : { occupied_spaces: i % 50 };
          jobs.push(publish(key, ts, values));
        }
      }
      await Promise.all(jobs);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Last readings: flow 0 + 0.99, flow2 1 + 0.99 → total 2.98 l/s; parking 99 % 50 = 49 of 50.
    await waitFor(
      () => Math.abs((card(rec.latest('overview'), 'water')?.totalFlow_l_s.value ?? 0) - 2.98) < 1e-9,
      5000,
      'the last total',
    );
    await waitFor(
      () => card(rec.latest('overview'), 'mobility')?.occupancy_pct.value === 98,
      5000,
      'the last occupancy',
    );
    await waitFor(() => metric(rec.latest(`device:${flow1}`), 'flow_l_s') === 0.99, 5000, 'the device room');
    const elapsedMs = Date.now() - started;
    const overview = count(rec, 'overview') - before.overview;
    const deviceRoom = count(rec, `device:${flow1}`) - before.device;
    // At most one delta per room per push tick, whatever the number of readings.
    const ticks = Math.ceil(elapsedMs / PUSH_MS) + 2;
    expect(overview).toBeGreaterThan(0);
    expect(overview).toBeLessThanOrEqual(ticks);
    expect(deviceRoom).toBeLessThanOrEqual(ticks);
    expect(overview).toBeLessThan(100);
  });
});

function count(rec: LiveRecorder, room: string): number {
  return rec.deltas.filter((m) => m.room === room).length;
}
