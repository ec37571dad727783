/**
 * One device's MQTT connection (MQTT.js): client id = username = device id, a retained `offline`
 * will and a retained `online` on connect, a subscription to its own rejects, QoS 1 publishes that
 * resolve on PUBACK, and reconnects with exponential backoff and jitter (MQTT.js only knows a
 * fixed period). The only place in simulators/ that talks to the MQTT library.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { clearTimeout, setTimeout } from 'node:timers';
import { rejectMessageSchema, topics, type RejectMessage } from '../contract/index.js';
import type { SimLogger } from './logger.js';
import type { Random } from './random.js';

export type QoS = 0 | 1 | 2;

export interface DeviceClientOptions {
  url: string;
  deviceId: string;
  secret: string;
  random: Random;
  logger: SimLogger;
  onReject?: (reject: RejectMessage) => void;
  /** First reconnect delay and cap, ms. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export class DeviceClient {
  private client: MqttClient | undefined;
  private stopped = false;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private closeWaiters: (() => void)[] = [];
  /** Connections made (the first and every reconnect). */
  connects = 0;

  constructor(private readonly options: DeviceClientOptions) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Connects; resolves once connected and subscribed, or rejects on the first failure (the client keeps retrying). */
  start(): Promise<void> {
    const { url, deviceId, secret } = this.options;
    const client = mqtt.connect(url, {
      clientId: deviceId,
      username: deviceId,
      password: secret,
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      will: { topic: topics.status(deviceId), payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client = client;
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    return new Promise<void>((resolve, reject) => {
      let first = true;
      client.on('connect', () => {
        this.attempts = 0;
        this.connects++;
        client.publish(topics.status(deviceId), 'online', { qos: 1, retain: true }, () => {});
        client.subscribe(topics.rejects(deviceId), { qos: 1 }, (err) => {
          if (err) this.options.logger.warn({ deviceId, err: err.message }, 'could not subscribe to rejects');
          if (first) {
            first = false;
            resolve();
          }
        });
      });
      client.on('error', (err) => {
        this.options.logger.debug({ deviceId, err: err.message }, 'MQTT error');
        if (first) {
          first = false;
          reject(err);
        }
      });
      client.on('close', () => {
        for (const w of this.closeWaiters.splice(0)) w();
        this.scheduleReconnect();
      });
    });
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer !== undefined) return;
    const base = this.options.backoffBaseMs ?? 500;
    const max = this.options.backoffMaxMs ?? 30_000;
    const delay = Math.min(max, base * 2 ** this.attempts) * (0.5 + this.options.random() / 2);
    this.attempts = Math.min(this.attempts + 1, 20);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped) this.client?.reconnect();
    }, delay);
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic !== topics.rejects(this.options.deviceId)) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const reject = rejectMessageSchema.safeParse(parsed);
    if (reject.success) this.options.onReject?.(reject.data);
    else
      this.options.logger.warn(
        { deviceId: this.options.deviceId },
        'unreadable message on the rejects topic',
      );
  }

  /** Publishes; resolves on PUBACK (QoS 1/2) or once written (QoS 0); rejects when the client is stopped first. */
  publish(topic: string, payload: string, qos: QoS): Promise<void> {
    const client = this.client;
    if (!client || this.stopped) return Promise.reject(new Error('device client is stopped'));
    this.inFlight++;
    return new Promise<void>((resolve, reject) => {
      client.publish(topic, payload, { qos }, (err) => {
        this.inFlight--;
        if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
        if (err) reject(err);
        else resolve();
      });
    });
  }

  /** Resolves when no publish waits for its acknowledgement. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves true when the connection closes within `timeoutMs`. */
  waitForClose(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.closeWaiters = this.closeWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.closeWaiters.push(done);
    });
  }

  /** Says `offline` (retained) when connected, then disconnects cleanly; no reconnect after this. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    for (const w of this.closeWaiters.splice(0)) w();
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      await Promise.race([
        client
          .publishAsync(topics.status(this.options.deviceId), 'offline', { qos: 1, retain: true })
          .catch(() => undefined),
        new Promise((r) => setTimeout(r, 1000).unref()),
      ]);
    }
    await client.endAsync(!client.connected);
  }
}

/** Tries a CONNECT with a wrong secret: 'refused' with the CONNACK code, or 'accepted'. */
export async function probeWrongSecret(
  url: string,
  deviceId: string,
): Promise<
  | { outcome: 'refused'; code: number | undefined }
  | { outcome: 'accepted' }
  | { outcome: 'error'; message: string }
> {
  try {
    const client = await mqtt.connectAsync(
      url,
      {
        clientId: deviceId,
        username: deviceId,
        password: 'not-the-secret-of-this-device',
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 15_000,
        // false: a server that closes the socket without a CONNACK rejects too, instead of hanging.
      },
      false,
    );
    await client.endAsync(true);
    return { outcome: 'accepted' };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return { outcome: 'refused', code };
    return { outcome: 'error', message: (err as Error).message };
  }
}
