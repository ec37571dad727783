/**
 * Scenario 2: the gateway, acknowledged. QoS 1 readings from many devices through auth,
 * validation and the durable outbox (fsync on, local-only so no drain competes): readings/s
 * counted by the gateway itself, PUBACK latency, gateway CPU and RSS. Bare Aedes runs with the
 * same publishers, alternating run by run, for the ratio.
 */
import { PublisherFleet } from '../load/publishers.js';
import { figure } from '../stats.js';
import { cpuCores } from '../systems/proc.js';
import {
  startBareAedes,
  startGateway,
  type GatewayUnderTest,
  type SystemUnderTest,
} from '../systems/index.js';
import {
  benchFleet,
  boundBy,
  PAYLOAD_DESCRIPTION,
  type BenchContext,
  type ScenarioResult,
} from './common.js';
import { measureWindow } from './measure.js';

export async function gatewayAck(ctx: BenchContext): Promise<ScenarioResult> {
  const { scale } = ctx;
  const fleet = await benchFleet(ctx.dir, scale.ack.devices);
  const aedes: SystemUnderTest = await startBareAedes(ctx.dir);
  const gateway: GatewayUnderTest = await startGateway({
    ctx,
    registryPath: fleet.registryPath,
    rateLimits: 'off',
  });
  const window = {
    qos: 1 as const,
    mode: 'window' as const,
    inflightPerDevice: scale.ack.inflight,
    intervalMs: 0,
    connectConcurrency: 50,
    tsMode: 'past' as const,
    maxLifetimeMs: scale.runs * scale.windowMs * 6 + 180_000,
  };
  const toAedes = new PublisherFleet(fleet.anonymous, scale.publisherProcesses, {
    ...window,
    url: aedes.mqttUrl,
  });
  const toGateway = new PublisherFleet(fleet.devices, scale.publisherProcesses, {
    ...window,
    url: gateway.mqttUrl,
  });
  const aedesRates: number[] = [];
  const gatewayRates: number[] = [];
  const ratios: number[] = [];
  const gatewayCpu: number[] = [];
  const gatewayRss: number[] = [];
  const publisherCpu: number[] = [];
  const publisherCpuBare: number[] = [];
  const p50: number[] = [];
  const p99: number[] = [];
  const lagP99: number[] = [];
  const publisherLagP99: number[] = [];
  const notes: string[] = [];
  try {
    await toAedes.start();
    await toGateway.start();
    for (let run = 0; run < scale.runs; run++) {
      ctx.progress(`aedes / gateway QoS 1, run ${run + 1}/${scale.runs}`);
      const a = await measureWindow(aedes, toAedes, scale.windowMs);
      const aRate = a.report.acked / (a.report.elapsedMs / 1000);
      const before = (await gateway.status()).readings;
      const g = await measureWindow(gateway, toGateway, scale.windowMs);
      const after = (await gateway.status()).readings;
      const accepted = after.accepted - before.accepted;
      // Accepted by the gateway's own count, not merely acknowledged: a PUBACK for a reject or a
      // duplicate would inflate the figure.
      if (accepted !== g.report.acked)
        notes.push(
          `run ${run + 1}: ${g.report.acked} PUBACKs but ${accepted} readings accepted ` +
            `(${after.duplicates - before.duplicates} duplicates, ${after.rejected - before.rejected} rejected)`,
        );
      const gRate = accepted / (g.report.elapsedMs / 1000);
      aedesRates.push(aRate);
      gatewayRates.push(gRate);
      ratios.push(gRate / aRate);
      gatewayCpu.push(cpuCores(g.before, g.after));
      gatewayRss.push(g.after.rssBytes / 2 ** 20);
      publisherCpu.push(g.report.cpuCores);
      publisherCpuBare.push(a.report.cpuCores);
    }
  } finally {
    await toAedes.close();
    await toGateway.close();
    await aedes.stop();
  }
  // PUBACK latency at a fixed load, not at saturation: at saturation it measures the queue the
  // publishers keep full, not the gateway's service time.
  const atRate = new PublisherFleet(fleet.devices, scale.publisherProcesses, {
    ...window,
    mode: 'rate',
    ratePerSecond: scale.ack.latencyRate,
    url: gateway.mqttUrl,
  });
  try {
    await atRate.start();
    for (let run = 0; run < scale.runs; run++) {
      ctx.progress(`gateway PUBACK latency at ${scale.ack.latencyRate}/s, run ${run + 1}/${scale.runs}`);
      await gateway.lagP99Ms(); // starts the lag window with the run
      const r = await atRate.run(scale.windowMs);
      p50.push(r.latency.percentile(50));
      p99.push(r.latency.percentile(99));
      // Whether a slow PUBACK was the gateway's event loop stalling (GC, a long task) or not.
      lagP99.push(await gateway.lagP99Ms());
      publisherLagP99.push(r.lagP99Ms);
    }
  } finally {
    await atRate.close();
    await gateway.stop();
  }
  const cpu = figure(gatewayCpu, 'cores').median;
  return {
    id: '2',
    title: 'Gateway, acknowledged (QoS 1, fsync on)',
    figures: {
      gateway_accepted_per_s: figure(gatewayRates, 'readings/s'),
      bare_aedes_qos1_per_s: figure(aedesRates, 'msg/s'),
      ratio_to_bare_aedes: figure(ratios, '×'),
      puback_p50_ms: figure(p50, 'ms'),
      puback_p99_ms: figure(p99, 'ms'),
      gateway_lag_p99_ms_at_latency_rate: figure(lagP99, 'ms'),
      publisher_lag_p99_ms_at_latency_rate: figure(publisherLagP99, 'ms'),
      gateway_cpu_cores: figure(gatewayCpu, 'cores'),
      gateway_rss_mib: figure(gatewayRss, 'MiB'),
    },
    conditions: {
      payload: PAYLOAD_DESCRIPTION,
      qos: 1,
      devices: `${scale.ack.devices} devices × ${scale.ack.inflight} in flight (throughput); ${scale.ack.latencyRate} readings/s (latency)`,
      publisherProcesses: scale.publisherProcesses,
      publisherCpuCores: figure(publisherCpu, 'cores').median.toFixed(2),
      // What the same publishers take at bare Aedes' rate: on 2 cores, what is left for a broker.
      publisherCpuCoresAgainstBareAedes: figure(publisherCpuBare, 'cores').median.toFixed(2),
      mode: 'local-only, fsync on, rate limits off',
      order: 'aedes, gateway alternating per run; ratio per pair',
    },
    bound: boundBy({ gateway: cpu, publishers: figure(publisherCpu, 'cores').median }),
    notes,
  };
}
