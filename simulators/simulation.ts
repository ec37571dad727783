/**
 * `valley simulate`'s engine: devices over real MQTT replaying the simulated window
 * [end − duration × speed, end] compressed into `duration` of wall time, with faults injected on
 * each device, every message labelled, rejects matched back, and a summary at the end.
 */
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import { getKind, topics, type KindDefinition } from '../contract/index.js';
import type { RegistryIndex } from '../config/registry-schema.js';
import { DeviceClient, probeWrongSecret, type QoS } from './device-client.js';
import { FAULT_TYPES, faultPayload, type FaultType, type PayloadKeys } from './faults.js';
import { generatorFor, type DeviceGenerator } from './generators/index.js';
import { silentSimLogger, type SimLogger } from './logger.js';
import { Ledger, summarise, type Label, type LabelKind, type Summary } from './outcomes.js';
import { createRandom, hashString, mix, type Random } from './random.js';

export interface SimulationOptions {
  url: string;
  registry: RegistryIndex;
  secrets: Readonly<Record<string, string>>;
  deviceIds: readonly string[];
  durationMs: number;
  speed: number;
  seed: number;
  faults: readonly FaultType[];
  qos: QoS;
  lateWindowMs: number;
  /** Length of the link outage whose readings the backlog fault sends in one array. */
  backlogMs?: number;
  logger?: SimLogger;
  clock?: () => number;
  onProgress?: (progress: Progress) => void;
  progressIntervalMs?: number;
  /** Longest wait for outstanding acknowledgements after the run, ms. */
  settleMs?: number;
}

export interface Progress {
  elapsedMs: number;
  durationMs: number;
  simulatedTime: number;
  sent: number;
  acknowledged: number;
  rejects: number;
}

export interface SimulationResult {
  summary: Summary;
  labels: Label[];
}

export class SimulationWindowError extends Error {
  readonly code = 'E_SIM_WINDOW';
}

export const DEFAULT_BACKLOG_MS = 3 * 3_600_000;
const FIRST_READING_WITHIN_MS = 30_000;
const MAX_BACKLOG_READINGS = 5000;
/** A broker that takes the TCP connection but never answers CONNECT must not stall the run. */
const CONNECT_TIMEOUT_MS = 15_000;

/** The simulated window; refuses one whose oldest reading the gateway would refuse as too old. */
export function simulationWindow(o: {
  now: number;
  durationMs: number;
  speed: number;
  lateWindowMs: number;
  backlogMs: number;
}): { from: number; to: number } {
  const to = o.now + o.durationMs;
  const from = to - o.durationMs * o.speed;
  const oldestAgeMs = o.durationMs * o.speed - o.durationMs + o.backlogMs;
  // One minute of margin: the oldest reading leaves a little after the run starts.
  if (oldestAgeMs + 60_000 > o.lateWindowMs) {
    const h = (ms: number) => `${(ms / 3_600_000).toFixed(1)} h`;
    throw new SimulationWindowError(
      `the simulated window reaches ${h(oldestAgeMs)} into the past` +
        (o.backlogMs > 0 ? ` (duration × speed plus the ${h(o.backlogMs)} backlog)` : '') +
        `, beyond the late window of ${h(o.lateWindowMs)}: the gateway would refuse those readings as E_TS_TOO_OLD. ` +
        "Lower --speed or --duration, or pass the gateway's --late-window if it is larger.",
    );
  }
  return { from, to };
}

interface SimDevice {
  id: string;
  kind: KindDefinition;
  client: DeviceClient;
  gen: DeviceGenerator;
  random: Random;
  intervalMs: number;
  seq: number;
  lastTs: number;
  last?: { payload: string; keys: PayloadKeys };
  paused: boolean;
  other: string;
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const clock = options.clock ?? Date.now;
  const log = options.logger ?? silentSimLogger;
  const { durationMs, speed, qos, registry } = options;
  const backlogMs = options.faults.includes('backlog') ? (options.backlogMs ?? DEFAULT_BACKLOG_MS) : 0;
  const wallStart = clock();
  const window = simulationWindow({
    now: wallStart,
    durationMs,
    speed,
    lateWindowMs: options.lateWindowMs,
    backlogMs,
  });
  const simNow = () => window.to - (wallStart + durationMs - clock()) * speed;
  const ledger = new Ledger();
  const errors: string[] = [];
  const skipped = new Set<string>();
  const pending = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  const tasks: Promise<void>[] = [];
  let ended = false;
  let sent = 0;
  let acknowledged = 0;
  let rejects = 0;

