/** Turns a KindModel into a DeviceGenerator: keeps the counters and the previous timestamp. */
import type { DeviceGenerator, GeneratorContext, KindModel, Values } from './types.js';

export function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

const COUNTER_DECIMALS = 3;

export function makeGenerator(ctx: GeneratorContext, model: KindModel): DeviceGenerator {
  const specs = Object.entries(model.counters ?? {});
  const registers = new Map(specs.map(([name, spec]) => [name, spec.initial]));
  let previousTs: number | undefined;

  const compute = (ts: number, commit: boolean): Values => {
    // The first reading covers one nominal interval, as if the device had been running before.
    const from = previousTs ?? ts - ctx.intervalS * 1000;
    const t0 = Math.min(from, ts);
    const sample = model.sample(ts, t0);
    const out: Values = { ...sample };
    for (const [name, spec] of specs) {
      const value = registers.get(name)! + (ts > t0 ? Math.max(0, spec.increment(sample, t0, ts)) : 0);
      if (commit) registers.set(name, value);
      out[name] = round(value, COUNTER_DECIMALS);
    }
    if (commit && ts >= (previousTs ?? -Infinity)) previousTs = ts;
    return out;
  };

  return {
    next: (ts) => compute(ts, true),
    peek: (ts) => compute(ts, false),
    reboot: () => {
      for (const [name] of specs) registers.set(name, 0);
    },
    counters: specs.map(([name]) => name),
  };
}
