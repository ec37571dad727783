/**
 * A real full disk under the outbox: the gateway (`valley start`, a child process) runs on a small
 * tmpfs while InfluxDB is down, so the outbox cannot drain and the load fills the disk until
 * writes fail with a true ENOSPC. Then the gateway must hold PUBACKs (never acknowledge a reading
 * it could not write), raise the `outbox-unwritable` system alert, answer /readyz with 503 and keep
 * running. Space comes back twice, both ways it does in the field: the file system grows (remount
 * larger), and InfluxDB returns so drained segments are deleted (which needs the cursor to be
 * committed on a full disk). Ingest recovers each time; at the end the readings PUBACKed equal
 * the points in InfluxDB, each once.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import type { Alert } from '../../contract/index.js';
import { hashPassword } from '../../config/secrets.js';
import { readinessSchema, type Readiness } from '../../dashboard/status-schema.js';
import { DeviceLoad, expectAckedOnceInInflux } from '../support/device-load.js';
import {
  killGatewayProcesses,
  startGatewayProcess,
  type GatewayProcess,
} from '../support/gateway-process.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import { closeClient, collectRaw, connectUser, waitFor, type RawMessage } from '../support/mqtt.js';
import { makeTestRegistry, writeTestRegistry } from '../support/registry.js';

const DB = 'faultsdisk';
const DEVICES = ['t-flow-1', 't-flow-2', 't-flow-3', 't-flow-4'];
const OPERATOR = { id: 'ops-disk', password: 'operator passphrase for the disk test' };

let influx: InfluxdHandle;
let dir: string;
let mountPoint: string;
let mounted = false;
let gw: GatewayProcess | undefined;
let operator: MqttClient | undefined;
let load: DeviceLoad | undefined;

function mountTmpfs(size: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mountPoint]);
  mounted = true;
}

function remount(size: string): void {
  execFileSync('mount', ['-o', `remount,size=${size}`, mountPoint]);
}

/** /readyz (open; /api/status needs a login once the registry has users). */
async function readyz(url: string): Promise<Readiness & { code: number }> {
  const res = await fetch(`${url}/readyz`);
  return { code: res.status, ...readinessSchema.parse(await res.json()) };
}

const states = (messages: RawMessage[]): string[] =>
  messages.map((m) => (m.payload === '' ? '' : (JSON.parse(m.payload) as Alert).state));

/** Load until the outbox reports a failing disk and acks have stopped while readings wait. */
async function fillDisk(g: GatewayProcess, l: DeviceLoad): Promise<void> {
  await waitFor(async () => !(await readyz(g.httpUrl)).checks.outbox.ok, 40_000, 'ENOSPC on the outbox');
  // Held, not refused: the devices have readings out without a PUBACK.
  await waitFor(() => l.unacked > 0, 5000, 'readings waiting for their PUBACK');
}

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  dir = await mkdtemp(join(tmpdir(), 'valley-faults-disk-'));
  mountPoint = join(dir, 'data');
  await mkdir(mountPoint);
  mountTmpfs('4m');
});

afterAll(async () => {
  await load?.stop();
  if (operator) await closeClient(operator);
  killGatewayProcesses();
  await gw?.exited;
  await influx?.stop();
  try {
    if (mounted) execFileSync('umount', [mountPoint]);
  } catch {
    execFileSync('umount', ['-l', mountPoint]);
  }
  await rm(dir, { recursive: true, force: true });
});

describe('a full disk under the outbox', () => {
  it('holds PUBACKs, alerts and is unready on ENOSPC; recovers when space returns; loses nothing', async () => {
    const users = [
      { id: OPERATOR.id, role: 'operator' as const, password_hash: await hashPassword(OPERATOR.password) },
    ];
    const registry = makeTestRegistry(
      DEVICES.slice(2).map((id) => ({ id, kind: 'water_flow', site: 't-reservoir' })),
      users,
    );
    const registryPath = await writeTestRegistry(dir, registry);
    gw = await startGatewayProcess({
      registryPath,
      dataDir: mountPoint,
      influx: { url: influx.url, db: DB },
      // Small segments, so deleting drained ones frees room in steps; the cap far above the disk,
      // so the disk and not VALLEY_OUTBOX_MAX is what stops the outbox.
      args: ['--segment-size', '256KiB', '--outbox-max', '1GiB', '--stats-interval', '1h'],
    });
    operator = await connectUser(gw.mqttUrl, OPERATOR.id, OPERATOR.password);
    const alerts = await collectRaw(operator, 'valley/alerts/system/outbox-unwritable');
    await influx.stop();
    load = new DeviceLoad({
      devices: Object.fromEntries(DEVICES.map((id) => [id, registry.secrets[id]!])),
      inFlightPerDevice: 8,
    });
    load.start(gw.mqttUrl);

    // 1. The disk fills: held PUBACKs, the alert, /readyz 503, the process still serving.
    await fillDisk(gw, load);
    await waitFor(() => alerts.length >= 1, 5000, 'the outbox-unwritable alert');
    const alert = JSON.parse(alerts[0]!.payload) as Alert;
    expect(alert).toMatchObject({ id: 'outbox-unwritable', severity: 'critical', state: 'active' });
    expect(alert.message).toContain('ENOSPC');
    const notReady = await readyz(gw.httpUrl);
    expect(notReady.code).toBe(503);
    expect(notReady.reasons.join(' ')).toContain('the outbox cannot write to disk');
    expect(gw.logs().some((l) => l.msg.startsWith('outbox disk write failed'))).toBe(true);
    const ackedWhileFull = load.acked.size;
    expect(gw.child.exitCode).toBeNull();

    // 2. The file system grows: the held readings are written and acknowledged, the alert resolves.
    // New readings pause meanwhile: a fast gateway would fill the new room again before the alert
    // check (once a second) saw the disk writable.
    load.stopGenerating();
    remount('8m');
    await waitFor(() => load!.unacked === 0, 20_000, 'the held readings acknowledged after the remount');
    expect(load.acked.size).toBeGreaterThan(ackedWhileFull);
    await waitFor(() => states(alerts).includes('resolved'), 10_000, 'the alert resolved');
    expect((await readyz(gw.httpUrl)).code).toBe(200);
    load.resumeGenerating();

    // 3. Full again; this time InfluxDB comes back and the drained segments make the room.
    await fillDisk(gw, load);
    const ackedWhileFullAgain = load.acked.size;
    expect(gw.child.exitCode).toBeNull();
    await influx.restart();
    await waitFor(() => load!.acked.size > ackedWhileFullAgain + 100, 30_000, 'acks after InfluxDB returned');

    // 4. Everything acknowledged reaches InfluxDB, once.
    load.stopGenerating();
    await expectAckedOnceInInflux(load, influx, DB);
    expect(gw.child.exitCode).toBeNull();
    gw.child.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
  });
});
