/**
 * The soak (`--soak`, on its own): a steady QoS 1 load end to end into InfluxDB for 10 minutes
 * (`--soak-minutes N`),
 * the gateway's RSS and event-loop lag sampled all along. "No growth" is read from the RSS of the
 * last quarter against the first quarter (after start-up), not from one sample.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startInfluxd } from '../../test/support/influxd.js';
import { PublisherFleet, steadyLoad } from '../load/publishers.js';
import { figure, percentile } from '../stats.js';
import { startGatewayIntoInflux } from '../systems/index.js';
import { benchFleet, PAYLOAD_DESCRIPTION, type BenchContext, type ScenarioResult } from './common.js';

export async function soak(ctx: BenchContext): Promise<ScenarioResult> {
  const { devices, rate, durationMs, sampleEveryMs } = ctx.scale.soak;
  const fleet = await benchFleet(ctx.dir, devices);
  const influxd = await startInfluxd();
  const rss: number[] = [];
  const lag: number[] = [];
  const backlog: number[] = [];
  let acked = 0;
  try {
    const gateway = await startGatewayIntoInflux(ctx, fleet.registryPath, influxd);
    const publishers = new PublisherFleet(
      fleet.devices,
      ctx.scale.publisherProcesses,
      steadyLoad(gateway.mqttUrl, rate, durationMs + 5 * 60_000),
    );
    try {
      await publishers.start();
      await gateway.lagP99Ms();
      const load = publishers.run(durationMs);
      const started = performance.now();
      while (performance.now() - started < durationMs - sampleEveryMs / 2) {
        await sleep(sampleEveryMs);
        rss.push((await gateway.sample()).rssBytes / 2 ** 20);
        lag.push(await gateway.lagP99Ms());
        backlog.push((await gateway.status()).backlog.records);
        ctx.progress(
          `soak ${Math.round((performance.now() - started) / 1000)} s, RSS ${rss.at(-1)!.toFixed(0)} MiB`,
        );
      }
      acked = (await load).acked;
    } finally {
      await publishers.close();
      await gateway.stop();
    }
  } finally {
    await influxd.stop();
  }
  const quarter = Math.max(1, Math.floor(rss.length / 4));
  const medianOf = (q: number): number => percentile(rss.slice(q * quarter, (q + 1) * quarter), 50);
  const growth = percentile(rss.slice(-quarter), 50) - medianOf(0);
  // Bounded structures fill during a soak (each device's dedupe window doubles up to its size): when
  // the last of those doublings comes before the third quarter, the last two quarters tell "still
  // growing" from "grew, then stopped" (docs/performance.md).
  const lateGrowth = percentile(rss.slice(-quarter), 50) - medianOf(2);
  return {
    id: 'soak',
    title: `Soak: ${durationMs / 60_000} minutes end to end`,
    figures: {
      gateway_rss_mib: figure(rss, 'MiB'),
      rss_growth_last_vs_first_quarter_mib: figure([growth], 'MiB'),
      rss_growth_last_vs_third_quarter_mib: figure([lateGrowth], 'MiB'),
      event_loop_lag_p99_ms: figure(lag, 'ms'),
      backlog_records: figure(backlog, 'readings'),
      readings_acknowledged: figure([acked], 'readings'),
    },
    conditions: {
      payload: PAYLOAD_DESCRIPTION,
      qos: 1,
      devices: `${devices} devices, ${rate} readings/s in total`,
      sink: 'InfluxDB 1.x on the same host',
      samples: `every ${sampleEveryMs / 1000} s (figures are over samples of one run, not over runs)`,
    },
    bound: 'not a throughput figure: memory and lag at a steady load',
    notes: [],
  };
}