  const later = (delayMs: number, fn: () => void) => {
    const t = setTimeout(
      () => {
        timers.delete(t);
        if (!ended) fn();
      },
      Math.max(0, delayMs),
    );
    timers.add(t);
  };

  const devices: SimDevice[] = options.deviceIds.map((id, i) => {
    const resolved = registry.devices.get(id);
    const kind = resolved && getKind(resolved.device.kind);
    if (!resolved || !kind) throw new Error(`device "${id}" is not in the registry`);
    const random = createRandom(mix(options.seed, hashString(id), 11));
    return {
      id,
      kind,
      random,
      gen: generatorFor(registry, id, options.seed),
      intervalMs: resolved.device.interval_s * 1000,
      seq: 0,
      lastTs: -Infinity,
      paused: false,
      // Any other id will do (the ACL refuses them all); with one device, an id nobody has.
      other:
        options.deviceIds.length > 1 ? options.deviceIds[(i + 1) % options.deviceIds.length]! : `${id}-x`,
      client: new DeviceClient({
        url: options.url,
        deviceId: id,
        secret: options.secrets[id] ?? '',
        random,
        logger: log,
        backoffBaseMs: 200,
        backoffMaxMs: 5000,
        onReject: (reject) => {
          rejects++;
          ledger.recordReject(id, reject);
        },
      }),
    };
  });

  const nextTs = (d: SimDevice, t: number) => (d.lastTs = Math.max(Math.round(t), d.lastTs + 1));

