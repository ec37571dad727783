/** `GET /api/status`: the gateway's figures as one JSON snapshot (schema in status-schema.ts). */
import { Router } from 'express';
import type { StatusSource } from '../status-schema.js';
import { methodNotAllowed } from '../http-errors.js';

export function statusRoutes(status: StatusSource): Router {
  const router = Router();
  router
    .route('/api/status')
    .get((_req, res) => {
      res.json(status.status());
    })
    .all(methodNotAllowed);
  return router;
}
