/**
 * System alerts and live republish as an operator sees them over MQTT: an operator user (scrypt
 * password in the registry) subscribed to `valley/alerts/system/#` and `valley/live/#`, real
 * devices, a real InfluxDB 1.x that the test stops and starts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import type { Alert, NormalizedReading } from '../../contract/index.js';
import { hashPassword } from '../../config/secrets.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import {
  closeClient,
  collectRaw,
  connectDevice,
  connectUser,
  publishAcked,
  waitFor,
  type RawMessage,
} from '../support/mqtt.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { makeTestRegistry, TEST_DEVICES } from '../support/registry.js';

const DB = 'alerts';
const OPERATOR = { id: 'ops-1', password: 'correct horse battery staple' };
/** A second operator: a session with the same client id would take the first one over. */
const OPERATOR2 = { id: 'ops-2', password: 'another long passphrase' };
let influx: InfluxdHandle;
let gw: TestGateway;
let operator: MqttClient;
let alerts: RawMessage[];
const clients: MqttClient[] = [];

async function device(id: string): Promise<MqttClient> {
  const client = await connectDevice(gw.mqttUrl, id, gw.registry.secrets[id]!);
  clients.push(client);
  return client;
}

/** Alert messages on one alert's topic, in order: the JSON states, '' for a cleared retained one. */
function history(alertId: string): { state: string; retain: boolean; alert?: Alert }[] {
  return alerts
    .filter((m) => m.topic === `valley/alerts/system/${alertId}`)
    .map((m) => {
      if (m.payload === '') return { state: '', retain: m.retain };
      const alert = JSON.parse(m.payload) as Alert;
      return { state: alert.state, retain: m.retain, alert };
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  const users = await Promise.all(
    [OPERATOR, OPERATOR2].map(async (u) => ({
      id: u.id,
      role: 'operator' as const,
      password_hash: await hashPassword(u.password),
    })),
  );
  gw = await startTestGateway({
    registry: makeTestRegistry([], users),
    sink: { mode: 'v1', url: influx.url, db: DB },
    settings: { offlineGraceMs: 2000, sinkDownAfterMs: 300 },
  });
  operator = await connectUser(gw.mqttUrl, OPERATOR.id, OPERATOR.password);
  alerts = await collectRaw(operator, 'valley/alerts/system/#');
});

afterAll(async () => {
  await Promise.all(clients.map(closeClient));
  if (operator) await closeClient(operator);
  await gw?.stop();
  await influx?.stop();
});

describe('system alerts over MQTT', () => {
  it('raises device-offline after the grace (not on a quick reconnect) and resolves it on return', async () => {
    const id = TEST_DEVICES.flow.id;
    const first = await device(id);
    await closeClient(first);
    await device(id); // back within the grace
    await sleep(2500);
    expect(history(`device-offline-${id}`)).toEqual([]);
    // A registered device that never connected is reported, retained.
    await waitFor(() => history(`device-offline-${TEST_DEVICES.heat.id}`).length > 0, 5000, 'heat-1 offline');
    expect(history(`device-offline-${TEST_DEVICES.heat.id}`)[0]).toMatchObject({ state: 'active' });

    await closeClient(clients.pop()!);
    await waitFor(() => history(`device-offline-${id}`).length === 1, 5000, 'the offline alert');
    const [raised] = history(`device-offline-${id}`);
    expect(raised?.retain).toBe(false); // delivered live; it is stored retained (checked below)
    expect(raised?.alert).toMatchObject({
      id: `device-offline-${id}`,
      state: 'active',
      severity: 'warning',
      deviceId: id,
    });
    expect(raised?.alert?.message).toContain(
      `Device ${id} (water_flow at t-reservoir, Chiesa in Valmalenco)`,
    );
    expect(gw.valley.alerts.active().map((a) => a.id)).toContain(`device-offline-${id}`);

    // A late subscriber gets the active alert from the retained store.
    const late = await connectUser(gw.mqttUrl, OPERATOR2.id, OPERATOR2.password);
    const retained = await collectRaw(late, `valley/alerts/system/device-offline-${id}`);
    await waitFor(() => retained.length === 1, 5000, 'the retained alert');
    expect(retained[0]).toMatchObject({ retain: true });
    await closeClient(late);

    await device(id);
    await waitFor(() => history(`device-offline-${id}`).length === 3, 5000, 'resolved + cleared');
    expect(history(`device-offline-${id}`).map((m) => [m.state, m.retain])).toEqual([
      ['active', false],
      ['resolved', false],
      ['', false],
    ]);
    expect(history(`device-offline-${id}`)[1]?.alert?.message).toContain('online again');
    expect(gw.valley.alerts.active().map((a) => a.id)).not.toContain(`device-offline-${id}`);
  });

  it('raises sink-down while InfluxDB is stopped and resolves it after the restart', async () => {
    const id = TEST_DEVICES.flow2.id;
    const client = await device(id);
    await influx.stop();
    const ts = Date.now() - 5000;
    // Acknowledged while InfluxDB is down: the outbox has it.
    await publishAcked(
      client,
      `sensors/${id}/readings`,
      JSON.stringify({ ts, values: { flow_l_s: 2, totaliser_m3: 5 } }),
    );
    await waitFor(() => history('sink-down').length === 1, 10_000, 'sink-down raised');
    const raised = history('sink-down')[0]!.alert!;
    expect(raised).toMatchObject({ state: 'active', severity: 'warning', source: 'system' });
    expect(raised.message).toContain(`InfluxDB v1 API at ${influx.url}`);
    expect(raised.message).toContain('nothing is lost');
    expect(gw.valley.status().alerts?.map((a) => a.id)).toContain('sink-down');

    await influx.restart();
    await waitFor(() => history('sink-down').length === 3, 15_000, 'sink-down resolved and cleared');
    expect(history('sink-down').map((m) => m.state)).toEqual(['active', 'resolved', '']);
    await waitFor(async () => (await influx.count(DB, 'water_flow')) >= 1, 10_000, 'the reading in InfluxDB');
    const rows = await influx.query(DB, `SELECT flow_l_s FROM water_flow WHERE device = '${id}'`);
    expect(rows.map((r) => r.time)).toEqual([ts]);
  });
});

describe('live republish', () => {
  it('sends each accepted reading, normalized, on valley/live/... to an operator', async () => {
    const watcher = await connectUser(gw.mqttUrl, OPERATOR2.id, OPERATOR2.password);
    clients.push(watcher);
    expect(gw.valley.broker.hasLiveSubscribers()).toBe(false);
    const live = await collectRaw(watcher, 'valley/live/#');
    expect(gw.valley.broker.hasLiveSubscribers()).toBe(true);
    const id = TEST_DEVICES.parking.id;
    const client = await device(id);
    const ts = Date.now() - 2000;
    await publishAcked(
      client,
      `sensors/${id}/readings`,
      JSON.stringify({ ts, seq: 7, values: { occupied_spaces: 12 } }),
    );
    await waitFor(() => live.length === 1, 5000, 'the live message');
    expect(live[0]).toMatchObject({
      topic: `valley/live/mobility/chiesa/parking/${id}`,
      retain: false,
      qos: 0,
    });
    const reading = JSON.parse(live[0]!.payload) as NormalizedReading;
    expect(reading).toEqual({
      deviceId: id,
      kind: 'parking',
      corridor: 'mobility',
      municipality: 'chiesa',
      site: 't-carpark',
      ts,
      seq: 7,
      values: { occupied_spaces: 12 },
      receivedAt: expect.any(Number) as unknown,
    });
    await watcher.unsubscribeAsync('valley/live/#');
    expect(gw.valley.broker.hasLiveSubscribers()).toBe(false);
  });
});
