/**
 * The composition root: builds the bus and every module, starts them in order (gateway → broker
 * → HTTP → demo fleet) and stops them in reverse. Only this file wires modules together.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Bus } from '../contract/index.js';
import type { RegistryIndex } from '../config/registry-schema.js';
import type { Settings, SinkConfig } from '../config/settings.js';
import { certificateValidTo, type TlsMaterial } from '../config/tls.js';
import { Broker } from '../broker/broker.js';
import { SystemAlerts } from '../gateway/alerts/system-alerts.js';
import { BackpressureOutbox } from '../gateway/backpressure.js';
import { LiveRepublisher } from '../gateway/live.js';
import { DashboardAggregator, feedFromBus } from '../dashboard/aggregate/index.js';
import { assertDashboardBind } from '../dashboard/auth/access.js';
import { HttpServer } from '../dashboard/server.js';
import { DashboardStateStore, PeriodicStateSave } from '../dashboard/state-store.js';
import { warmStart } from '../dashboard/warm-start.js';
import { GatewayMetrics } from '../dashboard/metrics.js';
import { LoginThrottle } from '../broker/login-throttle.js';
import { InfluxHistory } from '../gateway/history/influx-history.js';
import { LocalHistory } from '../gateway/history/local-history.js';
import type { HistorySource } from '../gateway/history/source.js';
import type { ValleyStatus } from '../dashboard/status-schema.js';
import { DataDirLock } from '../gateway/data-lock.js';
import { FileDeadLetterLog } from '../gateway/deadletter.js';
import { DeadLetterReplay } from '../gateway/deadletter-replay.js';
import { Drainer } from '../gateway/drainer.js';
import { Ingest } from '../gateway/ingest/ingest.js';
import type { Logger } from '../gateway/logger.js';
import { FileOutbox } from '../gateway/outbox.js';
import { createSink } from '../gateway/sinks/index.js';
import { StatsReporter } from '../gateway/stats-reporter.js';
import {
  type Clock,
  type Outbox,
  type Sink,
  type SyncFn,
  defaultSync,
  systemClock,
} from '../gateway/types.js';
import { RegistryReloader } from './registry-reload.js';
import { StartupSinkCheck } from './sink-check.js';
import { buildStatus } from './status.js';
import { packageVersion } from './version.js';

export interface ValleyOptions {
  settings: Settings;
  sink: SinkConfig;
  registry: RegistryIndex;
  logger: Logger;
  clock?: Clock;
  /** Tests inject a sync that holds or fails; default fdatasync. */
  sync?: SyncFn;
  /** Tests inject a sink; default from `sink`. */
  sinkOverride?: Sink;
  random?: () => number;
  /** The registry file to watch (hot reload, SIGHUP); without it the registry never changes. */
  registryPath?: string;
  /** How often system alert conditions are sampled; default 1 s. */
  alertCheckIntervalMs?: number;
  /** Read and checked by loadTlsMaterial: MQTTS, WSS and HTTPS listen too. */
  tls?: TlsMaterial;
}

export class Valley {
  readonly bus: Bus;
  readonly outbox: FileOutbox;
  readonly deadLetter: FileDeadLetterLog;
  /** `GET /api/deadletter`, `POST /api/deadletter/replay`. */
  readonly deadLetterReplay: DeadLetterReplay;
  readonly ingest: Ingest;
  readonly broker: Broker;
  readonly drainer: Drainer | undefined;
  readonly sink: Sink | undefined;
  readonly http: HttpServer;
  /** The dashboard's aggregation engine, fed from the bus. */
  readonly aggregator: DashboardAggregator;
  /** What /api/history reads: InfluxDB with a sink, else the rollups rebuilt from the outbox. */
  readonly history: HistorySource;
  private readonly localHistory: LocalHistory | undefined;
  private readonly dashboardState: DashboardStateStore;
  private readonly dashboardSave: PeriodicStateSave;
  private dashboardFeed: (() => void)[] = [];
  /** With a sink: the outbox cap (holds PUBACKs at VALLEY_OUTBOX_MAX). */
  readonly backpressure: BackpressureOutbox | undefined;
  readonly alerts: SystemAlerts;
  /** What `/metrics` serves (a private prom-client registry per gateway). */
  readonly metrics: GatewayMetrics;
  /** What ingest appends to and the drainer commits through: the outbox, behind the cap if any. */
  private readonly queue: Outbox;
  private readonly dataLock: DataDirLock;
  private readonly live: LiveRepublisher;
  private readonly reloader: RegistryReloader | undefined;
  private readonly sinkCheck: StartupSinkCheck | undefined;
  private readonly clock: Clock;
  private version = 'unknown';
  private startedAt = 0;
  private registry: RegistryIndex;
  private readonly stats: StatsReporter;
  private readonly log: Logger;
  private started = false;

