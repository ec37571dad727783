/**
 * InfluxV1Sink against a real InfluxDB 1.6.7 started by the harness. The bad-batch tests pin what
 * 1.6.7 actually does: a 400 can still mean that the other lines of the batch were written.
 */
import { getEventListeners } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NormalizedReading } from '../../contract/index.js';
import { startInfluxd, type InfluxdHandle } from '../../test/support/influxd.js';
import { freePort } from '../../test/support/ports.js';
import { toLineProtocol } from '../line-protocol.js';
import { SinkError } from '../types.js';
import { InfluxV1Sink, type InfluxV1Config } from './influx-v1.js';

const T0 = Date.UTC(2026, 10, 25, 6, 0, 0);

function reading(
  deviceId: string,
  kind: string,
  ts: number,
  values: Record<string, number>,
): NormalizedReading {
  return {
    deviceId,
    kind,
    corridor: 'water',
    municipality: 'chiesa',
    site: 'primolo tank',
    ts,
    values,
    receivedAt: ts,
  };
}

async function failure(write: Promise<void>): Promise<SinkError> {
  try {
    await write;
  } catch (err) {
    if (err instanceof SinkError) return err;
    throw err;
  }
  throw new Error('the write succeeded, a SinkError was expected');
}

/** A TCP server that accepts and never answers, for as long as `use` runs. */
async function withSilentServer(use: (url: string) => Promise<void>): Promise<void> {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  try {
    await use(`http://127.0.0.1:${port}`);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
}

describe('InfluxV1Sink on InfluxDB 1.6.7', () => {
  let influx: InfluxdHandle;
  const sink = (config: Partial<InfluxV1Config> = {}, timeoutMs = 5000): InfluxV1Sink =>
    new InfluxV1Sink({ mode: 'v1', url: influx.url, db: 'valley', ...config }, { timeoutMs });

  beforeAll(async () => {
    influx = await startInfluxd();
    for (const db of ['valley', 'conflict', 'unparsable']) await influx.createDatabase(db);
  });
  afterAll(async () => {
    await influx.stop();
  });

  it('describes itself and pings with the server version', async () => {
    expect(sink().description).toBe(`InfluxDB v1 API at ${influx.url}, database "valley"`);
    expect(await sink().ping()).toEqual({ ok: true, version: expect.stringMatching(/^1\.6\./) });
  });

  it('writes a batch: kind as measurement, the four tags, float fields, ms timestamps', async () => {
    await sink().write([
      toLineProtocol(reading('wf-01', 'water_flow', T0, { flow_l_s: 12.4, totaliser_m3: 80231 })),
      toLineProtocol(reading('wf-01', 'water_flow', T0 + 60_001, { flow_l_s: -0.5, totaliser_m3: 80231.75 })),
      toLineProtocol(reading('wp-02', 'water_pressure', T0 + 1, { pressure_bar: 4 })),
    ]);
    const tags = { device: 'wf-01', corridor: 'water', municipality: 'chiesa', site: 'primolo tank' };
    expect(await influx.query('valley', 'SELECT * FROM water_flow')).toEqual([
      { time: T0, ...tags, flow_l_s: 12.4, totaliser_m3: 80231 },
      { time: T0 + 60_001, ...tags, flow_l_s: -0.5, totaliser_m3: 80231.75 },
    ]);
    expect(await influx.query('valley', 'SHOW FIELD KEYS FROM water_flow')).toEqual([
      { fieldKey: 'flow_l_s', fieldType: 'float' },
      { fieldKey: 'totaliser_m3', fieldType: 'float' },
    ]);
    expect(await influx.query('valley', 'SELECT * FROM water_pressure')).toEqual([
      { time: T0 + 1, ...tags, device: 'wp-02', pressure_bar: 4 },
    ]);
  });

  it('writes into the retention policy it is given', async () => {
    await influx.query(
      'valley',
      'CREATE RETENTION POLICY "two_years" ON "valley" DURATION 104w REPLICATION 1',
    );
    await sink({ rp: 'two_years' }).write([
      toLineProtocol(reading('wl-03', 'water_level', T0, { level_m: 3 })),
    ]);
    expect(await influx.query('valley', 'SELECT level_m FROM "two_years".water_level')).toEqual([
      { time: T0, level_m: 3 },
    ]);
    expect(await influx.count('valley', 'water_level')).toBe(0); // not in the default policy
  });

  // 1.6.7 keeps field types per shard. DESIGN expected "400, nothing written" for every conflict;
  // that only holds when the write creates the shard. In an existing shard the rest is written.
  it('field-type conflict with stored data: rejected with InfluxDB message, the other lines written', async () => {
    await influx.write('conflict', `water_flow,device=wf-01 flow_l_s=1 ${T0}`);
    const err = await failure(
      sink({ db: 'conflict' }).write([
        `water_flow,device=wf-02 flow_l_s=2 ${T0 + 1}`,
        `water_flow,device=wf-03 flow_l_s=3i ${T0 + 2}`,
        `water_pressure,device=wp-01 pressure_bar=4 ${T0 + 3}`,
      ]),
    );
    expect(err).toMatchObject({ kind: 'rejected', status: 400, code: 'E_INFLUX_REJECTED' });
    expect(err.message).toContain(
      'partial write: field type conflict: input field "flow_l_s" on measurement "water_flow" is type integer, already exists as type float dropped=1',
    );
    expect(await influx.query('conflict', 'SELECT flow_l_s, device FROM water_flow')).toEqual([
      { time: T0, flow_l_s: 1, device: 'wf-01' },
      { time: T0 + 1, flow_l_s: 2, device: 'wf-02' },
    ]);
    expect(await influx.count('conflict', 'water_pressure')).toBe(1);
  });

  it('conflict inside one batch, shard already there: the first type wins, the later point is dropped', async () => {
    // The shard of T0 exists (previous test); water_level is new to it.
    const err = await failure(
      sink({ db: 'conflict' }).write([
        `water_level,device=wl-01 level_m=1 ${T0}`,
        `water_level,device=wl-02 level_m="full" ${T0 + 1}`,
        `water_level,device=wl-03 level_m=3 ${T0 + 2}`,
      ]),
    );
    expect(err).toMatchObject({ kind: 'rejected', status: 400 });
    expect(err.message).toContain('partial write: field type conflict');
    expect(err.message).toContain('is type string, already exists as type float dropped=1');
    expect(await influx.count('conflict', 'water_level')).toBe(2);
  });

  it('conflict inside a batch that creates the shard: the whole batch is refused, nothing written', async () => {
    await influx.createDatabase('fresh');
    const err = await failure(
      sink({ db: 'fresh' }).write([
        `water_level,device=wl-01 level_m=1 ${T0}`,
        `water_level,device=wl-02 level_m="full" ${T0 + 1}`,
        `water_level,device=wl-03 level_m=3 ${T0 + 2}`,
      ]),
    );
    expect(err).toMatchObject({ kind: 'rejected', status: 400 });
    expect(err.message).toMatch(/: field type conflict$/);
    expect(await influx.count('fresh')).toBe(0);
  });

  it('unparsable line: rejected with InfluxDB message, the other lines are written (partial write)', async () => {
    const err = await failure(
      sink({ db: 'unparsable' }).write([
        `water_flow,device=wf-01 flow_l_s=1 ${T0}`,
        'this is not line protocol',
        `water_flow,device=wf-02 flow_l_s=2 ${T0 + 1}`,
      ]),
    );
    expect(err).toMatchObject({ kind: 'rejected', status: 400 });
    expect(err.message).toContain(
      "partial write: unable to parse 'this is not line protocol': invalid field format dropped=0",
    );
    expect(await influx.count('unparsable', 'water_flow')).toBe(2);
  });

  it('missing database: config error that names it and says to create it', async () => {
    const err = await failure(sink({ db: 'nowhere' }).write([`water_flow flow_l_s=1 ${T0}`]));
    expect(err).toMatchObject({ kind: 'config', status: 404, code: 'E_INFLUX_CONFIG' });
    expect(err.message).toContain('database not found: "nowhere"');
    expect(err.message).toContain('CREATE DATABASE "nowhere"');
  });

  it('a server that does not answer: unavailable after the timeout', async () => {
    await withSilentServer(async (url) => {
      const err = await failure(sink({ url }, 200).write(['m x=1']));
      expect(err).toMatchObject({ kind: 'unavailable', status: undefined, retryAfterMs: undefined });
      expect(err.message).toBe(`InfluxDB v1 API at ${url}, database "valley" did not answer within 200 ms`);
    });
  });

  it("leaves nothing on the drainer's long-lived cancel signal, written, refused or cancelled", async () => {
    const cancel = new AbortController();
    const listeners = (): number => getEventListeners(cancel.signal, 'abort').length;
    await sink().write([`water_flow flow_l_s=1 ${T0}`], cancel.signal);
    expect(listeners()).toBe(0);
    await failure(sink({ db: 'nowhere' }).write([`water_flow flow_l_s=1 ${T0}`], cancel.signal));
    expect(listeners()).toBe(0);
    await withSilentServer(async (url) => {
      const write = failure(sink({ url }, 10_000).write(['m x=1'], cancel.signal));
      setTimeout(() => cancel.abort(new Error('stopping')), 50);
      const err = await write;
      // Cancelled (the drainer stopping), not timed out: the message must not claim a timeout.
      expect(err.kind).toBe('unavailable');
      expect(err.message).toContain('is unreachable');
      expect(listeners()).toBe(0);
    });
  });
});

describe('InfluxV1Sink with authentication on', () => {
  let influx: InfluxdHandle;
  const sink = (username?: string, password?: string): InfluxV1Sink =>
    new InfluxV1Sink(
      { mode: 'v1', url: influx.url, db: 'valley', ...(username !== undefined && { username, password }) },
      { timeoutMs: 5000 },
    );

  beforeAll(async () => {
    influx = await startInfluxd({ auth: true });
    await influx.createDatabase('valley');
  });
  afterAll(async () => {
    await influx.stop();
  });

  it('wrong password or none: config error, and the password is never in the message', async () => {
    const wrong = await failure(sink('admin', 'not-the-password-42').write([`m x=1 ${T0}`]));
    expect(wrong).toMatchObject({ kind: 'config', status: 401 });
    expect(wrong.message).toContain('InfluxDB refused the credentials');
    expect(wrong.message).toContain('user "admin"');
    expect(wrong.message).not.toContain('not-the-password-42');
    const none = await failure(sink().write([`m x=1 ${T0}`]));
    expect(none).toMatchObject({ kind: 'config', status: 401 });
    expect(none.message).toContain('set INFLUX_USERNAME and INFLUX_PASSWORD');
  });

  it('right password: written (Basic auth)', async () => {
    const { username, password } = influx.admin!;
    await sink(username, password).write([`m x=1 ${T0}`]);
    expect(await influx.count('valley', 'm')).toBe(1);
  });
});

describe('InfluxV1Sink while InfluxDB is down', () => {
  let influx: InfluxdHandle;
  let sink: InfluxV1Sink;

  beforeAll(async () => {
    influx = await startInfluxd();
    await influx.createDatabase('valley');
    sink = new InfluxV1Sink({ mode: 'v1', url: influx.url, db: 'valley' }, { timeoutMs: 5000 });
  });
  afterAll(async () => {
    await influx.stop();
  });

  it('stopped: unavailable naming the URL and the cause; restarted: writes again, earlier data kept', async () => {
    await sink.write([`water_flow,device=wf-01 flow_l_s=1 ${T0}`]);
    await influx.stop();
    const err = await failure(sink.write([`water_flow,device=wf-01 flow_l_s=2 ${T0 + 1}`]));
    expect(err).toMatchObject({ kind: 'unavailable', code: 'E_INFLUX_UNAVAILABLE', status: undefined });
    expect(err.message).toContain(`${influx.url}, database "valley" is unreachable`);
    expect(err.message).toContain('ECONNREFUSED');
    expect(await sink.ping()).toMatchObject({ ok: false, error: expect.stringContaining('ECONNREFUSED') });

    await influx.restart();
    await sink.write([`water_flow,device=wf-01 flow_l_s=2 ${T0 + 1}`]);
    expect(await influx.count('valley', 'water_flow')).toBe(2);
  });

  it('a port nobody listens on: unavailable', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const err = await failure(
      new InfluxV1Sink({ mode: 'v1', url, db: 'x' }, { timeoutMs: 2000 }).write(['m x=1']),
    );
    expect(err.kind).toBe('unavailable');
  });
});
