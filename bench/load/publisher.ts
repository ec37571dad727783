/**
 * A load-generator process (forked by bench/load/publishers.ts): MQTT.js devices that connect,
 * wait for the parent's "go", publish until the deadline, and report what was acknowledged. Kept
 * out of the process under test so the publishers' CPU is not billed to the gateway or broker.
 *
 * Modes: `window` keeps a fixed number of messages in flight per device (the saturation figure),
 * `rate` publishes a fixed total rate (latency at a known load), `interval` sends one reading per
 * device every `intervalMs` (realistic fleets). At QoS 0 nothing is acknowledged, so every device
 * ends with one QoS 1 "fence" message: a broker handles one connection's packets in order, so its
 * PUBACK proves the broker has read every message before it.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { lagP99Ms, LatencyHistogram, monitorLag } from '../stats.js';
import type { ParentMessage, PublishJob, PublisherReport } from './protocol.js';

const send = (message: unknown): void => {
  process.send?.(message);
};

/** The bench payload: one reading of a water_pressure device, ~45 bytes of JSON. */
export function readingPayload(ts: number): string {
  return `{"ts":${ts},"values":{"pressure_bar":4.2}}`;
}

interface Device {
  id: string;
  topic: string;
  client: MqttClient;
  /** Strictly increasing per device: the gateway drops a repeated (device, kind, ts) as a duplicate. */
  lastTs: number;
}

let job: PublishJob | undefined;
const devices: Device[] = [];
let hist = new LatencyHistogram();
let sent = 0;
let acked = 0;
let failed = 0;
let lastAckAt = 0;
/** End of the current window; the parent may bring it forward ('stop'). */
let stopAt = 0;

function nextTs(d: Device): number {
  d.lastTs = Math.max(d.lastTs + 1, job!.tsMode === 'now' ? Date.now() : 0);
  return d.lastTs;
}

async function connectAll(j: PublishJob): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < j.devices.length) {
      const spec = j.devices[next++]!;
      const client = await mqtt.connectAsync(j.url, {
        clientId: spec.id,
        ...(spec.secret !== undefined && { username: spec.id, password: spec.secret }),
        protocolVersion: 4,
        reconnectPeriod: 0,
        keepalive: 60,
        connectTimeout: 60_000,
      });
      client.on('error', () => failed++);
      devices.push({
        id: spec.id,
        topic: `sensors/${spec.id}/readings`,
        client,
        // Distinct per device and in the past (inside the late window) for window and rate modes.
        lastTs: j.tsMode === 'now' ? 0 : Date.now() - 3_600_000,
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(j.connectConcurrency, j.devices.length) }, worker));
  return performance.now() - started;
}

async function publishOne(d: Device, qos: 0 | 1): Promise<void> {
  const sentAt = performance.now();
  sent++;
  try {
    await d.client.publishAsync(d.topic, readingPayload(nextTs(d)), { qos });
    if (qos === 1) {
      hist.add(performance.now() - sentAt);
      acked++;
      lastAckAt = performance.now();
    }
  } catch {
    failed++;
  }
}

async function runWindow(j: PublishJob): Promise<void> {
  await Promise.all(
    devices.map(async (d) => {
      const lane = async (): Promise<void> => {
        while (performance.now() < stopAt) await publishOne(d, j.qos);
      };
      await Promise.all(Array.from({ length: j.inflightPerDevice }, lane));
    }),
  );
}

async function runRate(j: PublishJob): Promise<void> {
  // A tick every 10 ms sends what the rate owes since the start, round robin over the devices.
  const started = performance.now();
  const pending = new Set<Promise<void>>();
  let due = 0;
  let turn = 0;
  while (performance.now() < stopAt) {
    const owed = Math.floor(((performance.now() - started) / 1000) * j.ratePerSecond);
    for (; due < owed; due++) {
      const p = publishOne(devices[turn++ % devices.length]!, j.qos);
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(pending);
}

async function runInterval(j: PublishJob): Promise<void> {
  // Each device starts at its own offset within the interval, as a real fleet does.
  const pending = new Set<Promise<void>>();
  const timers = devices.map((d, i) =>
    setTimeout(
      () => {
        const tick = (): void => {
          const p = publishOne(d, j.qos);
          pending.add(p);
          void p.finally(() => pending.delete(p));
        };
        tick();
        timers[i] = setInterval(tick, j.intervalMs);
      },
      (i / devices.length) * j.intervalMs,
    ),
  );
  while (performance.now() < stopAt) await new Promise((r) => setTimeout(r, 20));
  for (const t of timers) clearInterval(t);
  await Promise.all(pending);
}

async function fence(j: PublishJob): Promise<void> {
  if (j.qos !== 0) return;
  await Promise.all(
    devices.map(async (d) => {
      await d.client.publishAsync(d.topic, readingPayload(nextTs(d)), { qos: 1 });
      lastAckAt = performance.now();
    }),
  );
}

async function go(durationMs: number, ratePerSecond: number | undefined): Promise<void> {
  const j = ratePerSecond === undefined ? job! : { ...job!, ratePerSecond };
  // Every window reports only its own messages.
  hist = new LatencyHistogram();
  sent = acked = failed = lastAckAt = 0;
  const cpuBefore = process.cpuUsage();
  // This process's own event-loop delay while it publishes: a PUBACK it reads late counts as a
  // slow PUBACK, so the bench must be able to tell the publishers' delays from the gateway's.
  const lag = monitorLag();
  const started = performance.now();
  stopAt = started + durationMs;
  if (j.mode === 'window') await runWindow(j);
  else if (j.mode === 'rate') await runRate(j);
  else await runInterval(j);
  await fence(j);
  const cpu = process.cpuUsage(cpuBefore);
  lag.disable();
  const report: PublisherReport = {
    sent,
    acked,
    failed,
    // Until the last acknowledgement (or the fence's): what the broker had taken in by then.
    elapsedMs: Math.max(lastAckAt, performance.now()) - started,
    cpuMs: (cpu.user + cpu.system) / 1000,
    latency: hist.toJSON(),
    lagP99Ms: lagP99Ms(lag),
  };
  send({ type: 'done', report });
}

async function close(): Promise<void> {
  await Promise.all(devices.map((d) => d.client.endAsync()));
  process.disconnect?.();
}

process.on('message', (message: ParentMessage) => {
  switch (message.type) {
    case 'job': {
      job = message.job;
      // Bounded in time whatever the parent does: a stuck run cannot outlive its budget.
      setTimeout(() => process.exit(3), job.maxLifetimeMs).unref();
      connectAll(job).then(
        (connectMs) => send({ type: 'connected', connectMs }),
        (err: unknown) => send({ type: 'error', error: String(err) }),
      );
      break;
    }
    case 'go':
      go(message.durationMs, message.ratePerSecond).catch((err: unknown) =>
        send({ type: 'error', error: String(err) }),
      );
      break;
    case 'stop':
      stopAt = Math.min(stopAt, performance.now());
      break;
    case 'close':
      void close();
      break;
  }
});