  constructor(private readonly options: ValleyOptions) {
    const { settings, logger } = options;
    const clock = options.clock ?? systemClock;
    this.clock = clock;
    this.log = logger.child({ module: 'valley' });
    this.registry = options.registry;
    this.bus = new Bus((event, error) => this.log.error({ event, err: error }, 'a bus listener failed'));
    const sync = options.sync ?? defaultSync;
    this.sink =
      options.sinkOverride ??
      createSink(options.sink, {
        timeoutMs: settings.sinkTimeoutMs,
        gzip: settings.sinkGzip,
      });
    this.outbox = new FileOutbox({
      dir: join(settings.dataDir, 'outbox'),
      segmentBytes: settings.segmentBytes,
      clock,
      logger,
      sync,
      // Without a sink the outbox is the store (DESIGN): bounded by age and size, counted and logged.
      ...(!this.sink && {
        localOnly: true,
        retention: { maxAgeMs: settings.retentionAgeMs, maxBytes: settings.retentionBytes },
      }),
    });
    // With a sink nothing unsent may be evicted: the cap holds PUBACKs instead (DESIGN).
    this.backpressure =
      this.sink &&
      new BackpressureOutbox({
        outbox: this.outbox,
        capBytes: settings.outboxMaxBytes,
        maxHeldAppends: settings.heldAppendsMax,
        maxHeldBytes: settings.heldBytesMax,
        clock,
        logger,
      });
    this.queue = this.backpressure ?? this.outbox;
    this.dataLock = new DataDirLock(settings.dataDir);
    // Read at scrape time only, after start(): status() and the HTTP server exist by then.
    this.metrics = new GatewayMetrics({
      status: { status: () => this.status() },
      socketClients: () => this.http.live.clientCount(),
    });
    this.deadLetter = new FileDeadLetterLog({
      dir: join(settings.dataDir, 'deadletter'),
      maxBytes: settings.deadLetterMaxBytes,
      deviceBytes: settings.deadLetterDeviceBytes,
      clock,
      logger,
      sync,
    });
    this.drainer = this.sink
      ? new Drainer({
          outbox: this.queue,
          sink: this.sink,
          deadLetter: this.deadLetter,
          clock,
          logger,
          settings,
          ...(options.random && { random: options.random }),
          // A write still out when the shutdown flush ends is abandoned: it is resent at the next
          // start (InfluxDB overwrites the same points), and the exit stays within the flush time.
          stopTimeoutMs: 1000,
          onWrite: (write) => this.metrics.observeSinkWrite(write),
        })
      : undefined;
    this.sinkCheck = this.sink && new StartupSinkCheck(this.sink, this.log, clock);
    this.ingest = new Ingest({
      registry: () => this.registry,
      outbox: this.queue,
      deadLetter: this.deadLetter,
      bus: this.bus,
      clock,
      logger,
      settings,
      // Called only after start(), when the broker exists.
      publish: (topic, payload, opts) => this.broker.publish(topic, payload, opts),
    });
    this.broker = new Broker({
      ingest: (deviceId, payload, options) => this.ingest.ingest(deviceId, payload, options),
      registry: () => this.registry,
      bus: this.bus,
      clock,
      logger,
      settings,
      tls: options.tls,
    });
    const publish = this.broker.publish.bind(this.broker);
    this.alerts = new SystemAlerts({
      bus: this.bus,
      publish,
      clock,
      logger,
      registry: () => this.registry,
      settings,
      sources: {
        ...(this.drainer && { drainer: this.drainer, sinkDescription: this.sink?.description }),
        outbox: this.outbox,
        ...(this.backpressure && { backpressure: this.backpressure }),
        deadLetter: this.deadLetter,
        connectedDevices: () => this.broker.connectedDevices(),
      },
      ...(options.alertCheckIntervalMs !== undefined && { checkIntervalMs: options.alertCheckIntervalMs }),
    });
    this.live = new LiveRepublisher({
      bus: this.bus,
      publish,
      logger,
      hasSubscribers: () => this.broker.hasLiveSubscribers(),
    });
    this.reloader =
      options.registryPath === undefined
        ? undefined
        : new RegistryReloader({
            path: options.registryPath,
            bind: settings.bind,
            logger,
            clock,
            bus: this.bus,
            current: () => this.registry,
            replace: (next) => (this.registry = next),
            disconnect: (id) => this.broker.disconnect(id),
            forgetDevice: (id) => {
              this.ingest.forgetDevice(id);
              this.broker.forgetDevice(id);
            },
          });
    this.aggregator = new DashboardAggregator({
      registry: this.registry,
      // UV-only (or no) disinfection: free chlorine reads 0 by design, the low limit does not apply.
      chlorinated: (site) => site.disinfection !== 'uv' && site.disinfection !== 'none',
    });
    this.dashboardState = new DashboardStateStore(settings.dataDir, logger);
    this.dashboardSave = new PeriodicStateSave(
      this.dashboardState,
      () => this.aggregator.save(clock.now()),
      this.log,
    );
    const sinkConfig = options.sink;
    this.localHistory =
      sinkConfig.mode === 'local-only'
        ? new LocalHistory({ bus: this.bus, registry: () => this.registry, logger })
        : undefined;
    this.history =
      this.localHistory ??
      new InfluxHistory({
        sink: sinkConfig as Exclude<SinkConfig, { mode: 'local-only' }>,
        lagMs: (now) => {
          const oldest = this.queue.stats().oldestReceivedAt;
          return oldest === undefined ? null : Math.max(0, now - oldest);
        },
        timeoutMs: settings.sinkTimeoutMs,
      });
    this.deadLetterReplay = new DeadLetterReplay({
      deadLetter: this.deadLetter,
      dir: join(settings.dataDir, 'deadletter'),
      ingest: this.ingest,
      outbox: this.queue,
      clock,
      logger,
      sync,
    });
    this.http = new HttpServer({
      deadLetters: this.deadLetterReplay,
      settings,
      logger,
      clock,
      status: { status: () => this.status() },
      registry: () => this.registry,
      aggregator: this.aggregator,
      history: this.history,
      // Its own table: dashboard logins and MQTT logins are separate doors with separate counts.
      loginThrottle: new LoginThrottle(clock, settings.loginDelayBaseMs, settings.loginDelayMaxMs),
      tls: options.tls,
      metrics: this.metrics,
    });
    this.stats = new StatsReporter(
      () => {
        const outbox = this.outbox.stats();
        return {
          counts: this.ingest.counts,
          backlogRecords: outbox.backlogRecords,
          oldestReceivedAt: outbox.oldestReceivedAt,
          sinkState: this.drainer ? this.drainer.stats().state : 'local-only',
          connectedDevices: this.broker.connectedDevices().length,
        };
      },
      this.log,
      settings.statsIntervalMs,
      () => clock.now(),
    );
  }

