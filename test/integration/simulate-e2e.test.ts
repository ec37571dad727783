/**
 * `valley simulate` end to end: a fleet with every fault through broker → ingest → outbox →
 * drainer → a real InfluxDB 1.x, judged from the simulator's labels and PUBACKs (DESIGN, Tests);
 * and the CLI's --assert as a CI step: it fails against a gateway that lists a device under
 * another kind and passes against the right one.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KIND_IDS, type NormalizedReading } from '../../contract/index.js';
import { parseRegistryText } from '../../config/loader.js';
import { FAULT_TYPES } from '../../simulators/faults.js';
import { runSimulation } from '../../simulators/simulation.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import { startTestGateway } from '../support/gateway.js';
import { waitFor } from '../support/mqtt.js';
import { makeTestRegistry, TEST_DEVICES, type TestRegistry } from '../support/registry.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const DB = 'simulate';
let influx: InfluxdHandle;
let dir: string;

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  dir = await mkdtemp(join(tmpdir(), 'valley-sim-'));
});

afterAll(async () => {
  await influx?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('valley simulate end to end', () => {
  it('takes a fleet with every fault through the whole path: InfluxDB holds exactly the acknowledged valid readings', async () => {
    const registry = makeTestRegistry();
    const gw = await startTestGateway({ registry, sink: { mode: 'v1', url: influx.url, db: DB } });
    const accepted: NormalizedReading[] = [];
    gw.valley.bus.on('readings.accepted', (e) => accepted.push(...e.readings));
    try {
      const { summary, labels } = await runSimulation({
        url: gw.mqttUrl,
        registry: registry.index,
        secrets: registry.secrets,
        deviceIds: Object.values(TEST_DEVICES).map((d) => d.id),
        // 60 s intervals at speed 480: 8 readings/s per device, 96 simulated minutes in 12 s,
        // after a 3 h backlog (180 readings in one array per device).
        durationMs: 12_000,
        speed: 480,
        seed: 7,
        faults: FAULT_TYPES,
        qos: 1,
        lateWindowMs: 7 * 86_400_000,
      });

      // Every fault had its expected outcome, on every device where it applies.
      expect(summary.mismatches).toEqual([]);
      for (const fault of FAULT_TYPES) {
        const r = summary.results[fault];
        expect({ fault, injected: (r?.injected ?? 0) > 0 }).toEqual({ fault, injected: true });
        expect(r!.asExpected).toBe(r!.injected);
      }

      // Points in InfluxDB = acknowledged valid unique readings (faults, foreign publishes, resends: none).
      const expected = new Set(
        labels
          .filter((l) => l.acked && l.rejects.length === 0 && l.expected.type === 'accept')
          .flatMap((l) => l.newReadings.map((r) => `${l.deviceId}|${r.ts}`)),
      );
      expect(expected.size).toBe(summary.accepted);
      await waitFor(
        () => gw.valley.outbox.stats().backlogRecords === 0,
        20_000,
        'the drainer to write everything',
      );
      const stored: string[] = [];
      for (const kind of KIND_IDS) {
        for (const row of await influx.query(DB, `SELECT * FROM "${kind}"`))
          stored.push(`${String(row.device)}|${String(row.time)}`);
      }
      expect(stored.length).toBe(new Set(stored).size);
      expect(new Set(stored)).toEqual(expected);

      // Nothing written twice: each reading accepted once; each resend counted as a duplicate.
      const counts = gw.valley.ingest.counts;
      expect(counts.accepted).toBe(expected.size);
      expect(counts.duplicates).toBe(summary.results.duplicate!.injected);
      expect(summary.duplicates).toBe(summary.results.duplicate!.injected);
      expect(counts.rejected).toEqual(summary.rejected);

      // The counter reset is flagged on the bus, on the very reading the simulator labelled.
      const resets = labels.filter((l) => l.kind === 'counter_reset');
      expect(resets.length).toBeGreaterThan(0);
      for (const l of resets) {
        const reading = accepted.find((r) => r.deviceId === l.deviceId && r.ts === l.newReadings[0]!.ts);
        expect({ device: l.deviceId, flags: reading?.flags }).toEqual({
          device: l.deviceId,
          flags: ['counter_reset'],
        });
      }
    } finally {
      await gw.stop();
    }
  });

  it('`valley simulate --assert` fails against a registry with a device under another kind and passes against the right one', async () => {
    const registry = makeTestRegistry();
    const registryFile = join(dir, 'registry.yaml');
    const secretsFile = join(dir, 'secrets.json');
    await writeFile(registryFile, registry.yaml);
    await writeFile(secretsFile, JSON.stringify({ version: 1, secrets: registry.secrets }));
    // The gateway's registry says the pressure sensor is a level sensor: its readings carry
    // pressure_bar, which a level sensor does not have.
    const wrongYaml = registry.yaml.replace(/(id: t-pressure-1\n\s+kind:) water_pressure/, '$1 water_level');
    expect(wrongYaml).not.toBe(registry.yaml);
    const wrong: TestRegistry = {
      ...registry,
      yaml: wrongYaml,
      index: parseRegistryText(wrongYaml, 'wrong'),
    };
    const [right, misfiled] = await Promise.all([
      startTestGateway({ registry }),
      startTestGateway({ registry: wrong }),
    ]);
    const simulate = (url: string, report: string) =>
      run(
        process.execPath,
        [
          '--import',
          'tsx',
          join(root, 'cli', 'main.ts'),
          'simulate',
          '--url',
          url,
          '--registry',
          registryFile,
          '--secrets',
          secretsFile,
          '--devices',
          't-pressure-1,t-flow-1',
          '--duration',
          '4s',
          '--speed',
          '120',
          '--faults',
          'out_of_range,duplicate',
          '--assert',
          '--report',
          report,
        ],
        { cwd: root, timeout: 30_000 },
      ).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => ({
          code: e.code,
          stdout: e.stdout,
          stderr: e.stderr,
        }),
      );
    try {
      const [pass, fail] = await Promise.all([
        simulate(right.mqttUrl, join(dir, 'pass.xml')),
        simulate(misfiled.mqttUrl, join(dir, 'fail.xml')),
      ]);
      expect({ code: pass.code, stdout: pass.stdout }).toEqual({
        code: 0,
        stdout: expect.stringContaining('mismatches: 0'),
      });
      expect(fail.code).toBe(1);
      expect(fail.stdout).toMatch(/t-pressure-1 valid: rejected with E_UNKNOWN_METRIC/);
      expect(fail.stderr).toMatch(/simulate: \d+s of 4s/);
      const junit = await readFile(join(dir, 'fail.xml'), 'utf8');
      expect(junit).toMatch(
        /<testcase classname="valley.simulate" name="valid readings[^"]*"[^>]*>\s*<failure/,
      );
      expect(await readFile(join(dir, 'pass.xml'), 'utf8')).toMatch(/failures="0"/);
    } finally {
      await Promise.all([right.stop(), misfiled.stop()]);
    }
  });
});
