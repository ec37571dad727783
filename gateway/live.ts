/**
 * Republishes every accepted reading, normalized, on `valley/live/{corridor}/{municipality}/
 * {kind}/{deviceId}` for operators (DESIGN "Topics"). It follows the bus event that ingest emits
 * once the readings are durable, so the live view never shows a reading that could still be lost.
 * QoS 0 and not retained: live data is volatile, the next reading repairs a lost one (its values
 * are absolute), and a retained reading would be replayed to a new subscriber as if it were new.
 */
import { topics, type Bus, type NormalizedReading } from '../contract/index.js';
import type { PublishFn } from './ingest/ingest.js';
import type { Logger } from './logger.js';

export interface LiveRepublisherDeps {
  bus: Bus;
  publish: PublishFn;
  /** False when no session can receive `valley/live/...`: nothing is serialized then. */
  hasSubscribers(): boolean;
  logger: Logger;
}

export class LiveRepublisher {
  private readonly log: Logger;
  private unsubscribe: (() => void) | undefined;
  private failures = 0;

  constructor(private readonly deps: LiveRepublisherDeps) {
    this.log = deps.logger.child({ module: 'live' });
  }

  start(): void {
    this.unsubscribe ??= this.deps.bus.on('readings.accepted', ({ readings }) => this.republish(readings));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private republish(readings: readonly NormalizedReading[]): void {
    if (!this.deps.hasSubscribers()) return;
    for (const r of readings) {
      const topic = topics.live(r.corridor, r.municipality, r.kind, r.deviceId);
      this.deps.publish(topic, JSON.stringify(r), { qos: 0, retain: false }).catch((error: unknown) => {
        // Only a closing broker fails a publish: log the first failure and then every 1000th.
        if (this.failures++ % 1000 === 0)
          this.log.warn({ err: error, topic, failures: this.failures }, 'live republish failed');
      });
    }
  }
}
