/**
 * `/metrics` scraped with a real HTTP client after real MQTT traffic (MQTT.js devices, Aedes on
 * port 0, a real InfluxDB 1.x behind the drainer), and its access rules.
 */
import { once } from 'node:events';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import type { MqttClient } from 'mqtt';
import { metricsRoutes } from '../../dashboard/routes/metrics.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import { connectLive, liveClient, type LiveRecorder } from '../support/live.js';
import { closeClient, collect, connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { TEST_DEVICES } from '../support/registry.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const DB = 'valley';
const TOKEN = 'a-metrics-token-for-tests-0123456789';
let influx: InfluxdHandle;
let gw: TestGateway;
let closedGw: TestGateway;
const clients: MqttClient[] = [];
let live: LiveRecorder | undefined;

/** `name{labels}` → value, from the Prometheus text format. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
}

async function device(key: keyof typeof TEST_DEVICES): Promise<MqttClient> {
  const id = TEST_DEVICES[key].id;
  const client = await connectDevice(gw.mqttUrl, id, gw.registry.secrets[id]!);
  clients.push(client);
  return client;
}

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  gw = await startTestGateway({ sink: { mode: 'v1', url: influx.url, db: DB } });
  closedGw = await startTestGateway({ settings: { metricsToken: TOKEN } });
});

afterAll(async () => {
  live?.socket.disconnect();
  await Promise.all(clients.map(closeClient));
  await gw?.stop();
  await closedGw?.stop();
  await influx?.stop();
});

describe('/metrics', () => {
  it('counts accepted, duplicate and rejected readings, refusals, the backlog, the sink and the clients', async () => {
    const flowId = TEST_DEVICES.flow.id;
    const flow = await device('flow');
    const rejects = await collect(flow, `sensors/${flowId}/rejects`);
    const reading = JSON.stringify({ ts: Date.now() - 1000, values: { flow_l_s: 3, totaliser_m3: 10 } });
    await publishAcked(flow, `sensors/${flowId}/readings`, reading);
    await publishAcked(flow, `sensors/${flowId}/readings`, reading); // a duplicate
    await publishAcked(
      flow,
      `sensors/${flowId}/readings`,
      JSON.stringify({ ts: Date.now() - 500, values: { flow_l_s: 5000, totaliser_m3: 11 } }),
    );
    await waitFor(() => rejects.length === 1, 5000, 'the E_RANGE reject');
    // A wrong secret and an unknown device: both CONNACK 4, counted apart.
    await expect(connectDevice(gw.mqttUrl, TEST_DEVICES.level.id, 'wrong-secret')).rejects.toThrow();
    await expect(connectDevice(gw.mqttUrl, 'no-such-device', 'whatever')).rejects.toThrow();
    // A publish outside the device's topics: the connection is closed, the denial counted.
    const pressure = await device('pressure');
    pressure.publish('sensors/t-flow-1/readings', reading, { qos: 1 });
    await waitFor(() => !pressure.connected, 5000, 'the ACL to close the connection');
    live = liveClient(gw.httpUrl);
    await connectLive(live);
    // The reading reached InfluxDB: the sink histogram has a write.
    await waitFor(() => gw.valley.status().backlog.records === 0, 10_000, 'the backlog to drain');

    const m = await scrape(gw.httpUrl);
    expect(m.get('valley_readings_accepted_total')).toBe(1);
    expect(m.get('valley_readings_duplicate_total')).toBe(1);
    expect(m.get('valley_readings_rejected_total{code="E_RANGE"}')).toBe(1);
    expect(m.get('valley_readings_rejected_total{code="E_JSON"}')).toBe(0);
    expect(m.get('valley_readings_rejected_total{code="E_RATE_LIMIT"}')).toBe(0);
    expect(m.get('valley_mqtt_refusals_total{reason="bad_secret"}')).toBe(1);
    expect(m.get('valley_mqtt_refusals_total{reason="unknown_id"}')).toBe(1);
    expect(m.get('valley_mqtt_refusals_total{reason="acl_publish"}')).toBe(1);
    expect(m.get('valley_mqtt_refusals_total{reason="rate_limited"}')).toBe(0);
    expect(m.get('valley_outbox_backlog_records')).toBe(0);
    expect(m.get('valley_outbox_oldest_age_seconds')).toBe(0);
    expect(m.get('valley_deadletter_records')).toBe(1);
    expect(m.get('valley_devices_connected')).toBe(1);
    expect(m.get('valley_devices_registered')).toBe(gw.registry.index.devices.size);
    expect(m.get('valley_socketio_clients')).toBe(1);
    expect(m.get('valley_sink_write_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(m.get('valley_sink_write_errors_total{kind="unavailable"}')).toBe(0);
    // prom-client's default metrics, event-loop lag among them.
    expect(m.get('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('counts sink failures by kind', async () => {
    const flowId = TEST_DEVICES.flow.id;
    const flow = clients[0]!;
    await influx.stop();
    await publishAcked(
      flow,
      `sensors/${flowId}/readings`,
      JSON.stringify({ ts: Date.now(), values: { flow_l_s: 4, totaliser_m3: 12 } }),
    );
    await waitFor(
      async () =>
        ((await scrape(gw.httpUrl)).get('valley_sink_write_errors_total{kind="unavailable"}') ?? 0) > 0,
      10_000,
      'a failed write to be counted',
    );
    const m = await scrape(gw.httpUrl);
    expect(m.get('valley_outbox_backlog_records')).toBe(1);
    expect(m.get('valley_outbox_oldest_age_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('asks for the token when one is set, and answers with it', async () => {
    const missing = await fetch(`${closedGw.httpUrl}/metrics`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await fetch(`${closedGw.httpUrl}/metrics`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('E_METRICS_TOKEN');
    const m = await scrape(closedGw.httpUrl, { authorization: `Bearer ${TOKEN}` });
    expect(m.get('valley_readings_accepted_total')).toBe(0);
  });

  it('is closed without a token on a non-loopback bind, and to a foreign Host on loopback', async () => {
    const app = express();
    app.use(
      metricsRoutes(
        { contentType: 'text/plain', render: () => Promise.resolve('x 1\n') },
        { bind: '0.0.0.0', token: undefined },
      ),
    );
    const server: Server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
      const res = await fetch(url);
      expect(res.status).toBe(403);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('E_METRICS_TOKEN_REQUIRED');
      expect(body.error.message).toContain('VALLEY_METRICS_TOKEN');
    } finally {
      server.close();
      server.closeAllConnections();
      await once(server, 'close');
    }
    // fetch() does not let a caller set Host; node:http does, as a rebinding browser would send it.
    const rebinding = await new Promise<number>((resolve, reject) => {
      const req = request(`${gw.httpUrl}/metrics`, { headers: { host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(rebinding).toBe(403);
  });
});
