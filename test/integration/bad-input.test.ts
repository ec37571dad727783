/**
 * Bad input at the broker, on real parts (Aedes on port 0, MQTT.js and hand-written MQTT clients
 * over TCP): a packet announcing ~100 MB, topics MQTT or our ACL forbid, subscriptions outside the
 * ACL, and password guessing. Each is refused, counted under its code in /api/status, writes
 * nothing, and leaves the other devices (and the device's own later traffic) served.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { createLogger } from '../../gateway/logger.js';
import { closeClient, connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { publishHeader, rawConnect } from '../support/raw-mqtt.js';
import { TEST_DEVICES } from '../support/registry.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const MAX_PACKET = 1024 * 1024;
const DECLARED = 100_000_000;
const LOGIN_BASE_MS = 250;
const LOGIN_MAX_MS = 1500;

let gw: TestGateway;
const clients: MqttClient[] = [];
const logLines: Record<string, unknown>[] = [];
let tsSeq = Date.now() - 3_600_000;

interface Status {
  backlog: { records: number };
  readings: { accepted: number };
  broker: { refusals: Record<string, number>; aclDenied: number };
}

async function status(): Promise<Status> {
  const res = await fetch(`${gw.httpUrl}/api/status`);
  expect(res.status).toBe(200);
  return (await res.json()) as Status;
}

async function device(key: keyof typeof TEST_DEVICES): Promise<MqttClient> {
  const id = TEST_DEVICES[key].id;
  const client = await connectDevice(gw.mqttUrl, id, gw.registry.secrets[id]!);
  clients.push(client);
  return client;
}

/** A valid reading with a timestamp never used before, so each one would be a new record. */
function flowReading(): string {
  tsSeq += 1000;
  return JSON.stringify({ ts: tsSeq, values: { flow_l_s: 1, totaliser_m3: 1 } });
}
function parkingReading(): string {
  tsSeq += 1000;
  return JSON.stringify({ ts: tsSeq, values: { occupied_spaces: 3 } });
}

beforeAll(async () => {
  const logger = createLogger('info', {
    write: (chunk: string) => {
      logLines.push(JSON.parse(chunk) as Record<string, unknown>);
    },
  });
  gw = await startTestGateway({
    logger,
    settings: {
      maxPacketBytes: MAX_PACKET,
      // The rate limit has its own test; here it must not refuse anything.
      rateLimitPerSecond: 0,
      loginDelayBaseMs: LOGIN_BASE_MS,
      loginDelayMaxMs: LOGIN_MAX_MS,
    },
  });
});

afterAll(async () => {
  await Promise.all(clients.map(closeClient));
  await gw?.stop();
});

describe('a packet announcing ~100 MB', () => {
  it('is dropped at its header while the client streams, without the gateway buffering it, and another device keeps its PUBACKs', async () => {
    const id = TEST_DEVICES.indoor.id;
    const other = await device('flow');
    const before = await status();
    const raw = await rawConnect(gw.valley.broker.mqttAddress.port, {
      clientId: id,
      username: id,
      password: gw.registry.secrets[id]!,
      keepaliveS: 60,
    });
    expect(raw.returnCode).toBe(0);
    let closed = false;
    void raw.closed.then(() => (closed = true));
    const rssBefore = process.memoryUsage().rss;

    // The other device publishes all along, each publish waiting for its PUBACK.
    let otherAcks = 0;
    let streaming = true;
    const otherDevice = (async () => {
      while (streaming || otherAcks < 5) {
        await publishAcked(other, `sensors/${TEST_DEVICES.flow.id}/readings`, flowReading());
        otherAcks++;
      }
    })();

    // Header first, then the body in 64 KiB chunks until the gateway hangs up (or all of it).
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    raw.socket.write(publishHeader(DECLARED));
    let sent = 0;
    while (!closed && sent < DECLARED) {
      sent += chunk.length;
      if (!raw.socket.write(chunk)) {
        await Promise.race([new Promise((r) => raw.socket.once('drain', r)), raw.closed]);
      }
    }
    await raw.closed;
    streaming = false;
    const rssAfter = process.memoryUsage().rss;
    await otherDevice;

    expect(sent).toBeLessThan(DECLARED);
    const drop = gw.valley.broker.counts.lastGuardDrop;
    expect(drop).toMatchObject({ reason: 'packet-too-large', declaredBytes: DECLARED, address: '127.0.0.1' });
    expect(drop!.bytesReceived).toBeLessThanOrEqual(MAX_PACKET + 5);
    // A memory bound, not a timing: buffering the packet would have cost ~100 MB.
    expect(rssAfter - rssBefore).toBeLessThan(40 * 1024 * 1024);

    const after = await status();
    expect(after.broker.refusals['packet_too_large']).toBe(before.broker.refusals['packet_too_large']! + 1);
    expect(otherAcks).toBeGreaterThanOrEqual(5);
    expect(other.connected).toBe(true);
    // Only the other device's readings were written.
    expect(after.backlog.records - before.backlog.records).toBe(otherAcks);
  });
});

