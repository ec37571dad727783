/**
 * `GET /metrics` (Prometheus text format). Prometheus cannot log in with a cookie, so the dashboard
 * session does not apply here:
 * - `VALLEY_METRICS_TOKEN` set: a request needs `Authorization: Bearer <token>`, on every bind.
 * - no token, loopback bind: open to this machine (a local Prometheus or node agent), like the
 *   demo dashboard; the Host header must be a loopback name, so a DNS-rebinding page cannot read it.
 * - no token, any other bind: 403 with the setting to use. The gateway still starts: metrics are
 *   optional, readings are not.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type Request } from 'express';
import { isLoopback } from '../../config/loader.js';
import { isLoopbackHost } from '../auth/access.js';
import { methodNotAllowed, sendError } from '../http-errors.js';

export interface MetricsEndpoint {
  contentType: string;
  render(): Promise<string>;
}

export interface MetricsAccess {
  bind: string;
  token: string | undefined;
}

/** Compared as SHA-256 digests: equal lengths for timingSafeEqual, nothing learnt from timing. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function bearer(req: Request): string | undefined {
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export function metricsRoutes(metrics: MetricsEndpoint, access: MetricsAccess): Router {
  const router = Router();
  const expected = access.token === undefined ? undefined : digest(access.token);
  router
    .route('/metrics')
    .get(async (req, res) => {
      if (expected !== undefined) {
        const given = bearer(req);
        if (given === undefined || !timingSafeEqual(digest(given), expected)) {
          res.setHeader('www-authenticate', 'Bearer realm="valley-metrics"');
          sendError(res, 401, 'E_METRICS_TOKEN', 'send the metrics token: Authorization: Bearer <token>');
          return;
        }
      } else if (!isLoopback(access.bind) || !isLoopbackHost(req.headers.host)) {
        sendError(
          res,
          403,
          'E_METRICS_TOKEN_REQUIRED',
          '/metrics is open only on a loopback bind; set VALLEY_METRICS_TOKEN / --metrics-token to scrape it from elsewhere',
        );
        return;
      }
      const text = await metrics.render();
      res.setHeader('content-type', metrics.contentType);
      res.send(text);
    })
    .all(methodNotAllowed);
  return router;
}
