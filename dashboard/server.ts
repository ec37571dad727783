/**
 * The HTTP server (Express 5): health, readiness and the JSON API; later the dashboard's pages
 * and Socket.IO on the same server. It sees the gateway only through the injected StatusSource
 * (DESIGN: the dashboard never imports broker internals). Started after the broker, stopped
 * before it, by the composition root.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../gateway/logger.js';
import { errorHandler, notFound } from './http-errors.js';
import { healthRoutes } from './routes/health.js';
import { statusRoutes } from './routes/status.js';
import type { StatusSource } from './status-schema.js';

export interface HttpServerDeps {
  settings: Pick<Settings, 'bind' | 'httpPort' | 'readyBacklogRecords' | 'readyLagMs'>;
  status: StatusSource;
  logger: Logger;
}

/** How long stop() lets a request in progress finish before its connection is cut. */
const CLOSE_GRACE_MS = 1000;

export class HttpServer {
  private server: Server | undefined;
  private readonly log: Logger;

  constructor(private readonly deps: HttpServerDeps) {
    this.log = deps.logger.child({ module: 'http' });
  }

  async start(): Promise<void> {
    const { bind, httpPort } = this.deps.settings;
    const server = createServer(this.app());
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(portError(err, bind, httpPort)));
      server.listen(httpPort, bind, () => resolve());
    });
    server.on('error', (err) => this.log.error({ err }, 'HTTP listener error'));
    this.server = server;
  }

  get address(): AddressInfo {
    if (!this.server) throw new Error('the HTTP server is not started');
    return this.server.address() as AddressInfo;
  }

  /** The base URL for the start log line (IPv6 addresses in brackets). */
  get url(): string {
    const { address, port } = this.address;
    return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  }

  /** Stops listening; requests in progress get a short grace, idle keep-alive sockets go at once. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = once(server, 'close');
    server.close();
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
    try {
      await closed;
    } finally {
      clearTimeout(timer);
    }
  }

  private app(): Express {
    const { settings, status } = this.deps;
    const app = express();
    app.disable('x-powered-by');
    // Every answer here is a live figure: no caching by browsers or proxies, no 304s.
    app.set('etag', false);
    app.use(
      helmet({
        // The gateway serves plain HTTP (TLS, when wanted, ends at a proxy that sets HSTS itself):
        // upgrading subresources to https would break the dashboard on a plain-HTTP LAN address.
        contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
        strictTransportSecurity: false,
      }),
    );
    app.use((_req, res, next) => {
      res.setHeader('cache-control', 'no-store');
      next();
    });
    app.use(
      healthRoutes(status, { backlogRecords: settings.readyBacklogRecords, lagMs: settings.readyLagMs }),
    );
    app.use(statusRoutes(status));
    app.use(notFound);
    app.use(errorHandler(this.log));
    return app;
  }
}

function portError(err: Error, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const setting = 'VALLEY_HTTP_PORT / --http-port';
  if (code === 'EADDRINUSE')
    return new Error(`HTTP port ${port} on ${host} is already in use; choose another with ${setting}`);
  if (code === 'EACCES')
    return new Error(`not allowed to listen on ${host}:${port} (HTTP); choose another port with ${setting}`);
  if (code === 'EADDRNOTAVAIL')
    return new Error(`address ${host} is not available on this host; check VALLEY_BIND / --bind`);
  return err;
}
