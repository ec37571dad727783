/**
 * The soak (`--soak`, on its own): a steady QoS 1 load end to end into InfluxDB for 10 minutes
 * (`--soak-minutes N`), the gateway's RSS and event-loop lag sampled all along. "No growth" is read
 * from the RSS of the last quarter against the first quarter, not from one sample.
 *
 * It measures after a warm-up. Each device's dedupe window grows in doublings as the device
 * reports, up to its bound (docs/performance.md, Memory): from a cold start at 2 readings/s per
 * device its last doubling comes after 17 minutes, so a 10-minute soak from cold sees bounded
 * structures filling, not a leak. The warm-up sends every device past that last doubling at a
 * higher rate, waits for InfluxDB to catch up, and only then starts the measured soak, with the
 * same connected devices (`--soak-cold` skips it, to see the filling).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startInfluxd } from '../../test/support/influxd.js';
import { PublisherFleet, steadyLoad } from '../load/publishers.js';
import { figure, percentile } from '../stats.js';
import { startGatewayIntoInflux } from '../systems/index.js';
import { defaultSettings } from '../../config/settings.js';
import { readingsToFullWindow } from '../../gateway/ingest/dedupe.js';
import { waitForBacklog } from './backlog.js';
import { benchFleet, PAYLOAD_DESCRIPTION, type BenchContext, type ScenarioResult } from './common.js';

/** Readings per device that take its dedupe window (the gateway's default) to its full size. */
export const WARMUP_READINGS_PER_DEVICE = readingsToFullWindow(defaultSettings().dedupeWindow);

export async function soak(ctx: BenchContext): Promise<ScenarioResult> {
  const { devices, rate, durationMs, sampleEveryMs, warmupRate, settleMs, cold } = ctx.scale.soak;
  const fleet = await benchFleet(ctx.dir, devices);
  const influxd = await startInfluxd();
  const rss: number[] = [];
  const lag: number[] = [];
  const backlog: number[] = [];
  let acked = 0;
  const warmup = { readings: 0, seconds: 0, rssMiB: 0 };
  try {
    const gateway = await startGatewayIntoInflux(ctx, fleet.registryPath, influxd);
    const publishers = new PublisherFleet(
      fleet.devices,
      ctx.scale.publisherProcesses,
      steadyLoad(gateway.mqttUrl, rate, durationMs + 20 * 60_000),
    );
    try {
      await publishers.start();
      if (!cold) {
        const readings = devices * WARMUP_READINGS_PER_DEVICE;
        const warmupMs = Math.ceil((readings / warmupRate) * 1000);
        ctx.progress(`warm-up: ${readings} readings at ${warmupRate}/s (${Math.round(warmupMs / 1000)} s)`);
        const started = performance.now();
        const before = (await gateway.status()).readings;
        // Round robin over the devices, so each gets its share; a little over, never under.
        const report = await publishers.run(warmupMs + 2_000, warmupRate);
        const after = (await gateway.status()).readings;
        // Counted by the gateway: only accepted readings enter a dedupe window. With no publish
        // failing and none refused, round robin gave every device the same number.
        const accepted = after.accepted - before.accepted;
        const refused = after.rejected - before.rejected + (after.duplicates - before.duplicates);
        if (report.failed > 0 || refused > 0 || accepted < readings)
          throw new Error(
            `warm-up: ${accepted} readings accepted (${readings} needed), ${report.failed} publishes ` +
              `failed, ${refused} rejected or duplicates: some device's window is not at its full size`,
          );
        await waitForBacklog(gateway, 0, 10 * 60_000);
        warmup.readings = accepted;
        warmup.seconds = (performance.now() - started) / 1000;
        warmup.rssMiB = (await gateway.sample()).rssBytes / 2 ** 20;
        // A minute at the soak's own rate before measuring: the heap sized for the warm-up's rate
        // settles first, so the first quarter is not read while it is still shrinking.
        ctx.progress(`settling at ${rate}/s for ${settleMs / 1000} s`);
        await publishers.run(settleMs);
      }
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
      ...(!cold && {
        warmup_readings: figure([warmup.readings], 'readings'),
        warmup_seconds: figure([warmup.seconds], 's'),
        gateway_rss_after_warmup_mib: figure([warmup.rssMiB], 'MiB'),
      }),
    },
    conditions: {
      payload: PAYLOAD_DESCRIPTION,
      qos: 1,
      devices: `${devices} devices, ${rate} readings/s in total`,
      sink: 'InfluxDB 1.x on the same host',
      samples: `every ${sampleEveryMs / 1000} s (figures are over samples of one run, not over runs)`,
      warmup: cold
        ? 'none (--soak-cold): measured from a cold start, while the dedupe windows fill'
        : `${WARMUP_READINGS_PER_DEVICE} readings per device at ${warmupRate}/s (each dedupe window at its full size), backlog drained, ${settleMs / 1000} s at ${rate}/s, then measured`,
    },
    bound: 'not a throughput figure: memory and lag at a steady load',
    notes: [],
  };
}
