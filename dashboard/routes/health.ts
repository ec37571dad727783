/** `/healthz` (the process serves) and `/readyz` (the gateway can take and keep readings). */
import { Router } from 'express';
import { readiness, type ReadinessLimits } from '../readiness.js';
import type { StatusSource } from '../status-schema.js';
import { methodNotAllowed } from '../http-errors.js';

export function healthRoutes(status: StatusSource, limits: ReadinessLimits): Router {
  const router = Router();
  // Liveness only: no dependency is consulted, so an InfluxDB outage never restarts the gateway.
  router
    .route('/healthz')
    .get((_req, res) => {
      res.json({ status: 'ok' });
    })
    .all(methodNotAllowed);
  router
    .route('/readyz')
    .get((_req, res) => {
      const answer = readiness(status.status(), limits);
      res.status(answer.status === 'ready' ? 200 : 503).json(answer);
    })
    .all(methodNotAllowed);
  return router;
}
