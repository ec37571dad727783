/**
 * The embedded MQTT broker (Aedes) with our listeners, authentication, ACL, size guard and
 * presence. Every `readings` publish is handed to `ingest()` inside authorizePublish, which Aedes
 * waits for before it sends the QoS 1 PUBACK: the ack means durable.
 */
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import type { Bus } from '../contract/index.js';
import type { RegistryIndex } from '../config/registry-schema.js';
import type { TlsMaterial } from '../config/tls.js';
import type { Logger } from '../gateway/logger.js';
import type { Clock, SignalSource } from '../gateway/types.js';
import { type Identity, maySubscribe, publishDecision } from './acl.js';
import { connectionSignal } from './connection-signal.js';
import { OpenConnections } from './connections.js';
import { LoginGate } from './login-gate.js';
import { lightenParser } from './parser-buffer.js';
import { PublishGate } from './publish-gate.js';
import type { RateLimitSettings } from './rate-limit.js';
import { type BrokerCounts, RefusalCounter } from './refusal-counter.js';
import { Sessions } from './sessions.js';
import { Listeners, type ListenerSettings } from './listeners.js';
import { guardConnection, type GuardEvents, setGuardOwner } from './size-guard.js';

export type { RefusalCode } from './refusals.js';
export type { BrokerCounts } from './refusal-counter.js';

export interface BrokerSettings extends ListenerSettings, RateLimitSettings {
  loginDelayBaseMs: number;
  loginDelayMaxMs: number;
  /** Unsent output one connection may hold before it is dropped as too slow. */
  outputBufferMaxBytes: number;
}

export interface BrokerDeps {
  /** Resolves when the readings are durable (or rejected with a record); rejects only on shutdown. */
  ingest: (deviceId: string, payload: Buffer, options: { signal: SignalSource }) => Promise<unknown>;
  registry: () => RegistryIndex;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  settings: BrokerSettings;
  /** With a certificate: MQTT over TLS and over secure WebSocket too. */
  tls?: TlsMaterial | undefined;
}

export class Broker {
  private aedes: Aedes | undefined;
  private listeners: Listeners | undefined;
  private readonly identities = new WeakMap<Client, Identity>();
  private readonly sessions = new Sessions();
  private readonly login: LoginGate;
  private readonly connections = new OpenConnections();
  private inFlight = 0;
  /** Publishes that arrived after stopAccepting(): never ingested, answered when the sessions close. */
  private readonly lateAtShutdown = new Set<(error: Error) => void>();
  private inFlightDrained: (() => void) | undefined;
  private accepting = false;
  private readonly log: Logger;
  private readonly refusals: RefusalCounter;
  private readonly gate: PublishGate;
  /** Readings authorized for ingest, which Aedes must not route (endReadingsAtIngest). */
  private readonly endedReadings = new WeakSet<PublishPacket>();
  /** Where every connection's size guard reports (one object for all connections). */
  private readonly guardEvents: GuardEvents = {
    violation: (address, v) => this.refusals.guardDrop(address, v),
    slow: (clientId, address, bufferedBytes) => this.refusals.slowClient(clientId, address, bufferedBytes),
  };

  constructor(private readonly deps: BrokerDeps) {
    this.log = deps.logger.child({ module: 'broker' });
    this.refusals = new RefusalCounter({
      bus: deps.bus,
      clock: deps.clock,
      log: this.log,
      maxPacketBytes: deps.settings.maxPacketBytes,
      outputBufferMaxBytes: deps.settings.outputBufferMaxBytes,
    });
    this.login = new LoginGate({
      registry: deps.registry,
      clock: deps.clock,
      log: this.log,
      refusals: this.refusals,
      loginDelayBaseMs: deps.settings.loginDelayBaseMs,
      loginDelayMaxMs: deps.settings.loginDelayMaxMs,
    });
    this.gate = new PublishGate({
      clock: deps.clock,
      bus: deps.bus,
      log: this.log,
      settings: deps.settings,
      refusals: this.refusals,
      publish: (topic, payload, opts) => this.publish(topic, payload, opts),
    });
  }