  const send = (
    d: SimDevice,
    kind: LabelKind,
    payload: string,
    extra: Partial<Label> & { keys: PayloadKeys[] },
  ) => {
    const label = ledger.add({
      deviceId: d.id,
      kind,
      isArray: false,
      newReadings: [],
      readingCount: 1,
      ...extra,
    });
    sent++;
    const p = d.client.publish(topics.readings(d.id), payload, qos).then(
      () => {
        label.acked = true;
        acknowledged++;
      },
      () => {
        label.acked = false;
      },
    );
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const sendReading = (d: SimDevice, kind: LabelKind, t: number) => {
    const ts = nextTs(d, t);
    const seq = d.seq++;
    const payload = JSON.stringify({ ts, seq, values: d.gen.next(ts) });
    d.last = { payload, keys: { ts, seq } };
    send(d, kind, payload, { keys: [{ ts, seq }], newReadings: [{ ts, seq }] });
  };

  const regular = (d: SimDevice) => {
    if (!d.paused) sendReading(d, 'valid', simNow());
    later((d.intervalMs * (1 + 0.1 * (2 * d.random() - 1))) / speed, () => regular(d));
  };

  const injectFault = async (d: SimDevice, fault: FaultType): Promise<void> => {
    switch (fault) {
      case 'backlog':
        return;
      case 'duplicate':
        if (!d.last) sendReading(d, 'valid', simNow());
        send(d, 'duplicate', d.last!.payload, { keys: [d.last!.keys] });
        return;
      case 'counter_reset':
        if (d.gen.counters.length === 0) {
          skipped.add(`counter_reset: kind ${d.kind.id} has no counter`);
          return;
        }
        d.gen.reboot();
        d.seq = 0;
        sendReading(d, 'counter_reset', simNow());
        return;
      case 'wrong_secret': {
        const label = ledger.add({
          deviceId: d.id,
          kind: fault,
          keys: [],
          isArray: false,
          newReadings: [],
          readingCount: 0,
        });
        const probe = await probeWrongSecret(options.url, d.id);
        if (probe.outcome === 'refused') label.refusedCode = probe.code;
        else if (probe.outcome === 'error') label.probeError = `wrong-secret probe failed: ${probe.message}`;
        return;
      }
      case 'foreign_topic': {
        // Quiet first: no message of ours in flight and every expected reject in, so the closed
        // connection loses nothing and resends nothing (the gateway's duplicate count stays exact).
        d.paused = true;
        await d.client.whenIdle();
        await waitUntil(
          () =>
            ledger.labels.every(
              (l) => l.deviceId !== d.id || l.expected.type !== 'reject' || l.rejects.length > 0,
            ),
          3000,
        );
        const ts = nextTs(d, simNow());
        const payload = JSON.stringify({ ts, seq: d.seq++, values: d.gen.peek(ts) });
        const label = ledger.add({
          deviceId: d.id,
          kind: fault,
          keys: [{ ts }],
          isArray: false,
          newReadings: [],
          readingCount: 1,
        });
        sent++;
        const closed = d.client.waitForClose(5000);
        // QoS 0: a QoS 1 publish answered by a closed connection would be resent by MQTT.js on
        // every reconnect, closing it again forever.
        await d.client.publish(topics.readings(d.other), payload, 0).catch(() => undefined);
        label.connectionClosed = await closed;
        await waitUntil(() => d.client.connected, 10_000);
        d.paused = false;
        return;
      }
      default: {
        const ts = nextTs(d, simNow());
        const reading = { ts, seq: d.seq++, values: d.gen.peek(ts) };
        const { payload, keys } = faultPayload(fault, reading, d.kind, clock());
        send(d, fault, payload, { keys: [keys] });
      }
    }
  };

  const sendBacklog = (d: SimDevice) => {
    const count = Math.min(MAX_BACKLOG_READINGS, Math.floor(backlogMs / d.intervalMs));
    const readings: { ts: number; seq: number; values: Record<string, number> }[] = [];
    for (let k = count; k >= 1; k--) {
      const ts = nextTs(d, window.from - k * d.intervalMs);
      readings.push({ ts, seq: d.seq++, values: d.gen.next(ts) });
    }
    if (readings.length === 0) return;
    const keys = readings.map(({ ts, seq }) => ({ ts, seq }));
    const label = { keys, isArray: true, newReadings: keys, readingCount: readings.length };
    send(d, 'backlog', JSON.stringify(readings), label);
  };

  const connectResults = await Promise.all(
    devices.map((d) =>
      connectWithin(d.client, CONNECT_TIMEOUT_MS).then(
        () => true,
        (err: unknown) => {
          errors.push(`${d.id}: could not connect (${(err as Error).message})`);
          return false;
        },
      ),
    ),
  );
  const live = devices.filter((_, i) => connectResults[i]);
  const faults = options.faults.filter((f) => f !== 'backlog' && f !== 'foreign_topic');
  for (const d of live) {
    if (backlogMs > 0) sendBacklog(d);
    later(d.random() * Math.min(FIRST_READING_WITHIN_MS, d.intervalMs / speed), () => regular(d));
    faults.forEach((fault, i) => {
      const at = durationMs * (0.15 + (0.6 * (i + d.random())) / faults.length);
      later(at, () => tasks.push(injectFault(d, fault)));
    });
    if (options.faults.includes('foreign_topic') && live.length > 0) {
      later(durationMs * 0.85, () => tasks.push(injectFault(d, 'foreign_topic')));
    }
  }
  const progress = setInterval(
    () =>
      options.onProgress?.({
        elapsedMs: clock() - wallStart,
        durationMs,
        simulatedTime: simNow(),
        sent,
        acknowledged,
        rejects,
      }),
    options.progressIntervalMs ?? 3000,
  );

  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, Math.max(0, wallStart + durationMs - clock()));
    timers.add(t);
  });
  ended = true;
  for (const t of timers) clearTimeout(t);
  timers.clear();
  clearInterval(progress);
  const settleMs = options.settleMs ?? 15_000;
  await within(Promise.all(tasks), settleMs);
  await within(Promise.allSettled([...pending]), settleMs);
  await waitUntil(() => ledger.allExpectedRejectsIn(), 3000);
  // Stray rejects (for messages that should have been accepted) arrive on the same path: a grace.
  await sleep(300);
  await Promise.all(devices.map((d) => d.client.stop()));
  const notInjected = FAULT_TYPES.filter(
    (f) => options.faults.includes(f) && !ledger.labels.some((l) => l.kind === f),
  );
  for (const f of notInjected)
    if (!(f === 'counter_reset' && skipped.size > 0))
      skipped.add(`${f}: not injected (no device connected long enough)`);
  const summary = summarise(ledger, qos, {
    devices: live.length,
    from: window.from,
    to: window.to,
    speed,
    skipped: [...skipped],
  });
  summary.mismatches.unshift(...errors);
  return { summary, labels: ledger.labels };
}

async function connectWithin(client: DeviceClient, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no CONNACK within ${ms / 1000} s`)), ms);
  });
  try {
    await Promise.race([client.start(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for `promise` at most `ms`, leaving no timer behind either way. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

async function waitUntil(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate() && Date.now() < deadline) await sleep(25);
}
