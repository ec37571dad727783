/**
 * SIGTERM while InfluxDB hangs (accepts the write, never answers): the case shutdown.test.ts does
 * not cover. The drainer is then "writing", not backing off, so nothing cuts the flush short but
 * its budget: the real command (child process) must still stop accepting, finish in-flight acks,
 * give up on the write when VALLEY_SHUTDOWN_FLUSH is over and exit 0; the next start drains the
 * rest, and the readings PUBACKed equal the points in InfluxDB, each once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DeviceLoad, expectAckedOnceInInflux } from '../support/device-load.js';
import { killGatewayProcesses, startGatewayProcess } from '../support/gateway-process.js';
import { InfluxFaultProxy } from '../support/influx-fault-proxy.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import { waitFor } from '../support/mqtt.js';
import { makeTestRegistry, writeTestRegistry } from '../support/registry.js';

const DB = 'faultsshutdown';
const DEVICES = ['t-flow-1', 't-flow-2', 't-flow-3', 't-flow-4'];
const FLUSH_MS = 2000;
/** Node start-up, closing listeners, the drainer's bounded stop (1 s): generous, CI machines vary. */
const EXIT_MARGIN_MS = 6000;

let influx: InfluxdHandle;
let proxy: InfluxFaultProxy;
let dir: string;
let load: DeviceLoad | undefined;

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  proxy = new InfluxFaultProxy(influx.url);
  await proxy.start();
  dir = await mkdtemp(join(tmpdir(), 'valley-faults-shutdown-'));
});

afterAll(async () => {
  await load?.stop();
  killGatewayProcesses();
  await proxy?.close();
  await influx?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('SIGTERM while InfluxDB hangs', () => {
  it('exits 0 within the flush budget with the rest on disk, drained exactly once after the next start', async () => {
    const registry = makeTestRegistry(
      DEVICES.slice(2).map((id) => ({ id, kind: 'water_flow', site: 't-reservoir' })),
    );
    const registryPath = await writeTestRegistry(dir, registry);
    const dataDir = join(dir, 'data');
    const start = () =>
      startGatewayProcess({
        registryPath,
        dataDir,
        influx: { url: proxy.url, db: DB },
        // A write timeout far beyond the flush budget: only the budget can end the shutdown.
        args: ['--shutdown-flush', `${FLUSH_MS}ms`, '--sink-timeout', '60s', '--stats-interval', '1h'],
      });
    const gw = await start();
    load = new DeviceLoad({
      devices: Object.fromEntries(DEVICES.map((id) => [id, registry.secrets[id]!])),
      inFlightPerDevice: 16,
    });
    load.start(gw.mqttUrl);
    await waitFor(() => load!.acked.size >= 2000, 30_000, 'load through a healthy InfluxDB');
    proxy.mode = { kind: 'hang' };
    await waitFor(() => proxy.count('hang') >= 1, 10_000, 'a write hanging');
    const ackedAtHang = load.acked.size;
    await waitFor(() => load!.acked.size >= ackedAtHang + 1000, 30_000, 'load while InfluxDB hangs');

    const at = Date.now();
    gw.child.kill('SIGTERM');
    const code = await gw.exited;
    const elapsedMs = Date.now() - at;
    expect(code).toBe(0);
    expect(elapsedMs).toBeLessThan(FLUSH_MS + EXIT_MARGIN_MS);
    expect(gw.logs().some((l) => l.msg.startsWith('shutdown: flush time is up'))).toBe(true);
    expect(gw.logs().some((l) => l.msg === 'Valley Telemetry gateway stopped')).toBe(true);
    // The hung request was cancelled, not left to keep the stopped process alive.
    expect(gw.output()).not.toContain('still open 2 s after the stop');

    // InfluxDB answers again; the next start sends the rest, devices resend what got no PUBACK.
    proxy.mode = { kind: 'pass' };
    const next = await start();
    load.start(next.mqttUrl);
    load.stopGenerating();
    await expectAckedOnceInInflux(load, influx, DB);
    await load.stop();
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
  });
});
