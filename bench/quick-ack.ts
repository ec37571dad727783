/**
 * Quick acknowledged-throughput figure for docs/performance.md: the gateway runs as its own
 * process (`valley start`, local-only, fsync on), 20 MQTT.js publishers in this process each keep
 * up to 100 QoS 1 readings in flight for a fixed time; the figure is PUBACKs per second, checked
 * against the gateway's accepted count. Loopback only, bounded in time.
 *
 *   node --import tsx bench/quick-ack.ts [--seconds 10] [--publishers 20] [--inflight 100]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { makeTestRegistry, writeTestRegistry } from '../test/support/registry.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    publishers: { type: 'string', default: '20' },
    inflight: { type: 'string', default: '100' },
  },
});
const seconds = Number(values.seconds);
const publishers = Number(values.publishers);
const inflight = Number(values.inflight);

const root = join(import.meta.dirname, '..');
const dir = await mkdtemp(join(tmpdir(), 'valley-bench-'));
const extra = Array.from({ length: publishers }, (_, i) => ({
  id: `bench-${i}`,
  kind: 'water_pressure',
  site: 't-network',
}));
const registry = makeTestRegistry(extra);
const registryPath = await writeTestRegistry(dir, registry);
const gateway = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    join(root, 'cli', 'main.ts'),
    'start',
    '--registry',
    registryPath,
    '--data-dir',
    join(dir, 'data'),
    '--mqtt-port',
    '0',
    '--ws-port',
    '0',
    '--http-port',
    '0',
    '--no-demo-fleet',
    '--stats-interval',
    '1h',
    // Each publisher runs far above a real device's 20 messages/s: the bench measures the path.
    '--rate-limit',
    '0',
    '--log-level',
    'info',
  ],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
);
let log = '';
gateway.stdout.on('data', (d: Buffer) => (log += d.toString()));
const deadline = Date.now() + 20_000;
while (!/gateway started/.test(log)) {
  if (Date.now() > deadline) throw new Error(`gateway did not start:\n${log}`);
  await new Promise((r) => setTimeout(r, 50));
}
const port = /mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(log)![1];

const clients = await Promise.all(
  extra.map((d) =>
    mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: d.id,
      username: d.id,
      password: registry.secrets[d.id],
      protocolVersion: 4,
      reconnectPeriod: 0,
    }),
  ),
);
let acked = 0;
const latencies: number[] = [];
const stopAt = Date.now() + seconds * 1000;
const start = Date.now();
await Promise.all(
  clients.map(async (client, c) => {
    let ts = Date.now() - 3_600_000 - c; // distinct per device, within the late window
    const lanes = Array.from({ length: inflight }, async () => {
      while (Date.now() < stopAt) {
        ts += 1;
        const sent = performance.now();
        await client.publishAsync(
          `sensors/${extra[c]!.id}/readings`,
          JSON.stringify({ ts, values: { pressure_bar: 4.2 } }),
          { qos: 1 },
        );
        latencies.push(performance.now() - sent);
        acked++;
      }
    });
    await Promise.all(lanes);
  }),
);
const elapsed = (Date.now() - start) / 1000;
await Promise.all(clients.map((c) => c.endAsync()));
gateway.kill('SIGTERM');
await new Promise((r) => gateway.once('exit', r));
// The last stats line (logged at shutdown) carries the gateway's own total.
const lastStats =
  log
    .split('\n')
    .filter((l) => l.includes('"totals"'))
    .pop() ?? '';
const accepted = Number(/"totals":\{"accepted":(\d+)/.exec(lastStats)?.[1] ?? NaN);
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(1);
console.log(
  JSON.stringify(
    {
      publishers,
      inflightPerPublisher: inflight,
      seconds: elapsed,
      acked,
      ackedPerSecond: Math.round(acked / elapsed),
      gatewayAcceptedTotal: accepted,
      pubackLatencyMs: { p50: pct(50), p99: pct(99) },
      host: { cores: cpus().length, node: process.version },
    },
    null,
    2,
  ),
);
await rm(dir, { recursive: true, force: true });
