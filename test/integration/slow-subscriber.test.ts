/**
 * A slow operator: subscribed to valley/live/# and then never reading its socket (a laptop whose
 * Wi-Fi froze, a dashboard stuck in a debugger). The broker must not buffer for it without bound,
 * and it must not stall anyone else: devices keep getting their PUBACKs, another operator keeps
 * getting live readings, and the slow one is dropped once its unsent output passes
 * VALLEY_OUTPUT_BUFFER_MAX, counted and logged.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { hashPassword } from '../../config/secrets.js';
import { createLogger } from '../../gateway/logger.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { closeClient, collect, connectDevice, connectUser, publishAcked, waitFor } from '../support/mqtt.js';
import { connectPacket, subscribePacket } from '../support/raw-mqtt.js';
import { makeTestRegistry, TEST_DEVICES } from '../support/registry.js';

const LIMIT = 256 * 1024;
const PASSWORD = 'slow-operator-password';
let gw: TestGateway;
const clients: MqttClient[] = [];
const sockets: net.Socket[] = [];
const logs: { msg: string; bufferedBytes?: number }[] = [];

/** An operator that subscribes to valley/live/# over a raw socket and then stops reading it. */
async function frozenOperator(port: number, id: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => undefined);
  let received = Buffer.alloc(0);
  const subacked = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      // CONNACK (4 bytes, accepted) then SUBACK (5 bytes, granted QoS 0).
      if (received.length >= 9 && received[0] === 0x20 && received[3] === 0 && received[4] === 0x90)
        resolve();
    });
    socket.once('close', () => reject(new Error(`closed before SUBACK: ${received.toString('hex')}`)));
  });
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(connectPacket({ clientId: id, username: id, password: PASSWORD, keepaliveS: 0 }));
  socket.write(subscribePacket('valley/live/#', 1));
  await subacked;
  socket.removeAllListeners('data');
  socket.pause();
  return socket;
}

beforeAll(async () => {
  const password_hash = await hashPassword(PASSWORD);
  const registry = makeTestRegistry(
    [],
    [
      { id: 'op-frozen', role: 'operator', password_hash },
      { id: 'op-reading', role: 'operator', password_hash },
    ],
  );
  const logger = createLogger('info', {
    write: (line: string) => void logs.push(JSON.parse(line) as { msg: string }),
  });
  gw = await startTestGateway({ registry, logger, settings: { outputBufferMaxBytes: LIMIT } });
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(clients.map(closeClient));
  await gw?.stop();
});

describe('an operator that stops reading its socket', () => {
  it('is dropped at the output limit while devices keep their PUBACKs and others their live data', async () => {
    const port = gw.valley.broker.mqttAddress.port;
    const frozen = await frozenOperator(port, 'op-frozen');
    const reader = await connectUser(gw.mqttUrl, 'op-reading', PASSWORD);
    clients.push(reader);
    const live = (await collect(reader, 'valley/live/#')) as { seq?: number }[];

    const id = TEST_DEVICES.flow.id;
    const device = await connectDevice(gw.mqttUrl, id, gw.registry.secrets[id]!);
    clients.push(device);
    // Each message carries 1,000 readings, each republished live (~250 bytes, ~250 KB a message).
    // The device publishes until the frozen operator is dropped (once the kernel's socket buffers,
    // a few MB, and then the limit are full), and a few more after; at most 200 (~50 MB).
    const PER_MESSAGE = 1000;
    const t0 = Date.now() - 3_600_000;
    const counts = gw.valley.broker.counts;
    let messages = 0;
    let afterDrop = 0;
    const publishOne = async (): Promise<void> => {
      const batch = Array.from({ length: PER_MESSAGE }, (_, i) => {
        const n = messages * PER_MESSAGE + i;
        return { ts: t0 + n, seq: n, values: { flow_l_s: 5, totaliser_m3: n } };
      });
      await publishAcked(device, `sensors/${id}/readings`, JSON.stringify(batch));
      messages++;
    };
    while (afterDrop < 3 && messages < 200) {
      await publishOne();
      if (counts.slowClientDrops > 0) afterDrop++;
    }
    expect(gw.valley.ingest.counts.accepted).toBe(messages * PER_MESSAGE);

    // The frozen operator was dropped, counted and logged, with at most the limit (plus the one
    // write that crossed it) held for it.
    expect(counts.slowClientDrops).toBe(1);
    expect(counts.lastSlowClientDrop).toMatchObject({ clientId: 'op-frozen' });
    expect(counts.lastSlowClientDrop!.bufferedBytes).toBeGreaterThan(LIMIT);
    expect(counts.lastSlowClientDrop!.bufferedBytes).toBeLessThan(LIMIT + 64 * 1024);
    const line = logs.find((l) => l.msg.startsWith('slow client dropped'));
    expect(line).toBeDefined();

    // The reading operator saw every live reading, the last one included.
    await waitFor(() => live.length === messages * PER_MESSAGE, 10_000, 'every live reading');
    expect(live.at(-1)?.seq).toBe(messages * PER_MESSAGE - 1);

    // The frozen socket, read again, ends: the broker closed it.
    const ended = new Promise<void>((resolve) => frozen.once('close', () => resolve()));
    frozen.on('data', () => undefined);
    frozen.resume();
    await ended;
  });
});