describe('topics outside the contract', () => {
  const id = TEST_DEVICES.traffic.id;
  const reading = () => {
    tsSeq += 1000;
    return JSON.stringify({ ts: tsSeq, values: { vehicles_count: 4, interval_s: 60 } });
  };

  it.each([
    { what: 'a level after readings', topic: `sensors/${id}/readings/extra`, code: 'acl_publish' },
    {
      what: '60 levels (within Aedes, outside the ACL)',
      topic: `sensors/${id}/readings${'/x'.repeat(57)}`,
      code: 'acl_publish',
    },
    {
      what: '300 levels (beyond Aedes maxTopicLevels)',
      topic: `sensors/${id}/readings${'/x'.repeat(297)}`,
      code: 'invalid_topic',
    },
    { what: 'a forged system alert', topic: 'valley/alerts/system/forged', code: 'acl_publish' },
    { what: 'its own rejects topic', topic: `sensors/${id}/rejects`, code: 'acl_publish' },
    { what: 'a + wildcard', topic: 'sensors/+/readings', code: 'invalid_topic' },
    { what: 'a # wildcard', topic: 'sensors/#', code: 'invalid_topic' },
    { what: 'a # under its own readings', topic: `sensors/${id}/readings/#`, code: 'invalid_topic' },
  ])(
    'a device publishing to $what is disconnected, counted as $code, nothing written; it and others go on',
    async ({ topic, code }) => {
      const bystander = await device('parking');
      const before = await status();
      const offender = await device('traffic');
      const closed = new Promise<void>((resolve) => offender.once('close', () => resolve()));
      // The PUBACK never comes: the publish is refused by closing the connection.
      offender.publish(topic, reading(), { qos: 1 });
      await closed;

      // The same device reconnects and is served; the bystander never noticed.
      const again = await device('traffic');
      await publishAcked(again, `sensors/${id}/readings`, reading());
      await publishAcked(bystander, `sensors/${TEST_DEVICES.parking.id}/readings`, parkingReading());
      expect(bystander.connected).toBe(true);

      const after = await status();
      expect(after.broker.refusals[code]).toBe(before.broker.refusals[code]! + 1);
      const other = code === 'acl_publish' ? 'invalid_topic' : 'acl_publish';
      expect(after.broker.refusals[other]).toBe(before.broker.refusals[other]);
      // Exactly the two good readings: the refused one was not written.
      expect(after.backlog.records - before.backlog.records).toBe(2);
      await closeClient(again);
      await closeClient(bystander);
    },
  );

  it('refuses subscriptions outside the ACL in SUBACK, counts each, and keeps the connection serving', async () => {
    const client = await device('traffic');
    const before = await status();
    const refused = [
      `sensors/${TEST_DEVICES.parking.id}/rejects`,
      'sensors/+/rejects',
      'valley/#',
      '$SYS/#',
      '#',
    ];
    for (const filter of refused) {
      // SUBACK return code 0x80 (failure) for the filter.
      await expect(client.subscribeAsync(filter, { qos: 1 })).rejects.toMatchObject({
        packet: { cmd: 'suback', granted: [0x80] },
      });
    }
    const granted = await client.subscribeAsync(`sensors/${id}/rejects`, { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    await publishAcked(client, `sensors/${id}/readings`, reading());
    expect(client.connected).toBe(true);
    const after = await status();
    expect(after.broker.refusals['acl_subscribe']).toBe(
      before.broker.refusals['acl_subscribe']! + refused.length,
    );
    expect(after.broker.aclDenied).toBe(before.broker.aclDenied + refused.length);
  });
});

describe('password guessing over MQTT', () => {
  const port = () => gw.valley.broker.mqttAddress.port;
  const victim = TEST_DEVICES.heat.id;
  const guess = async (clientId: string): Promise<number> => {
    const raw = await rawConnect(port(), { clientId, username: clientId, password: 'guess', keepaliveS: 60 });
    raw.socket.destroy();
    return raw.returnCode;
  };
  const refusedDelays = (clientId: string) =>
    logLines
      .filter((l) => l['msg'] === 'CONNECT refused' && l['clientId'] === clientId)
      .map((l) => l['delayMs']);

  it('answers wrong secrets later and later (capped), lets the real device in meanwhile, and resets on its success', async () => {
    const before = await status();
    for (let i = 1; i <= 3; i++) {
      expect(await guess(victim)).toBe(4);
      expect(gw.valley.broker.loginFailures('127.0.0.1', victim)).toBe(i);
    }
    // One more guess, pending in its (capped) delay while the real device connects and publishes.
    const order: string[] = [];
    const pending = guess(victim).then((code) => order.push(`guess refused (${code})`));
    await waitFor(() => gw.valley.broker.loginFailures('127.0.0.1', victim) === 4, 10_000, 'the 4th failure');
    const real = await device('heat');
    await publishAcked(
      real,
      `sensors/${victim}/readings`,
      JSON.stringify({ ts: (tsSeq += 1000), values: { thermal_power_kw: 12 } }),
    );
    order.push('device acknowledged');
    // The success reset the key, though the guesser had been refused four times from this address.
    expect(gw.valley.broker.loginFailures('127.0.0.1', victim)).toBe(0);
    await pending;
    expect(order).toEqual(['device acknowledged', 'guess refused (4)']);
    expect(real.connected).toBe(true);

    // The delays the gateway chose grew and stopped at the cap; after the reset they start again.
    expect(await guess(victim)).toBe(4);
    expect(gw.valley.broker.loginFailures('127.0.0.1', victim)).toBe(1);
    expect(refusedDelays(victim)).toEqual([
      LOGIN_BASE_MS,
      2 * LOGIN_BASE_MS,
      4 * LOGIN_BASE_MS,
      LOGIN_MAX_MS,
      LOGIN_BASE_MS,
    ]);
    const after = await status();
    expect(after.broker.refusals['bad_secret']).toBe(before.broker.refusals['bad_secret']! + 5);
  });

  it('refuses an unknown id with the same CONNACK code as a wrong secret, counted as unknown_id', async () => {
    const before = await status();
    expect(await guess('no-such-device')).toBe(4);
    expect(await guess('no-such-device')).toBe(4);
    expect(gw.valley.broker.loginFailures('127.0.0.1', 'no-such-device')).toBe(2);
    const after = await status();
    expect(after.broker.refusals['unknown_id']).toBe(before.broker.refusals['unknown_id']! + 2);
    expect(after.broker.refusals['bad_secret']).toBe(before.broker.refusals['bad_secret']);
  });
});
