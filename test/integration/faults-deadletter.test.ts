/**
 * The dead-letter log full or unwritable (DESIGN "Never drop silently"): a device sends readings
 * the gateway refuses while another device's valid readings flow to InfluxDB. The log is either
 * at the device's share of its cap, or its directory is a file, or a read-only mount. Each reject
 * must still be acknowledged (the reading was refused anyway), counted, logged with the device id
 * and reject code, and told to the device on its rejects topic; an unwritable log raises the
 * `deadletter-full` alert; the valid readings all reach InfluxDB, once. The real command runs in
 * a child process.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { statusSchema } from '../../dashboard/status-schema.js';
import { DeviceLoad, pointsInInflux } from '../support/device-load.js';
import { killGatewayProcesses, startGatewayProcess } from '../support/gateway-process.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import { closeClient, collect, connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { makeTestRegistry, writeTestRegistry, type TestRegistry } from '../support/registry.js';

const BAD = 't-flow-1';
const GOOD = 't-flow-2';
const BAD_READINGS = 30;
const GOOD_READINGS = 300;

let influx: InfluxdHandle;
let dir: string;
let registry: TestRegistry;
let registryPath: string;
const mounts: string[] = [];
const clients: MqttClient[] = [];
const loads: DeviceLoad[] = [];

type Setup = (dataDir: string) => Promise<string[]>;

const cases: [string, Setup, 'device-share' | 'unwritable', string][] = [
  [
    'its share for the device is used up (VALLEY_DEADLETTER_DEVICE_MAX)',
    () => Promise.resolve(['--deadletter-device-max', '2KiB']),
    'device-share',
    'faultsdlshare',
  ],
  [
    'its directory is a file',
    async (dataDir) => {
      await mkdir(dataDir, { recursive: true });
      await writeFile(join(dataDir, 'deadletter'), 'not a directory\n');
      return [];
    },
    'unwritable',
    'faultsdlfile',
  ],
  [
    'its directory is a read-only mount',
    async (dataDir) => {
      const target = join(dataDir, 'deadletter');
      await mkdir(target, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', target]);
      mounts.push(target);
      return [];
    },
    'unwritable',
    'faultsdlro',
  ],
];

beforeAll(async () => {
  influx = await startInfluxd();
  dir = await mkdtemp(join(tmpdir(), 'valley-faults-dl-'));
  registry = makeTestRegistry();
  registryPath = await writeTestRegistry(dir, registry);
});

afterAll(async () => {
  await Promise.all(loads.map((l) => l.stop()));
  await Promise.all(clients.map(closeClient));
  killGatewayProcesses();
  await influx?.stop();
  for (const target of mounts) {
    try {
      execFileSync('umount', [target]);
    } catch {
      execFileSync('umount', ['-l', target]);
    }
  }
  await rm(dir, { recursive: true, force: true });
});

describe('dead-letter log full or unwritable', () => {
  it.each(cases)(
    'when %s: rejects are acknowledged, counted and logged; valid readings flow',
    async (_name, setup, reason, db) => {
      await influx.createDatabase(db);
      const dataDir = join(dir, db);
      const args = await setup(dataDir);
      const gw = await startGatewayProcess({
        registryPath,
        dataDir,
        influx: { url: influx.url, db },
        args: ['--deadletter-max', '64KiB', '--stats-interval', '1h', ...args],
      });

      const good = new DeviceLoad({
        devices: { [GOOD]: registry.secrets[GOOD]! },
        maxReadings: GOOD_READINGS,
      });
      loads.push(good);
      good.start(gw.mqttUrl);
      const bad = await connectDevice(gw.mqttUrl, BAD, registry.secrets[BAD]!);
      clients.push(bad);
      const told = await collect(bad, `sensors/${BAD}/rejects`);
      const t0 = Date.now() - 60_000;
      // Out of range: refused with E_RANGE, and each one still gets its PUBACK.
      for (let i = 0; i < BAD_READINGS; i++)
        await publishAcked(
          bad,
          `sensors/${BAD}/readings`,
          JSON.stringify({ ts: t0 + i, values: { flow_l_s: 5000 } }),
        );
      await waitFor(() => told.length === BAD_READINGS, 10_000, 'every reject told to the device');
      expect(told.every((m) => (m as { code: string }).code === 'E_RANGE')).toBe(true);

      await waitFor(() => good.acked.size === GOOD_READINGS, 20_000, 'the valid readings acknowledged');
      await waitFor(
        async () => (await pointsInInflux(influx, db)).count === GOOD_READINGS,
        20_000,
        'valid readings in InfluxDB',
      );
      const { keys, count } = await pointsInInflux(influx, db);
      expect(count).toBe(keys.length);
      expect(new Set(keys)).toEqual(good.acked);

      const status = statusSchema.parse(await (await fetch(`${gw.httpUrl}/api/status`)).json());
      expect(status.readings.rejectedByCode.E_RANGE).toBe(BAD_READINGS);
      // Logged once per device per minute, each line saying how many it left out since the last.
      const dropped = gw.logs().filter((l) => l.msg.startsWith('dead-letter record dropped'));
      expect(dropped.length).toBeGreaterThan(0);
      for (const line of dropped) expect(line).toMatchObject({ deviceId: BAD, code: 'E_RANGE', reason });
      const droppedCount = status.readings.deadLetterDropped;
      expect(droppedCount).toBeGreaterThan(0);
      expect(status.deadLetter.records + droppedCount).toBe(BAD_READINGS);
      if (reason === 'unwritable') {
        expect(status.deadLetter.records).toBe(0);
        await waitFor(
          () => gw.logs().some((l) => l.msg.startsWith('alert raised') && l.alertId === 'deadletter-full'),
          5000,
          'the deadletter-full alert',
        );
      } else {
        // The share is per device: the first rejects were recorded, the rest dropped.
        expect(status.deadLetter.records).toBeGreaterThan(0);
        expect((await readdir(join(dataDir, 'deadletter'))).length).toBeGreaterThan(0);
      }

      gw.child.kill('SIGTERM');
      expect(await gw.exited).toBe(0);
    },
  );
});
