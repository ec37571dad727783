/**
 * A reconnect storm: 1,000 devices connect at once (a child process, bounded by its own
 * deadline), each publishes one reading, then all disconnect and connect again at once (the radio
 * link of a whole valley coming back). InfluxDB is down (its port is closed), so the outbox keeps
 * everything and the counts can be read there. Meanwhile a control device publishes. Asserted:
 * every storm client gets its CONNACK and PUBACK, the control device gets its PUBACK, every
 * acknowledged reading is in the outbox exactly once, nothing is held or refused, presence is right.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { closeClient, connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { freePort } from '../support/ports.js';
import { makeTestRegistry, TEST_DEVICES } from '../support/registry.js';
import { Storm, stormDevices, type StormRound } from '../support/storm.js';

const STORM = 1000;
const CONTROL = TEST_DEVICES.flow.id;
let dir: string;
let gw: TestGateway;
let storm: Storm;
let control: MqttClient | undefined;
const stormIds = stormDevices(STORM).map((d) => d.id);

/** Storm readings in the outbox, as `id|ts`, and the control device's. */
async function outboxReadings(): Promise<{ storm: string[]; control: number[] }> {
  const found = { storm: [] as string[], control: [] as number[] };
  for await (const chunk of gw.valley.outbox.readAll()) {
    for (const r of chunk) {
      if (r.deviceId === CONTROL) found.control.push(r.ts);
      else found.storm.push(`${r.deviceId}|${r.ts}`);
    }
  }
  return found;
}

async function controlPublishes(ts: number): Promise<void> {
  control ??= await connectDevice(gw.mqttUrl, CONTROL, gw.registry.secrets[CONTROL]!);
  await publishAcked(
    control,
    `sensors/${CONTROL}/readings`,
    JSON.stringify({ ts, values: { flow_l_s: 2, totaliser_m3: ts % 1000 } }),
  );
}

function expectCalm(): void {
  const counts = gw.valley.broker.counts;
  expect(counts.connectionsRefused).toEqual({});
  expect(counts.sizeGuardDrops).toBe(0);
  expect(counts.slowClientDrops).toBe(0);
  expect(gw.valley.backpressure!.state()).toMatchObject({ holding: false, heldAppends: 0, heldBytes: 0 });
}

function expectEveryone(round: StormRound): void {
  expect(round.errors).toEqual({});
  expect(round.connacks).toBe(STORM);
  expect(new Set(round.pubacks)).toEqual(new Set(stormIds));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-storm-'));
  const registry = makeTestRegistry(stormDevices(STORM));
  gw = await startTestGateway({
    registry,
    sink: { mode: 'v1', url: `http://127.0.0.1:${await freePort()}`, db: 'down' },
  });
  const secrets = Object.fromEntries(stormIds.map((id) => [id, registry.secrets[id]!]));
  storm = await Storm.start(dir, gw.mqttUrl, secrets);
});

afterAll(async () => {
  await storm?.stop();
  if (control) await closeClient(control);
  await gw?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a reconnect storm of 1,000 devices', () => {
  it('connects them all at once: every CONNACK and PUBACK, the control device served, nothing lost', async () => {
    const round = storm.connect(1);
    const controlTs = Date.now() - 1000;
    await controlPublishes(controlTs);
    expectEveryone(await round);

    const found = await outboxReadings();
    expect(found.control).toEqual([controlTs]);
    expect(found.storm).toHaveLength(STORM);
    expect(new Set(found.storm).size).toBe(STORM);
    expect(gw.valley.ingest.counts.accepted).toBe(STORM + 1);
    await waitFor(() => gw.valley.broker.connectedDevices().length === STORM + 1, 10_000, 'presence');
    expectCalm();
  });

  it('takes them all back when they drop and reconnect at once', async () => {
    const again = (async () => {
      expect(await storm.disconnect()).toBe(true);
      return storm.connect(2);
    })();
    const controlTs = Date.now() - 500;
    await controlPublishes(controlTs);
    expectEveryone(await again);

    const found = await outboxReadings();
    expect(found.control).toHaveLength(2);
    expect(found.control).toContain(controlTs);
    // One reading per device and round, none twice.
    expect(found.storm).toHaveLength(2 * STORM);
    expect(new Set(found.storm).size).toBe(2 * STORM);
    await waitFor(() => gw.valley.broker.connectedDevices().length === STORM + 1, 10_000, 'presence');
    expectCalm();

    // And all offline once they go, but the control device.
    expect(await storm.disconnect()).toBe(true);
    await waitFor(() => gw.valley.broker.connectedDevices().length === 1, 10_000, 'storm offline');
    expect(gw.valley.broker.connectedDevices()).toEqual([CONTROL]);
  });
});
