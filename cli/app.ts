/**
 * The composition root: builds the bus and every module, starts them in order (gateway → broker
 * → HTTP → demo fleet) and stops them in reverse. Only this file wires modules together.
 */
import { join } from 'node:path';
import { Bus } from '../contract/index.js';
import type { RegistryIndex } from '../config/registry-schema.js';
import type { Settings, SinkConfig } from '../config/settings.js';
import { Broker } from '../broker/broker.js';
import { FileDeadLetterLog } from '../gateway/deadletter.js';
import { Drainer } from '../gateway/drainer.js';
import { Ingest } from '../gateway/ingest/ingest.js';
import type { Logger } from '../gateway/logger.js';
import { FileOutbox } from '../gateway/outbox.js';
import { createSink } from '../gateway/sinks/index.js';
import { StatsReporter } from '../gateway/stats-reporter.js';
import { type Clock, type Sink, type SyncFn, defaultSync, systemClock } from '../gateway/types.js';

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
}

export class Valley {
  readonly bus: Bus;
  readonly outbox: FileOutbox;
  readonly deadLetter: FileDeadLetterLog;
  readonly ingest: Ingest;
  readonly broker: Broker;
  readonly drainer: Drainer | undefined;
  readonly sink: Sink | undefined;
  private registry: RegistryIndex;
  private readonly stats: StatsReporter;
  private readonly log: Logger;
  private started = false;

  constructor(private readonly options: ValleyOptions) {
    const { settings, logger } = options;
    const clock = options.clock ?? systemClock;
    this.log = logger.child({ module: 'valley' });
    this.registry = options.registry;
    this.bus = new Bus((event, error) => this.log.error({ event, err: error }, 'a bus listener failed'));
    const sync = options.sync ?? defaultSync;
    this.sink = options.sinkOverride ?? createSink(options.sink, { timeoutMs: settings.sinkTimeoutMs });
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
          outbox: this.outbox,
          sink: this.sink,
          deadLetter: this.deadLetter,
          clock,
          logger,
          settings,
          ...(options.random && { random: options.random }),
        })
      : undefined;
    this.ingest = new Ingest({
      registry: () => this.registry,
      outbox: this.outbox,
      deadLetter: this.deadLetter,
      bus: this.bus,
      clock,
      logger,
      settings,
      // Called only after start(), when the broker exists.
      publish: (topic, payload, opts) => this.broker.publish(topic, payload, opts),
    });
    this.broker = new Broker({
      ingest: (deviceId, payload) => this.ingest.ingest(deviceId, payload),
      registry: () => this.registry,
      bus: this.bus,
      clock,
      logger,
      settings,
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

  async start(): Promise<void> {
    const { settings } = this.options;
    await this.outbox.start();
    await this.deadLetter.start();
    this.drainer?.start();
    try {
      await this.broker.start();
    } catch (error) {
      await this.stopStorage();
      throw error;
    }
    this.stats.start();
    this.started = true;
    const mqtt = this.broker.mqttAddress;
    const ws = this.broker.wsAddress;
    this.log.info(
      {
        mqtt: `mqtt://${mqtt.address}:${mqtt.port}`,
        websocket: `ws://${ws.address}:${ws.port}/mqtt`,
        mode: this.sink
          ? this.sink.description
          : 'local-only (no InfluxDB configured; the outbox is the store)',
        devices: this.registry.devices.size,
        dataDir: settings.dataDir,
      },
      'Valley Telemetry gateway started',
    );
  }

  /**
   * Shutdown (SIGTERM/SIGINT): stop accepting, let in-flight acks finish, flush to the sink for
   * at most `shutdownFlushMs` while it answers, and leave the rest on disk for the next start.
   */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    const { settings } = this.options;
    this.stats.stop();
    await this.broker.stopAccepting(settings.shutdownFlushMs);
    await this.broker.stop();
    if (this.drainer) {
      const drained = await this.drainer.flush(settings.shutdownFlushMs);
      const left = this.outbox.stats().backlogRecords;
      if (!drained)
        this.log.warn({ backlog: left }, 'shutdown: backlog left on disk; it drains after the next start');
    }
    await this.stopStorage();
    this.stats.report();
    this.log.info('Valley Telemetry gateway stopped');
  }

  private async stopStorage(): Promise<void> {
    await this.drainer?.stop();
    await this.outbox.stop();
    await this.deadLetter.stop();
  }
}
