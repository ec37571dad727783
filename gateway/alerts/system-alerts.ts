/**
 * The gateway's own alerts (DESIGN: device offline, sink down or misconfigured, outbox
 * back-pressure, dead-letter full), published retained on `valley/alerts/system/{alertId}` while
 * active and cleared when resolved (see alert-board.ts), emitted on the bus, and listed by
 * `active()` for /api/status. Presence comes from bus events; the other conditions are sampled
 * every `checkIntervalMs` from the parts' stats, which costs nothing on the ingest path. Messages
 * are written for the person on call: they name the device, the sink or the limit, and say what
 * happens to the data meanwhile.
 */
import { systemAlertIds, topics, type Alert, type Bus, type BusEvents } from '../../contract/index.js';
import type { RegistryIndex } from '../../config/registry-schema.js';
import type { Settings } from '../../config/settings.js';
import type { BackpressureState } from '../backpressure.js';
import type { DrainerState } from '../drainer.js';
import type { PublishFn } from '../ingest/ingest.js';
import type { Logger } from '../logger.js';
import type { Clock, OutboxStats } from '../types.js';
import { AlertBoard } from './alert-board.js';
import { DevicePresence, type OfflineCause, type Transition } from './device-presence.js';

/** Read-only views of the parts whose state the alerts watch. */
export interface SystemAlertSources {
  /** Absent in local-only mode: no sink alerts. */
  drainer?: { stats(): { state: DrainerState; lastError?: string; deadLetterBlocked?: boolean } };
  sinkDescription?: string;
  outbox: { stats(): OutboxStats };
  /** Absent in local-only mode (retention instead of a cap). */
  backpressure?: { state(): BackpressureState };
  deadLetter: { stats(): { full: boolean; dropped: number } };
  connectedDevices(): readonly string[];
}

export interface SystemAlertsDeps {
  bus: Bus;
  publish: PublishFn;
  clock: Clock;
  logger: Logger;
  registry(): RegistryIndex;
  settings: Pick<Settings, 'offlineGraceMs' | 'sinkDownAfterMs' | 'deadLetterMaxBytes'>;
  sources: SystemAlertSources;
  /** How often conditions are sampled and overdue devices looked for. Default 1 s. */
  checkIntervalMs?: number;
}

const CAUSES: Record<OfflineCause, string> = {
  startup: 'it has not connected since the gateway started',
  added: 'it has not connected since it was added to the registry',
  disconnected: 'its MQTT connection ended',
  status: 'it reported "offline" on its status topic (or its last will did)',
};

const iso = (ms: number): string => new Date(ms).toISOString();

