/**
 * `GET /api/history?device=ID&metric=M&range=1h|24h|7d`: min / mean / max per bucket of one
 * metric of one device, from whichever HistorySource the gateway runs with (InfluxDB or the local
 * rollups): the same answer shape either way, saying which one answered and how far InfluxDB lags.
 */
import { Router } from 'express';
import { getKind } from '../../contract/index.js';
import type { RegistryIndex } from '../../config/registry-schema.js';
import { InfluxQueryError } from '../../gateway/history/influxql.js';
import { HISTORY_RANGES, type HistorySource } from '../../gateway/history/source.js';
import type { Logger } from '../../gateway/logger.js';
import type { Clock } from '../../gateway/types.js';
import { methodNotAllowed, sendError } from '../http-errors.js';
import { historyQuerySchema, type HistoryAnswer } from '../protocol.js';

export interface HistoryRouteDeps {
  history: HistorySource;
  registry: () => RegistryIndex;
  clock: Clock;
  log: Logger;
}

export function historyRoutes(deps: HistoryRouteDeps): Router {
  const router = Router();
  router
    .route('/api/history')
    .get(async (req, res) => {
      const parsed = historyQuerySchema.safeParse(req.query);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`);
        return sendError(res, 400, 'E_BAD_REQUEST', problems.join('; '));
      }
      const { device, metric, range } = parsed.data;
      const resolved = deps.registry().devices.get(device);
      if (!resolved) return sendError(res, 404, 'E_NOT_FOUND', `no device "${device}" in the registry`);
      const kind = getKind(resolved.device.kind);
      const spec = kind?.metrics[metric];
      if (!kind || !spec) {
        const known = Object.keys(kind?.metrics ?? {}).join(', ');
        return sendError(
          res,
          400,
          'E_BAD_REQUEST',
          `${device} (${resolved.device.kind}) has no metric "${metric}"; it has ${known}`,
        );
      }
      const now = deps.clock.now();
      try {
        const points = await deps.history.points({ device, kind: kind.id, metric, range }, now);
        res.json({
          device,
          metric,
          unit: spec.unit,
          range,
          bucketMs: HISTORY_RANGES[range].bucketMs,
          points,
          source: deps.history.source,
          sinkLagMs: deps.history.sinkLagMs(now),
          asOf: now,
        } satisfies HistoryAnswer);
      } catch (error) {
        if (!(error instanceof InfluxQueryError)) throw error;
        deps.log.warn({ err: error, device, metric, range }, 'history query failed');
        sendError(res, 503, 'E_HISTORY_UNAVAILABLE', error.message);
      }
    })
    .all(methodNotAllowed);
  return router;
}
