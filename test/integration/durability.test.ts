/**
 * "Acknowledge only what is safe": the PUBACK waits for the fsync; a failed fsync moves the
 * records to a new segment; InfluxDB going away and a gateway restart lose nothing and write
 * nothing twice. Counts come from PUBACKs and InfluxQL.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FileHandle } from 'node:fs/promises';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import { connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { TEST_DEVICES, makeTestRegistry } from '../support/registry.js';
import { startTestGateway } from '../support/gateway.js';

let influx: InfluxdHandle;
let dbCounter = 0;

async function newDb(): Promise<string> {
  const db = `durability${++dbCounter}`;
  await influx.createDatabase(db);
  return db;
}

function reading(ts: number, i: number): string {
  return JSON.stringify({ ts, seq: i, values: { flow_l_s: 5 + (i % 10), totaliser_m3: 100 + i } });
}

beforeAll(async () => {
  influx = await startInfluxd();
});

afterAll(async () => {
  await influx?.stop();
});

describe('durability', () => {
  it('sends no PUBACK before the sync function resolves, and sends it after', async () => {
    let gate: Promise<void> | undefined;
    let release: (() => void) | undefined;
    let held = 0;
    const sync = async (fh: FileHandle) => {
      if (gate) {
        held++;
        await gate;
      }
      await fh.datasync();
    };
    const gw = await startTestGateway({ sync });
    const id = TEST_DEVICES.flow.id;
    const client = await connectDevice(gw.mqttUrl, id, gw.registry.secrets[id]!);
    try {
      gate = new Promise<void>((resolve) => (release = resolve));
      let acked = false;
      const ack = publishAcked(client, `sensors/${id}/readings`, reading(Date.now(), 1)).then(
        () => (acked = true),
      );
      await waitFor(() => held > 0, 5000, 'the sync to be called');
      await new Promise((r) => setTimeout(r, 500));
      expect(acked).toBe(false);
      gate = undefined;
      release!();
      await ack;
      expect(acked).toBe(true);
      expect(gw.valley.outbox.stats().backlogRecords).toBe(1);
    } finally {
      await client.endAsync();
      await gw.stop();
    }
  });

  it('moves the records of a failed sync to a new segment and still acknowledges them once durable', async () => {
    let failNext = false;
    const sync = async (fh: FileHandle) => {
      if (failNext) {
        failNext = false;
        throw Object.assign(new Error('EIO: injected fsync failure'), { code: 'EIO' });
      }
      await fh.datasync();
    };
    // Local-only: no drainer commits a cursor (whose sync could take the injected failure).
    const gw = await startTestGateway({ sync });
    const id = TEST_DEVICES.flow.id;
    const client = await connectDevice(gw.mqttUrl, id, gw.registry.secrets[id]!);
    try {
      const t0 = Date.now() - 10_000;
      await publishAcked(client, `sensors/${id}/readings`, reading(t0, 0));
      failNext = true;
      await publishAcked(client, `sensors/${id}/readings`, reading(t0 + 1000, 1));
      await publishAcked(client, `sensors/${id}/readings`, reading(t0 + 2000, 2));
      expect(failNext).toBe(false);
      expect(gw.valley.outbox.stats().abandonedSegments).toBe(1);
      const files = await readdir(join(gw.dataDir, 'outbox'));
      expect(files.filter((f) => f.includes('abandoned'))).toHaveLength(1);
      const totals: number[] = [];
      for await (const chunk of gw.valley.outbox.readAll())
        totals.push(...chunk.map((r) => r.values.totaliser_m3!));
      expect(totals).toEqual([100, 101, 102]);
    } finally {
      await client.endAsync();
      await gw.stop();
    }
  });

  it('delivers every acknowledged reading exactly once across an InfluxDB outage', async () => {
    const db = await newDb();
    const gw = await startTestGateway({ sink: { mode: 'v1', url: influx.url, db } });
    const ids = [TEST_DEVICES.flow.id, TEST_DEVICES.flow2.id];
    const clients = await Promise.all(
      ids.map((id) => connectDevice(gw.mqttUrl, id, gw.registry.secrets[id]!)),
    );
    try {
      const acked = new Set<string>();
      const t0 = Date.now() - 600_000;
      const publishRange = async (from: number, to: number) => {
        await Promise.all(
          clients.map(async (client, c) => {
            for (let i = from; i < to; i++) {
              await publishAcked(client, `sensors/${ids[c]}/readings`, reading(t0 + i * 100, i));
              acked.add(`${ids[c]}|${t0 + i * 100}`);
            }
          }),
        );
      };
      await publishRange(0, 100);
      await influx.stop();
      await publishRange(100, 250);
      await influx.restart();
      await publishRange(250, 300);
      await waitFor(
        async () => (await influx.count(db, 'water_flow')) >= acked.size,
        20_000,
        'all acked points',
      );
      const rows = await influx.query(db, 'SELECT totaliser_m3, device FROM water_flow');
      const written = rows.map((r) => `${String(r.device)}|${Number(r.time)}`);
      expect(written.length).toBe(acked.size);
      expect(new Set(written)).toEqual(acked);
      expect(gw.valley.ingest.counts.accepted).toBe(600);
    } finally {
      await Promise.all(clients.map((c) => c.endAsync()));
      await gw.stop();
    }
  });

  it('drains a non-empty outbox from its cursor after a restart', async () => {
    const db = await newDb();
    const registry = makeTestRegistry();
    const id = TEST_DEVICES.flow.id;
    // First run: InfluxDB refuses connections (a closed port), so everything stays in the outbox.
    const first = await startTestGateway({
      registry,
      sink: { mode: 'v1', url: 'http://127.0.0.1:9', db },
      settings: { shutdownFlushMs: 200 },
    });
    const client = await connectDevice(first.mqttUrl, id, registry.secrets[id]!);
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 50; i++)
      await publishAcked(client, `sensors/${id}/readings`, reading(t0 + i * 100, i));
    await client.endAsync();
    expect(first.valley.outbox.stats().backlogRecords).toBe(50);
    await first.stop({ keepData: true });

    const second = await startTestGateway({
      registry,
      dataDir: first.dataDir,
      sink: { mode: 'v1', url: influx.url, db },
    });
    try {
      await waitFor(
        async () => (await influx.count(db, 'water_flow')) === 50,
        10_000,
        '50 points after restart',
      );
      await waitFor(
        () => second.valley.outbox.stats().backlogRecords === 0,
        5000,
        'the cursor to reach the end',
      );
    } finally {
      await second.stop();
    }
    // A third start finds nothing to send again: the cursor was committed.
    const third = await startTestGateway({
      registry,
      dataDir: first.dataDir,
      sink: { mode: 'v1', url: influx.url, db },
    });
    expect(third.valley.outbox.stats().backlogRecords).toBe(0);
    await third.stop();
    expect(await influx.count(db, 'water_flow')).toBe(50);
  });
});
