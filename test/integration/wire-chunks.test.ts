/**
 * Packets as TCP really delivers them: a CONNECT and its PUBLISHes coalesced into one segment, and
 * the same bytes trickling in one at a time. The size guard scans the fixed headers across chunk
 * boundaries and the parser keeps partial packets between reads (broker/size-guard.ts,
 * broker/parser-buffer.ts); either way every reading is accepted and acknowledged with its own
 * packet id.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitFor } from '../support/mqtt.js';
import { connectPacket, publishPacket } from '../support/raw-mqtt.js';
import { makeTestRegistry, TEST_DEVICES } from '../support/registry.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ registry: makeTestRegistry() });
});

afterAll(async () => {
  await gw?.stop();
});

/** CONNECT and three QoS 1 readings (packet ids 7, 8, 9) of one device, as one byte string. */
function session(id: string, metric: string, t0: number): Buffer {
  return Buffer.concat([
    connectPacket({ clientId: id, keepaliveS: 30, username: id, password: gw.registry.secrets[id]! }),
    ...[7, 8, 9].map((packetId, i) =>
      publishPacket(
        `sensors/${id}/readings`,
        JSON.stringify({ ts: t0 + i * 1000, values: { [metric]: 4 + i / 10 } }),
        packetId,
      ),
    ),
  ]);
}

/** Sends `bytes` in pieces of `piece` bytes (waiting between them) and returns what came back. */
async function exchange(bytes: Buffer, piece: number): Promise<Buffer> {
  const socket = net.connect(Number(new URL(gw.mqttUrl).port), '127.0.0.1');
  socket.setNoDelay(true);
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  for (let at = 0; at < bytes.length; at += piece) {
    socket.write(bytes.subarray(at, at + piece));
    if (piece < bytes.length) await sleep(1);
  }
  // CONNACK (4 bytes) and three PUBACKs (4 bytes each).
  await waitFor(() => Buffer.concat(received).length >= 16, 10_000, 'the CONNACK and three PUBACKs');
  socket.destroy();
  return Buffer.concat(received);
}

const CONNACK = Buffer.from([0x20, 2, 0, 0]);

/** The packet ids of the PUBACKs after the CONNACK (Aedes may finish the three in any order). */
function pubackIds(reply: Buffer): number[] {
  const ids: number[] = [];
  for (let at = CONNACK.length; at + 4 <= reply.length; at += 4) {
    expect([reply[at], reply[at + 1]]).toEqual([0x40, 2]);
    ids.push(reply.readUInt16BE(at + 2));
  }
  return ids.sort((a, b) => a - b);
}

describe('packets across TCP segments', () => {
  it('accepts a CONNECT and three readings arriving in one segment', async () => {
    const before = gw.valley.ingest.counts.accepted;
    const reply = await exchange(
      session(TEST_DEVICES.pressure.id, 'pressure_bar', Date.now() - 60_000),
      Infinity,
    );
    expect(reply.subarray(0, 4)).toEqual(CONNACK);
    expect(reply).toHaveLength(16);
    expect(pubackIds(reply)).toEqual([7, 8, 9]);
    expect(gw.valley.ingest.counts.accepted).toBe(before + 3);
  });

  it('accepts the same arriving one byte at a time', async () => {
    const before = gw.valley.ingest.counts.accepted;
    const reply = await exchange(session(TEST_DEVICES.flow.id, 'flow_l_s', Date.now() - 60_000), 1);
    expect(reply.subarray(0, 4)).toEqual(CONNACK);
    expect(reply).toHaveLength(16);
    expect(pubackIds(reply)).toEqual([7, 8, 9]);
    expect(gw.valley.ingest.counts.accepted).toBe(before + 3);
  });
});