  get currentRegistry(): RegistryIndex {
    return this.registry;
  }

  /** Why the registry file on disk is not in force (one line per problem); empty when it is. */
  get registryProblems(): readonly string[] {
    return this.reloader?.problems ?? [];
  }

  /** SIGHUP: re-read the registry file now (no-op without `registryPath`). Never rejects. */
  reloadRegistry(): Promise<void> {
    return this.reloader?.reload() ?? Promise.resolve();
  }

  /** SIGHUP with TLS on: a renewed certificate (already checked) for new connections. */
  reloadTls(material: TlsMaterial): void {
    this.broker.setSecureContext(material);
    this.http.setSecureContext(material);
    this.log.info({ certificateValidTo: certificateValidTo(material) }, 'TLS certificate reloaded');
  }

  /** The snapshot behind /api/status and /readyz. */
  status(): ValleyStatus {
    const ping = this.sinkCheck?.result;
    return buildStatus({
      version: this.version,
      startedAt: this.startedAt,
      now: this.clock.now(),
      sinkConfig: this.options.sink,
      sinkDescription: this.sink?.description,
      drainer: this.drainer?.stats(),
      ping,
      ingest: this.ingest.counts,
      outbox: this.queue.stats(),
      deadLetter: this.deadLetter.stats(),
      registry: this.registry,
      broker: {
        listening: this.broker.listening,
        counts: this.broker.counts,
        connectedDevices: this.broker.connectedDevices(),
      },
      alerts: this.alerts.active(),
    });
  }

