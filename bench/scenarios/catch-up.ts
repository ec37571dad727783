/**
 * Scenario 5: catch-up. A steady QoS 1 load; InfluxDB is stopped for the outage (30 s, 2 minutes
 * with --long) and started again. Figures: the backlog peak, how long the drainer took to resume
 * (its backoff), and the drain rate as a multiple of the incoming rate, from the backlog's fall:
 * drained per second = incoming + fall per second.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startInfluxd } from '../../test/support/influxd.js';
import { PublisherFleet, steadyLoad } from '../load/publishers.js';
import { figure } from '../stats.js';
import { startGatewayIntoInflux } from '../systems/index.js';
import { waitForBacklog } from './backlog.js';
import { benchFleet, PAYLOAD_DESCRIPTION, type BenchContext, type ScenarioResult } from './common.js';

const SAMPLE_MS = 250;

export async function catchUp(ctx: BenchContext): Promise<ScenarioResult> {
  const { scale } = ctx;
  const { devices, rate, steadyMs, outageMs } = scale.catchUp;
  const fleet = await benchFleet(ctx.dir, devices);
  const influxd = await startInfluxd();
  const peak: number[] = [];
  const multiple: number[] = [];
  const resumeS: number[] = [];
  const drainS: number[] = [];
  const incoming: number[] = [];
  const notes: string[] = [];
  try {
    const gateway = await startGatewayIntoInflux(ctx, fleet.registryPath, influxd);
    // Long enough to drain at 2× the incoming rate; a slower drain still yields its figure.
    const catchUpBudgetMs = outageMs * 2 + 10_000;
    const publishers = new PublisherFleet(
      fleet.devices,
      scale.publisherProcesses,
      steadyLoad(
        gateway.mqttUrl,
        rate,
        scale.runs * (steadyMs + outageMs + catchUpBudgetMs + 60_000) + 120_000,
      ),
    );
    try {
      await publishers.start();
      for (let run = 0; run < scale.runs; run++) {
        ctx.progress(`catch-up after a ${outageMs / 1000} s outage, run ${run + 1}/${scale.runs}`);
        await waitForBacklog(gateway, rate, 120_000);
        const load = publishers.run(steadyMs + outageMs + catchUpBudgetMs);
        await sleep(steadyMs);
        const baseline = (await gateway.status()).backlog.records;
        await influxd.stop();
        await sleep(outageMs);
        await influxd.restart();
        const restartedAt = performance.now();
        // Follow the backlog: its peak (the drainer resumes after its backoff), then its fall.
        let top = { records: 0, at: restartedAt };
        let drained: { records: number; at: number } | undefined;
        while (performance.now() - restartedAt < catchUpBudgetMs - 1000) {
          const records = (await gateway.status()).backlog.records;
          const at = performance.now();
          if (records > top.records) top = { records, at };
          if (top.records > 0 && records <= Math.max(baseline, rate / 2)) {
            drained = { records, at };
            break;
          }
          await sleep(SAMPLE_MS);
        }
        const last = drained ?? { records: (await gateway.status()).backlog.records, at: performance.now() };
        publishers.stop();
        const report = await load;
        const incomingRate = report.acked / (report.elapsedMs / 1000);
        const fallPerS = (top.records - last.records) / ((last.at - top.at) / 1000);
        peak.push(top.records);
        incoming.push(incomingRate);
        resumeS.push((top.at - restartedAt) / 1000);
        drainS.push((last.at - top.at) / 1000);
        multiple.push((incomingRate + fallPerS) / incomingRate);
        if (!drained)
          notes.push(`run ${run + 1}: not drained within ${Math.round(catchUpBudgetMs / 1000)} s`);
      }
    } finally {
      await publishers.close();
      await gateway.stop();
    }
  } finally {
    await influxd.stop();
  }
  return {
    id: '5',
    title: `Catch-up after a ${outageMs / 1000} s InfluxDB outage`,
    figures: {
      incoming_per_s: figure(incoming, 'readings/s'),
      backlog_peak: figure(peak, 'readings'),
      drainer_resume_after_restart_s: figure(resumeS, 's'),
      drain_time_s: figure(drainS, 's'),
      drain_rate_multiple_of_incoming: figure(multiple, '×'),
    },
    conditions: {
      payload: PAYLOAD_DESCRIPTION,
      qos: 1,
      devices: `${devices} devices, ${rate} readings/s in total (steady, never paused)`,
      publisherProcesses: scale.publisherProcesses,
      outage: `InfluxDB stopped (SIGTERM) ${outageMs / 1000} s after ${steadyMs / 1000} s steady, then restarted`,
      drainer: 'defaults: 5,000-line batches, backoff 500 ms doubling to 30 s with jitter',
    },
    bound:
      'the drainer (one batch in flight) and influxd; the resume delay is the drainer backoff, not throughput',
    notes: [
      'Drain rate = incoming + (backlog peak − backlog at drained) / drain time, measured from the peak (the drainer resumed).',
      ...notes,
    ],
  };
}
