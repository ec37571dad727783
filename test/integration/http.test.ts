/**
 * The HTTP server on real parts: the whole gateway in-process (Aedes on port 0, MQTT.js devices,
 * a real InfluxDB 1.x). /api/status is compared with what the publishers produced (PUBACKs, the
 * reject messages they received); /readyz with InfluxDB stopped and restarted.
 */
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { REJECT_CODES, type RejectCode } from '../../contract/index.js';
import { readinessSchema, statusSchema, type ValleyStatus } from '../../dashboard/status-schema.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import { freePort } from '../support/ports.js';
import { closeClient, collect, connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { TEST_DEVICES } from '../support/registry.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const DB = 'valley';
const READY_BACKLOG = 20;
let influx: InfluxdHandle;
let gw: TestGateway;
const clients: MqttClient[] = [];

async function device(key: keyof typeof TEST_DEVICES): Promise<MqttClient> {
  const id = TEST_DEVICES[key].id;
  const client = await connectDevice(gw.mqttUrl, id, gw.registry.secrets[id]!);
  clients.push(client);
  return client;
}

async function get(path: string): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(`${gw.httpUrl}${path}`);
  return { status: res.status, headers: res.headers, body: await res.json() };
}

async function status(): Promise<ValleyStatus> {
  const res = await get('/api/status');
  expect(res.status).toBe(200);
  return statusSchema.parse(res.body);
}

const flow = (ts: number, i: number): string =>
  JSON.stringify({ ts, seq: i, values: { flow_l_s: 4 + (i % 5), totaliser_m3: 500 + i } });

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  gw = await startTestGateway({
    sink: { mode: 'v1', url: influx.url, db: DB },
    settings: { readyBacklogRecords: READY_BACKLOG },
  });
});

afterAll(async () => {
  await Promise.all(clients.map(closeClient));
  await gw?.stop();
  await influx?.stop();
});