/** `1.9 GiB`, `64 MiB`, `512 B`: a backlog size for a person, not an exact setting value. */
export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1).replace(/\.0$/, '')} ${units[unit]}`;
}

export class SystemAlerts {
  private readonly log: Logger;
  private readonly board: AlertBoard;
  private readonly presence = new DevicePresence();
  private readonly unsubscribes: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private backoffSince: number | undefined;
  private misconfiguredSince: number | undefined;
  private unwritableSince: number | undefined;

  constructor(private readonly deps: SystemAlertsDeps) {
    this.log = deps.logger.child({ module: 'system-alerts' });
    this.board = new AlertBoard(
      {
        bus: deps.bus,
        publish: deps.publish,
        clock: deps.clock,
        logger: this.log,
        topicOf: (alert) => topics.systemAlert(alert.id),
      },
      'system',
    );
  }

  /** After the broker started: sessions already open count as connected. */
  start(): void {
    if (this.timer !== undefined) return;
    const { bus } = this.deps;
    this.syncDevices('startup');
    this.unsubscribes.push(
      bus.on('device.presence', (e) => this.onPresence(e)),
      bus.on('device.status', (e) => this.onStatus(e)),
      bus.on('registry.reloaded', () => this.syncDevices('added')),
    );
    this.timer = setInterval(() => this.check(), this.deps.checkIntervalMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const off of this.unsubscribes.splice(0)) off();
    await this.board.settled();
  }

  /** The active system alerts, oldest first: what /api/status lists. */
  active(): Alert[] {
    return this.board.active();
  }

  /** Samples every condition now (the timer calls it; tests with a fake clock too). */
  check(): void {
    const now = this.deps.clock.now();
    this.checkDevices(now);
    this.checkSink(now);
    this.checkBackpressure();
    this.checkDeadLetter();
    this.checkOutboxDisk(now);
  }

  private syncDevices(cause: 'startup' | 'added'): void {
    const connected = new Set(this.deps.sources.connectedDevices());
    const ids = this.deps.registry().devices.keys();
    for (const id of this.presence.sync(ids, this.deps.clock.now(), cause, connected)) {
      this.board.resolve(systemAlertIds.deviceOffline(id), `Device ${id} was removed from the registry.`);
    }
  }

  private onPresence(e: BusEvents['device.presence']): void {
    this.afterTransition(e.deviceId, this.presence.session(e.deviceId, e.state === 'online', e.at));
  }

  private onStatus(e: BusEvents['device.status']): void {
    this.afterTransition(e.deviceId, this.presence.status(e.deviceId, e.status, e.at));
  }

  /** Back online: resolve at once. Gone offline: the next check raises it once the grace is over. */
  private afterTransition(id: string, transition: Transition): void {
    if (transition !== 'came-back') return;
    const since = this.presence.get(id)?.offlineSince;
    this.board.resolve(
      systemAlertIds.deviceOffline(id),
      `Device ${id} is online again${since === undefined ? '' : ` (offline since ${iso(since)})`}.`,
    );
  }

  private checkDevices(now: number): void {
    const registry = this.deps.registry();
    for (const [id, p] of this.presence.overdue(now, this.deps.settings.offlineGraceMs)) {
      const alertId = systemAlertIds.deviceOffline(id);
      if (this.board.isActive(alertId)) continue;
      const resolved = registry.devices.get(id);
      const where = resolved
        ? ` (${resolved.device.kind} at ${resolved.site.name}, ${resolved.municipality.name})`
        : '';
      this.board.raise({
        id: alertId,
        severity: 'warning',
        since: p.offlineSince,
        message: `Device ${id}${where} is offline since ${iso(p.offlineSince)}: ${CAUSES[p.cause]}.`,
        deviceId: id,
        ...(resolved && { corridor: resolved.corridor, municipality: resolved.municipality.id }),
      });
    }
  }

  private checkSink(now: number): void {
    const drainer = this.deps.sources.drainer;
    if (drainer === undefined) return;
    const { state, lastError } = drainer.stats();
    if (state === 'stopped') return; // shutting down: nothing to say
    const sink = this.deps.sources.sinkDescription ?? 'InfluxDB';
    const backlog = this.deps.sources.outbox.stats().backlogRecords;
    const error = lastError === undefined ? '' : ` (last error: ${lastError})`;

    this.backoffSince = state === 'backoff' ? (this.backoffSince ?? now) : undefined;
    if (this.backoffSince !== undefined && now - this.backoffSince >= this.deps.settings.sinkDownAfterMs) {
      this.board.raise({
        id: systemAlertIds.sinkDown,
        severity: 'warning',
        since: this.backoffSince,
        message:
          `${sink} has not accepted writes since ${iso(this.backoffSince)}${error}. ` +
          `${backlog} readings wait in the outbox; nothing is lost, they are sent when it answers again.`,
      });
    } else if (state !== 'backoff') {
      this.board.resolve(
        systemAlertIds.sinkDown,
        `${sink} accepts writes again; the ${backlog} readings still waiting are being sent.`,
      );
    }

    this.misconfiguredSince = state === 'misconfigured' ? (this.misconfiguredSince ?? now) : undefined;
    if (this.misconfiguredSince !== undefined) {
      this.board.raise({
        id: systemAlertIds.sinkMisconfigured,
        severity: 'critical',
        since: this.misconfiguredSince,
        message:
          `${sink} refuses the gateway's writes as a configuration error${error}: check INFLUX_URL and ` +
          'the database or bucket and credentials (INFLUX_DB, INFLUX_USERNAME, INFLUX_PASSWORD or ' +
          `INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET). Nothing is dropped: ${backlog} readings wait in the outbox.`,
      });
    } else {
      this.board.resolve(
        systemAlertIds.sinkMisconfigured,
        `${sink} accepts the gateway's writes again; the outbox is draining.`,
      );
    }
  }

  private checkBackpressure(): void {
    const bp = this.deps.sources.backpressure?.state();
    if (bp === undefined) return;
    if (bp.holding) {
      this.board.raise({
        id: systemAlertIds.outboxBackpressure,
        severity: 'critical',
        since: bp.since ?? this.deps.clock.now(),
        message:
          `The outbox holds ${humanSize(bp.backlogBytes)} not yet sent to InfluxDB, its cap ` +
          `(VALLEY_OUTBOX_MAX = ${humanSize(bp.capBytes)}): new readings are not acknowledged, so ` +
          'devices keep them and send again, until InfluxDB takes the backlog. Nothing is dropped.',
      });
    } else {
      this.board.resolve(
        systemAlertIds.outboxBackpressure,
        `The outbox backlog is under its cap (${humanSize(bp.capBytes)}) again: readings are acknowledged again.`,
      );
    }
  }

  private checkDeadLetter(): void {
    const { full, dropped } = this.deps.sources.deadLetter.stats();
    // The drainer keeps trying the same record; a write of another record in between may clear
    // `full` for a moment, the blocked drainer does not.
    const blocked = this.deps.sources.drainer?.stats().deadLetterBlocked === true;
    const cap = humanSize(this.deps.settings.deadLetterMaxBytes);
    if (full || blocked) {
      this.board.raise({
        id: systemAlertIds.deadLetterFull,
        severity: 'warning',
        since: this.deps.clock.now(),
        message:
          `The dead-letter log is full or cannot be written (cap ${cap}, VALLEY_DEADLETTER_MAX): ` +
          `rejected readings are still refused and counted, but kept without a record (${dropped} so far).` +
          (blocked
            ? ' A reading InfluxDB refused cannot be recorded either: the outbox is not sent past it ' +
              'until it can (the drainer retries), so the backlog grows.'
            : ''),
      });
    } else {
      this.board.resolve(
        systemAlertIds.deadLetterFull,
        `The dead-letter log records rejects again (cap ${cap}).`,
      );
    }
  }

  /** A full or failing disk under the outbox: nothing new can be acknowledged until it writes again. */
  private checkOutboxDisk(now: number): void {
    const { writable, writeError } = this.deps.sources.outbox.stats();
    this.unwritableSince = writable ? undefined : (this.unwritableSince ?? now);
    if (this.unwritableSince !== undefined) {
      this.board.raise({
        id: systemAlertIds.outboxUnwritable,
        severity: 'critical',
        since: this.unwritableSince,
        message:
          `The outbox cannot write to disk since ${iso(this.unwritableSince)}` +
          `${writeError === undefined ? '' : ` (${writeError})`}: new readings are not acknowledged, ` +
          'so devices keep them and send again; the gateway retries in a new segment. Readings ' +
          'already acknowledged are safe on disk. Free space in VALLEY_DATA_DIR (or bring InfluxDB ' +
          'back so drained segments are deleted).',
      });
    } else {
      this.board.resolve(
        systemAlertIds.outboxUnwritable,
        'The outbox writes to disk again: readings are acknowledged again.',
      );
    }
  }
}
