/**
 * Registry hot reload under fault load: while 500 devices storm in and InfluxDB is down (its port
 * is closed), a connected device is revoked and another one's secret is rotated. The revoked one
 * is disconnected at once and refused after; the rotated one keeps its session until it
 * reconnects, and then needs its new secret; the storm is served in full; nothing acknowledged is
 * lost. Then SIGTERM to `valley start` (a child process) in the middle of a 1,000-device storm:
 * it exits 0 within its flush budget and every reading it acknowledged is in the outbox on disk.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { revokeDevice, rotateDeviceSecret } from '../../config/registry-edit.js';
import { statusSchema } from '../../dashboard/status-schema.js';
import { silentLogger } from '../../gateway/logger.js';
import { FileOutbox } from '../../gateway/outbox.js';
import { systemClock } from '../../gateway/types.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { closeClient, connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { freePort } from '../support/ports.js';
import { makeTestRegistry, writeTestRegistry, type TestRegistry } from '../support/registry.js';
import { Storm, stormDevices } from '../support/storm.js';

const root = join(import.meta.dirname, '..', '..');
const REFUSED = /Bad username or password|Not authorized/i;
let dir: string;
const storms: Storm[] = [];
const clients: MqttClient[] = [];

/** `id|ts` of every reading in an outbox directory (read after the gateway is gone, or live). */
async function outboxKeys(outbox: FileOutbox): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const chunk of outbox.readAll()) for (const r of chunk) keys.add(`${r.deviceId}|${r.ts}`);
  return keys;
}

/** Stored readings per device id. */
function perDevice(stored: Set<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of stored) {
    const id = key.split('|')[0]!;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-reload-load-'));
});

afterAll(async () => {
  await Promise.all(storms.map((s) => s.stop()));
  await Promise.all(clients.map(closeClient));
  await rm(dir, { recursive: true, force: true });
});

