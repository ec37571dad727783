/**
 * `GET /api/deadletter` (list, newest first, filters and paging) and `POST /api/deadletter/replay`
 * (send records again through the running gateway; gateway/deadletter-replay.ts). Both are for
 * operators (auth/policy.ts: the records hold raw device payloads, which over MQTT only operators
 * may read on `sensors/+/rejects`).
 */
import { Router, type Response } from 'express';
import type { z } from 'zod';
import {
  deadLetterQuerySchema,
  replayRequestSchema,
  type DeadLetterPage,
  type DeadLetterQuery,
  type ReplayAnswer,
  type ReplayRequest,
} from '../../gateway/deadletter-query.js';
import { stateChanging } from '../auth/middleware.js';
import { methodNotAllowed, sendError } from '../http-errors.js';

export interface DeadLetterService {
  list(query: DeadLetterQuery): Promise<DeadLetterPage>;
  replay(request: ReplayRequest): Promise<ReplayAnswer>;
}

/** A 400 that names each bad parameter, e.g. `limit: limit is at most 1000`. */
function badRequest(res: Response, error: z.ZodError): void {
  const problems = error.issues.map((i) => {
    const keys = 'keys' in i && Array.isArray(i.keys) ? ` (${i.keys.join(', ')})` : '';
    return `${i.path.join('.') || 'request'}: ${i.message}${keys}`;
  });
  sendError(res, 400, 'E_BAD_REQUEST', problems.join('; '));
}

export function deadLetterRoutes(service: DeadLetterService): Router {
  const router = Router();
  router
    .route('/api/deadletter')
    .get(async (req, res) => {
      const parsed = deadLetterQuerySchema.safeParse(req.query);
      if (!parsed.success) return badRequest(res, parsed.error);
      res.json(await service.list(parsed.data));
    })
    .all(methodNotAllowed);
  router.post('/api/deadletter/replay', ...stateChanging, async (req, res) => {
    const parsed = replayRequestSchema.safeParse(req.body);
    if (!parsed.success) return badRequest(res, parsed.error);
    res.json(await service.replay(parsed.data));
  });
  router.all('/api/deadletter/replay', (req, res) => {
    res.setHeader('allow', 'POST');
    sendError(res, 405, 'E_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}`);
  });
  return router;
}
