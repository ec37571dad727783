/**
 * The alerts in force and their MQTT life cycle. An active alert is a retained message on its
 * topic, so an operator who subscribes later still sees it. A resolved alert is published once,
 * not retained (those watching see it end), and then the retained message is cleared with an
 * empty retained payload, so nobody subscribing later is shown an alert that is over. Publishes go
 * out one at a time in order: a quick raise-then-resolve must not reach the broker reversed.
 */
import type { Alert, Bus } from '../../contract/index.js';
import type { PublishFn } from '../ingest/ingest.js';
import type { Logger } from '../logger.js';
import type { Clock } from '../types.js';

export interface AlertBoardDeps {
  bus: Bus;
  publish: PublishFn;
  clock: Clock;
  logger: Logger;
  /** Where an alert goes, e.g. `valley/alerts/system/{id}`. */
  topicOf(alert: Alert): string;
}

export type NewAlert = Omit<Alert, 'state' | 'source'>;

const CLEAR = Buffer.alloc(0);

export class AlertBoard {
  private readonly alerts = new Map<string, Alert>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: AlertBoardDeps,
    private readonly source: Alert['source'],
  ) {}

  isActive(id: string): boolean {
    return this.alerts.has(id);
  }

  /** The active alerts, oldest first (copies). */
  active(): Alert[] {
    return [...this.alerts.values()].sort((a, b) => a.since - b.since).map((a) => ({ ...a }));
  }

  /** Raises an alert unless it is already active (an active alert is not re-sent every check). */
  raise(fields: NewAlert): void {
    if (this.alerts.has(fields.id)) return;
    const alert: Alert = { ...fields, source: this.source, state: 'active' };
    this.alerts.set(alert.id, alert);
    const level = alert.severity === 'critical' ? 'error' : alert.severity === 'warning' ? 'warn' : 'info';
    this.deps.logger[level](
      { alertId: alert.id, severity: alert.severity },
      `alert raised: ${alert.message}`,
    );
    this.send(alert, JSON.stringify(alert), true);
    this.deps.bus.emit('alert', alert);
  }

  /** Resolves an active alert with a message saying why it is over; nothing if it is not active. */
  resolve(id: string, message: string): void {
    const active = this.alerts.get(id);
    if (active === undefined) return;
    this.alerts.delete(id);
    const alert: Alert = { ...active, state: 'resolved', since: this.deps.clock.now(), message };
    this.deps.logger.info({ alertId: id }, `alert resolved: ${message}`);
    this.send(alert, JSON.stringify(alert), false);
    this.send(alert, CLEAR, true);
    this.deps.bus.emit('alert', alert);
  }

  /** Resolves when every publish so far has been handed to the broker. */
  async settled(): Promise<void> {
    await this.chain;
  }

  private send(alert: Alert, payload: string | Buffer, retain: boolean): void {
    const topic = this.deps.topicOf(alert);
    this.chain = this.chain
      .then(() => this.deps.publish(topic, payload, { qos: 1, retain }))
      .catch((error: unknown) => this.deps.logger.warn({ err: error, topic }, 'could not publish an alert'));
  }
}