  get counts(): BrokerCounts {
    return this.refusals.counts;
  }

  async start(): Promise<void> {
    // mqtt-packet builds, at its first write, a cache of all 65,536 two-byte packet ids as separate
    // Buffers: ~7 MiB of heap held for good (a fifth of what 5,000 connections cost, and V8 grows
    // the heap around it). Writing a PUBACK's id into a fresh 2-byte buffer instead costs tens of
    // nanoseconds. Documented switch; it must be set before the first write.
    mqttPacket.writeToStream.cacheNumbers = false;
    const { settings } = this.deps;
    this.aedes = await Aedes.createBroker({
      id: 'valley-gateway',
      // Sessions are always clean: the gateway keeps nothing for an absent client (no offline
      // queue of rejects or alerts growing while an operator's laptop sleeps). Clients subscribe
      // again on every connect, as MQTT.js and mosquitto_sub do.
      preConnect: (_client, packet, done) => {
        packet.clean = true;
        done(null, true);
      },
      // QoS 2 publishes wait for PUBREL in memory; a device that never releases them must not
      // pin more than a few packets.
      maxInflightInbound: 16,
      authenticate: (client, username, password, done) =>
        this.login.authenticate(client, username, password, done, (identity) => {
          this.identities.set(client, identity);
          this.sessions.authenticated(identity, client);
        }),
      authorizePublish: (client, packet, done) => this.authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => {
        const identity = this.identities.get(client);
        if (identity && maySubscribe(identity, sub.topic)) return done(null, sub);
        this.refusals.acl('acl_subscribe');
        this.log.info(
          { clientId: client.id, code: 'acl_subscribe', filter: sub.topic },
          'subscription refused by the ACL',
        );
        done(null, null);
      },
      maxClientsIdLength: 64,
      // No limit on messages being delivered at once (0 = unlimited in mqemitter). With the default
      // (100) every publish beyond waits in an unbounded in-memory queue, and a queued message
      // nobody subscribes to any more (an operator gone while a 5,000-reading backlog was being
      // republished live) is released synchronously into the next one: tens of thousands overflow
      // the stack and crash the process. Deliveries never wait here anyway: a write completes at
      // once, and a client that stops reading is dropped at VALLEY_OUTPUT_BUFFER_MAX (size-guard.ts).
      concurrency: 0,
    });
    this.endReadingsAtIngest(this.aedes);
    this.aedes.on('clientReady', (client) => this.onReady(client));
    this.aedes.on('clientDisconnect', (client) => this.onGone(client, 'disconnected'));
    this.aedes.on('subscribe', () => this.sessions.subscriptionsChanged());
    this.aedes.on('unsubscribe', () => this.sessions.subscriptionsChanged());
    this.aedes.on('keepaliveTimeout', (client) =>
      this.log.info({ clientId: client.id }, 'MQTT keepalive timeout'),
    );
    this.aedes.on('clientError', (client, err) => this.refusals.clientError(client.id, err));
    this.aedes.on('connectionError', (client, err) => {
      this.log.debug({ clientId: client.id, err: err.message }, 'connection error before CONNECT completed');
    });

    this.listeners = new Listeners(
      settings,
      this.deps.tls,
      (stream, address, req) => this.handle(stream, address, req),
      this.log,
    );
    await this.listeners.start();
    this.accepting = true;
  }

  get mqttAddress(): AddressInfo {
    return this.listeners!.mqttAddress;
  }

  get wsAddress(): AddressInfo {
    return this.listeners!.wsAddress;
  }

  /** MQTT over TLS; undefined without a certificate. */
  get mqttsAddress(): AddressInfo | undefined {
    return this.listeners?.mqttsAddress;
  }

  /** MQTT over secure WebSocket; undefined without a certificate. */
  get wssAddress(): AddressInfo | undefined {
    return this.listeners?.wssAddress;
  }

