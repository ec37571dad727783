/** Medians, spreads and percentiles: every figure the bench prints is a median of runs with its spread. */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Event-loop delay sampling, the same in the gateway's probe and in the publishers. */
const LAG_RESOLUTION_MS = 10;

/** An enabled event-loop delay histogram. */
export function monitorLag(): IntervalHistogram {
  const histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  histogram.enable();
  return histogram;
}

/** Its p99 in ms: the histogram counts ns and includes the sampling resolution, subtracted here. */
export function lagP99Ms(histogram: IntervalHistogram): number {
  return Math.max(0, histogram.percentile(99) / 1e6 - LAG_RESOLUTION_MS);
}

/** The p-th percentile (0–100) of already sorted values, nearest rank; NaN when there are none. */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export function percentile(values: readonly number[], p: number): number {
  return percentileSorted(
    [...values].sort((a, b) => a - b),
    p,
  );
}

/** One figure over the runs: the median, the lowest and highest run, and every run's value. */
export interface Figure {
  median: number;
  min: number;
  max: number;
  runs: number[];
  unit: string;
}

export function figure(runs: readonly number[], unit: string): Figure {
  const sorted = [...runs].sort((a, b) => a - b);
  return {
    median: percentileSorted(sorted, 50),
    min: sorted[0] ?? NaN,
    max: sorted.at(-1) ?? NaN,
    runs: [...runs],
    unit,
  };
}

/**
 * Latencies from many processes, kept as a histogram of 0.1 ms buckets up to 60 s (beyond: the
 * last bucket), so a child can report a million samples in a few kilobytes.
 */
export class LatencyHistogram {
  static readonly BUCKET_MS = 0.1;
  readonly counts = new Map<number, number>();
  total = 0;

  add(ms: number): void {
    const bucket = Math.min(600_000, Math.max(0, Math.round(ms / LatencyHistogram.BUCKET_MS)));
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.total++;
  }

  merge(entries: Iterable<[number, number]>): void {
    for (const [bucket, n] of entries) {
      this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + n);
      this.total += n;
    }
  }

  toJSON(): [number, number][] {
    return [...this.counts];
  }

  percentile(p: number): number {
    if (this.total === 0) return NaN;
    const want = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket)!;
      if (seen >= want) return bucket * LatencyHistogram.BUCKET_MS;
    }
    return NaN;
  }
}
