/**
 * The HTTP server (Express 5): health, readiness, the JSON API, the dashboard's web client and
 * Socket.IO (live.ts) on one port. It sees the gateway only through what is injected (DESIGN: the
 * dashboard never imports broker internals): the status snapshot, the registry, the aggregation
 * engine, a history source and a login throttle. Started after the broker, stopped before it, by
 * the composition root.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import helmet from 'helmet';
import { isLoopback } from '../config/loader.js';
import type { RegistryIndex } from '../config/registry-schema.js';
import type { Settings } from '../config/settings.js';
import { plaintextBind, type TlsMaterial } from '../config/tls.js';
import type { HistorySource } from '../gateway/history/source.js';
import type { Logger } from '../gateway/logger.js';
import { systemClock, type Clock } from '../gateway/types.js';
import type { DashboardAggregator } from './aggregate/index.js';
import { accessMode, assertDashboardBind, type AccessMode } from './auth/access.js';
import { Delays, ScryptGate } from './auth/limits.js';
import { authenticate, requireSession } from './auth/middleware.js';
import { SessionStore } from './auth/sessions.js';
import { errorHandler, notFound } from './http-errors.js';
import { LiveServer } from './live.js';
import { authRoutes, type LoginThrottle } from './routes/auth.js';
import { geoRoutes, loadGeo, type GeoAnswer } from './routes/geo.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes, type MetricsEndpoint } from './routes/metrics.js';
import { historyRoutes } from './routes/history.js';
import { registryRoutes } from './routes/registry.js';
import { statusRoutes } from './routes/status.js';
import { deadLetterRoutes, type DeadLetterService } from './routes/deadletter.js';
import { accessGuard } from './auth/policy.js';
import { originGuard } from './auth/middleware.js';
import { staticRoutes, WEB_DIST } from './static.js';
import type { StatusSource } from './status-schema.js';

export interface HttpServerDeps {
  settings: Pick<
    Settings,
    | 'bind'
    | 'httpPort'
    | 'readyBacklogRecords'
    | 'readyLagMs'
    | 'pushIntervalMs'
    | 'sessionIdleMs'
    | 'httpsPort'
    | 'plaintextPublic'
  > &
    Partial<Pick<Settings, 'metricsToken'>>;
  status: StatusSource;
  logger: Logger;
  registry: () => RegistryIndex;
  aggregator: Pick<DashboardAggregator, 'snapshot' | 'changedRooms'>;
  history: HistorySource;
  /** Failed dashboard logins: a delay per (address, user id). */
  loginThrottle: LoginThrottle;
  clock?: Clock;
  /** The web client's built files; default dashboard/web/dist. */
  webDir?: string;
  /** With a certificate: the same app and Socket.IO over HTTPS on `httpsPort` too. */
  tls?: TlsMaterial | undefined;
  /** Dead-letter list and replay (gateway/deadletter-replay.ts); without it the routes are absent. */
  deadLetters?: DeadLetterService;
  /** `/metrics` (Prometheus); absent, the route is not served. */
  metrics?: MetricsEndpoint;
}

/** How long stop() lets a request in progress finish before its connection is cut. */
const CLOSE_GRACE_MS = 1000;

export class HttpServer {
  readonly sessions: SessionStore;
  readonly live: LiveServer;
  private server: Server | undefined;
  private httpsServer: HttpsServer | undefined;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly delays = new Delays();
  private readonly gate = new ScryptGate();

  constructor(private readonly deps: HttpServerDeps) {
    this.log = deps.logger.child({ module: 'http' });
    this.clock = deps.clock ?? systemClock;
    this.sessions = new SessionStore({ clock: this.clock, idleMs: deps.settings.sessionIdleMs });
    this.live = new LiveServer({
      aggregator: deps.aggregator,
      sessions: this.sessions,
      mode: () => this.accessMode,
      clock: this.clock,
      pushIntervalMs: deps.settings.pushIntervalMs,
      logger: deps.logger,
      deadLetterStats: () => {
        const { records, bytes, dropped, full } = deps.status.status().deadLetter;
        return { records, bytes, dropped, full };
      },
    });
  }

  get accessMode(): AccessMode {
    return accessMode(this.deps.registry(), this.deps.settings.bind);
  }

  async start(): Promise<void> {
    const { bind, httpPort, httpsPort } = this.deps.settings;
    assertDashboardBind(this.deps.registry(), bind);
    const app = this.app(await loadGeo());
    const server = createServer(app);
    this.live.attach(server);
    const material = this.deps.tls;
    const httpsServer = material && createHttpsServer({ ...material }, app);
    if (httpsServer) this.live.attachAlso(httpsServer);
    try {
      await listenOn(server, httpPort, plaintextBind(this.deps.settings, material !== undefined));
      if (httpsServer) await listenOn(httpsServer, httpsPort, bind, 'VALLEY_HTTPS_PORT / --https-port');
    } catch (error) {
      await this.live.close();
      throw error;
    }
    server.on('error', (err) => this.log.error({ err }, 'HTTP listener error'));
    httpsServer?.on('error', (err) => this.log.error({ err }, 'HTTPS listener error'));
    httpsServer?.on('tlsClientError', (err, socket) =>
      this.log.info({ address: socket.remoteAddress, err: err.message }, 'HTTPS: TLS handshake failed'),
    );
    this.server = server;
    if (this.deps.metrics && this.deps.settings.metricsToken === undefined && !isLoopback(bind))
      this.log.warn(
        { bind },
        '/metrics answers 403 on this bind until VALLEY_METRICS_TOKEN / --metrics-token is set',
      );
    this.httpsServer = httpsServer;
  }

