/** What a kind generator gets and gives. Generators are pure: no I/O, no clock, no Math.random. */
import type { Site } from '../../config/registry-schema.js';

export type Values = Record<string, number>;

export interface GeneratorContext {
  /** The fleet's seed: the valley's weather and calendar noise derive from it. */
  seed: number;
  /** Per-device seed (fleet seed mixed with the device id): sensor noise and habits. */
  deviceSeed: number;
  deviceId: string;
  kind: string;
  intervalS: number;
  site: Site;
  /** The site's altitude, else its municipality's. */
  altitudeM: number;
  /** Residents behind a spring or network site without a population of its own. */
  servedResidents: number;
  /** Static head at a network site, bar: from the nearest reservoir above it. */
  staticHeadBar: number;
}

/**
 * One device's readings over time. Counters integrate the reported rate over the interval since
 * the previous reading, so Δcounter = rate × Δt holds exactly (up to the rounding of the report).
 */
export interface DeviceGenerator {
  /** The reading at `ts` (epoch ms); counters advance. Timestamps must not go backwards. */
  next(ts: number): Values;
  /** The reading at `ts` without advancing the counters (material for fault injection). */
  peek(ts: number): Values;
  /** A reboot of the device: its counters start again from zero. */
  reboot(): void;
  /** Names of the counter metrics this generator reports. */
  readonly counters: readonly string[];
}

export interface CounterSpec {
  /** Value of the register when the simulation starts (a meter installed years ago). */
  initial: number;
  /** Increase over (t0, t1] given the sample reported at t1. */
  increment(sample: Values, t0: number, t1: number): number;
}

/** A kind's model: the non-counter values at `ts` and how its counters grow. */
export interface KindModel {
  sample(ts: number, previousTs: number): Values;
  counters?: Record<string, CounterSpec>;
}