describe('registry reload during a storm, InfluxDB down', () => {
  let gw: TestGateway;
  let registry: TestRegistry;
  let path: string;

  beforeAll(async () => {
    registry = makeTestRegistry(stormDevices(1000));
    path = await writeTestRegistry(dir, registry);
    gw = await startTestGateway({
      registry,
      registryPath: path,
      sink: { mode: 'v1', url: `http://127.0.0.1:${await freePort()}`, db: 'down' },
    });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('revokes at once, rotates from the next CONNECT, and serves the storm in full', async () => {
    const ids = stormDevices(1000).map((d) => d.id);
    const secretsOf = (list: string[]) => Object.fromEntries(list.map((id) => [id, registry.secrets[id]!]));
    const connectedIds = ids.slice(0, 500);
    const stormingIds = ids.slice(500);
    const [revoked, rotated] = ['s-0001', 's-0002'];
    const connected = await Storm.start(dir, gw.mqttUrl, secretsOf(connectedIds));
    const storming = await Storm.start(dir, gw.mqttUrl, secretsOf(stormingIds));
    storms.push(connected, storming);
    const first = await connected.connect(1);
    expect(first.errors).toEqual({});
    expect(first.pubacks).toHaveLength(500);

    const reloads = { n: 0 };
    gw.valley.bus.on('registry.reloaded', () => reloads.n++);
    const storm = storming.connect(1);
    await revokeDevice(path, revoked);
    const newSecret = await rotateDeviceSecret(path, rotated);
    await gw.valley.reloadRegistry();
    expect(gw.valley.currentRegistry.devices.has(revoked)).toBe(false);
    const round = await storm;
    expect(round.errors).toEqual({});
    expect(round.pubacks).toHaveLength(500);

    // Revoked: closed by the broker at once. Rotated: still in its session.
    await waitFor(
      async () => (await connected.state()).closedByBroker.length > 0,
      10_000,
      'the revoked one to go',
    );
    const state = await connected.state();
    expect(state.closedByBroker).toEqual([revoked]);
    expect(state.connected).toContain(rotated);
    expect(state.connected).toHaveLength(499);
    expect(gw.valley.broker.connectedDevices()).not.toContain(revoked);
    expect(gw.valley.broker.connectedDevices()).toContain(rotated);

    // Everyone reconnects at once with the secrets they had: both are refused, the rest served.
    expect(await connected.disconnect()).toBe(true);
    const second = await connected.connect(2);
    expect(Object.keys(second.errors).sort()).toEqual([revoked, rotated]);
    expect(second.errors[revoked]).toMatch(REFUSED);
    expect(second.errors[rotated]).toMatch(REFUSED);
    expect(second.pubacks).toHaveLength(498);
    expect(gw.valley.broker.counts.connectionsRefused).toEqual({
      'unknown device or user': 1,
      'wrong secret': 1,
    });
    // The rotated device with its new secret is back.
    const back = await connectDevice(gw.mqttUrl, rotated, newSecret);
    clients.push(back);
    await publishAcked(
      back,
      `sensors/${rotated}/readings`,
      JSON.stringify({ ts: Date.now() - 1000, values: { flow_l_s: 1, totaliser_m3: 2 } }),
    );

    // Nothing acknowledged lost: 500 + 500 + 498 storm readings and the rotated device's.
    const stored = perDevice(await outboxKeys(gw.valley.outbox));
    expect([...stored.values()].reduce((a, b) => a + b)).toBe(500 + 500 + 498 + 1);
    expect(second.pubacks.filter((id) => stored.get(id) !== 2)).toEqual([]);
    expect(stored.get(revoked)).toBe(1);
    expect(stored.get(rotated)).toBe(2);
    expect(gw.valley.backpressure!.state()).toMatchObject({ holding: false, heldAppends: 0 });
  });
});

describe('SIGTERM in the middle of a storm', () => {
  const FLUSH_MS = 2000;
  let child: ChildProcess | undefined;

  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('exits 0 within the flush budget with every acknowledged reading on disk', async () => {
    const own = await mkdtemp(join(dir, 'sigterm-'));
    const registry = makeTestRegistry(stormDevices(1000));
    const file = await writeTestRegistry(own, registry);
    const dataDir = join(own, 'data');
    child = spawn(
      process.execPath,
      [
        ...['--import', 'tsx', join(root, 'cli', 'main.ts'), 'start'],
        ...['--registry', file, '--data-dir', dataDir, '--no-demo-fleet'],
        ...['--mqtt-port', '0', '--ws-port', '0', '--http-port', '0'],
        ...['--influx-url', `http://127.0.0.1:${await freePort()}`, '--influx-db', 'down'],
        ...['--shutdown-flush', `${FLUSH_MS}ms`],
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    let started: { mqtt: string; dashboard: string } | undefined;
    await waitFor(
      () => {
        if (child!.exitCode !== null) throw new Error(`the gateway exited at start:\n${output}`);
        const line = output.split('\n').find((l) => l.includes('gateway started'));
        if (line !== undefined) started = JSON.parse(line) as { mqtt: string; dashboard: string };
        return started !== undefined;
      },
      30_000,
      'the start log line',
    );
    const ids = stormDevices(1000).map((d) => d.id);
    const storm = await Storm.start(
      own,
      started!.mqtt,
      Object.fromEntries(ids.map((id) => [id, registry.secrets[id]!])),
    );
    storms.push(storm);
    const round = storm.connect(1, 20_000);
    // Mid-storm: some devices are in, not all.
    await waitFor(
      async () => {
        const res = await fetch(`${started!.dashboard}/api/status`);
        return statusSchema.parse(await res.json()).devices.connected >= 100;
      },
      20_000,
      'the storm to be under way',
    );
    child.kill('SIGTERM');
    // The bound is the flush budget plus Node's own start and stop: a wait, not a measurement.
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      exited,
      new Promise<'still running'>(
        (resolve) => (timer = setTimeout(() => resolve('still running'), FLUSH_MS + 8000)),
      ),
    ]);
    clearTimeout(timer);
    expect(code).toBe(0);
    child = undefined;
    expect(output).toContain('Valley Telemetry gateway stopped');
    const result = await round;
    expect(result.pubacks.length).toBeGreaterThan(0);

    const outbox = new FileOutbox({
      dir: join(dataDir, 'outbox'),
      segmentBytes: 64 * 1024 * 1024,
      clock: systemClock,
      logger: silentLogger(),
    });
    await outbox.start();
    try {
      const stored = await outboxKeys(outbox);
      const storedIds = new Set([...stored].map((k) => k.split('|')[0]));
      expect(result.pubacks.filter((id) => !storedIds.has(id))).toEqual([]);
    } finally {
      await outbox.stop();
    }
  });
});