  /** A renewed certificate (SIGHUP) for the connections that come next. */
  setSecureContext(material: TlsMaterial): void {
    this.httpsServer?.setSecureContext({ ...material });
  }

  /** The HTTPS listener; undefined without a certificate. */
  get httpsAddress(): AddressInfo | undefined {
    return this.httpsServer?.address() as AddressInfo | undefined;
  }

  /** The HTTPS base URL for the start log line; undefined without a certificate. */
  get httpsUrl(): string | undefined {
    const a = this.httpsAddress;
    return a && `https://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** After a registry reload: sessions of removed or changed users end; open → login drops anonymous clients. */
  registryReloaded(): void {
    const revoked = this.sessions.setRegistry(this.deps.registry());
    if (revoked > 0) this.log.info({ sessions: revoked }, 'dashboard sessions ended by the registry reload');
    if (this.accessMode === 'closed')
      this.log.error(
        'the registry has no users on a public bind: the dashboard refuses everyone until one is added',
      );
    this.live.enforceAccess();
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

  /**
   * Stops listening and disconnects the live clients; requests in progress get a short grace,
   * idle keep-alive sockets go at once, delayed login answers are sent now.
   */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const httpsServer = this.httpsServer;
    this.server = undefined;
    this.httpsServer = undefined;
    this.delays.cancelAll();
    const closed = Promise.all([once(server, 'close'), httpsServer && once(httpsServer, 'close')]);
    // Armed first: Socket.IO's close() calls server.close() and waits for it, which waits for every
    // connection, including one a browser opened ahead of a request it never sent (Chromium's
    // preconnect). Node keeps such a socket until its headersTimeout, 60 s: a gateway restart
    // with a dashboard page open took a minute to stop.
    const timer = setTimeout(() => {
      server.closeAllConnections();
      httpsServer?.closeAllConnections();
    }, CLOSE_GRACE_MS);
    try {
      const live = this.live.close();
      httpsServer?.close();
      server.closeIdleConnections();
      httpsServer?.closeIdleConnections();
      await Promise.all([live, closed]);
    } finally {
      clearTimeout(timer);
    }
  }

  private app(geo: GeoAnswer): Express {
    const { settings, status, registry } = this.deps;
    const mode = (): AccessMode => this.accessMode;
    const app = express();
    app.disable('x-powered-by');
    // API answers are live figures: no caching by browsers or proxies, no 304s.
    app.set('etag', false);
    app.use(
      helmet({
        contentSecurityPolicy: {
          directives: {
            // Everything from this server, nothing from a CDN. Inline style attributes are allowed
            // for the SVG map and charts; scripts never inline.
            defaultSrc: ["'self'"],
            scriptSrc: ["'self'"],
            styleSrc: ["'self'", "'unsafe-inline'"],
            fontSrc: ["'self'"],
            imgSrc: ["'self'", 'data:'],
            // Socket.IO's WebSocket: 'self' covers ws: in current browsers, the explicit origin
            // the older ones.
            connectSrc: ["'self'", (req: IncomingMessage) => webSocketOrigin(req)],
            // The same app answers on plain HTTP too (loopback, or a LAN address when allowed),
            // where upgrading subresources to https would break the dashboard.
            upgradeInsecureRequests: null,
          },
        },
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
    // Before the session middleware: Prometheus has a token, not a cookie (routes/metrics.ts).
    if (this.deps.metrics)
      app.use(metricsRoutes(this.deps.metrics, { bind: settings.bind, token: settings.metricsToken }));
    app.use(authenticate({ sessions: this.sessions, mode }));
    // Every state change from another site is refused, whatever the route (auth/middleware.ts).
    app.use(originGuard);
    // The roles of auth/policy.ts's table, before any route of it.
    app.use(accessGuard());
    app.use(
      authRoutes({
        sessions: this.sessions,
        users: () => registry().users,
        mode,
        throttle: this.deps.loginThrottle,
        gate: this.gate,
        delays: this.delays,
        log: this.log,
      }),
    );
    app.use('/api', requireSession);
    app.use(statusRoutes(status));
    app.use(registryRoutes(registry));
    app.use(geoRoutes(geo));
    app.use(historyRoutes({ history: this.deps.history, registry, clock: this.clock, log: this.log }));
    if (this.deps.deadLetters) app.use(deadLetterRoutes(this.deps.deadLetters));
    app.use(staticRoutes(this.deps.webDir ?? WEB_DIST));
    app.use(notFound);
    app.use(errorHandler(this.log));
    return app;
  }
}

/** `ws://host:port` of this request, or nothing when the Host header is not a plain host[:port]. */
function webSocketOrigin(req: IncomingMessage): string {
  const host = req.headers.host ?? '';
  return /^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9A-Fa-f:.]+\](:\d+)?$/.test(host) ? `ws://${host} wss://${host}` : '';
}

function listenOn(
  server: Server | HttpsServer,
  port: number,
  host: string,
  setting = 'VALLEY_HTTP_PORT / --http-port',
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(portError(err, host, port, setting)));
    server.listen(port, host, () => resolve());
  });
}

function portError(err: Error, host: string, port: number, setting: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new Error(`HTTP port ${port} on ${host} is already in use; choose another with ${setting}`);
  if (code === 'EACCES')
    return new Error(`not allowed to listen on ${host}:${port} (HTTP); choose another port with ${setting}`);
  if (code === 'EADDRNOTAVAIL')
    return new Error(`address ${host} is not available on this host; check VALLEY_BIND / --bind`);
  return err;
}
