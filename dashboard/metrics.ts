/**
 * `/metrics` for Prometheus (prom-client). Most figures are read from the status snapshot at
 * scrape time, so there is one source of truth for /api/status and /metrics and nothing to keep in
 * step; only the sink write latency is observed as it happens. A private Registry, not
 * prom-client's global one: two gateways in one test process (or one process embedding two) must
 * not share or collide on metric names.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REJECT_CODES } from '../contract/index.js';
import type { SinkWriteObservation } from '../gateway/drainer.js';
import type { SinkFailureKind } from '../gateway/types.js';
import type { StatusSource, ValleyStatus } from './status-schema.js';

const SINK_FAILURE_KINDS: readonly SinkFailureKind[] = ['rejected', 'config', 'too-large', 'unavailable'];

export interface MetricsDeps {
  status: StatusSource;
  /** Socket.IO clients connected right now. */
  socketClients: () => number;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly sinkWriteSeconds: Histogram;
  private readonly sinkWriteErrors: Counter<'kind'>;
  /** One snapshot per scrape, shared by every collector of that scrape. */
  private snapshot: ValleyStatus | undefined;

  constructor(private readonly deps: MetricsDeps) {
    const registers = [this.registry];
    // Event-loop lag, heap, GC, file descriptors, CPU: the process side of "is the gateway well".
    collectDefaultMetrics({ register: this.registry });
    const snap = (): ValleyStatus => (this.snapshot ??= deps.status.status());
    const counter = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      read: (s: ValleyStatus) => [Partial<Record<L, string>>, number][],
    ) =>
      new Counter<L>({
        name,
        help,
        labelNames,
        registers,
        // The totals live in the modules; a scrape copies them (reset, then set to the total).
        collect() {
          this.reset();
          for (const [labels, value] of read(snap())) this.inc(labels, value);
        },
      });
    const gauge = (name: string, help: string, read: (s: ValleyStatus) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(snap()));
        },
      });

    counter('valley_readings_accepted_total', 'Readings made durable in the outbox.', [], (s) => [
      [{}, s.readings.accepted],
    ]);
    counter(
      'valley_readings_duplicate_total',
      'Repeats of readings already received (acknowledged, not stored again).',
      [],
      (s) => [[{}, s.readings.duplicates]],
    );
    counter(
      'valley_readings_rejected_total',
      'Readings (or messages, for E_JSON and E_RATE_LIMIT) refused, by reject code.',
      ['code'],
      (s) => REJECT_CODES.map((code) => [{ code }, s.readings.rejectedByCode[code]]),
    );
    counter(
      'valley_mqtt_refusals_total',
      'Refused by the MQTT broker, by reason: bad_secret, unknown_id, bad_password, acl_publish, packet_too_large, rate_limited, ...',
      ['reason'],
      (s) => Object.entries(s.broker.refusals).map(([reason, n]) => [{ reason }, n]),
    );
    counter(
      'valley_deadletter_dropped_total',
      'Rejects that got no dead-letter record (log or device share full, disk refused).',
      [],
      (s) => [[{}, s.deadLetter.dropped]],
    );
    gauge('valley_outbox_backlog_records', 'Durable readings not yet in InfluxDB.', (s) => s.backlog.records);
    gauge('valley_outbox_backlog_bytes', 'Bytes of those readings on disk.', (s) => s.backlog.bytes);
    gauge(
      'valley_outbox_oldest_age_seconds',
      'Age of the oldest reading not yet in InfluxDB (0 when none waits).',
      (s) => (s.backlog.ageMs ?? 0) / 1000,
    );
    gauge(
      'valley_outbox_holding',
      '1 while the outbox cap holds PUBACKs (back-pressure).',
      (s) => +s.backlog.holding,
    );
    gauge('valley_deadletter_records', 'Records in the dead-letter log.', (s) => s.deadLetter.records);
    gauge('valley_devices_connected', 'Devices with an MQTT session.', (s) => s.devices.connected);
    gauge('valley_devices_registered', 'Devices in the registry.', (s) => s.devices.registered);
    new Gauge({
      name: 'valley_socketio_clients',
      help: 'Dashboard Socket.IO clients connected.',
      registers,
      collect() {
        this.set(deps.socketClients());
      },
    });
    this.sinkWriteSeconds = new Histogram({
      name: 'valley_sink_write_duration_seconds',
      help: 'Time of one write of a batch to InfluxDB, failed ones included.',
      // From a local InfluxDB (a few ms) to the sink timeout (default 10 s).
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.sinkWriteErrors = new Counter({
      name: 'valley_sink_write_errors_total',
      help: 'Failed writes to InfluxDB, by kind: rejected (400), config (401/403/404), too-large (413), unavailable (429/5xx/network/timeout).',
      labelNames: ['kind'],
      registers,
    });
    // Present at 0 from the start, so rate() and alerts see the series before the first failure.
    for (const kind of SINK_FAILURE_KINDS) this.sinkWriteErrors.inc({ kind }, 0);
  }

  /** The drainer's hook: every write, timed. */
  observeSinkWrite(write: SinkWriteObservation): void {
    this.sinkWriteSeconds.observe(write.seconds);
    if (write.failure) this.sinkWriteErrors.inc({ kind: write.failure });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text; one status snapshot for the whole scrape. */
  async render(): Promise<string> {
    this.snapshot = undefined;
    try {
      return await this.registry.metrics();
    } finally {
      this.snapshot = undefined;
    }
  }
}
