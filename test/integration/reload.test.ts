/**
 * Registry hot reload on real parts: the gateway watches its registry file while `valley device`
 * edits it (temp file + rename) or something writes it in place, and real MQTT clients see the
 * effect: an added device connects, a revoked one is cut off at once and refused, a rotated secret
 * applies from the next CONNECT, an invalid file changes nothing. Plus SIGHUP on `valley start`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { isMap, isSeq } from 'yaml';
import { addDevice, editRegistryFile, revokeDevice, rotateDeviceSecret } from '../../config/registry-edit.js';
import { createLogger } from '../../gateway/logger.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { closeClient, connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { makeTestRegistry, writeTestRegistry, type TestRegistry } from '../support/registry.js';

let dir: string;
let path: string;
let registry: TestRegistry;
let gw: TestGateway;
let reloads = 0;
const logs: { msg: string }[] = [];
const clients: MqttClient[] = [];

async function connect(id: string, secret: string): Promise<MqttClient> {
  const client = await connectDevice(gw.mqttUrl, id, secret);
  clients.push(client);
  return client;
}

let seq = 0;
function reading(values: Record<string, number>): string {
  return JSON.stringify({ ts: Date.now() - 1000 + seq, seq: seq++, values });
}

async function reloaded(before: number): Promise<void> {
  await waitFor(() => reloads > before, 5000, 'the registry reload');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-reload-'));
  registry = makeTestRegistry();
  path = await writeTestRegistry(dir, registry);
  const logger = createLogger('info', {
    write: (line: string) => void logs.push(JSON.parse(line) as { msg: string }),
  });
  gw = await startTestGateway({ registry, registryPath: path, logger });
  gw.valley.bus.on('registry.reloaded', () => reloads++);
});

afterAll(async () => {
  await Promise.all(clients.map(closeClient));
  await gw?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('registry hot reload', () => {
  it('lets an added device connect and publish', async () => {
    const before = reloads;
    const secret = await addDevice(path, {
      id: 't-added-1',
      kind: 'water_flow',
      site: 't-reservoir',
      interval_s: 60,
    });
    await reloaded(before);
    const client = await connect('t-added-1', secret);
    await publishAcked(client, 'sensors/t-added-1/readings', reading({ flow_l_s: 3, totaliser_m3: 10 }));
    expect(gw.valley.ingest.counts.accepted).toBeGreaterThanOrEqual(1);
  });

  it('disconnects a revoked device at once and refuses its next CONNECT', async () => {
    const id = 't-flow-2';
    const client = await connect(id, registry.secrets[id]!);
    await publishAcked(client, `sensors/${id}/readings`, reading({ flow_l_s: 1, totaliser_m3: 1 }));
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await revokeDevice(path, id);
    await closed;
    expect(gw.valley.broker.connectedDevices()).not.toContain(id);
    await expect(connectDevice(gw.mqttUrl, id, registry.secrets[id]!)).rejects.toThrow(
      /Bad username or password/i,
    );
  });

  it('applies a rotated secret to the next CONNECT only', async () => {
    const id = 't-level-1';
    const old = registry.secrets[id]!;
    const client = await connect(id, old);
    const before = reloads;
    const secret = await rotateDeviceSecret(path, id);
    await reloaded(before);
    // The session that logged in with the old secret goes on.
    await publishAcked(client, `sensors/${id}/readings`, reading({ level_m: 2, level_pct: 50 }));
    expect(client.connected).toBe(true);
    await closeClient(client);
    await expect(connectDevice(gw.mqttUrl, id, old)).rejects.toThrow(/Bad username or password/i);
    const again = await connect(id, secret);
    await publishAcked(again, `sensors/${id}/readings`, reading({ level_m: 2.1, level_pct: 51 }));
  });

  it('disconnects a device moved to another site and files its readings under the new one', async () => {
    const id = 't-pressure-1';
    const client = await connect(id, registry.secrets[id]!);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await editRegistryFile(path, (doc) => {
      const devices = doc.get('devices', true);
      const entry = isSeq(devices) ? devices.items.find((d) => isMap(d) && d.get('id') === id) : undefined;
      if (!isMap(entry)) throw new Error(`no ${id} in the test registry`);
      entry.set('site', 't-reservoir');
    });
    await closed;
    const again = await connect(id, registry.secrets[id]!);
    await publishAcked(again, `sensors/${id}/readings`, reading({ pressure_bar: 4 }));
    const mine: string[] = [];
    for await (const chunk of gw.valley.outbox.readAll())
      mine.push(...chunk.filter((r) => r.deviceId === id).map((r) => r.site));
    expect(mine).toEqual(['t-reservoir']);
  });

  it('refuses an invalid registry with every problem logged, and keeps the old one in force', async () => {
    const good = await readFile(path, 'utf8');
    const before = reloads;
    await writeFile(
      path,
      good.replace('kind: water_quality', 'kind: water_qualty').replace('capacity: 50', 'capacity: -5'),
    );
    await waitFor(() => gw.valley.registryProblems.length > 0, 5000, 'the refusal');
    const problems = gw.valley.registryProblems;
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toContain('unknown kind "water_qualty"');
    expect(problems.join('\n')).toMatch(/sites\[\d+\]\.capacity/);
    const messages = logs.map((l) => l.msg);
    for (const problem of problems) expect(messages).toContain(`registry problem: ${problem}`);
    expect(messages.some((m) => m.startsWith('registry refused (2 problems)'))).toBe(true);
    expect(reloads).toBe(before);
    // The registry in force is the old one: the device still has its kind and still gets in.
    const id = 't-quality-1';
    expect(gw.valley.currentRegistry.devices.get(id)?.device.kind).toBe('water_quality');
    const client = await connect(id, registry.secrets[id]!);
    await publishAcked(client, `sensors/${id}/readings`, reading({ chlorine_mg_l: 0.2 }));
    // Putting the good file back clears the problems (nothing else changed).
    await writeFile(path, good);
    await waitFor(() => gw.valley.registryProblems.length === 0, 5000, 'the problems to clear');
    expect(reloads).toBe(before);
  });

  it('reload() (the SIGHUP path) applies the file at once, and the watch does not apply it twice', async () => {
    const before = reloads;
    const secret = await addDevice(path, {
      id: 't-added-2',
      kind: 'water_flow',
      site: 't-reservoir',
      interval_s: 60,
    });
    await gw.valley.reloadRegistry();
    expect(reloads).toBe(before + 1);
    expect(gw.valley.currentRegistry.devices.has('t-added-2')).toBe(true);
    await new Promise((r) => setTimeout(r, 500)); // past the watch's debounce
    expect(reloads).toBe(before + 1);
    await connect('t-added-2', secret);
  });
});

describe('valley start and SIGHUP', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('re-reads the registry on SIGHUP and keeps running', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const own = await mkdtemp(join(dir, 'hup-'));
    const file = await writeTestRegistry(own, makeTestRegistry());
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'cli', 'main.ts'),
        'start',
        '--registry',
        file,
        '--data-dir',
        join(own, 'data'),
      ].concat(['--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--no-demo-fleet']),
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('gateway started'), 20_000, 'the start log line');
    child.kill('SIGHUP');
    await waitFor(() => out.includes('registry reload requested'), 5000, 'the SIGHUP log line');
    await addDevice(file, { id: 't-hup-1', kind: 'water_flow', site: 't-reservoir', interval_s: 60 });
    child.kill('SIGHUP');
    await waitFor(() => out.includes('registry reloaded: 1 device(s) added'), 5000, 'the reload log line');
    expect(child.exitCode).toBeNull();
    const exit = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    child = undefined;
  });
});
