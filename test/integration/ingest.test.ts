/**
 * The ingest path on real parts: Aedes on port 0, MQTT.js publishers, a real InfluxDB 1.x. Counts
 * come from the publishers' PUBACKs and InfluxQL, never from the gateway's own counters alone.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import { closeClient, connectDevice, collect, publishAcked, waitFor } from '../support/mqtt.js';
import { TEST_DEVICES } from '../support/registry.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { REJECT_CODES } from '../../contract/index.js';

const DB = 'valley';
let influx: InfluxdHandle;
let gw: TestGateway;
const clients: MqttClient[] = [];
const now = () => Date.now();

async function device(key: keyof typeof TEST_DEVICES): Promise<MqttClient> {
  const id = TEST_DEVICES[key].id;
  const client = await connectDevice(gw.mqttUrl, id, gw.registry.secrets[id]!);
  clients.push(client);
  return client;
}

async function pointsOf(measurement: string, deviceId: string): Promise<number> {
  const rows = await influx.query(DB, `SELECT count(*) FROM "${measurement}" WHERE "device" = '${deviceId}'`);
  const row = rows[0];
  if (!row) return 0;
  return Math.max(
    ...Object.entries(row)
      .filter(([k]) => k.startsWith('count_'))
      .map(([, v]) => Number(v)),
  );
}

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  gw = await startTestGateway({ sink: { mode: 'v1', url: influx.url, db: DB } });
});

afterAll(async () => {
  await Promise.all(clients.map(closeClient));
  await gw?.stop();
  await influx?.stop();
});

describe('ingest on real parts', () => {
  it('writes valid readings to InfluxDB with the data model of DESIGN', async () => {
    const client = await device('flow');
    const t0 = now() - 60_000;
    for (let i = 0; i < 5; i++) {
      await publishAcked(
        client,
        'sensors/t-flow-1/readings',
        JSON.stringify({ ts: t0 + i * 1000, seq: i, values: { flow_l_s: 10 + i, totaliser_m3: 1000 + i } }),
      );
    }
    await waitFor(
      async () => (await pointsOf('water_flow', 't-flow-1')) === 5,
      10_000,
      '5 points in InfluxDB',
    );
    const rows = await influx.query(
      DB,
      `SELECT * FROM "water_flow" WHERE "device" = 't-flow-1' ORDER BY time ASC`,
    );
    expect(rows).toHaveLength(5);
    expect(rows[0]).toMatchObject({
      time: t0,
      device: 't-flow-1',
      municipality: 'chiesa',
      corridor: 'water',
      site: 't-reservoir',
      flow_l_s: 10,
      totaliser_m3: 1000,
    });
    // Every field is a float (a later 10.5 must not conflict with an integer field).
    const types = await influx.query(DB, 'SHOW FIELD KEYS FROM "water_flow"');
    expect(types.map((r) => r.fieldType)).toEqual(['float', 'float']);
  });

  it('accepts a 500-reading backlog with two bad elements: 498 written, two rejects naming their index', async () => {
    const client = await device('pressure');
    const rejects = await collect(client, 'sensors/t-pressure-1/rejects');
    const t0 = now() - 3 * 3_600_000;
    const backlog = Array.from({ length: 500 }, (_, i) => ({
      ts: t0 + i * 10_000,
      seq: i,
      values: { pressure_bar: 4.2 },
    }));
    backlog[17] = { ts: t0 + 17 * 10_000, seq: 17, values: { pressure_bar: 99 } };
    backlog[333] = { ts: t0 + 333 * 10_000, seq: 333, values: { pressure_psi: 60 } as never };
    await publishAcked(client, 'sensors/t-pressure-1/readings', JSON.stringify(backlog));
    await waitFor(() => rejects.length === 2, 5000, 'two reject messages');
    expect(rejects).toEqual([
      expect.objectContaining({ code: 'E_RANGE', index: 17, seq: 17, path: 'values.pressure_bar' }),
      expect.objectContaining({
        code: 'E_UNKNOWN_METRIC',
        index: 333,
        seq: 333,
        path: 'values.pressure_psi',
      }),
    ]);
    await waitFor(
      async () => (await pointsOf('water_pressure', 't-pressure-1')) === 498,
      10_000,
      '498 points',
    );
    const dead = await gw.valley.deadLetter.list({ deviceId: 't-pressure-1' });
    expect(dead.map((d) => d.reject.index).sort((a, b) => a! - b!)).toEqual([17, 333]);
    expect(dead.every((d) => d.stage === 'ingest' && d.topic === 'sensors/t-pressure-1/readings')).toBe(true);
  });

  it('writes a resend once and counts it as a duplicate, not a reject', async () => {
    const client = await device('level');
    const rejects = await collect(client, 'sensors/t-level-1/rejects');
    const before = gw.valley.ingest.counts.duplicates;
    const payload = JSON.stringify({ ts: now() - 5000, values: { level_m: 2.5, level_pct: 62 } });
    for (let i = 0; i < 3; i++) await publishAcked(client, 'sensors/t-level-1/readings', payload);
    // The same reading twice inside one backlog array too.
    const ts = now() - 4000;
    await publishAcked(
      client,
      'sensors/t-level-1/readings',
      JSON.stringify([
        { ts, values: { level_pct: 61 } },
        { ts, values: { level_pct: 61 } },
      ]),
    );
    await waitFor(async () => (await pointsOf('water_level', 't-level-1')) === 2, 10_000, '2 points');
    expect(gw.valley.ingest.counts.duplicates - before).toBe(3);
    await new Promise((r) => setTimeout(r, 200));
    expect(rejects).toEqual([]);
    expect(await pointsOf('water_level', 't-level-1')).toBe(2);
  });

  it('rejects with every ingest code (but E_RATE_LIMIT) on the rejects topic and in the dead-letter log', async () => {
    const client = await device('quality');
    const rejects = (await collect(client, 'sensors/t-quality-1/rejects')) as {
      code: string;
      message: string;
    }[];
    const t = now();
    const cases: [string, string | Buffer][] = [
      ['E_JSON', '{"ts": 1, "values": '],
      ['E_JSON', Buffer.from([0xc3, 0x28])],
      ['E_SCHEMA', JSON.stringify({ ts: t, values: { ph: '7.2' } })],
      ['E_UNKNOWN_METRIC', JSON.stringify({ ts: t, values: { ph: 7.2, chlorine: 0.2 } })],
      ['E_RANGE', JSON.stringify({ ts: t, values: { ph: 15 } })],
      ['E_TS_FUTURE', JSON.stringify({ ts: t + 3_600_000, values: { ph: 7.2 } })],
      ['E_TS_TOO_OLD', JSON.stringify({ ts: t - 30 * 86_400_000, values: { ph: 7.2 } })],
      ['E_TS_SECONDS', JSON.stringify({ ts: Math.floor(t / 1000), values: { ph: 7.2 } })],
      ['E_TS_NO_ZONE', JSON.stringify({ ts: '2026-11-25T06:00:00', values: { ph: 7.2 } })],
      [
        'E_TOO_MANY_READINGS',
        JSON.stringify(Array.from({ length: 5001 }, (_, i) => ({ ts: t - i, values: { ph: 7 } }))),
      ],
    ];
    for (const [, payload] of cases) await publishAcked(client, 'sensors/t-quality-1/readings', payload);
    await waitFor(() => rejects.length === cases.length, 5000, 'one reject per case');
    expect(rejects.map((r) => r.code)).toEqual(cases.map(([code]) => code));
    for (const r of rejects) expect(r.message.length).toBeGreaterThan(10);
    const covered = new Set(rejects.map((r) => r.code));
    expect(REJECT_CODES.filter((c) => !covered.has(c))).toEqual(['E_RATE_LIMIT', 'E_SINK_REJECTED']);
    const dead = await gw.valley.deadLetter.list({ deviceId: 't-quality-1' });
    expect(dead).toHaveLength(cases.length);
    const raw = dead.find((d) => d.reject.code === 'E_TS_NO_ZONE')!;
    expect(Buffer.from(raw.payload!, 'base64').toString()).toContain('2026-11-25T06:00:00');
    expect(await pointsOf('water_quality', 't-quality-1')).toBe(0);
  });

  it('acks a backlog whose second element is nested 300,000 deep: the good one written, the deep one rejected', async () => {
    const client = await device('charger');
    const rejects = (await collect(client, 'sensors/t-charger-1/rejects')) as {
      code: string;
      index?: number;
    }[];
    const good = JSON.stringify({ ts: now() - 2000, values: { power_kw: 11 } });
    const deep = '['.repeat(300_000) + ']'.repeat(300_000);
    await publishAcked(client, 'sensors/t-charger-1/readings', `[${good},${deep}]`);
    await waitFor(() => rejects.length === 1, 5000, 'the reject of the deep element');
    expect(rejects[0]).toMatchObject({ code: 'E_SCHEMA', index: 1 });
    await waitFor(async () => (await pointsOf('ev_charger', 't-charger-1')) === 1, 10_000, 'the good point');
  });

  it('closes the connection of a device publishing on another device topic, and writes nothing', async () => {
    const client = await device('energy');
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish(
      'sensors/t-heat-1/readings',
      JSON.stringify({ ts: now(), values: { thermal_power_kw: 5 } }),
      { qos: 1 },
    );
    await closed;
    await new Promise((r) => setTimeout(r, 300));
    expect(await pointsOf('heat_meter', 't-heat-1')).toBe(0);
  });

  it('refuses a wrong secret at CONNACK', async () => {
    await expect(connectDevice(gw.mqttUrl, 't-heat-1', 'not-the-secret')).rejects.toThrow(
      /Bad username or password|Not authorized/i,
    );
    await expect(connectDevice(gw.mqttUrl, 'no-such-device', 'x')).rejects.toThrow(
      /Not authorized|Bad username/i,
    );
  });

  it('works over MQTT on WebSocket too', async () => {
    const id = TEST_DEVICES.weather.id;
    const client = await connectDevice(gw.wsUrl, id, gw.registry.secrets[id]!);
    clients.push(client);
    await publishAcked(
      client,
      `sensors/${id}/readings`,
      JSON.stringify({ ts: now() - 1000, values: { temperature_c: -3.5 } }),
    );
    await waitFor(async () => (await pointsOf('weather', id)) === 1, 10_000, 'weather point');
  });
});