describe('HTTP server', () => {
  it('stops in seconds while a browser holds a connection it sent no request on yet (preconnect)', async () => {
    const own = await startTestGateway();
    const preconnect = net.connect(own.valley.http.address.port, '127.0.0.1');
    preconnect.on('error', () => undefined);
    try {
      await new Promise<void>((resolve) => preconnect.once('connect', () => resolve()));
      // Node keeps such a socket until its headersTimeout (60 s); the stop must not wait for it.
      const hung = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('stop() still waiting after 15 s')), 15_000).unref(),
      );
      await Promise.race([own.stop(), hung]);
    } finally {
      preconnect.destroy();
    }
  });

  it('/healthz answers 200 with helmet headers; unknown routes and methods answer JSON errors', async () => {
    const health = await get('/healthz');
    expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(health.headers.get('content-type')).toMatch(/^application\/json/);
    expect(health.headers.get('x-content-type-options')).toBe('nosniff');
    expect(health.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(health.headers.get('x-powered-by')).toBeNull();
    expect(health.headers.get('cache-control')).toBe('no-store');

    const missing = await get('/api/nothing-here');
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'E_NOT_FOUND' } } });
    const res = await fetch(`${gw.httpUrl}/api/status`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(await res.json()).toMatchObject({ error: { code: 'E_METHOD_NOT_ALLOWED' } });
    const bad = await fetch(`${gw.httpUrl}/%E0%A4%A`);
    const text = await bad.text();
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(text).not.toMatch(/at .*\.(ts|js):\d+/); // never a stack trace
  });

  it('a busy HTTP port stops the start with a message naming the setting, and leaves nothing open', async () => {
    const port = Number(new URL(gw.httpUrl).port);
    const dataDir = await mkdtemp(join(tmpdir(), 'valley-http-busy-'));
    try {
      await expect(startTestGateway({ dataDir, settings: { httpPort: port } })).rejects.toThrow(
        `HTTP port ${port} on 127.0.0.1 is already in use; choose another with VALLEY_HTTP_PORT / --http-port`,
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('starts with InfluxDB down, and shows the failed start-up ping', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const other = await startTestGateway({ sink: { mode: 'v1', url, db: DB } });
    try {
      expect((await fetch(`${other.httpUrl}/readyz`)).status).toBe(200);
      await waitFor(() => other.valley.status().sink.ping !== null, 5000, 'the start-up ping');
      expect(other.valley.status().sink.ping).toMatchObject({
        ok: false,
        error: expect.stringContaining('ECONNREFUSED') as unknown,
      });
    } finally {
      await other.stop();
    }
  });

  it('/api/status counts what the publishers produced', async () => {
    const flowId = TEST_DEVICES.flow.id;
    const pressureId = TEST_DEVICES.pressure.id;
    const flowClient = await device('flow');
    const pressureClient = await device('pressure');
    const rejects = (await collect(pressureClient, `sensors/${pressureId}/rejects`)) as {
      code: RejectCode;
    }[];

    // 12 valid readings, then 3 of them again: accepted 12, duplicates 3.
    const t0 = Date.now() - 120_000;
    let acked = 0;
    let messages = 0;
    for (let i = 0; i < 12; i++) {
      await publishAcked(flowClient, `sensors/${flowId}/readings`, flow(t0 + i * 1000, i));
      acked++;
      messages++;
    }
    for (const i of [2, 5, 7]) {
      await publishAcked(flowClient, `sensors/${flowId}/readings`, flow(t0 + i * 1000, i));
      messages++;
    }
    // Rejects: one message each, and a backlog array with one bad element among two good ones.
    const now = Date.now();
    const bad = [
      'not json',
      JSON.stringify({ ts: Math.floor(now / 1000), values: { pressure_bar: 4 } }),
      JSON.stringify({ ts: '2026-11-25T06:00:00', values: { pressure_bar: 4 } }),
      JSON.stringify({ ts: now - 1000, values: { pressure_bar: 4, bogus_bar: 1 } }),
      JSON.stringify({ ts: now - 2000, values: { pressure_bar: 99 } }),
      JSON.stringify([
        { ts: now - 5000, values: { pressure_bar: 3.9 } },
        { ts: now - 4000, values: { pressure_bar: -2 } },
        { ts: now - 3000, values: { pressure_bar: 4.1 } },
      ]),
    ];
    for (const payload of bad) {
      await publishAcked(pressureClient, `sensors/${pressureId}/readings`, payload);
      messages++;
    }
    acked += 2;
    await waitFor(() => rejects.length === 6, 5000, 'six reject messages');

    // A refused login and a refused subscription, as the broker counts them.
    await expect(connectDevice(gw.mqttUrl, TEST_DEVICES.level.id, 'wrong-secret')).rejects.toThrow();
    // MQTT.js rejects a SUBACK of 128 (failure).
    await expect(pressureClient.subscribeAsync('valley/#', { qos: 1 })).rejects.toThrow();

    const s = await status();
    const byCode = Object.fromEntries(REJECT_CODES.map((c) => [c, 0])) as Record<RejectCode, number>;
    for (const r of rejects) byCode[r.code]++;
    expect(byCode).toMatchObject({
      E_JSON: 1,
      E_TS_SECONDS: 1,
      E_TS_NO_ZONE: 1,
      E_UNKNOWN_METRIC: 1,
      E_RANGE: 2,
    });
    expect(s.readings).toEqual({
      messages,
      accepted: acked,
      duplicates: 3,
      rejected: rejects.length,
      rejectedByCode: byCode,
      deadLetterDropped: 0,
    });
    expect(s.deadLetter).toMatchObject({ records: 6, dropped: 0, full: false });
    expect(s.devices).toEqual({
      registered: gw.registry.index.devices.size,
      connected: 2,
      connectedIds: [flowId, pressureId].sort(),
    });
    expect(s.broker).toMatchObject({ listening: true, aclDenied: 1 });
    expect(Object.values(s.broker.connectionsRefused).reduce((a, b) => a + b, 0)).toBe(1);
    expect(s.broker.connectionsRefused['wrong secret']).toBe(1);
    expect(s.sink).toMatchObject({ mode: 'v1', description: expect.stringContaining(influx.url) as unknown });
    expect(s.alerts === null || Array.isArray(s.alerts)).toBe(true);
    expect(s.version).toMatch(/^\d+\.\d+\.\d+/);

    // The drainer delivers them; the status then shows no backlog and a write time.
    await waitFor(async () => (await status()).backlog.records === 0, 10_000, 'the backlog to drain');
    const drained = await status();
    expect(drained.backlog).toMatchObject({
      records: 0,
      oldestReceivedAt: null,
      ageMs: null,
      writable: true,
    });
    expect(drained.sink.written).toBe(acked);
    expect(drained.sink.lastWriteAt).not.toBeNull();
    expect(drained.sink.ping).toMatchObject({ ok: true, version: expect.stringMatching(/^1\./) as unknown });
  });

  it('/readyz: 503 with the reason once InfluxDB is down and the backlog passes its limit, 200 after it drains', async () => {
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(readinessSchema.parse(ready.body)).toMatchObject({ status: 'ready', reasons: [] });

    const id = TEST_DEVICES.flow2.id;
    const client = await device('flow2');
    const t0 = Date.now() - 60_000;
    await influx.stop();
    // An outage alone is normal: within the backlog limit the gateway stays ready.
    for (let i = 0; i < 5; i++) await publishAcked(client, `sensors/${id}/readings`, flow(t0 + i * 100, i));
    await waitFor(async () => (await status()).sink.state === 'backoff', 10_000, 'the drainer to back off');
    expect((await get('/readyz')).status).toBe(200);

    for (let i = 5; i < READY_BACKLOG + 10; i++)
      await publishAcked(client, `sensors/${id}/readings`, flow(t0 + i * 100, i));
    const down = await get('/readyz');
    expect(down.status).toBe(503);
    const body = readinessSchema.parse(down.body);
    expect(body.status).toBe('not ready');
    expect(body.checks).toMatchObject({ broker: { ok: true }, outbox: { ok: true }, sink: { ok: false } });
    expect(body.reasons).toHaveLength(1);
    expect(body.reasons[0]).toContain('InfluxDB is unreachable');
    expect(body.reasons[0]).toContain('ECONNREFUSED');
    expect(body.reasons[0]).toContain(
      `${READY_BACKLOG + 10} readings wait (limit ${READY_BACKLOG}, VALLEY_READY_BACKLOG)`,
    );

    await influx.restart();
    // Ready again as soon as InfluxDB takes writes; the backlog then drains.
    await waitFor(async () => (await get('/readyz')).status === 200, 15_000, '/readyz to answer 200 again');
    await waitFor(async () => (await status()).backlog.records === 0, 15_000, 'the backlog to drain');
    const rows = await influx.query(DB, `SELECT count(flow_l_s) FROM water_flow WHERE device = '${id}'`);
    expect(rows[0]?.count).toBe(READY_BACKLOG + 10);
  });
});
