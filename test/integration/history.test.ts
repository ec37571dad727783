/**
 * /api/history on real parts, both ways: local-only (rollups kept current from the bus, rebuilt
 * from the outbox after a restart) and with a real InfluxDB 1.x (InfluxQL over /query). The same
 * readings, published over MQTT, must give the same hand-computed buckets either way.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { historyAnswerSchema, type HistoryAnswer } from '../../dashboard/protocol.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import { closeClient, connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { makeTestRegistry, TEST_DEVICES } from '../support/registry.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const MIN = 60_000;
const QUARTER = 15 * MIN;
const flowId = TEST_DEVICES.flow.id;
const registry = makeTestRegistry();
/** A quarter-hour start 40–55 minutes ago: every reading below is inside the last hour. */
const Q = Math.floor((Date.now() - 40 * MIN) / QUARTER) * QUARTER;
/** [offset from Q in ms, flow_l_s] */
const READINGS: [number, number][] = [
  [10_000, 2],
  [20_000, 4],
  [50_000, 9],
  [2 * MIN + 5_000, 10],
  [16 * MIN, 7],
];
// By hand: minute Q: 2, 4, 9 → min 2, mean 5, max 9; minute Q+2: 10; minute Q+16: 7.
const MINUTE_POINTS = [
  [Q, 2, 5, 9],
  [Q + 2 * MIN, 10, 10, 10],
  [Q + 16 * MIN, 7, 7, 7],
];
// Quarter Q: 2, 4, 9, 10 → mean 25 / 4 = 6.25; quarter Q+15: 7.
const QUARTER_POINTS = [
  [Q, 2, 6.25, 10],
  [Q + QUARTER, 7, 7, 7],
];

const gateways: TestGateway[] = [];
const clients: MqttClient[] = [];
let influx: InfluxdHandle | undefined;

async function publishReadings(gw: TestGateway): Promise<void> {
  const client = await connectDevice(gw.mqttUrl, flowId, registry.secrets[flowId]!);
  clients.push(client);
  for (const [offset, flow] of READINGS)
    await publishAcked(
      client,
      `sensors/${flowId}/readings`,
      JSON.stringify({ ts: Q + offset, values: { flow_l_s: flow } }),
    );
  await closeClient(client);
}

async function history(gw: TestGateway, query: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${gw.httpUrl}/api/history?${query}`);
  return { status: res.status, body: await res.json() };
}

async function answer(gw: TestGateway, range: '1h' | '24h' | '7d'): Promise<HistoryAnswer> {
  const res = await history(gw, `device=${flowId}&metric=flow_l_s&range=${range}`);
  expect(res.status).toBe(200);
  return historyAnswerSchema.parse(res.body);
}

afterAll(async () => {
  await Promise.all(clients.map(closeClient));
  for (const gw of gateways) await gw.stop();
  await influx?.stop();
});

describe('history in local-only mode', () => {
  it('answers the published readings in 1-minute and 15-minute buckets, and the same after a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'valley-history-'));
    try {
      const first = await startTestGateway({ registry, dataDir });
      gateways.push(first);
      await publishReadings(first);
      const hour = await answer(first, '1h');
      expect(hour).toMatchObject({
        device: flowId,
        metric: 'flow_l_s',
        unit: 'l/s',
        range: '1h',
        bucketMs: MIN,
        source: 'local',
        sinkLagMs: null,
      });
      expect(hour.points).toEqual(MINUTE_POINTS);
      expect((await answer(first, '24h')).points).toEqual(MINUTE_POINTS);
      const week = await answer(first, '7d');
      expect(week).toMatchObject({ bucketMs: QUARTER });
      expect(week.points).toEqual(QUARTER_POINTS);
      // No data is an empty list, never zeros.
      const totaliser = await history(first, `device=${flowId}&metric=totaliser_m3&range=1h`);
      expect(totaliser).toMatchObject({ status: 200, body: { points: [], unit: 'm³' } });

      await first.stop({ keepData: true });
      gateways.pop();
      const second = await startTestGateway({ registry, dataDir });
      gateways.push(second);
      for (const range of ['1h', '24h', '7d'] as const) {
        const again = await answer(second, range);
        expect(again.points).toEqual(range === '7d' ? QUARTER_POINTS : MINUTE_POINTS);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('answers 400 with the problem for a bad query, 404 for an unknown device', async () => {
    const gw = gateways.at(-1)!;
    const bad = async (query: string, status: number, message: RegExp): Promise<void> => {
      const res = await history(gw, query);
      expect(res.status).toBe(status);
      expect((res.body as { error: { message: string } }).error.message).toMatch(message);
    };
    await bad(`device=${flowId}&metric=flow_l_s&range=2h`, 400, /range is one of 1h, 24h, 7d/);
    await bad(`metric=flow_l_s&range=1h`, 400, /device/);
    await bad(
      `device=${flowId}&metric=pressure_bar&range=1h`,
      400,
      /has no metric "pressure_bar"; it has flow_l_s, totaliser_m3/,
    );
    await bad(`device=${flowId}&metric=flow_l_s&range=1h&range=24h`, 400, /range/);
    await bad(`device=no-such-device&metric=flow_l_s&range=1h`, 404, /no device "no-such-device"/);
  });
});

describe('history with InfluxDB', () => {
  it('answers from InfluxQL with the points written, in the same buckets', async () => {
    influx = await startInfluxd();
    await influx.createDatabase('valley');
    const gw = await startTestGateway({ registry, sink: { mode: 'v1', url: influx.url, db: 'valley' } });
    gateways.push(gw);
    await publishReadings(gw);
    await waitFor(
      async () => (await influx!.count('valley', 'water_flow')) === READINGS.length,
      10_000,
      'the points in InfluxDB',
    );
    await waitFor(() => gw.valley.outbox.stats().backlogRecords === 0, 10_000, 'the drained outbox');
    const hour = await answer(gw, '1h');
    expect(hour).toMatchObject({ source: 'influxdb', unit: 'l/s', bucketMs: MIN, sinkLagMs: null });
    expect(hour.points).toEqual(MINUTE_POINTS);
    expect((await answer(gw, '24h')).points).toEqual(MINUTE_POINTS);
    expect((await answer(gw, '7d')).points).toEqual(QUARTER_POINTS);

    // InfluxDB gone: the history says so (503), it does not answer an empty chart.
    await influx.stop();
    const down = await history(gw, `device=${flowId}&metric=flow_l_s&range=1h`);
    expect(down).toMatchObject({ status: 503, body: { error: { code: 'E_HISTORY_UNAVAILABLE' } } });
  });
});
