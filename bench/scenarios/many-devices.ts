/**
 * Scenario 4: many devices. Thousands of concurrent device connections, each reporting at a
 * realistic interval (QoS 1, staggered), with the default per-device rate limits: time to
 * connect them all, the gateway's RSS, and its event-loop lag p99 while they report.
 *
 * With InfluxDB, as deployed: in local-only mode the gateway also keeps the dashboard's rollups in
 * memory (a fixed ring of ~66 KiB per device metric, docs/decisions.md), which is a property of
 * that mode, not of holding connections.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startInfluxd } from '../../test/support/influxd.js';
import { PublisherFleet } from '../load/publishers.js';
import { figure } from '../stats.js';
import { cpuCores } from '../systems/proc.js';
import { startGatewayIntoInflux } from '../systems/index.js';
import {
  benchFleet,
  boundBy,
  PAYLOAD_DESCRIPTION,
  type BenchContext,
  type ScenarioResult,
} from './common.js';

export async function manyDevices(ctx: BenchContext): Promise<ScenarioResult> {
  const { scale } = ctx;
  const { devices, intervalMs, holdMs } = scale.many;
  const fleet = await benchFleet(ctx.dir, devices);
  const influxd = await startInfluxd();
  const gateway = await startGatewayIntoInflux(ctx, fleet.registryPath, influxd, {
    rateLimits: 'defaults',
  }).catch(async (err: unknown) => {
    await influxd.stop();
    throw err;
  });
  const connectS: number[] = [];
  const rssMiB: number[] = [];
  const lagP99: number[] = [];
  const connectedSeen: number[] = [];
  const cpu: Record<string, number[]> = { gateway: [], publishers: [] };
  const notes: string[] = [];
  try {
    for (let run = 0; run < scale.runs; run++) {
      ctx.progress(`${devices} devices, run ${run + 1}/${scale.runs}`);
      const publishers = new PublisherFleet(fleet.devices, scale.publisherProcesses, {
        url: gateway.mqttUrl,
        qos: 1,
        mode: 'interval',
        inflightPerDevice: 1,
        intervalMs,
        connectConcurrency: 100,
        tsMode: 'now',
        maxLifetimeMs: holdMs + 10 * 60_000,
      });
      try {
        await publishers.start();
        connectS.push(publishers.connectMs / 1000);
        const connected = (await gateway.status()).devices;
        connectedSeen.push(connected.connected);
        await gateway.lagP99Ms(); // starts the lag window with the reporting, not the connects
        const before = await gateway.sample();
        // Sample RSS during the window and keep the peak: readings arrive all the time.
        let peak = before.rssBytes;
        const sampler = setInterval(() => {
          gateway.sample().then(
            (s) => (peak = Math.max(peak, s.rssBytes)),
            () => undefined,
          );
        }, 500);
        const report = await publishers.run(holdMs);
        clearInterval(sampler);
        const after = await gateway.sample();
        peak = Math.max(peak, after.rssBytes);
        lagP99.push(await gateway.lagP99Ms());
        rssMiB.push(peak / 2 ** 20);
        cpu.gateway!.push(cpuCores(before, after));
        cpu.publishers!.push(report.cpuCores);
        if (report.failed > 0) notes.push(`run ${run + 1}: ${report.failed} publishes failed`);
      } finally {
        await publishers.close();
      }
      await sleep(500); // let the gateway see the disconnects before the next run connects again
    }
  } finally {
    await gateway.stop();
    await influxd.stop();
  }
  const medianCpu = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, figure(v, 'cores').median]));
  return {
    id: '4',
    title: 'Many devices',
    figures: {
      time_to_connect_all_s: figure(connectS, 's'),
      devices_connected: figure(connectedSeen, 'devices'),
      gateway_rss_peak_mib: figure(rssMiB, 'MiB'),
      event_loop_lag_p99_ms: figure(lagP99, 'ms'),
    },
    conditions: {
      payload: PAYLOAD_DESCRIPTION,
      qos: 1,
      devices: `${devices} concurrent connections, 1 reading per device every ${intervalMs / 1000} s (${Math.round((devices * 1000) / intervalMs)} readings/s), staggered`,
      connect: '100 CONNECTs in flight per publisher process, secrets checked (salted HMAC)',
      publisherProcesses: scale.publisherProcesses,
      publisherCpuCores: medianCpu.publishers!.toFixed(2),
      rateLimits: 'defaults',
      sink: 'InfluxDB 1.x on the same host (as deployed; local-only mode adds the rollups)',
      window: `${holdMs / 1000} s of reporting per run`,
    },
    bound: boundBy(medianCpu),
    notes: [
      'Connect time is measured by the publishers (slowest process) and bounded by them as much as by the gateway.',
      ...notes,
    ],
  };
}
