/**
 * Runs a fleet of publishers split over several processes (bench/load/publisher.ts): all connect,
 * then start together on one "go", and their reports are summed. The processes stay connected
 * between start() and close(), so one scenario can run several measurement windows on one fleet.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { LatencyHistogram } from '../stats.js';
import type { ChildMessage, DeviceSpec, PublishJob, PublisherReport } from './protocol.js';

export interface FleetReport {
  sent: number;
  acked: number;
  failed: number;
  /** The slowest process's window: from "go" to its last acknowledgement. */
  elapsedMs: number;
  /** CPU of all publisher processes over the window, in cores (1.0 = one core busy). */
  cpuCores: number;
  latency: LatencyHistogram;
  /** The highest event-loop delay p99 among the publisher processes during the window. */
  lagP99Ms: number;
}

type FleetJob = Omit<PublishJob, 'devices' | 'ratePerSecond'> & { ratePerSecond?: number };

/** A steady open-loop load at `ratePerSecond` in total, one reading in flight per device. */
export function steadyLoad(url: string, ratePerSecond: number, maxLifetimeMs: number): FleetJob {
  return {
    url,
    qos: 1,
    mode: 'rate',
    ratePerSecond,
    inflightPerDevice: 1,
    intervalMs: 0,
    connectConcurrency: 50,
    tsMode: 'now',
    maxLifetimeMs,
  };
}

export class PublisherFleet {
  private readonly children: ChildProcess[] = [];
  private readonly inbox = new Map<ChildProcess, ChildMessage[]>();
  private readonly waiters = new Map<ChildProcess, () => void>();
  /** Slowest process's connect time. */
  connectMs = 0;

  constructor(
    private readonly devices: DeviceSpec[],
    private readonly processes: number,
    private readonly job: FleetJob,
  ) {}

  async start(): Promise<void> {
    const n = Math.max(1, Math.min(this.processes, this.devices.length));
    for (let i = 0; i < n; i++) {
      const devices = this.devices.filter((_, k) => k % n === i);
      const child = fork(join(import.meta.dirname, 'publisher.ts'), [], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      this.children.push(child);
      this.inbox.set(child, []);
      child.on('message', (m: ChildMessage) => {
        this.inbox.get(child)!.push(m);
        this.waiters.get(child)?.();
      });
      child.on('exit', () => this.waiters.get(child)?.());
      const job: PublishJob = { ...this.job, ratePerSecond: (this.job.ratePerSecond ?? 0) / n, devices };
      child.send({ type: 'job', job });
    }
    const connected = await Promise.all(this.children.map((c) => this.next(c, 'connected')));
    this.connectMs = Math.max(...connected.map((m) => m.connectMs));
  }

  /**
   * One measurement window on every process at once. `ratePerSecond` (rate mode) replaces the
   * job's total rate for this window, so one connected fleet can step through offered rates.
   */
  async run(durationMs: number, ratePerSecond?: number): Promise<FleetReport> {
    const n = this.children.length;
    for (const c of this.children)
      c.send(
        ratePerSecond === undefined
          ? { type: 'go', durationMs }
          : { type: 'go', durationMs, ratePerSecond: ratePerSecond / n },
      );
    const reports: PublisherReport[] = (
      await Promise.all(this.children.map((c) => this.next(c, 'done')))
    ).map((m) => m.report);
    const latency = new LatencyHistogram();
    for (const r of reports) latency.merge(r.latency);
    const elapsedMs = Math.max(...reports.map((r) => r.elapsedMs));
    return {
      sent: sum(reports.map((r) => r.sent)),
      acked: sum(reports.map((r) => r.acked)),
      failed: sum(reports.map((r) => r.failed)),
      elapsedMs,
      cpuCores: sum(reports.map((r) => r.cpuMs)) / elapsedMs,
      latency,
      lagP99Ms: Math.max(...reports.map((r) => r.lagP99Ms)),
    };
  }

  /** Ends the window that run() is measuring before its duration. */
  stop(): void {
    for (const c of this.children) if (c.connected) c.send({ type: 'stop' });
  }

  async close(): Promise<void> {
    await Promise.all(
      this.children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((r) => c.once('exit', r));
        const kill = setTimeout(() => c.kill('SIGKILL'), 10_000);
        if (c.connected) c.send({ type: 'close' });
        else c.kill('SIGTERM');
        await exited;
        clearTimeout(kill);
      }),
    );
  }

  private async next<T extends ChildMessage['type']>(
    child: ChildProcess,
    type: T,
  ): Promise<Extract<ChildMessage, { type: T }>> {
    for (;;) {
      const queue = this.inbox.get(child)!;
      const m = queue.shift();
      if (m?.type === 'error') throw new Error(`publisher process: ${m.error}`);
      if (m?.type === type) return m as Extract<ChildMessage, { type: T }>;
      if (m !== undefined) continue;
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`publisher process exited (${child.exitCode ?? child.signalCode}) before '${type}'`);
      await new Promise<void>((r) => this.waiters.set(child, r));
    }
  }
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
