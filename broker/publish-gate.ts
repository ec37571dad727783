/**
 * The per-device rate limit applied to `readings` publishes inside authorizePublish: a message
 * goes on at once, waits for its token (shaping: its PUBACK comes later), or is refused and
 * acknowledged (docs/contract.md). Refusals are counted per message and told to the device at most
 * once per second, so a looping device cannot flood its rejects topic or the log.
 */
import { type Bus, type RejectMessage, topics } from '../contract/index.js';
import type { Logger } from '../gateway/logger.js';
import type { Clock } from '../gateway/types.js';
import { DeviceRateLimiter, type RateLimitSettings } from './rate-limit.js';
import type { RefusalCounter } from './refusal-counter.js';

export type AedesDone = (error?: Error | null) => void;

export interface PublishGateDeps {
  clock: Clock;
  bus: Bus;
  log: Logger;
  settings: RateLimitSettings;
  refusals: RefusalCounter;
  publish: (topic: string, payload: string, opts: { qos: 0 | 1; retain: boolean }) => Promise<void>;
}

export class PublishGate {
  private readonly limiter: DeviceRateLimiter;
  /** Messages waiting for their rate-limit token, with their Aedes callbacks. */
  private readonly shaped = new Map<NodeJS.Timeout, AedesDone>();

  constructor(private readonly deps: PublishGateDeps) {
    this.limiter = new DeviceRateLimiter(deps.clock, deps.settings);
  }

  /** Calls `forward` now or once the token is there; a refused message is answered with `done`. */
  admit(deviceId: string, forward: () => void, done: AedesDone): void {
    const rate = this.limiter.admit(deviceId);
    if (!rate.admitted) {
      this.rateLimited(deviceId, rate.notice);
      // Acknowledged like every reject (docs/contract.md): a device that is not answered resends,
      // which is the opposite of slowing down. The reading is refused, not stored.
      return done(null);
    }
    if (rate.delayMs === 0) return forward();
    // Over the rate but within the shaping delay: the message (and so its PUBACK) waits for its
    // token, which paces a device that waits for its acks without refusing anything.
    const timer = setTimeout(() => {
      this.shaped.delete(timer);
      forward();
    }, rate.delayMs);
    this.shaped.set(timer, done);
  }

  /** A revoked, removed or moved device: its bucket is freed. */
  forget(deviceId: string): void {
    this.limiter.forget(deviceId);
  }

  /**
   * Shutdown: the messages still waiting for their token are neither stored nor acknowledged;
   * returns their callbacks for the broker to answer when the sessions close.
   */
  drain(): AedesDone[] {
    const waiting = [...this.shaped].map(([timer, done]) => {
      clearTimeout(timer);
      return done;
    });
    this.shaped.clear();
    return waiting;
  }

  /**
   * Counted and on the bus per message (dashboard, status); published to the device and logged at
   * most once per device per second with how many were refused, so a looping device cannot make
   * the gateway flood its rejects topic or its log. No dead-letter record: see docs/decisions.md.
   */
  private rateLimited(deviceId: string, notice: { dropped: number } | undefined): void {
    this.deps.refusals.counts.rateLimited++;
    this.deps.refusals.count('rate_limited');
    const { rateLimitPerSecond, rateBurst } = this.deps.settings;
    const limit = `${rateLimitPerSecond} messages/s with a burst of ${rateBurst}`;
    const reject: RejectMessage = {
      code: 'E_RATE_LIMIT',
      message: `more than ${limit}: message refused`,
      receivedAt: this.deps.clock.now(),
    };
    this.deps.bus.emit('readings.rejected', { deviceId, rejects: [reject] });
    if (!notice) return;
    this.deps.log.warn(
      { deviceId, code: 'E_RATE_LIMIT', dropped: notice.dropped, limit },
      'messages refused by the rate limit',
    );
    const message: RejectMessage = {
      ...reject,
      message: `more than ${limit}: ${notice.dropped} message(s) refused since the previous notice`,
      dropped: notice.dropped,
    };
    this.deps
      .publish(topics.rejects(deviceId), JSON.stringify(message), { qos: 1, retain: false })
      .catch((err: unknown) =>
        this.deps.log.warn({ deviceId, err }, 'could not publish a rate-limit reject'),
      );
  }
}
