/**
 * InfluxDB failing every way it does, under load: a fault proxy (test/support/influx-fault-proxy)
 * sits between the gateway and a real InfluxDB and is switched, while devices publish, through
 * unreachable (connection reset), hung (writes end by VALLEY_SINK_TIMEOUT), 429 and 503 with
 * Retry-After, 500, and "stored but the answer lost", then back to normal. The outbox cap and the
 * held-appends caps are small, so back-pressure and refusals happen during the outage. Afterwards
 * the backlog drains, the readings PUBACKed equal the points in InfluxDB (each once), and the
 * in-memory queues never passed their caps.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DeviceLoad, expectAckedOnceInInflux } from '../support/device-load.js';
import { InfluxFaultProxy } from '../support/influx-fault-proxy.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import { waitFor } from '../support/mqtt.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { makeTestRegistry } from '../support/registry.js';

const DB = 'faultssink';
const DEVICES = ['t-flow-1', 't-flow-2', 't-flow-3'];
const BATCH_LINES = 200;
const HELD_MAX = 6;
const HELD_BYTES = 4096;
const RETRY_AFTER_S = 1;

let influx: InfluxdHandle;
let proxy: InfluxFaultProxy;
let gw: TestGateway | undefined;
let load: DeviceLoad | undefined;

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  proxy = new InfluxFaultProxy(influx.url);
  await proxy.start();
});

afterAll(async () => {
  await load?.stop();
  await gw?.stop();
  await proxy?.close();
  await influx?.stop();
});

describe('InfluxDB faults under load', () => {
  it('drains the backlog after every kind of sink failure: no loss, no duplicate, queues within their caps', async () => {
    const registry = makeTestRegistry([{ id: 't-flow-3', kind: 'water_flow', site: 't-reservoir' }]);
    gw = await startTestGateway({
      registry,
      sink: { mode: 'v1', url: proxy.url, db: DB },
      settings: {
        sinkTimeoutMs: 300,
        drainBatchLines: BATCH_LINES,
        drainBackoffBaseMs: 20,
        // Above Retry-After, so the drainer's wait shows it honoured the header.
        drainBackoffMaxMs: 1500,
        outboxMaxBytes: 48 * 1024,
        heldAppendsMax: HELD_MAX,
        heldBytesMax: HELD_BYTES,
      },
    });
    const bp = gw.valley.backpressure!;
    // Observed on every append ingest makes (the held set changes only there and on release).
    let maxHeld = 0;
    let maxHeldBytes = 0;
    let held = false;
    const observe = (): void => {
      const s = bp.state();
      maxHeld = Math.max(maxHeld, s.heldAppends);
      maxHeldBytes = Math.max(maxHeldBytes, s.heldBytes);
      held ||= s.holding;
    };
    const append = bp.append.bind(bp);
    bp.append = (readings, options) => {
      const done = append(readings, options);
      observe();
      return done;
    };

    load = new DeviceLoad({
      devices: Object.fromEntries(DEVICES.map((id) => [id, registry.secrets[id]!])),
      inFlightPerDevice: 8,
    });
    load.start(gw.mqttUrl);
    await waitFor(() => load!.acked.size >= 300, 20_000, 'load through a healthy InfluxDB');

    // Unreachable long enough for the outbox to reach its cap: PUBACKs held, extra appends refused.
    proxy.mode = { kind: 'reset' };
    await waitFor(() => held && bp.state().refusedAppends > 0, 20_000, 'back-pressure and refusals');
    const steps = [
      { mode: { kind: 'hang' as const }, requests: 2 },
      { mode: { kind: 'status' as const, status: 429, retryAfter: String(RETRY_AFTER_S) }, requests: 2 },
      { mode: { kind: 'status' as const, status: 500 }, requests: 2 },
      { mode: { kind: 'status' as const, status: 503, retryAfter: String(RETRY_AFTER_S) }, requests: 2 },
      { mode: { kind: 'lost-answer' as const }, requests: 3 },
    ];
    for (const step of steps) {
      const before = proxy.requests.length;
      proxy.mode = step.mode;
      await waitFor(
        () => proxy.requests.slice(before).filter((r) => r.path === '/write').length >= step.requests,
        20_000,
        `${step.requests} writes in mode ${JSON.stringify(step.mode)}`,
      );
    }
    proxy.mode = { kind: 'pass' };

    load.stopGenerating();
    await waitFor(() => load!.unacked === 0, 30_000, 'every reading acknowledged');
    await waitFor(() => gw!.valley.outbox.stats().backlogRecords === 0, 30_000, 'the backlog drained');

    await expectAckedOnceInInflux(load, influx, DB);

    // Memory stayed bounded: held appends within VALLEY_HELD_MAX / VALLEY_HELD_SIZE, batches within
    // VALLEY_BATCH_LINES.
    expect(maxHeld).toBeGreaterThan(0);
    expect(maxHeld).toBeLessThanOrEqual(HELD_MAX);
    expect(maxHeldBytes).toBeLessThanOrEqual(HELD_BYTES);
    const writes = proxy.requests.filter((r) => r.path === '/write');
    expect(Math.max(...writes.map((r) => r.lines))).toBeLessThanOrEqual(BATCH_LINES);
    // A hung write was given up by the gateway's timeout, not by the proxy.
    expect(writes.some((r) => r.mode === 'hang' && r.abandoned)).toBe(true);
    // After a 429/503 with Retry-After the next write waited at least that long.
    for (const [i, r] of writes.entries()) {
      if (r.status !== 429 && r.status !== 503) continue;
      const next = writes[i + 1];
      if (next !== undefined) expect(next.at - r.at).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000 - 50);
    }
    // The lost answers were stored and the resends overwrote them: counted once above.
    expect(writes.filter((r) => r.mode === 'lost-answer').length).toBeGreaterThanOrEqual(3);
    expect(gw.valley.drainer!.stats()).toMatchObject({ state: 'idle', deadLettered: 0 });
  });
});
