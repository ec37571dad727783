/**
 * SIGKILL under load (a crash, the OOM killer, a power cut of the process): the real command
 * (`valley start`, a child process) is killed while devices keep readings in flight, once while
 * InfluxDB takes writes and once while it is down (the backlog then sits in the outbox), and
 * started again on the same data dir. Devices resend what got no PUBACK, as real ones do. At the
 * end every reading that got a PUBACK is in InfluxDB exactly once, and nothing else is.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DeviceLoad, expectAckedOnceInInflux } from '../support/device-load.js';
import {
  killGatewayProcesses,
  startGatewayProcess,
  type GatewayProcess,
} from '../support/gateway-process.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import { waitFor } from '../support/mqtt.js';
import { makeTestRegistry, writeTestRegistry } from '../support/registry.js';

const DB = 'faultskill';
const DEVICES = ['t-flow-1', 't-flow-2', 't-flow-3', 't-flow-4'];

let influx: InfluxdHandle;
let dir: string;
let load: DeviceLoad | undefined;

async function sigkill(gw: GatewayProcess): Promise<void> {
  gw.child.kill('SIGKILL');
  expect(await gw.exited).toBeNull(); // killed by the signal, no exit code
}

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  dir = await mkdtemp(join(tmpdir(), 'valley-faults-kill-'));
});

afterAll(async () => {
  await load?.stop();
  killGatewayProcesses();
  await influx?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('SIGKILL under load', () => {
  it('keeps every PUBACKed reading across two kills and delivers each to InfluxDB exactly once', async () => {
    const registry = makeTestRegistry(
      DEVICES.slice(2).map((id) => ({ id, kind: 'water_flow', site: 't-reservoir' })),
    );
    const registryPath = await writeTestRegistry(dir, registry);
    const dataDir = join(dir, 'data');
    const start = () =>
      startGatewayProcess({
        registryPath,
        dataDir,
        influx: { url: influx.url, db: DB },
        args: ['--stats-interval', '1h'],
      });
    load = new DeviceLoad({
      devices: Object.fromEntries(DEVICES.map((id) => [id, registry.secrets[id]!])),
      inFlightPerDevice: 16,
    });

    // 1. Killed while InfluxDB takes writes: some acked readings are sent, some only on disk.
    const first = await start();
    load.start(first.mqttUrl);
    await waitFor(() => load!.acked.size >= 3000, 30_000, 'load on the first gateway');
    await sigkill(first);
    const ackedBeforeFirstKill = load.acked.size;

    // 2. Killed again with InfluxDB down: everything acknowledged meanwhile exists only on disk.
    const second = await start();
    load.start(second.mqttUrl);
    await waitFor(
      () => load!.acked.size >= ackedBeforeFirstKill + 1000,
      30_000,
      'load on the second gateway',
    );
    await influx.stop();
    const ackedWhileDown = load.acked.size;
    await waitFor(() => load!.acked.size >= ackedWhileDown + 2000, 30_000, 'load with InfluxDB down');
    await sigkill(second);

    // 3. InfluxDB back, a third start drains both outboxes' worth; devices resend what was not acked.
    await influx.restart();
    const third = await start();
    load.start(third.mqttUrl);
    await waitFor(() => load!.acked.size >= ackedWhileDown + 3000, 30_000, 'load on the third gateway');
    load.stopGenerating();
    await waitFor(() => load!.unacked === 0, 30_000, 'every reading acknowledged');
    expect(load.failedPublishes).toBeGreaterThan(0); // the kills did cut readings in flight
    await expectAckedOnceInInflux(load, influx, DB);
    // The recovery said what it found.
    expect(third.logs().some((l) => l.msg === 'outbox recovered')).toBe(true);
    await load.stop();
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
  });
});
