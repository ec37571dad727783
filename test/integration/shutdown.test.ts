/**
 * SIGTERM under load on the real command (`valley start` in a child process): publishers keep
 * sending until the gateway goes; it must exit 0 within its flush time (plus a margin), with every
 * PUBACKed reading either in InfluxDB or in the outbox on disk, and a second start must deliver
 * every acknowledged reading to InfluxDB exactly once. Counts come from the publishers' PUBACKs
 * and InfluxQL (DESIGN, Tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { statusSchema } from '../../dashboard/status-schema.js';
import { silentLogger } from '../../gateway/logger.js';
import { FileOutbox } from '../../gateway/outbox.js';
import { systemClock } from '../../gateway/types.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import { connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { makeTestRegistry, writeTestRegistry, type TestRegistry } from '../support/registry.js';

const root = join(import.meta.dirname, '..', '..');
const FLUSH_MS = 3000;
/** Node start-up, broker and HTTP close, the drainer's bounded stop: generous, CI machines vary. */
const EXIT_MARGIN_MS = 6000;
const DEVICES = ['t-flow-1', 't-flow-2', 't-flow-3', 't-flow-4'];
const IN_FLIGHT_PER_DEVICE = 16;

let influx: InfluxdHandle;
let dir: string;
let registry: TestRegistry;
let registryPath: string;
const children = new Set<ChildProcess>();

interface Gateway {
  child: ChildProcess;
  mqttPort: number;
  httpUrl: string;
  output: () => string;
  exited: Promise<number | null>;
}

async function startGateway(dataDir: string, db: string): Promise<Gateway> {
  const args = [
    '--import',
    'tsx',
    join(root, 'cli', 'main.ts'),
    'start',
    ...['--registry', registryPath, '--data-dir', dataDir],
    ...['--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--no-demo-fleet'],
    ...['--influx-url', influx.url, '--influx-db', db],
    ...['--shutdown-flush', `${FLUSH_MS}ms`, '--backoff-base', '50ms', '--backoff-max', '500ms'],
    // A load test: each publisher sends far above a device's rate limit, which would pace it.
    ...['--rate-limit', '0'],
  ];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  let started: { mqtt: string; dashboard: string } | undefined;
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the gateway exited at start:\n${output}`);
      for (const line of output.split('\n')) {
        if (!line.includes('gateway started')) continue;
        started = JSON.parse(line) as { mqtt: string; dashboard: string };
      }
      return started !== undefined;
    },
    30_000,
    'the JSON start log line',
  );
  return {
    child,
    mqttPort: Number(new URL(started!.mqtt).port),
    httpUrl: started!.dashboard,
    output: () => output,
    exited,
  };
}

/** Publishers that keep IN_FLIGHT_PER_DEVICE readings in flight each, until their connection ends. */
class Load {
  readonly sent = new Set<string>();
  readonly acked = new Set<string>();
  private readonly clients: MqttClient[] = [];
  private lanes: Promise<void>[] = [];
  private next = 0;
  private readonly t0 = Date.now() - 3_600_000;

  async start(mqttPort: number): Promise<void> {
    for (const id of DEVICES) {
      const client = await connectDevice(`mqtt://127.0.0.1:${mqttPort}`, id, registry.secrets[id]!);
      this.clients.push(client);
      for (let lane = 0; lane < IN_FLIGHT_PER_DEVICE; lane++) this.lanes.push(this.lane(client, id));
    }
  }

  private async lane(client: MqttClient, id: string): Promise<void> {
    while (client.connected) {
      const i = this.next++;
      // One ms apart and unique per device: each reading is its own InfluxDB point.
      const ts = this.t0 + i;
      const key = `${id}|${ts}`;
      this.sent.add(key);
      const payload = JSON.stringify({ ts, seq: i, values: { flow_l_s: i % 100, totaliser_m3: i } });
      try {
        await publishAcked(client, `sensors/${id}/readings`, payload);
      } catch {
        return; // the connection closed before the PUBACK: not acknowledged
      }
      this.acked.add(key);
    }
  }

  /** After the gateway is gone: ends the clients (flushing unanswered publishes) and the lanes. */
  async end(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.endAsync(true)));
    await Promise.all(this.lanes);
  }
}

async function pointsIn(db: string): Promise<string[]> {
  const rows = await influx.query(db, 'SELECT flow_l_s, device FROM water_flow');
  return rows.map((r) => `${String(r.device)}|${Number(r.time)}`);
}

