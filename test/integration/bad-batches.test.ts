/**
 * Bad batches against a real InfluxDB 1.6.7: the drainer reads a real outbox, writes through the
 * real v1 sink, bisects a 400, dead-letters the bad line with InfluxDB's own message and moves on.
 *
 * 1.6.7 answers these 400s as *partial writes*: the good lines of the refused batch are already
 * stored (docs/decisions.md, "InfluxDB 1.6.7 and 400 answers"). The bisection then resends them,
 * which InfluxDB absorbs (same measurement, tags and timestamp overwrite the point), so the counts
 * below are exact: every good reading once, the bad one only in the dead-letter log.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { NormalizedReading } from '../../contract/index.js';
import { Drainer } from '../../gateway/drainer.js';
import { InfluxV1Sink } from '../../gateway/sinks/influx-v1.js';
import { openStorage } from '../support/storage.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';

/** A Wednesday morning: far from the weekly shard-group boundary (Thursday 00:00 UTC). */
const T0 = Date.UTC(2026, 10, 25, 6, 0, 0);

let influx: InfluxdHandle;
let dbCounter = 0;
const cleanups: (() => Promise<void>)[] = [];

function flow(i: number): NormalizedReading {
  return {
    deviceId: `t-flow-${i % 2}`,
    kind: 'water_flow',
    corridor: 'water',
    municipality: 'chiesa',
    site: 't-reservoir',
    ts: T0 + i * 1000,
    seq: i,
    values: { flow_l_s: 2.5 + i, totaliser_m3: 1000 + i },
    receivedAt: Date.now(),
  };
}
const flows = (from: number, to: number): NormalizedReading[] =>
  Array.from({ length: to - from }, (_, k) => flow(from + k));

async function rig(db: string) {
  const storage = await openStorage('valley-bad-');
  const { outbox, deadLetter, clock, logger } = storage;
  const drainer = new Drainer({
    outbox,
    deadLetter,
    sink: new InfluxV1Sink({ mode: 'v1', url: influx.url, db }, { timeoutMs: 5000 }),
    clock,
    logger,
    settings: { drainBatchLines: 100, drainBackoffBaseMs: 20, drainBackoffMaxMs: 200 },
    random: () => 0.5,
    idlePollMs: 50,
  });
  cleanups.push(async () => {
    await drainer.stop();
    await storage.close();
  });
  return { outbox, deadLetter, drainer };
}

async function newDb(): Promise<string> {
  const db = `bad${++dbCounter}`;
  await influx.createDatabase(db);
  return db;
}

async function flowPoints(db: string): Promise<string[]> {
  const rows = await influx.query(db, 'SELECT flow_l_s, device FROM water_flow');
  return rows.map((r) => `${String(r.device)}|${Number(r.time)}`).sort();
}
const identities = (readings: NormalizedReading[]): string[] =>
  readings.map((r) => `${r.deviceId}|${r.ts}`).sort();

beforeAll(async () => {
  influx = await startInfluxd();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
afterAll(async () => {
  await influx?.stop();
});

describe('bad batches on a real InfluxDB 1.6.7', () => {
  it('field-type conflict: the good lines are written, the bad one is dead-lettered, the drainer moves on', async () => {
    const db = await newDb();
    // An older writer stored level_m as a string in this shard; our float level_m now conflicts.
    await influx.write(db, `water_level,device=legacy level_m="full" ${T0}`);
    const level: NormalizedReading = {
      ...flow(10),
      deviceId: 't-level-1',
      kind: 'water_level',
      values: { level_m: 3.2 },
    };
    const batch = [...flows(0, 10), level, ...flows(11, 21)];
    const { outbox, deadLetter, drainer } = await rig(db);
    await outbox.append(batch);
    drainer.start();
    expect(await drainer.flush(20_000)).toBe(true);

    const good = batch.filter((r) => r !== level);
    expect(await flowPoints(db)).toEqual(identities(good));
    expect(await influx.query(db, 'SELECT level_m, device FROM water_level')).toEqual([
      { time: T0, level_m: 'full', device: 'legacy' },
    ]);
    const records = await deadLetter.list();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      stage: 'sink',
      device: 't-level-1',
      reject: { code: 'E_SINK_REJECTED', ts: level.ts, seq: 10 },
      reading: level,
    });
    expect(records[0]!.reject.message).toContain(
      'field type conflict: input field "level_m" on measurement "water_level" is type float, already exists as type string',
    );

    // Moves on: later readings are written, and the cursor passes the bad line for good.
    await outbox.append(flows(21, 26));
    expect(await drainer.flush(10_000)).toBe(true);
    expect(await flowPoints(db)).toEqual(identities([...good, ...flows(21, 26)]));
    expect(outbox.stats().backlogRecords).toBe(0);
    expect(drainer.stats()).toMatchObject({ deadLettered: 1 });
    expect(await deadLetter.list()).toHaveLength(1);
  });

  it('unparsable line: the good lines are written, the bad one is dead-lettered with the parse error', async () => {
    const db = await newDb();
    // Ingest refuses every reading InfluxDB could not parse (the ts window keeps out a year-2264
    // timestamp), so no publish can produce one: the record is written into the outbox directly,
    // as an outbox from an older version or a gateway with a wild clock would hold it. Appending a
    // garbage line in a Sink wrapper would instead break every batch, good lines included.
    const wild: NormalizedReading = { ...flow(7), ts: 9_300_000_000_000 };
    const batch = [...flows(0, 7), wild, ...flows(8, 15)];
    const { outbox, deadLetter, drainer } = await rig(db);
    await outbox.append(batch);
    drainer.start();
    expect(await drainer.flush(20_000)).toBe(true);

    const good = batch.filter((r) => r !== wild);
    expect(await flowPoints(db)).toEqual(identities(good));
    const records = await deadLetter.list();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      stage: 'sink',
      device: wild.deviceId,
      reject: { code: 'E_SINK_REJECTED', ts: wild.ts },
      reading: wild,
    });
    expect(records[0]!.reject.message).toMatch(/unable to parse '.*9300000000000': time outside range/);

    await outbox.append(flows(15, 20));
    expect(await drainer.flush(10_000)).toBe(true);
    expect(await flowPoints(db)).toEqual(identities([...good, ...flows(15, 20)]));
    expect(outbox.stats().backlogRecords).toBe(0);
  });
});
