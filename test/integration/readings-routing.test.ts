/**
 * A reading ends at ingest (broker/broker.ts, endReadingsAtIngest): Aedes does not route the raw
 * packet, which no session may subscribe to. What must still flow does: the reading is accepted at
 * QoS 1 and QoS 2 and republished on `valley/live/...`, a status publish reaches an operator, and
 * an operator cannot subscribe to the raw readings topic.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { hashPassword } from '../../config/secrets.js';
import { closeClient, collectRaw, connectDevice, connectUser, waitFor } from '../support/mqtt.js';
import { makeTestRegistry, TEST_DEVICES } from '../support/registry.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const OPERATOR = { id: 'ops-routing', password: 'routing-operator-pw' };
const DEVICE = TEST_DEVICES.pressure.id;
let gw: TestGateway;
let operator: MqttClient;
let device: MqttClient;

beforeAll(async () => {
  const users = [
    { id: OPERATOR.id, role: 'operator' as const, password_hash: await hashPassword(OPERATOR.password) },
  ];
  gw = await startTestGateway({ registry: makeTestRegistry([], users) });
  operator = await connectUser(gw.mqttUrl, OPERATOR.id, OPERATOR.password);
  device = await connectDevice(gw.mqttUrl, DEVICE, gw.registry.secrets[DEVICE]!);
});

afterAll(async () => {
  if (device) await closeClient(device);
  if (operator) await closeClient(operator);
  await gw?.stop();
});

const accepted = (): number => gw.valley.ingest.counts.accepted;

describe('readings end at ingest', () => {
  it('accepts readings at QoS 1 and 2 and republishes them live; status still reaches operators', async () => {
    const live = await collectRaw(operator, 'valley/live/#');
    const status = await collectRaw(operator, 'sensors/+/status');
    const before = accepted();
    const t0 = Date.now() - 60_000;
    await device.publishAsync(
      `sensors/${DEVICE}/readings`,
      JSON.stringify({ ts: t0, values: { pressure_bar: 4.1 } }),
      { qos: 1 },
    );
    await device.publishAsync(
      `sensors/${DEVICE}/readings`,
      JSON.stringify({ ts: t0 + 1000, values: { pressure_bar: 4.2 } }),
      { qos: 2 },
    );
    await device.publishAsync(`sensors/${DEVICE}/status`, 'online', { qos: 1 });

    expect(accepted()).toBe(before + 2);
    await waitFor(() => live.length === 2 && status.length >= 1, 5000, 'live readings and the status');
    expect(live.map((m) => (JSON.parse(m.payload) as { ts: number }).ts)).toEqual([t0, t0 + 1000]);
    expect(live.every((m) => m.topic.endsWith(`/${DEVICE}`) && !m.topic.includes('/readings'))).toBe(true);
    expect(status).toContainEqual(
      expect.objectContaining({ topic: `sensors/${DEVICE}/status`, payload: 'online' }),
    );
  });

  it('refuses an operator subscription to the raw readings topic', async () => {
    // SUBACK 128: MQTT.js rejects the subscription.
    await expect(operator.subscribeAsync('sensors/+/readings', { qos: 1 })).rejects.toThrow(
      'Subscribe error',
    );
  });
});