/** The readings after the committed cursor: what the next start will send. */
async function outboxBacklog(dataDir: string): Promise<string[]> {
  const outbox = new FileOutbox({
    dir: join(dataDir, 'outbox'),
    segmentBytes: 64 * 1024 * 1024,
    clock: systemClock,
    logger: silentLogger(),
  });
  await outbox.start();
  try {
    const keys: string[] = [];
    let from = outbox.cursor;
    for (;;) {
      const batch = await outbox.read(from, 10_000);
      keys.push(...batch.records.map((r) => `${r.deviceId}|${r.ts}`));
      if (batch.to.segment === from.segment && batch.to.offset === from.offset) return keys;
      from = batch.to;
    }
  } finally {
    await outbox.stop();
  }
}

async function sigterm(gw: Gateway): Promise<{ code: number | null; elapsedMs: number }> {
  const at = Date.now();
  gw.child.kill('SIGTERM');
  const code = await gw.exited;
  return { code, elapsedMs: Date.now() - at };
}

/** Second start on the same data dir: drains the rest, then stops cleanly. */
async function restartAndDrain(dataDir: string, db: string): Promise<void> {
  const gw = await startGateway(dataDir, db);
  await waitFor(
    async () => {
      const res = await fetch(`${gw.httpUrl}/api/status`);
      return statusSchema.parse(await res.json()).backlog.records === 0;
    },
    30_000,
    'the second start to drain the outbox',
  );
  expect((await sigterm(gw)).code).toBe(0);
}

async function expectExactlyOnce(db: string, load: Load): Promise<void> {
  const points = await pointsIn(db);
  expect(new Set(points).size).toBe(points.length);
  const stored = new Set(points);
  expect([...load.acked].filter((k) => !stored.has(k))).toEqual([]);
  // Nothing that was never sent (a reading can be stored without its PUBACK having arrived).
  expect(points.filter((k) => !load.sent.has(k))).toEqual([]);
}

beforeAll(async () => {
  influx = await startInfluxd();
  dir = await mkdtemp(join(tmpdir(), 'valley-shutdown-'));
  registry = makeTestRegistry(
    DEVICES.slice(2).map((id) => ({ id, kind: 'water_flow', site: 't-reservoir' })),
  );
  registryPath = await writeTestRegistry(dir, registry);
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await influx?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('SIGTERM under load', () => {
  it.each([
    ['InfluxDB answering', 'shutdown1', false],
    ['InfluxDB down (nothing to flush to)', 'shutdown2', true],
  ])(
    '%s: exits 0 in time, keeps every acknowledged reading, delivers it once after a restart',
    async (_name, db, influxDown) => {
      await influx.createDatabase(db);
      const dataDir = join(dir, db);
      const gw = await startGateway(dataDir, db);
      const load = new Load();
      await load.start(gw.mqttPort);
      await waitFor(() => load.acked.size >= 2000, 20_000, 'load to build up');
      if (influxDown) await influx.stop();
      await waitFor(() => load.acked.size >= 4000, 20_000, 'more load');

      const { code, elapsedMs } = await sigterm(gw);
      await load.end();
      expect(code).toBe(0);
      expect(elapsedMs).toBeLessThan(FLUSH_MS + EXIT_MARGIN_MS);
      expect(gw.output()).toContain('Valley Telemetry gateway stopped');
      expect(gw.output()).toMatch(/InfluxDB answered \(version 1\./); // the start-up ping

      if (influxDown) await influx.restart();
      const inInflux = new Set(await pointsIn(db));
      const onDisk = new Set(await outboxBacklog(dataDir));
      const lost = [...load.acked].filter((k) => !inInflux.has(k) && !onDisk.has(k));
      expect(lost).toEqual([]);
      // In-flight acks were finished, and nothing read after the stop was stored: what is kept
      // is exactly what was acknowledged.
      const unacked = [...inInflux, ...onDisk].filter((k) => !load.acked.has(k));
      expect(unacked).toEqual([]);
      if (influxDown) expect(onDisk.size).toBeGreaterThan(0);
      // InfluxDB answering: the flush sent everything within VALLEY_SHUTDOWN_FLUSH.
      else expect(onDisk.size).toBe(0);
      expect(gw.output()).not.toContain('still open 2 s after the stop');

      await restartAndDrain(dataDir, db);
      await expectExactlyOnce(db, load);
    },
  );
});
