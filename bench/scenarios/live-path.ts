/**
 * Scenario 6: the live path. Many Socket.IO viewers (in their own process) watch one device's
 * room while a background fleet keeps the gateway busy; a probe device publishes numbered readings
 * and the figure is PUBACK (accepted, durable) → shown in each viewer, p50/p99 over every pair.
 * The dashboard pushes changed rooms every VALLEY_PUSH_INTERVAL (500 ms): that tick is most of it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectDevice } from '../../test/support/mqtt.js';
import { PublisherFleet } from '../load/publishers.js';
import { figure, percentile } from '../stats.js';
import { cpuCores } from '../systems/proc.js';
import { startGateway } from '../systems/index.js';
import {
  benchFleet,
  boundBy,
  PAYLOAD_DESCRIPTION,
  type BenchContext,
  type ScenarioResult,
} from './common.js';

const PROBE = 'bench-live-probe';
/** Longer than the push interval, so every probe reading is shown before the next one replaces it. */
const PROBE_SPACING_MS = 700;

type ViewerReply =
  { type: 'ready' } | { type: 'error'; error: string } | { type: 'report'; seen: [number, number[]][] };

function ask(child: ChildProcess, message: object, want: ViewerReply['type']): Promise<ViewerReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: ViewerReply): void => {
      if (m.type === 'error') reject(new Error(`viewers: ${m.error}`));
      else if (m.type === want) resolve(m);
      else return;
      child.off('message', onMessage);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`viewer process exited (${code})`)));
    child.send(message);
  });
}

export async function livePath(ctx: BenchContext): Promise<ScenarioResult> {
  const { scale } = ctx;
  const { viewers, probes, backgroundRate } = scale.live;
  const fleet = await benchFleet(ctx.dir, Math.max(10, Math.round(backgroundRate / 10)), [PROBE]);
  const gateway = await startGateway({ ctx, registryPath: fleet.registryPath, rateLimits: 'off' });
  const p50: number[] = [];
  const p99: number[] = [];
  const shown: number[] = [];
  const cpu: Record<string, number[]> = { gateway: [] };
  const viewerProcess = fork(join(import.meta.dirname, '..', 'load', 'viewers.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const background = new PublisherFleet(fleet.devices, scale.publisherProcesses, {
    url: gateway.mqttUrl,
    qos: 1,
    mode: 'rate',
    ratePerSecond: backgroundRate,
    inflightPerDevice: 1,
    intervalMs: 0,
    connectConcurrency: 50,
    tsMode: 'now',
    maxLifetimeMs: scale.runs * (probes * PROBE_SPACING_MS + 20_000) + 120_000,
  });
  const probe = await connectDevice(gateway.mqttUrl, PROBE, fleet.registry.secrets[PROBE]!);
  let seq = 0;
  try {
    await ask(
      viewerProcess,
      { type: 'start', url: gateway.httpUrl, room: `device:${PROBE}`, viewers },
      'ready',
    );
    await background.start();
    for (let run = 0; run < scale.runs; run++) {
      ctx.progress(`${viewers} viewers, run ${run + 1}/${scale.runs}`);
      const load = background.run(probes * PROBE_SPACING_MS + 2000);
      const before = await gateway.sample();
      const acceptedAt = new Map<number, number>();
      for (let i = 0; i < probes; i++) {
        const n = ++seq;
        await probe.publishAsync(
          `sensors/${PROBE}/readings`,
          JSON.stringify({ ts: Date.now(), seq: n, values: { pressure_bar: 3 } }),
          {
            qos: 1,
          },
        );
        acceptedAt.set(n, Date.now());
        await sleep(PROBE_SPACING_MS);
      }
      await sleep(1500); // the last probe's push
      await load;
      const after = await gateway.sample();
      const report = (await ask(viewerProcess, { type: 'report' }, 'report')) as Extract<
        ViewerReply,
        { type: 'report' }
      >;
      const latencies: number[] = [];
      for (const [n, times] of report.seen) {
        const at = acceptedAt.get(n);
        if (at !== undefined) for (const t of times) latencies.push(t - at);
      }
      p50.push(percentile(latencies, 50));
      p99.push(percentile(latencies, 99));
      shown.push(latencies.length / (probes * viewers));
      cpu.gateway!.push(cpuCores(before, after));
    }
  } finally {
    await probe.endAsync();
    await background.close();
    if (viewerProcess.connected) viewerProcess.send({ type: 'close' });
    await new Promise((r) => (viewerProcess.exitCode !== null ? r(null) : viewerProcess.once('exit', r)));
    await gateway.stop();
  }
  return {
    id: '6',
    title: 'Live path: accepted → shown on the dashboard',
    figures: {
      accepted_to_shown_p50_ms: figure(p50, 'ms'),
      accepted_to_shown_p99_ms: figure(p99, 'ms'),
      shown_fraction: figure(shown, 'of probe × viewer pairs'),
    },
    conditions: {
      payload: PAYLOAD_DESCRIPTION,
      qos: 1,
      viewers: `${viewers} Socket.IO clients (websocket) in one process, all in room device:${PROBE}`,
      devices: `${fleet.devices.length} background devices, ${backgroundRate} readings/s in total, + 1 probe`,
      probes: `${probes} numbered readings per run, ${PROBE_SPACING_MS} ms apart`,
      pushInterval: 'default (500 ms)',
    },
    bound:
      boundBy({ gateway: figure(cpu.gateway!, 'cores').median }) + '; latency is dominated by the push tick',
    notes: [],
  };
}
