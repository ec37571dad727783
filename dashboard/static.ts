/**
 * The web client's files (dashboard/web/dist: index.html, app.js, app.css, built by esbuild) at
 * `/`, and index.html for every other page path, so a reload on `/device/x` opens the app there.
 * `no-cache`: the file names carry no content hash, so browsers revalidate (a 304 when unchanged)
 * and never run an old app.js against a new server.
 */
import { extname, join } from 'node:path';
import express, { Router } from 'express';
import { sendError } from './http-errors.js';
import { PROJECT_ROOT } from '../config/project-root.js';

export const WEB_DIST = join(PROJECT_ROOT, 'dashboard', 'web', 'dist');

const revalidate = (res: express.Response): void => {
  res.setHeader('cache-control', 'no-cache');
};

export function staticRoutes(dir: string): Router {
  const router = Router();
  router.use(express.static(dir, { index: 'index.html', redirect: false, setHeaders: revalidate }));
  router.get('/{*splat}', (req, res, next) => {
    // API paths and file names (a missing app.js) are real 404s, not the app's page.
    if (req.path === '/api' || req.path.startsWith('/api/') || extname(req.path) !== '') return next();
    revalidate(res);
    res.sendFile('index.html', { root: dir }, (err?: Error) => {
      if (!err || res.headersSent) return;
      const missing =
        (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as { status?: number }).status === 404;
      if (!missing) return next(err);
      sendError(
        res,
        404,
        'E_NOT_FOUND',
        'the web client is not built: dashboard/web/dist/index.html is missing',
      );
    });
  });
  return router;
}
