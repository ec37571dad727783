/**
 * Scenario 3: the gateway end to end into a real InfluxDB 1.x on the same host. Saturating QoS 1
 * publishers; the sustained rate is what reached InfluxDB (the drainer's written count), and it
 * counts only while the backlog stays stable (its growth over the window is printed beside it).
 * Reading → InfluxDB latency is measured under that load by a probe device.
 */
import { startInfluxd } from '../../test/support/influxd.js';
import { PublisherFleet } from '../load/publishers.js';
import { figure, percentile } from '../stats.js';
import { cpuCores, influxdPid, sampleProc } from '../systems/proc.js';
import { startGateway } from '../systems/index.js';
import {
  benchFleet,
  boundBy,
  PAYLOAD_DESCRIPTION,
  type BenchContext,
  type ScenarioResult,
} from './common.js';
import { InfluxProbe, PROBE_DEVICE } from './influx-probe.js';
import { measureWindow } from './measure.js';
import { waitForBacklog } from './backlog.js';

const DB = 'bench';

export async function endToEnd(ctx: BenchContext): Promise<ScenarioResult> {
  const { scale } = ctx;
  const fleet = await benchFleet(ctx.dir, scale.endToEnd.devices, [PROBE_DEVICE]);
  const influxd = await startInfluxd();
  const written: number[] = [];
  const accepted: number[] = [];
  const backlogGrowth: number[] = [];
  const p50: number[] = [];
  const p99: number[] = [];
  const cpu: Record<string, number[]> = { gateway: [], influxd: [], publishers: [] };
  const notes: string[] = [];
  try {
    await influxd.createDatabase(DB);
    const gateway = await startGateway({
      dir: ctx.dir,
      registryPath: fleet.registryPath,
      rateLimits: 'off',
      influx: { url: influxd.url, db: DB },
    });
    const influxPid = await influxdPid(influxd);
    const publishers = new PublisherFleet(fleet.devices, scale.publisherProcesses, {
      url: gateway.mqttUrl,
      qos: 1,
      mode: 'window',
      inflightPerDevice: scale.endToEnd.inflight,
      intervalMs: 0,
      connectConcurrency: 50,
      tsMode: 'past',
      maxLifetimeMs: scale.runs * scale.windowMs * 6 + 180_000,
    });
    try {
      await publishers.start();
      for (let run = 0; run < scale.runs; run++) {
        ctx.progress(`end to end, run ${run + 1}/${scale.runs}`);
        await waitForBacklog(gateway, 0, 120_000);
        const before = await gateway.status();
        const influxBefore = influxPid !== undefined ? await sampleProc(influxPid) : undefined;
        const probe = new InfluxProbe(influxd, DB, gateway.mqttUrl, fleet.registry.secrets[PROBE_DEVICE]!);
        await probe.start();
        const m = await measureWindow(gateway, publishers, scale.windowMs);
        const after = await gateway.status();
        const influxAfter = influxPid !== undefined ? await sampleProc(influxPid) : undefined;
        const seconds = m.report.elapsedMs / 1000;
        accepted.push((after.readings.accepted - before.readings.accepted) / seconds);
        written.push((after.sink.written - before.sink.written) / seconds);
        backlogGrowth.push(after.backlog.records - before.backlog.records);
        const landed = await probe.stop();
        if (landed.lost > 0)
          notes.push(`run ${run + 1}: ${landed.lost} probe readings not in InfluxDB after 15 s`);
        p50.push(percentile(landed.latencies, 50));
        p99.push(percentile(landed.latencies, 99));
        cpu.gateway!.push(cpuCores(m.before, m.after));
        cpu.publishers!.push(m.report.cpuCores);
        if (influxBefore && influxAfter) cpu.influxd!.push(cpuCores(influxBefore, influxAfter));
      }
    } finally {
      await publishers.close();
      await gateway.stop();
    }
  } finally {
    await influxd.stop();
  }
  const medianCpu = Object.fromEntries(
    Object.entries(cpu)
      .filter(([, v]) => v.length > 0)
      .map(([k, v]) => [k, figure(v, 'cores').median]),
  );
  return {
    id: '3',
    title: 'Gateway end to end into InfluxDB 1.x',
    figures: {
      written_to_influxdb_per_s: figure(written, 'readings/s'),
      accepted_per_s: figure(accepted, 'readings/s'),
      backlog_growth_per_window: figure(backlogGrowth, 'readings'),
      reading_to_influxdb_p50_ms: figure(p50, 'ms'),
      reading_to_influxdb_p99_ms: figure(p99, 'ms'),
    },
    conditions: {
      payload: PAYLOAD_DESCRIPTION,
      qos: 1,
      devices: `${scale.endToEnd.devices} devices × ${scale.endToEnd.inflight} in flight, + 1 probe device (4 readings/s)`,
      publisherProcesses: scale.publisherProcesses,
      publisherCpuCores: (medianCpu.publishers ?? NaN).toFixed(2),
      sink: 'InfluxDB 1.x (Debian influxd) on the same host, v1 API, 5,000-line batches, gzip off',
      window: `${scale.windowMs / 1000} s per run, backlog drained to 0 between runs`,
    },
    bound: boundBy(medianCpu),
    notes: [
      'Sustained = written to InfluxDB per second; it holds only while backlog_growth stays near 0 (otherwise the outbox absorbs the difference).',
      'Latency is measured under the saturating load (25 ms poll resolution).',
      ...notes,
    ],
  };
}
