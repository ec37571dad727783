import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startInfluxd, type InfluxdHandle } from '../../test/support/influxd.js';
import { InfluxQueryError, queryInfluxQL, quoteIdent, rowsOf } from './influxql.js';

const T0 = Date.UTC(2026, 10, 25, 6, 0, 0);

describe('queryInfluxQL on InfluxDB 1.6.7', () => {
  let influx: InfluxdHandle;

  beforeAll(async () => {
    influx = await startInfluxd();
    await influx.createDatabase('valley');
    await influx.write('valley', [
      `water_flow,device=wf-01 flow_l_s=1 ${T0}`,
      `water_flow,device=wf-02 flow_l_s=2 ${T0}`,
    ]);
  });
  afterAll(async () => {
    await influx.stop();
  });

  it('reads the v1 database with ms times; GROUP BY tags land in the rows', async () => {
    const v1 = { mode: 'v1', url: influx.url, db: 'valley' } as const;
    const { series } = await queryInfluxQL(v1, 'SELECT last(flow_l_s) FROM water_flow GROUP BY device');
    expect(series.map((s) => s.tags)).toEqual([{ device: 'wf-01' }, { device: 'wf-02' }]);
    expect(rowsOf(series)).toEqual([
      { device: 'wf-01', time: T0, last: 1 },
      { device: 'wf-02', time: T0, last: 2 },
    ]);
  });

  it('v2 mode asks /query with the bucket as db (what a DBRP mapping serves)', async () => {
    const v2 = { mode: 'v2', url: influx.url, token: 't', org: 'o', bucket: 'valley' } as const;
    const { series } = await queryInfluxQL(v2, 'SELECT count(flow_l_s) FROM water_flow');
    expect(rowsOf(series)).toEqual([{ time: 0, count: 2 }]);
  });

  it('throws InfluxQueryError for a statement error and for a syntax error', async () => {
    const missing = { mode: 'v1', url: influx.url, db: 'nowhere' } as const;
    await expect(queryInfluxQL(missing, 'SELECT * FROM x')).rejects.toThrow(/database not found: nowhere/);
    const v1 = { mode: 'v1', url: influx.url, db: 'valley' } as const;
    await expect(queryInfluxQL(v1, 'SELECT FROM')).rejects.toBeInstanceOf(InfluxQueryError);
  });

  it('quotes identifiers', () => {
    expect(quoteIdent('a "b" \\c')).toBe('"a \\"b\\" \\\\c"');
  });
});