  async start(): Promise<void> {
    const { settings } = this.options;
    this.version = await packageVersion();
    this.startedAt = this.clock.now();
    // Before anything binds: a public dashboard without users is refused outright.
    assertDashboardBind(this.registry, settings.bind);
    await mkdir(settings.dataDir, { recursive: true });
    await this.dataLock.acquire();
    try {
      await this.queue.start();
    } catch (error) {
      await this.dataLock.release();
      throw error;
    }
    await this.deadLetter.start();
    await this.deadLetterReplay.start();
    this.drainer?.start();
    // Before the broker: every reading accepted from now on reaches the dashboard and the rollups,
    // and none arrives while the rollups are rebuilt from the outbox.
    try {
      // One pass over the outbox: the dashboard's state after a restart, and the local rollups.
      const localHistory = this.localHistory;
      await warmStart({
        store: this.dashboardState,
        aggregator: this.aggregator,
        outbox: this.outbox,
        ...(localHistory && { rebuild: (reading) => localHistory.rebuild(reading) }),
        now: () => this.clock.now(),
        logger: this.log,
      });
      this.localHistory?.start();
    } catch (error) {
      await this.stopStorage();
      throw error;
    }
    this.dashboardFeed = [
      feedFromBus(this.bus, this.aggregator, () => this.clock.now()),
      this.bus.on('registry.reloaded', () => {
        this.aggregator.setRegistry(this.registry);
        this.http.registryReloaded();
      }),
    ];
    try {
      await this.broker.start();
    } catch (error) {
      // A busy WebSocket port leaves the TCP listener open: close what did start.
      await this.broker.stop();
      await this.stopStorage();
      throw error;
    }
    try {
      await this.http.start();
    } catch (error) {
      await this.broker.stop();
      await this.stopStorage();
      throw error;
    }
    this.alerts.start();
    this.dashboardSave.start();
    this.live.start();
    await this.reloader?.start();
    this.sinkCheck?.start();
    this.stats.start();
    this.started = true;
    const mqtt = this.broker.mqttAddress;
    const ws = this.broker.wsAddress;
    this.log.info(
      {
        mqtt: `mqtt://${mqtt.address}:${mqtt.port}`,
        websocket: `ws://${ws.address}:${ws.port}/mqtt`,
        dashboard: this.http.url,
        mode: this.sink
          ? this.sink.description
          : 'local-only (no InfluxDB configured; the outbox is the store)',
        devices: this.registry.devices.size,
        dataDir: settings.dataDir,
        ...(this.options.tls && this.tlsAddresses(this.options.tls)),
      },
      'Valley Telemetry gateway started',
    );
  }

  /**
   * Shutdown (SIGTERM/SIGINT): stop accepting (HTTP, then MQTT listeners and socket reads), let
   * in-flight acks finish, flush to the sink while it answers, and leave the rest on disk for the
   * next start. Acks and flush share one budget, `shutdownFlushMs`, so the exit time is bounded.
   */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    const { settings } = this.options;
    const deadline = performance.now() + settings.shutdownFlushMs;
    const remainingMs = (): number => Math.max(0, Math.round(deadline - performance.now()));
    this.stats.stop();
    await this.reloader?.stop();
    this.live.stop();
    await this.alerts.stop();
    await this.sinkCheck?.stop();
    await this.http.stop();
    await this.broker.stopAccepting(remainingMs());
    await this.broker.stop();
    // After the broker: no reading changes the dashboard any more.
    await this.dashboardSave.stop();
    if (this.drainer) {
      const drained = await this.drainer.flush(remainingMs(), { whileAnswering: true });
      if (!drained) {
        const { state, lastError } = this.drainer.stats();
        this.log.warn(
          { backlog: this.outbox.stats().backlogRecords, sink: state, err: lastError },
          state === 'backoff' || state === 'misconfigured'
            ? 'shutdown: InfluxDB is not answering; the backlog stays on disk and drains after the next start'
            : 'shutdown: flush time is up; the rest of the backlog stays on disk and drains after the next start',
        );
      }
    }
    await this.stopStorage();
    this.stats.report();
    this.log.info('Valley Telemetry gateway stopped');
  }

  private tlsAddresses(material: TlsMaterial): Record<string, string> {
    const mqtts = this.broker.mqttsAddress!;
    const wss = this.broker.wssAddress!;
    return {
      mqtts: `mqtts://${mqtts.address}:${mqtts.port}`,
      wss: `wss://${wss.address}:${wss.port}/mqtt`,
      https: this.http.httpsUrl!,
      certificateValidTo: certificateValidTo(material),
    };
  }

  private async stopStorage(): Promise<void> {
    for (const off of this.dashboardFeed) off();
    this.dashboardFeed = [];
    this.localHistory?.stop();
    await this.drainer?.stop();
    await this.queue.stop();
    await this.deadLetter.stop();
    await this.dataLock.release();
  }
}
