/**
 * Dead-letter replay on real parts: the whole gateway in-process with a registry file (users
 * ada/operator, bob/viewer) and a real InfluxDB 1.6.7 as its sink, devices over MQTT, the operator
 * fixing the registry by editing the file (hot reload) or fixing InfluxDB with InfluxQL, and the
 * `valley deadletter` command as a child process against the HTTP API.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { parse, stringify } from 'yaml';
import { hashPassword } from '../../config/secrets.js';
import { topics } from '../../contract/index.js';
import {
  deadLetterPageSchema,
  replayAnswerSchema,
  type DeadLetterView,
  type ReplayAnswer,
} from '../../gateway/deadletter-query.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import { closeClient, connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { makeTestRegistry, TEST_DEVICES, writeTestRegistry, type TestRegistry } from '../support/registry.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const DB = 'valley';
/** Whole seconds, so InfluxDB's answers compare exactly. */
const NOW = Math.floor(Date.now() / 1000) * 1000;

let dir: string;
let registryPath: string;
let registry: TestRegistry;
let influx: InfluxdHandle;
let gw: TestGateway;
const clients: MqttClient[] = [];

async function valley(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = ['--import', 'tsx', join(root, 'cli', 'main.ts'), 'deadletter', ...args, '--url', gw.httpUrl];
  try {
    const { stdout, stderr } = await run(process.execPath, argv, {
      cwd: root,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** `valley deadletter replay ... --json` as ada; the parsed answer. */
async function replayAsAda(args: string[]): Promise<ReplayAnswer> {
  const r = await valley(['replay', ...args, '--user', 'ada', '--json'], {
    VALLEY_PASSWORD: 'ada-secret-pw',
  });
  expect(r).toMatchObject({ code: 0, stderr: '' });
  return replayAnswerSchema.parse(JSON.parse(r.stdout));
}

/** The same replay over HTTP, for the checks that need no child process. */
async function replayHttp(cookie: string, body: object): Promise<ReplayAnswer> {
  const res = await fetch(`${gw.httpUrl}/api/deadletter/replay`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return replayAnswerSchema.parse(await res.json());
}

async function login(id: string, password: string): Promise<string> {
  const res = await fetch(`${gw.httpUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id, password }),
  });
  expect(res.status).toBe(200);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

async function list(cookie: string, query = ''): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${gw.httpUrl}/api/deadletter${query}`, { headers: { cookie } });
  return { status: res.status, body: await res.json() };
}

async function records(cookie: string, query = ''): Promise<DeadLetterView[]> {
  const res = await list(cookie, query);
  expect(res.status).toBe(200);
  return deadLetterPageSchema.parse(res.body).records;
}

async function publish(device: { id: string }, reading: object): Promise<void> {
  const client = await connectDevice(gw.mqttUrl, device.id, registry.secrets[device.id]!);
  clients.push(client);
  await publishAcked(client, topics.readings(device.id), JSON.stringify(reading));
  await closeClient(client);
}

/** The registry file as the operator edits it. */
async function editRegistry(edit: (doc: RegistryDoc) => void, check: () => boolean): Promise<void> {
  const doc = parse(registry.yaml) as RegistryDoc;
  edit(doc);
  registry = { ...registry, yaml: stringify(doc) };
  await writeFile(registryPath, registry.yaml);
  await gw.valley.reloadRegistry();
  await waitFor(check, 10_000, 'the registry reload');
}
interface RegistryDoc {
  sites: { id: string; capacity?: number }[];
  devices: { id: string; kind: string }[];
}

const drained = () => gw.valley.outbox.stats().backlogRecords === 0;

async function points(measurement: string, device: string): Promise<number[]> {
  const rows = await influx.query(DB, `SELECT * FROM ${measurement} WHERE device='${device}'`);
  return rows.map((r) => Number(r.time));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-dlq-'));
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  registry = makeTestRegistry(
    [],
    [
      { id: 'ada', role: 'operator', password_hash: await hashPassword('ada-secret-pw') },
      { id: 'bob', role: 'viewer', password_hash: await hashPassword('bob-secret-pw') },
    ],
  );
  registryPath = await writeTestRegistry(dir, registry);
  gw = await startTestGateway({
    registry,
    registryPath,
    sink: { mode: 'v1', url: influx.url, db: DB },
  });
});

afterAll(async () => {
  for (const client of clients) await closeClient(client);
  await gw?.stop();
  await influx?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('dead-letter replay', () => {
  it('replays readings after the registry was fixed: accepted and in InfluxDB exactly once', async () => {
    const { parking, flow2, traffic, weather } = TEST_DEVICES;
    // More cars than the site's 50 spaces: the site's capacity in the registry was wrong.
    await publish(parking, { ts: NOW - 60_000, values: { occupied_spaces: 70 } });
    // A level sensor registered as a flow meter: its metric is unknown to the kind.
    await publish(flow2, { ts: NOW - 60_000, values: { level_m: 2.5 } });
    // A traffic counter whose reading is wrong, and which is then taken out of service.
    await publish(traffic, { ts: NOW - 60_000, values: { vehicles_count: 3, heavy_vehicles_count: 9 } });
    // Eight days old: beyond the late window (a replay waives it).
    await publish(weather, { ts: NOW - 8 * 86_400_000, values: { temperature_c: 4.5 } });

    const ada = await login('ada', 'ada-secret-pw');
    const before = await records(ada);
    expect(before.map((r) => [r.device, r.reject.code, r.replay])).toEqual([
      [weather.id, 'E_TS_TOO_OLD', null],
      [traffic.id, 'E_RANGE', null],
      [flow2.id, 'E_UNKNOWN_METRIC', null],
      [parking.id, 'E_RANGE', null],
    ]);

    // Not fixed yet: rejected again with its code, nothing written, no new record.
    const early = await replayHttp(ada, { device: parking.id });
    expect(early.results).toMatchObject([{ device: parking.id, outcome: 'rejected', code: 'E_RANGE' }]);
    expect(await records(ada)).toHaveLength(4);

    await editRegistry(
      (doc) => {
        doc.sites.find((s) => s.id === 't-carpark')!.capacity = 80;
        doc.devices.find((d) => d.id === flow2.id)!.kind = 'water_level';
        doc.devices = doc.devices.filter((d) => d.id !== traffic.id);
      },
      () => !gw.valley.currentRegistry.devices.has(traffic.id),
    );

    const answer = await replayAsAda(before.map((r) => ['--id', r.id]).flat());
    expect(answer.results.map((r) => [r.device, r.outcome, r.readings, r.code ?? null])).toEqual([
      [weather.id, 'accepted', 1, null],
      [traffic.id, 'rejected', 0, 'E_UNKNOWN_DEVICE'],
      [flow2.id, 'accepted', 1, null],
      [parking.id, 'accepted', 1, null],
    ]);
    expect(answer).toMatchObject({ accepted: 3, rejected: 1, duplicate: 0, notFound: 0 });

    await waitFor(drained, 15_000, 'the outbox to drain');
    expect(await points('parking', parking.id)).toEqual([NOW - 60_000]);
    expect(await points('water_level', flow2.id)).toEqual([NOW - 60_000]);
    expect(await points('weather', weather.id)).toEqual([NOW - 8 * 86_400_000]);

    // The listing shows the replay state.
    const after = await records(ada);
    expect(after.map((r) => [r.device, r.replay?.outcome ?? null])).toEqual([
      [weather.id, 'accepted'],
      [traffic.id, 'rejected'],
      [flow2.id, 'accepted'],
      [parking.id, 'accepted'],
    ]);

    // A second replay writes nothing new.
    const appended = gw.valley.ingest.counts.accepted;
    const again = await replayAsAda(['--stage', 'ingest']);
    expect(again.results.map((r) => [r.device, r.outcome])).toEqual([
      [parking.id, 'duplicate'],
      [flow2.id, 'duplicate'],
      [traffic.id, 'rejected'],
      [weather.id, 'duplicate'],
    ]);
    expect(gw.valley.ingest.counts.accepted).toBe(appended);
    await waitFor(drained, 15_000, 'the outbox to drain');
    expect(await points('parking', parking.id)).toEqual([NOW - 60_000]);
    expect(await influx.count(DB, 'water_level')).toBe(1);
  });

  it('re-sends a reading InfluxDB refused (stage sink) once the conflicting field is gone', async () => {
    const { indoor } = TEST_DEVICES;
    const ts = NOW - 30_000;
    // Another writer stored `temperature_c` as a string in this measurement: our float conflicts.
    await influx.write(DB, `indoor_climate,device=legacy temperature_c="warm" ${ts}`);
    await publish(indoor, { ts, values: { temperature_c: 21.5 } });
    const ada = await login('ada', 'ada-secret-pw');
    let sink: DeadLetterView[] = [];
    await waitFor(
      async () => (sink = await records(ada, '?stage=sink')).length === 1,
      15_000,
      'the sink dead-letter record',
    );
    expect(sink[0]).toMatchObject({
      device: indoor.id,
      stage: 'sink',
      reject: { code: 'E_SINK_REJECTED' },
      reading: { deviceId: indoor.id, ts, values: { temperature_c: 21.5 } },
    });
    await waitFor(drained, 15_000, 'the outbox to drain');
    expect(await points('indoor_climate', indoor.id)).toEqual([]);

    // The fix: the legacy writer's junk goes with its measurement, so the field type is free again.
    await influx.query(DB, 'DROP MEASUREMENT indoor_climate');
    const answer = await replayAsAda(['--stage', 'sink']);
    expect(answer.results).toMatchObject([{ id: sink[0]!.id, outcome: 'accepted', readings: 1 }]);
    await waitFor(drained, 15_000, 'the outbox to drain');
    await waitFor(async () => (await points('indoor_climate', indoor.id)).length > 0, 15_000, 'the point');
    expect(await points('indoor_climate', indoor.id)).toEqual([ts]);

    const again = await replayHttp(ada, { ids: [sink[0]!.id] });
    expect(again.results).toMatchObject([{ outcome: 'duplicate', readings: 0 }]);
    await waitFor(drained, 15_000, 'the outbox to drain');
    expect(await points('indoor_climate', indoor.id)).toEqual([ts]);
    expect(await records(ada, '?stage=sink')).toHaveLength(1);
  });

  it('lists with filters and pages, and names a bad parameter in a 400', async () => {
    const ada = await login('ada', 'ada-secret-pw');
    const all = await records(ada);
    expect(all.length).toBeGreaterThanOrEqual(5);
    const pages: DeadLetterView[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const res = await list(ada, `?limit=2${cursor === '' ? '' : `&cursor=${cursor}`}`);
      const page = deadLetterPageSchema.parse(res.body);
      expect(page.records.length).toBeLessThanOrEqual(2);
      pages.push(...page.records);
      cursor = page.nextCursor;
    }
    expect(pages.map((r) => r.id)).toEqual(all.map((r) => r.id));
    expect(
      (await records(ada, `?device=${TEST_DEVICES.parking.id}&code=E_RANGE`)).map((r) => r.device),
    ).toEqual([TEST_DEVICES.parking.id]);
    const newest = all[0]!.reject.receivedAt;
    expect((await records(ada, `?since=${newest}`)).map((r) => r.id)).toContain(all[0]!.id);
    expect(await records(ada, `?until=${new Date(all.at(-1)!.reject.receivedAt).toISOString()}`)).toEqual([]);

    for (const [query, named] of [
      ['?limit=5000', 'limit'],
      ['?limit=0', 'limit'],
      ['?colour=red', 'colour'],
      ['?since=yesterday', 'since'],
      ['?code=E_NOPE', 'code'],
      ['?stage=outbox', 'stage'],
      ['?cursor=abc', 'cursor'],
      ['?device=Bad_Id', 'device'],
    ] as const) {
      const res = await list(ada, query);
      expect(res).toMatchObject({ status: 400, body: { error: { code: 'E_BAD_REQUEST' } } });
      expect((res.body as { error: { message: string } }).error.message).toContain(named);
    }
    const bad = await fetch(`${gw.httpUrl}/api/deadletter/replay`, {
      method: 'POST',
      headers: { cookie: ada, 'content-type': 'application/json' },
      body: JSON.stringify({}),
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('name the records');
    const missing = await replayHttp(ada, { ids: ['999-0-00000000'] });
    expect(missing).toMatchObject({ notFound: 1, results: [{ outcome: 'not-found', code: 'E_NOT_FOUND' }] });
  });

  it('the command shows a table, and fails clearly on a refused login or a missing role', async () => {
    const table = await valley(['list', '--user', 'ada', '--limit', '2'], {
      VALLEY_PASSWORD: 'ada-secret-pw',
    });
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+RECEIVED\s+DEVICE\s+STAGE\s+CODE\s+REPLAYED\s+MESSAGE$/);
    expect(lines).toHaveLength(4); // header, two records, the cursor line
    expect(lines[3]).toMatch(/^more: --cursor \d+-\d+-[0-9a-f]{8}$/);

    const wrong = await valley(['list', '--user', 'ada'], { VALLEY_PASSWORD: 'guess' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('HTTP 401 E_LOGIN_FAILED');
    const anonymous = await valley(['replay', '--stage', 'sink']);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/HTTP 401 E_UNAUTHORIZED.*--user/);
    const viewer = await valley(['replay', '--stage', 'sink', '--user', 'bob'], {
      VALLEY_PASSWORD: 'bob-secret-pw',
    });
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toContain('HTTP 403 E_FORBIDDEN');
    const usage = await valley(['replay', '--cursor', 'x']);
    expect(usage.code).toBe(2);
  });
});
