/**
 * The dashboard after a gateway restart, on real parts: a real InfluxDB as the sink (so the
 * outbox is drained and empty when the gateway stops), MQTT.js devices, a Socket.IO client.
 * "Volume today" must go on from where it was, not start again from the restart; and when the
 * saved state is lost, the figure must say since when it counts.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { romeDay } from '../../dashboard/aggregate/rome-time.js';
import type { RoomSnapshot } from '../../dashboard/aggregate/index.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import { closeClient, connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { makeTestRegistry, TEST_DEVICES, type TestRegistry } from '../support/registry.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { connectLive, join as joinRoom, liveClient } from '../support/live.js';

const FLOW = TEST_DEVICES.flow.id;
let influx: InfluxdHandle;
let registry: TestRegistry;
const gateways: TestGateway[] = [];

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase('valley');
  registry = makeTestRegistry();
});

afterAll(async () => {
  for (const gw of gateways) await gw.stop().catch(() => undefined);
  await influx?.stop();
});

async function start(dataDir?: string): Promise<TestGateway> {
  const gw = await startTestGateway({
    registry,
    sink: { mode: 'v1', url: influx.url, db: 'valley' },
    settings: { pushIntervalMs: 100 },
    ...(dataDir !== undefined && { dataDir }),
  });
  gateways.push(gw);
  return gw;
}

/** Publishes totaliser readings (m³) one second apart, today in Rome, and waits for InfluxDB. */
async function publishTotals(gw: TestGateway, firstTs: number, totals: number[]): Promise<void> {
  const client: MqttClient = await connectDevice(gw.mqttUrl, FLOW, registry.secrets[FLOW]!);
  try {
    for (const [i, totaliser_m3] of totals.entries()) {
      const payload = JSON.stringify({ ts: firstTs + i * 1000, values: { flow_l_s: 2, totaliser_m3 } });
      await publishAcked(client, `sensors/${FLOW}/readings`, payload);
    }
  } finally {
    await closeClient(client);
  }
  await waitFor(() => gw.valley.outbox.stats().backlogRecords === 0, 10_000, 'the outbox drained');
}

/** The water card of the test municipality, as a Socket.IO client sees it on joining. */
async function volumeToday(gw: TestGateway) {
  const rec = liveClient(gw.httpUrl);
  try {
    await connectLive(rec);
    expect(await joinRoom(rec, 'overview')).toEqual({ ok: true });
    const snap: RoomSnapshot | undefined = rec.latest('overview');
    if (snap?.type !== 'overview') throw new Error('no overview snapshot');
    const card = snap.data.cards.find((c) => c.corridor === 'water' && c.municipality === 'chiesa');
    if (card?.corridor !== 'water') throw new Error('no water card');
    return { figure: card.volumeToday_m3, countedSince: snap.countedSince };
  } finally {
    rec.socket.disconnect();
  }
}

/** Readings a few minutes ago, but never before today's Rome midnight. */
function firstTs(): number {
  return Math.max(romeDay(Date.now()).start + 1000, Date.now() - 5 * 60_000);
}

describe('the dashboard across a gateway restart', () => {
  it('volume today goes on from its saved state although InfluxDB already holds every reading', async () => {
    const first = await start();
    const ts = firstTs();
    await publishTotals(first, ts, [100, 110, 125]);
    const before = await volumeToday(first);
    expect(before.figure.value).toBe(25);
    await first.stop({ keepData: true });

    const second = await start(first.dataDir);
    // Nothing left in the outbox: the 25 m³ come from the saved state.
    expect(second.valley.outbox.stats().backlogRecords).toBe(0);
    const restored = await volumeToday(second);
    expect(restored.figure.value).toBe(25);
    // Counting began when the first run started (a fresh data dir), not at the restart.
    expect(restored.countedSince).toBe(before.countedSince);
    expect(restored.figure.countedSince).toBe(before.figure.countedSince);
    await publishTotals(second, ts + 10_000, [131.5]);
    expect((await volumeToday(second)).figure.value).toBe(31.5);
    await second.stop({ keepData: true });
  });

  it('with the saved state lost, the figure is marked partial with the instant counting began', async () => {
    const first = await start();
    const ts = firstTs();
    await publishTotals(first, ts, [500, 520]);
    await first.stop({ keepData: true });
    await rm(join(first.dataDir, 'dashboard'), { recursive: true, force: true });

    const startedAt = Date.now();
    const second = await start(first.dataDir);
    await publishTotals(second, ts + 10_000, [530, 537]);
    const after = await volumeToday(second);
    // Only what this run saw (530 → 537), and said to be partial.
    expect(after.figure.value).toBe(7);
    expect(after.countedSince).toBeGreaterThanOrEqual(startedAt);
    expect(after.figure.countedSince).toBe(after.countedSince);
    await second.stop({ keepData: true });
  });
});
