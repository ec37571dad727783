/**
 * The gateway's structured log under real MQTT traffic: nothing per reading at info, every reject
 * and refusal line names the device and a stable code, and a looping device gets a bounded
 * number of lines rather than one per message.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { createLogger } from '../../gateway/logger.js';
import { closeClient, connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { TEST_DEVICES } from '../support/registry.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

interface LogLine {
  level: number;
  msg: string;
  deviceId?: string;
  clientId?: string;
  code?: string;
  [key: string]: unknown;
}

const INFO = 30;
const lines: LogLine[] = [];
const clock = { now: () => Date.now() };
let gw: TestGateway;
const clients: MqttClient[] = [];

async function device(id: string): Promise<MqttClient> {
  const client = await connectDevice(gw.mqttUrl, id, gw.registry.secrets[id]!);
  clients.push(client);
  return client;
}

const about = (id: string) => (l: LogLine) => l.level >= INFO && (l.deviceId === id || l.clientId === id);

beforeAll(async () => {
  const logger = createLogger('info', {
    write: (chunk: string) => {
      lines.push(JSON.parse(chunk) as LogLine);
    },
  });
  gw = await startTestGateway({ logger, clock, settings: { rateLimitPerSecond: 1, rateBurst: 5 } });
});

afterAll(async () => {
  await Promise.all(clients.map(closeClient));
  await gw?.stop();
});

describe('structured logs', () => {
  it('log rejects and refusals with device id and code, at most once per device per interval', async () => {
    const good = TEST_DEVICES.flow.id;
    const bad = TEST_DEVICES.pressure.id;
    const looper = TEST_DEVICES.level.id;
    const base = clock.now() - 60_000;

    const goodClient = await device(good);
    // Five messages of four readings each (arrays count once against the rate limit).
    for (let m = 0; m < 5; m++) {
      const batch = Array.from({ length: 4 }, (_, i) => ({
        ts: base + m * 10 + i,
        values: { flow_l_s: 1, totaliser_m3: m * 10 + i },
      }));
      await publishAcked(goodClient, `sensors/${good}/readings`, JSON.stringify(batch));
    }
    const badClient = await device(bad);
    for (let i = 0; i < 5; i++)
      await publishAcked(
        badClient,
        `sensors/${bad}/readings`,
        JSON.stringify({ ts: base + i, values: { pressure_bar: 99 } }),
      );

    const loopClient = await device(looper);
    const startedAt = clock.now();
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        publishAcked(
          loopClient,
          `sensors/${looper}/readings`,
          JSON.stringify({ ts: base + i, values: { level_m: 2 } }),
        ),
      ),
    );
    const endedAt = clock.now();

    await expect(connectDevice(gw.mqttUrl, TEST_DEVICES.quality.id, 'wrong')).rejects.toThrow();
    const intruder = await device(TEST_DEVICES.energy.id);
    intruder.publish(`sensors/${good}/readings`, '{}', { qos: 1 });
    await waitFor(() => !intruder.connected, 5000, 'the ACL to close the intruder');

    const status = gw.valley.status();
    expect(status.readings.accepted).toBe(20 + 200 - status.broker.rateLimited);
    expect(status.broker.rateLimited).toBeGreaterThan(0);

    // Nothing about the well-behaved device at info or above: no line per reading or message.
    expect(lines.filter(about(good))).toEqual([]);

    // Five rejecting messages, one info line (once per device per minute), naming device and code.
    const rejectLines = lines.filter(about(bad));
    expect(rejectLines).toHaveLength(1);
    expect(rejectLines[0]).toMatchObject({ deviceId: bad, code: 'E_RANGE', level: INFO });

    // The looping device: one line per second at most, each with the count refused.
    const rateLines = lines.filter(about(looper));
    expect(rateLines.length).toBeGreaterThanOrEqual(1);
    expect(rateLines.length).toBeLessThanOrEqual(Math.floor((endedAt - startedAt) / 1000) + 1);
    for (const l of rateLines) {
      expect(l).toMatchObject({ deviceId: looper, code: 'E_RATE_LIMIT' });
      expect(l['dropped']).toEqual(expect.any(Number));
    }

    expect(lines.filter(about(TEST_DEVICES.quality.id))).toEqual([
      expect.objectContaining({ msg: 'CONNECT refused', code: 'bad_secret' }),
    ]);
    expect(lines.filter(about(TEST_DEVICES.energy.id))).toEqual([
      expect.objectContaining({ msg: 'publish refused by the ACL', code: 'acl_publish' }),
    ]);
    // Secrets never reach the log.
    const text = JSON.stringify(lines);
    for (const secret of Object.values(gw.registry.secrets)) expect(text).not.toContain(secret);
  });
});
