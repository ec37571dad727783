/**
 * The per-device rate limit on real parts: Aedes on port 0, MQTT.js devices, a real InfluxDB 1.x.
 * A device in a tight loop is held to its bucket while another device's readings all get through.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { rejectMessageSchema } from '../../contract/index.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import { closeClient, collect, connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { TEST_DEVICES } from '../support/registry.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const DB = 'valley';
const RATE = 10;
const BURST = 50;
const LOOP_MESSAGES = 600;
const CALM_READINGS = 30;
/** The gateway's own clock: the bound on accepted messages is computed from its readings. */
const clock = { now: () => Date.now() };

let influx: InfluxdHandle;
let gw: TestGateway;
const clients: MqttClient[] = [];

async function device(id: string): Promise<MqttClient> {
  const client = await connectDevice(gw.mqttUrl, id, gw.registry.secrets[id]!);
  clients.push(client);
  return client;
}

async function pointsOf(measurement: string, deviceId: string): Promise<number> {
  const rows = await influx.query(
    DB,
    `SELECT count("flow_l_s") FROM "${measurement}" WHERE "device" = '${deviceId}'`,
  );
  const row = rows[0];
  return row ? Number(row['count']) : 0;
}

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  gw = await startTestGateway({
    sink: { mode: 'v1', url: influx.url, db: DB },
    settings: { rateLimitPerSecond: RATE, rateBurst: BURST },
    clock,
  });
});

afterAll(async () => {
  await Promise.all(clients.map(closeClient));
  await gw?.stop();
  await influx?.stop();
});

describe('per-device rate limit', () => {
  it('refuses a looping device with bounded E_RATE_LIMIT notices while another device gets everything through', async () => {
    const looper = await device(TEST_DEVICES.flow.id);
    const calm = await device(TEST_DEVICES.flow2.id);
    const notices = await collect(looper, `sensors/${TEST_DEVICES.flow.id}/rejects`);
    const base = clock.now() - 60_000;
    const reading = (i: number) => JSON.stringify({ ts: base + i, values: { flow_l_s: 1, totaliser_m3: i } });

    const startedAt = clock.now();
    // The loop does not wait for its acks: every publish is on the wire at once.
    const looping = Array.from({ length: LOOP_MESSAGES }, (_, i) =>
      publishAcked(looper, `sensors/${TEST_DEVICES.flow.id}/readings`, reading(i)),
    );
    let calmAcks = 0;
    for (let i = 0; i < CALM_READINGS; i++) {
      await publishAcked(calm, `sensors/${TEST_DEVICES.flow2.id}/readings`, reading(i));
      calmAcks++;
    }
    // Refused messages are acknowledged too (docs/contract.md): every publish gets its PUBACK.
    await Promise.all(looping);
    const endedAt = clock.now();
    expect(calmAcks).toBe(CALM_READINGS);

    const status = gw.valley.status();
    const refused = status.readings.rejectedByCode.E_RATE_LIMIT;
    expect(status.broker.rateLimited).toBe(refused);
    expect(status.broker.refusals['rate_limited']).toBe(refused);
    const accepted = LOOP_MESSAGES - refused;
    const bound = BURST + (RATE * (endedAt - startedAt)) / 1000;
    expect(accepted).toBeGreaterThanOrEqual(BURST);
    expect(accepted).toBeLessThanOrEqual(bound);
    expect(refused).toBeGreaterThan(0);

    // What InfluxDB holds, counted from outside: all the calm device's readings, and exactly the
    // looping device's accepted ones.
    await waitFor(
      async () =>
        (await pointsOf('water_flow', TEST_DEVICES.flow2.id)) === CALM_READINGS &&
        (await pointsOf('water_flow', TEST_DEVICES.flow.id)) === accepted,
      15_000,
      'both devices drained to InfluxDB',
    );
    expect(gw.valley.status().readings.rejectedByCode.E_RATE_LIMIT).toBe(refused);

    // At most one notice per second, each carrying how many were refused since the previous one.
    await waitFor(() => notices.length > 0, 5000, 'an E_RATE_LIMIT notice');
    const parsed = notices.map((n) => rejectMessageSchema.parse(n));
    for (const n of parsed) {
      expect(n.code).toBe('E_RATE_LIMIT');
      expect(n.dropped).toBeGreaterThan(0);
    }
    expect(parsed.length).toBeLessThanOrEqual(Math.floor((endedAt - startedAt) / 1000) + 1);
    expect(parsed.reduce((sum, n) => sum + (n.dropped ?? 0), 0)).toBeLessThanOrEqual(refused);
    expect(parsed[0]!.dropped).toBe(1); // the first refusal is told at once

    // The flood left no dead-letter records: it cannot evict other devices' records.
    expect(gw.valley.deadLetter.stats().records).toBe(0);
  });

  it('paces a device that waits for each PUBACK instead of refusing it', async () => {
    const pacedId = TEST_DEVICES.pressure.id;
    const paced = await device(pacedId);
    const refusedBefore = gw.valley.status().broker.rateLimited;
    const base = clock.now() - 30_000;
    const sent = BURST + 2 * RATE; // two seconds' worth over the burst
    const startedAt = clock.now();
    for (let i = 0; i < sent; i++)
      await publishAcked(
        paced,
        `sensors/${pacedId}/readings`,
        JSON.stringify({ ts: base + i, values: { pressure_bar: 4 } }),
      );
    const endedAt = clock.now();
    // Nothing refused; the acks came no faster than the bucket allows.
    expect(gw.valley.status().broker.rateLimited).toBe(refusedBefore);
    expect(sent).toBeLessThanOrEqual(BURST + (RATE * (endedAt - startedAt)) / 1000 + 1);
    await waitFor(
      async () => {
        const rows = await influx.query(
          DB,
          `SELECT count("pressure_bar") FROM "water_pressure" WHERE "device" = '${pacedId}'`,
        );
        return Number(rows[0]?.['count'] ?? 0) === sent;
      },
      15_000,
      'every paced reading in InfluxDB',
    );
  });
});
