/**
 * Scenario 1: the ceiling. Bare Aedes (no hooks) and Mosquitto, the same publishers, messages/s at
 * QoS 0 and QoS 1. The two brokers alternate run by run (A, B, A, B …) so load on the host hits both.
 */
import { PublisherFleet } from '../load/publishers.js';
import { figure } from '../stats.js';
import { cpuCores } from '../systems/proc.js';
import { startBareAedes, startMosquitto, type SystemUnderTest } from '../systems/index.js';
import {
  benchFleet,
  boundBy,
  PAYLOAD_DESCRIPTION,
  type BenchContext,
  type ScenarioResult,
} from './common.js';
import { measureWindow } from './measure.js';

export async function bareBrokers(ctx: BenchContext): Promise<ScenarioResult> {
  const { scale } = ctx;
  const fleet = await benchFleet(ctx.dir, scale.bare.devices);
  const brokers: SystemUnderTest[] = [await startBareAedes(ctx.dir), await startMosquitto(ctx.dir)];
  const figures: ScenarioResult['figures'] = {};
  const cpu: Record<string, number[]> = { publishers: [] };
  try {
    for (const qos of [0, 1] as const) {
      const fleets = brokers.map(
        (b) =>
          new PublisherFleet(fleet.anonymous, scale.publisherProcesses, {
            url: b.mqttUrl,
            qos,
            mode: 'window',
            inflightPerDevice: scale.bare.inflight,
            intervalMs: 0,
            connectConcurrency: 50,
            tsMode: 'past',
            maxLifetimeMs: scale.runs * scale.windowMs * 4 + 120_000,
          }),
      );
      try {
        for (const f of fleets) await f.start();
        const rates: number[][] = brokers.map(() => []);
        for (let run = 0; run < scale.runs; run++) {
          for (const [i, broker] of brokers.entries()) {
            ctx.progress(`${broker.name} QoS ${qos}, run ${run + 1}/${scale.runs}`);
            const m = await measureWindow(broker, fleets[i]!, scale.windowMs);
            // QoS 0: every message the broker read before the fence's PUBACK; QoS 1: PUBACKs.
            const messages = qos === 0 ? m.report.sent : m.report.acked;
            rates[i]!.push(messages / (m.report.elapsedMs / 1000));
            (cpu[broker.name] ??= []).push(cpuCores(m.before, m.after));
            cpu.publishers!.push(m.report.cpuCores);
          }
        }
        for (const [i, broker] of brokers.entries())
          figures[`${broker.name}_qos${qos}_msgs_per_s`] = figure(rates[i]!, 'msg/s');
      } finally {
        for (const f of fleets) await f.close();
      }
    }
  } finally {
    for (const b of brokers) await b.stop();
  }
  const medianCpu = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, figure(v, 'cores').median]));
  return {
    id: '1',
    title: 'Bare brokers (the ceiling)',
    figures,
    conditions: {
      payload: PAYLOAD_DESCRIPTION,
      qos: '0 and 1',
      devices: `${scale.bare.devices} publishers × ${scale.bare.inflight} in flight`,
      publisherProcesses: scale.publisherProcesses,
      publisherCpuCores: medianCpu.publishers!.toFixed(2),
      order: 'aedes, mosquitto alternating per run',
    },
    bound: boundBy(medianCpu),
    notes: [
      'QoS 0 counts the messages each broker had read when a QoS 1 fence message behind them was acknowledged.',
    ],
  };
}
