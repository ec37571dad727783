/**
 * Half-open TCP: a device in its own network namespace, linked to the gateway by a veth pair on a
 * private /30 that this test makes. Once it is connected, its end of the link goes down: no FIN,
 * no RST ever reaches the gateway, the socket just goes quiet (a mountain radio link that died).
 * The broker's MQTT keepalive (1.5 × the device's 2 s) must reap the dead connection, the device
 * must turn offline (presence event and its LWT), and a control device keeps working. Needs root
 * for `ip netns` (CI runs as root): without it the suite fails, it never skips.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import type { BusEvents } from '../../contract/index.js';
import { hashPassword } from '../../config/secrets.js';
import { createLogger } from '../../gateway/logger.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { closeClient, connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { makeTestRegistry, TEST_DEVICES } from '../support/registry.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const suffix = randomBytes(3).toString('hex');
const NS = `vt-halfopen-${suffix}`;
const HOST_IF = `vth${suffix}`;
const PEER_IF = `vtp${suffix}`;
// A random /30 in 10.200.0.0/14, so parallel runs do not collide: .1 the gateway, .2 the device.
const net30 = randomBytes(3);
const prefix = `10.${200 + (net30[0]! % 4)}.${net30[1]}`;
const GATEWAY_IP = `${prefix}.${(net30[2]! & 0xfc) + 1}`;
const DEVICE_IP = `${prefix}.${(net30[2]! & 0xfc) + 2}`;

let gw: TestGateway;
let child: ChildProcess | undefined;
const clients: MqttClient[] = [];
const presence: BusEvents['device.presence'][] = [];
const statuses: BusEvents['device.status'][] = [];
const logs: { msg: string; clientId?: string }[] = [];

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(`\`ip ${args.join(' ')}\` failed (the half-open test needs root): ${stderr.trim()}`);
  }
}

beforeAll(async () => {
  await ip('netns', 'add', NS);
  await ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', PEER_IF);
  await ip('link', 'set', PEER_IF, 'netns', NS);
  await ip('addr', 'add', `${GATEWAY_IP}/30`, 'dev', HOST_IF);
  await ip('link', 'set', HOST_IF, 'up');
  await ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${DEVICE_IP}/30`, 'dev', PEER_IF);
  await ip('netns', 'exec', NS, 'ip', 'link', 'set', PEER_IF, 'up');
  // Not loopback, so the dashboard needs a user (and the test registry has no demo devices).
  const registry = makeTestRegistry(
    [],
    [{ id: 'op-halfopen', role: 'operator', password_hash: await hashPassword('halfopen-operator') }],
  );
  const logger = createLogger('info', {
    write: (line: string) => void logs.push(JSON.parse(line) as { msg: string }),
  });
  gw = await startTestGateway({ registry, logger, settings: { bind: GATEWAY_IP } });
  gw.valley.bus.on('device.presence', (e) => void presence.push(e));
  gw.valley.bus.on('device.status', (e) => void statuses.push(e));
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await Promise.all(clients.map(closeClient));
  await gw?.stop();
  // Deleting the namespace deletes the peer, and with it the host end of the pair.
  await run('ip', ['netns', 'del', NS]).catch(() => undefined);
  await run('ip', ['link', 'del', HOST_IF]).catch(() => undefined);
});

describe('a device whose link dies without FIN or RST', () => {
  it('is reaped by the MQTT keepalive and turns offline; the control device keeps working', async () => {
    const id = TEST_DEVICES.flow.id;
    const url = `mqtt://${GATEWAY_IP}:${gw.valley.broker.mqttAddress.port}`;
    const script = join(root, 'test', 'support', 'netns-device.ts');
    child = spawn('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', script, url, id, '2'], {
      cwd: root,
      env: { ...process.env, DEVICE_SECRET: gw.registry.secrets[id]! },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const acked = new Promise<void>((resolve, reject) => {
      createInterface({ input: child!.stdout! }).on('line', (line) => {
        if (line.includes('"acked"')) resolve();
      });
      child!.once('exit', (code) => reject(new Error(`the netns device exited (${code}):\n${stderr}`)));
    });
    await acked;
    expect(gw.valley.broker.connectedDevices()).toContain(id);
    expect(gw.valley.ingest.counts.accepted).toBe(1);
    const before = presence.length;

    // The device's end of the link goes down: its packets stop, nothing tells the gateway.
    await ip('netns', 'exec', NS, 'ip', 'link', 'set', PEER_IF, 'down');

    await waitFor(
      () => presence.slice(before).some((e) => e.deviceId === id && e.state === 'offline'),
      15_000,
      'the dead connection to be reaped',
    );
    expect(gw.valley.broker.connectedDevices()).not.toContain(id);
    // By the MQTT keepalive (TCP keepalive would take 30 s and more).
    expect(logs.filter((l) => l.msg === 'MQTT keepalive timeout').map((l) => l.clientId)).toEqual([id]);
    // The broker published its LWT: presence and the retained status agree.
    await waitFor(() => statuses.some((s) => s.deviceId === id && s.status === 'offline'), 5000, 'the LWT');
    // Whether the device process has noticed by now depends on timing (its own keepalive); with its
    // link down, nothing it does can reach the gateway either way.

    const controlId = TEST_DEVICES.level.id;
    const control = await connectDevice(url, controlId, gw.registry.secrets[controlId]!);
    clients.push(control);
    await publishAcked(
      control,
      `sensors/${controlId}/readings`,
      JSON.stringify({ ts: Date.now() - 500, values: { level_m: 1.5, level_pct: 45 } }),
    );
    expect(gw.valley.ingest.counts.accepted).toBe(2);
  });
});
