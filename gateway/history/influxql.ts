/**
 * InfluxQL over `/query`: the portable read path. It works on InfluxDB 1.x, on 2.x (through the
 * DBRP mapping of the bucket) and on 3.x, while the client library's QueryApi speaks Flux only.
 */
import { z } from 'zod';
import type { SinkConfig } from '../../config/settings.js';
import { deadline } from '../sinks/deadline.js';
import { basicAuth, describeCause, redactUrl } from '../sinks/http.js';

const cellSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type InfluxCell = z.infer<typeof cellSchema>;

const seriesSchema = z.object({
  name: z.string().default(''),
  tags: z.record(z.string(), z.string()).default({}),
  columns: z.array(z.string()),
  values: z.array(z.array(cellSchema)).default([]),
});
export type InfluxSeries = z.infer<typeof seriesSchema>;

/** 1.x puts statement errors inside a 200 answer; request errors come as `{error}` (1.x) or `{code, message}`. */
export const influxQueryResponseSchema = z.object({
  results: z
    .array(z.object({ series: z.array(seriesSchema).default([]), error: z.string().optional() }))
    .default([]),
  error: z.string().optional(),
  message: z.string().optional(),
});

export class InfluxQueryError extends Error {
  readonly code = 'E_INFLUX_QUERY';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** One object per row: columns zipped with values, plus the series' GROUP BY tags. */
export function rowsOf(series: readonly InfluxSeries[]): Record<string, InfluxCell>[] {
  return series.flatMap((s) =>
    s.values.map((values) => {
      const row: Record<string, InfluxCell> = { ...s.tags };
      s.columns.forEach((column, i) => (row[column] = values[i] ?? null));
      return row;
    }),
  );
}

/** A double-quoted InfluxQL identifier (measurement, tag, database), whatever characters it holds. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export interface InfluxQLRequest {
  /** Base URL of the server (a path prefix behind a proxy is kept). */
  url: string;
  /** `db`, `rp`, …; `q` and `epoch=ms` are added. */
  params: Record<string, string>;
  authorization?: string;
  /** GET reads; POST is required by 1.x for statements that change things (CREATE, DROP). */
  method?: 'GET' | 'POST';
  timeoutMs?: number;
}

/** Runs one statement; throws InfluxQueryError on an HTTP or statement error. */
export async function runInfluxQL(
  req: InfluxQLRequest,
  influxql: string,
): Promise<{ series: InfluxSeries[] }> {
  const params = new URLSearchParams({ ...req.params, epoch: 'ms', q: influxql });
  const endpoint = `${req.url.replace(/\/+$/, '')}/query`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (req.authorization !== undefined) headers.authorization = req.authorization;
  const limit = deadline(req.timeoutMs ?? 30_000);
  const { signal } = limit;
  let res: Response;
  let text: string;
  try {
    res =
      req.method === 'POST'
        ? await fetch(endpoint, { method: 'POST', headers, body: params, signal })
        : await fetch(`${endpoint}?${params.toString()}`, { headers, signal });
    text = await res.text();
  } catch (err) {
    throw new InfluxQueryError(`InfluxQL query to ${redactUrl(req.url)} failed: ${describeCause(err)}`);
  } finally {
    limit.done();
  }
  let parsed: z.infer<typeof influxQueryResponseSchema> | undefined;
  try {
    parsed = influxQueryResponseSchema.parse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  const failure = parsed?.error ?? parsed?.message ?? parsed?.results[0]?.error;
  if (!res.ok || parsed === undefined || failure !== undefined) {
    const why = failure ?? (text.trim().slice(0, 300) || res.statusText);
    throw new InfluxQueryError(`InfluxQL query failed (HTTP ${res.status}): ${why}`, res.status);
  }
  return { series: parsed.results[0]?.series ?? [] };
}

/** The sink's database (v1) or bucket (v2, via its DBRP mapping) queried with the sink's credentials. */
export function queryInfluxQL(
  sink: Exclude<SinkConfig, { mode: 'local-only' }>,
  influxql: string,
  opts: { timeoutMs?: number } = {},
): Promise<{ series: InfluxSeries[] }> {
  if (sink.mode === 'v2') {
    return runInfluxQL(
      { url: sink.url, params: { db: sink.bucket }, authorization: `Token ${sink.token}`, ...opts },
      influxql,
    );
  }
  const params: Record<string, string> = { db: sink.db };
  if (sink.rp !== undefined) params.rp = sink.rp;
  const authorization =
    sink.username !== undefined ? basicAuth(sink.username, sink.password ?? '') : undefined;
  return runInfluxQL({ url: sink.url, params, ...(authorization && { authorization }), ...opts }, influxql);
}
