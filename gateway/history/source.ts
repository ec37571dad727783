/**
 * What /api/history reads, whichever store answers: InfluxDB through InfluxQL when a sink is
 * configured (influx-history.ts), the rollups rebuilt from the outbox in local-only mode
 * (local-history.ts). Both give min / mean / max per time bucket, aligned to the epoch (UTC), so
 * the dashboard's chart is the same either way.
 */
import type { RollupPoint } from './rollups.js';
import { MINUTE_MS, QUARTER_MS } from './rollups.js';

export const HISTORY_RANGES = {
  '1h': { rangeMs: 3_600_000, bucketMs: MINUTE_MS },
  '24h': { rangeMs: 24 * 3_600_000, bucketMs: MINUTE_MS },
  '7d': { rangeMs: 7 * 24 * 3_600_000, bucketMs: QUARTER_MS },
} as const;
export type HistoryRange = keyof typeof HISTORY_RANGES;
export const HISTORY_RANGE_KEYS = Object.keys(HISTORY_RANGES) as HistoryRange[];

export type HistoryPoint = RollupPoint;

export interface HistoryRequest {
  device: string;
  /** The device's kind (the InfluxDB measurement). */
  kind: string;
  metric: string;
  range: HistoryRange;
}

export interface HistorySource {
  readonly source: 'influxdb' | 'local';
  /** Buckets oldest first; a bucket without readings is absent (`fill(none)`), never 0. */
  points(request: HistoryRequest, now: number): Promise<HistoryPoint[]>;
  /** How far the sink is behind (age of the oldest unsent reading), or null when it is not. */
  sinkLagMs(now: number): number | null;
}
