/**
 * Outbox cap and back-pressure (DESIGN "Never drop silently"): with InfluxDB stopped and a small
 * cap, publishes stop getting PUBACKs once the unsent backlog reaches the cap, the system alert is
 * raised and logged; when InfluxDB is back every held publish gets its PUBACK and every
 * acknowledged reading is in InfluxDB exactly once. Counts come from PUBACKs and InfluxQL.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import type { Alert } from '../../contract/index.js';
import { hashPassword } from '../../config/secrets.js';
import { createLogger } from '../../gateway/logger.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import {
  closeClient,
  collectRaw,
  connectDevice,
  connectUser,
  publishAcked,
  waitFor,
} from '../support/mqtt.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { makeTestRegistry, TEST_DEVICES } from '../support/registry.js';

const DB = 'backpressure';
const CAP = 16 * 1024;
const HELD = 20;
let influx: InfluxdHandle;
let gw: TestGateway;
const clients: MqttClient[] = [];
const logs: { msg: string }[] = [];

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  const password = 'operator passphrase';
  const users = [{ id: 'ops-1', role: 'operator' as const, password_hash: await hashPassword(password) }];
  gw = await startTestGateway({
    registry: makeTestRegistry([], users),
    sink: { mode: 'v1', url: influx.url, db: DB },
    settings: { outboxMaxBytes: CAP },
    logger: createLogger('info', {
      write: (line: string) => void logs.push(JSON.parse(line) as { msg: string }),
    }),
  });
  clients.push(await connectUser(gw.mqttUrl, 'ops-1', password));
});

afterAll(async () => {
  await Promise.all(clients.map(closeClient));
  await gw?.stop();
  await influx?.stop();
});

describe('outbox cap and back-pressure', () => {
  it('holds PUBACKs at the cap while InfluxDB is down, then acknowledges and delivers each reading once', async () => {
    const operator = clients[0]!;
    const alerts = await collectRaw(operator, 'valley/alerts/system/outbox-backpressure');
    const id = TEST_DEVICES.flow.id;
    const device = await connectDevice(gw.mqttUrl, id, gw.registry.secrets[id]!);
    clients.push(device);
    await influx.stop();

    const acked = new Set<number>();
    // Held publishes wait through an InfluxDB restart and the drainer's backoff.
    const HELD_PUBACK_TIMEOUT_MS = 60_000;
    const t0 = Date.now() - 3_600_000;
    const publish = (i: number) =>
      publishAcked(
        device,
        `sensors/${id}/readings`,
        JSON.stringify({ ts: t0 + i * 1000, seq: i, values: { flow_l_s: 5, totaliser_m3: 1000 + i } }),
        HELD_PUBACK_TIMEOUT_MS,
      ).then(() => void acked.add(t0 + i * 1000));

    // Below the cap every publish is acknowledged as soon as it is on disk.
    let n = 0;
    while (gw.valley.outbox.stats().backlogBytes < CAP && n < 1000) await publish(n++);
    expect(acked.size).toBe(n);
    expect(gw.valley.backpressure!.state().holding).toBe(false);

    // At the cap: no PUBACK, however long we wait.
    const held = Array.from({ length: HELD }, (_, j) => publish(n + j));
    await new Promise((r) => setTimeout(r, 1000));
    expect(acked.size).toBe(n);
    const state = gw.valley.backpressure!.state();
    expect(state.holding).toBe(true);
    expect(state.heldAppends).toBeGreaterThan(0);
    await waitFor(() => alerts.some((m) => m.payload.includes('"active"')), 5000, 'the back-pressure alert');
    const alert = JSON.parse(alerts[0]!.payload) as Alert;
    expect(alert).toMatchObject({ id: 'outbox-backpressure', severity: 'critical', state: 'active' });
    expect(alert.message).toContain('(VALLEY_OUTBOX_MAX = 16 KiB)');
    expect(gw.valley.alerts.active().map((a) => a.id)).toContain('outbox-backpressure');
    expect(gw.valley.status().backlog).toMatchObject({ holding: true, capBytes: CAP });
    expect(logs.some((l) => l.msg.startsWith('outbox backlog reached its cap'))).toBe(true);

    // InfluxDB back: the drainer frees space, every held publish gets its PUBACK.
    await influx.restart();
    await Promise.all(held);
    expect(acked.size).toBe(n + HELD);
    await waitFor(() => alerts.length === 3, 10_000, 'the alert resolved and cleared');
    expect(alerts.map((m) => (m.payload === '' ? '' : (JSON.parse(m.payload) as Alert).state))).toEqual([
      'active',
      'resolved',
      '',
    ]);
    expect(logs.some((l) => l.msg.startsWith('outbox backlog under its cap again'))).toBe(true);

    await waitFor(async () => (await influx.count(DB, 'water_flow')) >= acked.size, 20_000, 'every point');
    const rows = await influx.query(DB, `SELECT totaliser_m3 FROM water_flow WHERE device = '${id}'`);
    expect(rows).toHaveLength(acked.size);
    expect(new Set(rows.map((r) => Number(r.time)))).toEqual(acked);
    expect(gw.valley.ingest.counts.accepted).toBe(acked.size);
  });
});
