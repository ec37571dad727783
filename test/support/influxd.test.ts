import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startInfluxd, type InfluxdHandle } from './influxd.js';

describe('startInfluxd (real InfluxDB 1.x)', () => {
  let influx: InfluxdHandle;

  beforeAll(async () => {
    influx = await startInfluxd();
  });
  afterAll(async () => {
    await influx.stop();
  });

  it('answers /ping on a loopback port with its version', async () => {
    expect(influx.url).toBe(`http://127.0.0.1:${influx.port}`);
    const res = await fetch(`${influx.url}/ping`);
    expect(res.status).toBe(204);
    expect(res.headers.get('x-influxdb-version')).toMatch(/^1\./);
  });

  it('writes, counts points and queries rows with ms timestamps', async () => {
    await influx.createDatabase('smoke');
    await influx.write('smoke', [
      'a,device=d1 x=1,y=2 1700000000000',
      'a,device=d2 x=3 1700000000001',
      'b y=4 1700000000002',
    ]);
    expect(await influx.count('smoke', 'a')).toBe(2);
    expect(await influx.count('smoke')).toBe(3);
    const rows = await influx.query('smoke', "SELECT x FROM a WHERE device = 'd2'");
    expect(rows).toEqual([{ time: 1700000000001, x: 3 }]);
  });

  it('keeps the data and the port across restart(), and again after a crash', async () => {
    await influx.restart();
    expect(await influx.count('smoke')).toBe(3);
    await influx.write('smoke', 'a,device=d3 x=5 1700000000003');
    await influx.kill();
    await influx.restart();
    expect(await influx.count('smoke', 'a')).toBe(3);
  });

  it('runs a second instance beside the first, with auth', async () => {
    const secured = await startInfluxd({ auth: true });
    try {
      expect(secured.port).not.toBe(influx.port);
      await secured.createDatabase('locked');
      const anonymous = await fetch(`${secured.url}/write?db=locked`, { method: 'POST', body: 'm x=1' });
      await anonymous.arrayBuffer();
      expect(anonymous.status).toBe(401);
      await secured.write('locked', 'm x=1 1700000000000');
      expect(await secured.count('locked')).toBe(1);
    } finally {
      await secured.stop();
    }
  });
});