  /** A renewed certificate (SIGHUP) for the connections that come next. */
  setSecureContext(material: TlsMaterial): void {
    this.listeners?.setSecureContext(material);
  }

  get listening(): boolean {
    return this.accepting;
  }

  connectedDevices(): string[] {
    return this.sessions.deviceIds();
  }

  /** Publishes as the gateway (rejects, live readings, alerts). */
  publish(topic: string, payload: string | Buffer, opts: { qos: 0 | 1; retain: boolean }): Promise<void> {
    const aedes = this.aedes;
    if (!aedes || aedes.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      aedes.publish(
        { cmd: 'publish', topic, payload, qos: opts.qos, retain: opts.retain, dup: false },
        (err?: Error) => (err ? reject(err) : resolve()),
      );
    });
  }

  /** Closes the session of a device or user id at once (revoked, moved, removed, re-roled). */
  disconnect(id: string): void {
    this.sessions.close(id);
  }

  /** A revoked, removed or moved device: its rate-limit bucket is freed. */
  forgetDevice(id: string): void {
    this.gate.forget(id);
  }

  /** Whether some session may receive `valley/live/...` (see Sessions). */
  hasLiveSubscribers(): boolean {
    return this.sessions.hasLiveSubscribers();
  }

  /** Failed logins counted for (address, client id) by the login throttle; 0 after a success. */
  loginFailures(address: string, clientId: string): number {
    return this.login.failuresOf(address, clientId);
  }

  /**
   * Stops accepting: listeners close and sockets stop being read (a busy publisher cannot keep the
   * shutdown waiting); in-flight ingests finish within `graceMs`, their PUBACKs sent by stop().
   */
  async stopAccepting(graceMs: number): Promise<void> {
    this.accepting = false;
    this.listeners?.stopAccepting();
    this.connections.holdAll();
    if (this.inFlight === 0) return;
    if (graceMs > 0) this.log.info({ inFlight: this.inFlight, graceMs }, 'finishing the acks in flight');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => (this.inFlightDrained = resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    await this.stopAccepting(0);
    this.login.stop();
    // Still waiting for their token: neither stored nor acknowledged, like late arrivals.
    for (const done of this.gate.drain()) this.lateAtShutdown.add(done);
    await this.connections.endAll();
    this.listeners?.dropRemaining();
    const aedes = this.aedes;
    if (aedes && !aedes.closed) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    for (const done of this.lateAtShutdown) done(new Error('the gateway is shutting down'));
    this.lateAtShutdown.clear();
  }

  private handle(stream: import('node:stream').Duplex, address: string, req?: IncomingMessage): void {
    if (!this.aedes || !this.accepting) {
      stream.destroy();
      return;
    }
    const guarded = guardConnection(stream, {
      maxPacketBytes: this.deps.settings.maxPacketBytes,
      remoteAddress: address,
      events: this.guardEvents,
      outputLimitBytes: this.deps.settings.outputBufferMaxBytes,
    });
    this.connections.add(guarded);
    const client = this.aedes.handle(guarded, req);
    setGuardOwner(guarded, client);
    lightenParser(client);
  }

  /**
   * A device's reading ends at ingest: the ACL lets no session subscribe to `sensors/+/readings`
   * (acl.ts), and the gateway itself does not, so Aedes' routing of it (retained store, offline
   * queues, topic matching, the 'publish' event) would only spend the event loop's time — about
   * 7% of its busy time at full load (docs/performance.md). Aedes calls `publish` after authorizePublish
   * for every message (after the PUBACK for QoS 1); a packet authorized as a reading is finished
   * there instead. Status publishes, the gateway's own and everything else are routed as before.
   */
  private endReadingsAtIngest(aedes: Aedes): void {
    const route = aedes.publish.bind(aedes) as (
      packet: PublishPacket,
      client: unknown,
      done?: unknown,
    ) => void;
    const ended = this.endedReadings;
    (aedes as { publish: unknown }).publish = (
      packet: PublishPacket,
      client: unknown,
      done?: unknown,
    ): void => {
      if (ended.delete(packet)) {
        if (typeof done === 'function') (done as (err?: Error) => void)();
        return;
      }
      route(packet, client, done);
    };
  }

  private authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    done: (error?: Error | null) => void,
  ): void {
    if (client === null) return done(null); // the gateway's own publishes
    const identity = this.identities.get(client);
    const decision = identity ? publishDecision(identity, packet.topic) : 'deny';
    if (decision === 'deny') {
      // MQTT 3.1.1 has no negative PUBACK: an error closes the connection, which is what an
      // ACL violation deserves (DESIGN).
      this.refusals.acl('acl_publish');
      this.log.warn(
        { clientId: client.id, code: 'acl_publish', topic: packet.topic.slice(0, 200) },
        'publish refused by the ACL',
      );
      return done(new Error('not authorized to publish on this topic'));
    }
    if (decision === 'status' && this.sessions.replaced(identity!, client)) {
      // The LWT of a connection taken over by a newer one of the same device (Aedes publishes it
      // as it closes the old one): the device is not offline, it reconnected. An error here makes
      // Aedes drop the will; the connection is being closed anyway.
      this.log.debug({ clientId: client.id }, 'status of a replaced connection dropped (takeover)');
      return done(new Error('connection taken over by a newer one'));
    }
    if (decision === 'status') {
      const status = packet.payload.toString('utf8').slice(0, 32);
      this.deps.bus.emit('device.status', { deviceId: client.id, status, at: this.deps.clock.now() });
      return done(null);
    }
    this.endedReadings.add(packet);
    this.gate.admit(client.id, () => this.forward(client, packet, done), done);
  }

  private forward(client: Client, packet: PublishPacket, done: (error?: Error | null) => void): void {
    if (!this.accepting) {
      // Read before the sockets were held: neither stored nor acknowledged; the device resends.
      this.lateAtShutdown.add(done);
      return;
    }
    // Readings are never retained (DESIGN): a retained reading would be replayed as if new.
    packet.retain = false;
    this.inFlight++;
    this.deps.ingest(client.id, packet.payload as Buffer, { signal: () => connectionSignal(client) }).then(
      () => {
        this.settle();
        done(null);
      },
      (err: unknown) => {
        this.settle();
        // A held reading abandoned by its closed connection is routine (the device resends);
        // anything else is worth an error.
        const code = (err as { code?: unknown } | null)?.code;
        const level = code === 'E_HELD_ABANDONED' ? 'debug' : code === 'E_HELD_FULL' ? 'warn' : 'error';
        this.log[level]({ clientId: client.id, err }, 'ingest failed; closing the connection without an ack');
        done(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  private settle(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.inFlightDrained) {
      this.inFlightDrained();
      this.inFlightDrained = undefined;
    }
  }

  private onReady(client: Client): void {
    const identity = this.identities.get(client);
    if (identity === undefined) return;
    if (!this.stillAllowed(identity)) {
      // Revoked (or re-roled) by a registry reload between CONNECT and now: the reload could not
      // see this session yet.
      client.close();
      return;
    }
    this.sessions.add(identity, client);
    if (identity.type !== 'device') return;
    this.deps.bus.emit('device.presence', {
      deviceId: identity.id,
      state: 'online',
      at: this.deps.clock.now(),
      reason: 'connected',
    });
  }

  private stillAllowed(identity: Identity): boolean {
    const registry = this.deps.registry();
    if (identity.type === 'device') return registry.devices.has(identity.id);
    return registry.users.get(identity.id)?.role === identity.role;
  }

  private onGone(client: Client, reason: string): void {
    const identity = this.identities.get(client);
    if (identity === undefined) return;
    if (identity.type !== 'device') {
      this.sessions.remove(identity, client);
      return;
    }
    // A takeover (same device id reconnecting) is no loss of the device: see Sessions.
    if (!this.sessions.deviceEnded(identity, client)) return;
    this.deps.bus.emit('device.presence', {
      deviceId: identity.id,
      state: 'offline',
      at: this.deps.clock.now(),
      reason,
    });
  }
}
