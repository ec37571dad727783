/**
 * Held appends of dead connections through the whole gateway (broker → ingest → back-pressure):
 * InfluxDB unreachable, a small outbox cap, a device that publishes, goes silent and is closed by
 * the broker's keepalive, then reconnects with new readings, round after round. The held count
 * stays at what one connection sent and is 0 once that connection is gone; nothing is
 * acknowledged meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../support/ports.js';
import { closeClient, connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { publishPacket, silentDevice } from '../support/raw-mqtt.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { TEST_DEVICES } from '../support/registry.js';

const CAP = 4096;
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    sink: { mode: 'v1', url: `http://127.0.0.1:${await freePort()}`, db: 'down' },
    settings: { outboxMaxBytes: CAP, heldAppendsMax: 5 },
  });
});

afterAll(async () => {
  await gw?.stop();
});

describe('held readings of connections the keepalive closed', () => {
  it('are dropped with their connection: the held count stays bounded and returns to 0', async () => {
    const id = TEST_DEVICES.flow.id;
    const secret = gw.registry.secrets[id]!;
    const topic = `sensors/${id}/readings`;
    const t0 = Date.now() - 3_600_000;
    const payload = (i: number) =>
      JSON.stringify({ ts: t0 + i * 1000, seq: i, values: { flow_l_s: 5, totaliser_m3: 1000 + i } });

    // Up to the cap, every publish is acknowledged.
    const filler = await connectDevice(gw.mqttUrl, id, secret);
    let n = 0;
    while (gw.valley.outbox.stats().backlogBytes < CAP) await publishAcked(filler, topic, payload(n++));
    await closeClient(filler);
    const bp = gw.valley.backpressure!;
    const port = gw.valley.broker.mqttAddress.port;

    const PER_ROUND = 3;
    let i = n;
    for (let round = 1; round <= 3; round++) {
      const publishes = Array.from({ length: PER_ROUND }, (_, k) =>
        publishPacket(topic, payload(i++), k + 1),
      );
      const device = await silentDevice(
        port,
        { clientId: id, username: id, password: secret, keepaliveS: 1 },
        publishes,
      );
      await waitFor(() => bp.state().heldAppends === PER_ROUND, 5000, `round ${round}: readings held`);
      await device.closed; // the broker's keepalive (1.5 s)
      expect(Buffer.concat(device.received).subarray(4)).toHaveLength(0); // no PUBACK
      await waitFor(() => bp.state().heldAppends === 0, 5000, `round ${round}: held readings dropped`);
    }
    expect(bp.state()).toMatchObject({ holding: true, heldAppends: 0, heldBytes: 0, abandonedAppends: 9 });
    expect(gw.valley.ingest.counts.accepted).toBe(n);
  });
});
