/**
 * History from InfluxDB through InfluxQL over /query (the portable read path: 1.x, 2.x through
 * DBRP, 3.x). The measurement is the device's kind, `device` a tag, the metric a field (DESIGN).
 * Identifiers are double-quoted and the device id single-quoted with escapes, so no registry
 * content can change the statement.
 */
import type { SinkConfig } from '../../config/settings.js';
import { queryInfluxQL, quoteIdent, rowsOf } from './influxql.js';
import { HISTORY_RANGES, type HistoryPoint, type HistoryRequest, type HistorySource } from './source.js';

export type RemoteSink = Exclude<SinkConfig, { mode: 'local-only' }>;

/** An InfluxQL string literal. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `time > now() - 1h GROUP BY time(1m)`: InfluxQL durations for a range and its bucket. */
function duration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms}ms`;
}

export function historyStatement(request: HistoryRequest): string {
  const { rangeMs, bucketMs } = HISTORY_RANGES[request.range];
  const field = quoteIdent(request.metric);
  return (
    `SELECT min(${field}), mean(${field}), max(${field}) FROM ${quoteIdent(request.kind)} ` +
    `WHERE "device" = ${quoteString(request.device)} AND time > now() - ${duration(rangeMs)} ` +
    `GROUP BY time(${duration(bucketMs)}) fill(none)`
  );
}

export interface InfluxHistoryDeps {
  sink: RemoteSink;
  /** Age of the oldest reading not yet in InfluxDB (the drainer's backlog), or null. */
  lagMs: (now: number) => number | null;
  timeoutMs: number;
}

export class InfluxHistory implements HistorySource {
  readonly source = 'influxdb' as const;

  constructor(private readonly deps: InfluxHistoryDeps) {}

  async points(request: HistoryRequest): Promise<HistoryPoint[]> {
    const { series } = await queryInfluxQL(this.deps.sink, historyStatement(request), {
      timeoutMs: this.deps.timeoutMs,
    });
    const points: HistoryPoint[] = [];
    for (const row of rowsOf(series)) {
      const { time, min, mean, max } = row;
      if (
        typeof time === 'number' &&
        typeof min === 'number' &&
        typeof mean === 'number' &&
        typeof max === 'number'
      )
        points.push([time, min, mean, max]);
    }
    return points.sort((a, b) => a[0] - b[0]);
  }

  sinkLagMs(now: number): number | null {
    return this.deps.lagMs(now);
  }
}
