/**
 * Two connections with the same device id. A device that rebooted reconnects before the broker
 * has noticed that its old socket is dead, so the newer CONNECT takes over (MQTT 3.1.1 §3.1.4):
 * the older connection is closed, the device stays online (no offline flap, no LWT "offline"
 * from the replaced session), and no acknowledged reading is lost. Two processes that share one
 * device's credentials (a cloned SD card) take each other over again and again: the gateway keeps
 * serving everyone, and every reading either of them got a PUBACK for is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import type { BusEvents } from '../../contract/index.js';
import { hashPassword } from '../../config/secrets.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import {
  closeClient,
  collectRaw,
  connectDevice,
  connectUser,
  publishAcked,
  waitFor,
} from '../support/mqtt.js';
import { makeTestRegistry, TEST_DEVICES } from '../support/registry.js';

const PASSWORD = 'duplicate-id-operator';
let gw: TestGateway;
const clients: MqttClient[] = [];
const presence: BusEvents['device.presence'][] = [];
const statuses: BusEvents['device.status'][] = [];
let ts = Date.now() - 3_600_000;

function reading(): { ts: number; payload: string } {
  ts += 1000;
  return { ts, payload: JSON.stringify({ ts, values: { flow_l_s: 3, totaliser_m3: ts % 100_000 } }) };
}

async function storedTs(deviceId: string): Promise<Set<number>> {
  const found = new Set<number>();
  for await (const chunk of gw.valley.outbox.readAll())
    for (const r of chunk) if (r.deviceId === deviceId) found.add(r.ts);
  return found;
}

function asDevice(id: string, extra: Parameters<typeof connectDevice>[3] = {}): Promise<MqttClient> {
  return connectDevice(gw.mqttUrl, id, gw.registry.secrets[id]!, {
    will: { topic: `sensors/${id}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
    ...extra,
  });
}

beforeAll(async () => {
  const registry = makeTestRegistry(
    [],
    [{ id: 'op-dup', role: 'operator', password_hash: await hashPassword(PASSWORD) }],
  );
  // The flapping pair publishes far above one device's rate; the rate limit has its own test.
  gw = await startTestGateway({ registry, settings: { rateLimitPerSecond: 0 } });
  gw.valley.bus.on('device.presence', (e) => void presence.push(e));
  gw.valley.bus.on('device.status', (e) => void statuses.push(e));
});

afterAll(async () => {
  await Promise.all(clients.map(closeClient));
  await gw?.stop();
});

describe('a second connection with the same device id', () => {
  it('takes over: the first is closed, the device stays online, its LWT is not published, nothing lost', async () => {
    const id = TEST_DEVICES.flow.id;
    const first = await asDevice(id);
    clients.push(first);
    await first.publishAsync(`sensors/${id}/status`, 'online', { qos: 1, retain: true });
    const r1 = reading();
    await publishAcked(first, `sensors/${id}/readings`, r1.payload);
    await waitFor(() => statuses.some((s) => s.deviceId === id && s.status === 'online'), 5000, 'online');

    const firstClosed = new Promise<void>((resolve) => first.once('close', () => resolve()));
    const eventsBefore = presence.length;
    const statusesBefore = statuses.length;
    // The rebooted device: it does not announce itself again, it just reconnects and sends.
    const second = await asDevice(id);
    clients.push(second);
    await firstClosed;
    const r2 = reading();
    await publishAcked(second, `sensors/${id}/readings`, r2.payload);

    expect(gw.valley.broker.connectedDevices()).toContain(id);
    const after = presence.slice(eventsBefore).filter((e) => e.deviceId === id);
    expect(after.map((e) => e.state)).toEqual(['online']);
    expect(statuses.slice(statusesBefore).filter((s) => s.deviceId === id)).toEqual([]);
    // An operator that looks now sees the retained status the device set, not the old LWT.
    const operator = await connectUser(gw.mqttUrl, 'op-dup', PASSWORD);
    clients.push(operator);
    const seen = await collectRaw(operator, `sensors/${id}/status`);
    await waitFor(() => seen.length > 0, 5000, 'the retained status');
    expect(seen.map((m) => m.payload)).toEqual(['online']);
    expect(await storedTs(id)).toEqual(new Set([r1.ts, r2.ts]));

    // When the device really goes, it is offline and its LWT is published.
    second.stream.destroy();
    await waitFor(
      () => presence.some((e, i) => i >= eventsBefore && e.deviceId === id && e.state === 'offline'),
      5000,
      'offline after the real loss',
    );
    await waitFor(() => statuses.some((s) => s.deviceId === id && s.status === 'offline'), 5000, 'the LWT');
    expect(gw.valley.broker.connectedDevices()).not.toContain(id);
  });

  it('survives a flapping pair sharing one device credentials: every acknowledged reading is stored', async () => {
    const id = TEST_DEVICES.flow2.id;
    const acked = new Set<number>();
    let connects = 0;
    let stopping = false;
    const flapper = async (): Promise<MqttClient> => {
      // Each reconnects at once when taken over, and so takes the other over in turn.
      const client = await asDevice(id, { reconnectPeriod: 20 });
      client.on('connect', () => connects++);
      const lane = async (): Promise<void> => {
        while (!stopping) {
          if (!client.connected) {
            await new Promise((r) => setTimeout(r, 10));
            continue;
          }
          const r = reading();
          try {
            await publishAcked(client, `sensors/${id}/readings`, r.payload);
            acked.add(r.ts);
          } catch {
            // taken over before the PUBACK: not acknowledged, not counted
          }
        }
      };
      void lane();
      return client;
    };
    const a = await flapper();
    const b = await flapper();
    clients.push(a, b);
    await waitFor(() => connects >= 40 && acked.size >= 40, 30_000, '40 takeovers and 40 acked readings');
    stopping = true;
    // Keep one: the other stops reconnecting and leaves.
    await a.endAsync(true);
    const last = reading();
    // A takeover by `a` can still be on its way to `b` (b looks connected until its close arrives):
    // like a device, b resends the same reading until it is acknowledged.
    for (let attempt = 1; ; attempt++) {
      await waitFor(() => b.connected, 10_000, 'the remaining one to be connected');
      try {
        await publishAcked(b, `sensors/${id}/readings`, last.payload);
        break;
      } catch (error) {
        if (attempt >= 5) throw error;
      }
    }
    acked.add(last.ts);

    const stored = await storedTs(id);
    expect([...acked].filter((t) => !stored.has(t))).toEqual([]);
    expect(gw.valley.broker.connectedDevices()).toContain(id);
    const mine = presence.filter((e) => e.deviceId === id);
    expect(mine.at(-1)?.state).toBe('online');
    // Everyone else is still served.
    const other = await asDevice(TEST_DEVICES.level.id);
    clients.push(other);
    await publishAcked(
      other,
      `sensors/${TEST_DEVICES.level.id}/readings`,
      JSON.stringify({ ts: Date.now() - 1000, values: { level_m: 1, level_pct: 40 } }),
    );
  });
});
