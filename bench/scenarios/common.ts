/** What every scenario gets and gives back, and the fleet of bench devices they share. */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestRegistry, writeTestRegistry, type TestRegistry } from '../../test/support/registry.js';
import type { DeviceSpec } from '../load/protocol.js';
import type { Figure } from '../stats.js';

/** Sizes of a run: the full bench, or the smoke run inside `npm test` (seconds, tiny counts). */
export interface Scale {
  runs: number;
  /** Publisher processes (the load is split over them). */
  publisherProcesses: number;
  windowMs: number;
  bare: { devices: number; inflight: number };
  ack: { devices: number; inflight: number; latencyRate: number };
  /** inflight: the saturating window; searchSteps: bisection steps over offered rates. */
  endToEnd: { devices: number; inflight: number; searchSteps: number };
  many: { devices: number; intervalMs: number; holdMs: number };
  catchUp: { devices: number; rate: number; steadyMs: number; outageMs: number };
  live: { viewers: number; probes: number; backgroundRate: number };
  soak: {
    devices: number;
    rate: number;
    durationMs: number;
    sampleEveryMs: number;
    /** Readings/s of the warm-up that fills every device's dedupe window first. */
    warmupRate: number;
    /** After the warm-up, unmeasured at the soak's rate. */
    settleMs: number;
    /** No warm-up: measure from a cold start (`--soak-cold`). */
    cold: boolean;
  };
}

export interface BenchContext {
  /** Scratch directory for this scenario (registries, data dirs, logs). */
  dir: string;
  scale: Scale;
  progress(message: string): void;
  /** `--profile DIR`: every gateway of the scenario runs under `node --cpu-prof` into DIR. */
  profileDir?: string;
}

export interface ScenarioResult {
  id: string;
  title: string;
  figures: Record<string, Figure>;
  /** Payload, QoS, devices, publisher CPU …: printed with the figures. */
  conditions: Record<string, string | number>;
  /** Which process bounds the figures (from CPU samples), in words. */
  bound: string;
  notes: string[];
}

export interface BenchFleet {
  registry: TestRegistry;
  registryPath: string;
  /** With secrets: for the gateway. */
  devices: DeviceSpec[];
  /** The same ids without secrets: for the bare brokers. */
  anonymous: DeviceSpec[];
}

/** `count` water_pressure devices (plus the test registry's own), written as a registry file. */
export async function benchFleet(dir: string, count: number, extraIds: string[] = []): Promise<BenchFleet> {
  const ids = [
    ...Array.from({ length: count }, (_, i) => `bench-${String(i).padStart(5, '0')}`),
    ...extraIds,
  ];
  const registry = makeTestRegistry(ids.map((id) => ({ id, kind: 'water_pressure', site: 't-network' })));
  const fleetDir = await mkdtemp(join(dir, 'fleet-'));
  const registryPath = await writeTestRegistry(fleetDir, registry);
  const bench = ids.slice(0, count);
  return {
    registry,
    registryPath,
    devices: bench.map((id) => ({ id, secret: registry.secrets[id]! })),
    anonymous: bench.map((id) => ({ id })),
  };
}

export const PAYLOAD_DESCRIPTION =
  '1 reading of water_pressure, ~45-byte JSON ({"ts":…,"values":{"pressure_bar":4.2}})';

/** Which process was busiest, from CPU in cores: the one near a full core is the bound. */
export function boundBy(cpu: Record<string, number>): string {
  const parts = Object.entries(cpu)
    .sort((a, b) => b[1] - a[1])
    .map(([name, cores]) => `${name} ${cores.toFixed(2)} cores`);
  return `CPU (median over runs): ${parts.join(', ')}; the process near 1.00 core (Node is single-threaded) bounds the figure`;
}
