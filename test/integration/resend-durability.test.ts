/**
 * A resend is answered only once the original is on disk. A device whose connection drops while
 * its reading's fsync is still running never got that PUBACK, so it reconnects and sends the
 * reading again. The copy is a duplicate and is not written a second time: its PUBACK is a promise
 * about the original's durability, so it must wait for the original's fsync (gateway/ingest/
 * dedupe.ts). On real parts: the whole gateway, its real outbox files, MQTT.js devices; the fsync
 * is the real datasync behind a gate the test holds.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import type { SyncFn } from '../../gateway/types.js';
import { closeClient, connectDevice, publishAcked } from '../support/mqtt.js';
import { TEST_DEVICES } from '../support/registry.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gw: TestGateway;
const clients: MqttClient[] = [];
let gate: Promise<void> = Promise.resolve();
let openGate: () => void = () => undefined;
let syncsWaiting = 0;
const sync: SyncFn = async (fh) => {
  syncsWaiting++;
  await gate;
  syncsWaiting--;
  await fh.datasync();
};

const { id } = TEST_DEVICES.pressure;
const topic = `sensors/${id}/readings`;

beforeAll(async () => {
  gw = await startTestGateway({ sync });
});

afterAll(async () => {
  openGate();
  await Promise.all(clients.map(closeClient));
  await gw?.stop();
});

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('a resend after a dropped connection', () => {
  it("gets its PUBACK only after the original's fsync, and the reading is stored once", async () => {
    const accepted = gw.valley.ingest.counts.accepted;
    const duplicates = gw.valley.ingest.counts.duplicates;
    const payload = JSON.stringify({ ts: Date.now() - 5000, values: { pressure_bar: 4.2 } });

    gate = new Promise((resolve) => (openGate = resolve));
    const first = await connectDevice(gw.mqttUrl, id, gw.registry.secrets[id]!);
    clients.push(first);
    const lost = publishAcked(first, topic, payload).then(
      () => 'acknowledged',
      () => 'no PUBACK',
    );
    // The original is appended and its fsync is running (held at the gate).
    await until(() => syncsWaiting > 0, "the original's fsync");
    first.stream.destroy(); // the radio link drops: no PUBACK reaches the device
    expect(await lost).toBe('no PUBACK');

    const again = await connectDevice(gw.mqttUrl, id, gw.registry.secrets[id]!);
    clients.push(again);
    let answered = false;
    const messages = gw.valley.ingest.counts.messages;
    const resend = publishAcked(again, topic, payload).then(() => (answered = true));
    // Counted as a message when ingest starts on it; as a duplicate only once it is answered.
    await until(() => gw.valley.ingest.counts.messages > messages, 'the resend to reach ingest');
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false); // the original is not on disk yet

    openGate();
    await resend;
    expect(answered).toBe(true);
    expect(gw.valley.ingest.counts.accepted - accepted).toBe(1);
    expect(gw.valley.ingest.counts.duplicates - duplicates).toBe(1);
    const stored: number[] = [];
    for await (const batch of gw.valley.outbox.readAll())
      for (const r of batch) if (r.deviceId === id) stored.push(r.ts);
    expect(stored).toHaveLength(1);
  });
});
