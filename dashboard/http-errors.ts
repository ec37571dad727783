/**
 * Errors of the HTTP API: always JSON `{ error: { code, message } }` with a stable code, never a
 * stack trace or an Express HTML page. Unexpected errors are logged with their stack and answered
 * with a generic 500.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from '../gateway/logger.js';

export interface ApiError {
  error: { code: string; message: string };
}

function body(code: string, message: string): ApiError {
  return { error: { code, message } };
}

/** Answers an API error in the one shape: `{ error: { code, message } }`. */
export function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json(body(code, message));
}

export const notFound: RequestHandler = (req, res) => {
  res.status(404).json(body('E_NOT_FOUND', `no such resource: ${req.method} ${req.path}`));
};

export const methodNotAllowed: RequestHandler = (req, res) => {
  res.setHeader('allow', 'GET, HEAD');
  res.status(405).json(body('E_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}`));
};

/** Status an error from Express's own layers carries (bad URL encoding, body too large …). */
function clientStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const status = 'status' in err ? err.status : 'statusCode' in err ? err.statusCode : undefined;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const status = clientStatus(err);
    if (status !== undefined) {
      log.debug({ err, method: req.method, path: req.path }, 'bad HTTP request');
      res.status(status).json(body('E_BAD_REQUEST', `the request could not be served (HTTP ${status})`));
      return;
    }
    log.error({ err, method: req.method, path: req.path }, 'HTTP handler failed');
    res.status(500).json(body('E_INTERNAL', 'internal error; the gateway log has the details'));
  };
}
