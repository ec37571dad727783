/**
 * The demo fleet: every demo device of the registry as its own MQTT client, sending live readings
 * from its kind's generator. The first reading goes out within 30 s of connecting (a random
 * offset, so 68 devices do not all speak at once), then one per registry interval with ±10 %
 * jitter. Started by the composition root after the gateway (settings.demoFleet).
 */
import { clearTimeout, setTimeout } from 'node:timers';
import { join } from 'node:path';
import { topics } from '../contract/index.js';
import type { RegistryIndex } from '../config/registry-schema.js';
import { DeviceClient } from './device-client.js';
import { generatorFor, type DeviceGenerator } from './generators/index.js';
import type { SimLogger } from './logger.js';
import { createRandom, hashString, mix, type Random } from './random.js';
import { loadSecretsFile } from './secrets.js';
import { PROJECT_ROOT } from '../config/project-root.js';

export interface FleetOptions {
  url: string;
  registry: RegistryIndex;
  /** Device id → secret; devices without one are skipped (and named in the log). */
  secrets: Readonly<Record<string, string>>;
  logger: SimLogger;
  seed: number;
  /** Device ids to run; default: every `demo: true` device. */
  deviceIds?: readonly string[];
  clock?: () => number;
  /** How long start() waits for the first connections, ms. */
  connectTimeoutMs?: number;
  /** The first reading goes out at a random moment within this long of connecting (default 30 s). */
  firstReadingWithinMs?: number;
}

export interface FleetStats {
  devices: number;
  connected: number;
  sent: number;
  acknowledged: number;
  rejected: number;
}

const FIRST_READING_WITHIN_MS = 30_000;
const JITTER = 0.1;

interface Member {
  id: string;
  client: DeviceClient;
  generator: DeviceGenerator;
  random: Random;
  intervalMs: number;
  seq: number;
  timer?: NodeJS.Timeout;
}

export class Fleet {
  private readonly members: Member[] = [];
  private readonly log: SimLogger;
  private readonly clock: () => number;
  private stopped = false;
  readonly stats: FleetStats = { devices: 0, connected: 0, sent: 0, acknowledged: 0, rejected: 0 };

  constructor(private readonly options: FleetOptions) {
    this.log = options.logger;
    this.clock = options.clock ?? Date.now;
  }

  /** Connects every device; resolves when each has connected or failed once (or the timeout passed). */
  async start(): Promise<FleetStats> {
    const { registry, secrets, seed } = this.options;
    const ids =
      this.options.deviceIds ?? registry.registry.devices.filter((d) => d.demo === true).map((d) => d.id);
    const missing = ids.filter((id) => secrets[id] === undefined);
    if (missing.length > 0)
      this.log.warn({ devices: missing }, `no secret for ${missing.length} device(s); they stay offline`);
    for (const id of ids.filter((i) => secrets[i] !== undefined)) {
      const device = registry.devices.get(id)?.device;
      if (!device) continue;
      const random = createRandom(mix(seed, hashString(id), 7));
      const member: Member = {
        id,
        random,
        generator: generatorFor(registry, id, seed),
        intervalMs: device.interval_s * 1000,
        seq: 0,
        client: new DeviceClient({
          url: this.options.url,
          deviceId: id,
          secret: secrets[id]!,
          random,
          logger: this.log,
          onReject: (reject) => {
            this.stats.rejected++;
            this.log.warn(
              { deviceId: id, code: reject.code, message: reject.message },
              'demo reading rejected',
            );
          },
        }),
      };
      this.members.push(member);
    }
    this.stats.devices = this.members.length;
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    let waitTimer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (waitTimer = setTimeout(resolve, timeoutMs)));
    const connects = this.members.map((m) =>
      m.client.start().then(
        () => {
          this.stats.connected++;
          this.schedule(
            m,
            m.random() * Math.min(this.options.firstReadingWithinMs ?? FIRST_READING_WITHIN_MS, m.intervalMs),
          );
        },
        (err: unknown) => {
          this.log.warn(
            { deviceId: m.id, err: (err as Error).message },
            'demo device could not connect; retrying',
          );
          // The client retries with backoff; readings start once it is back, as the schedule runs regardless.
          this.schedule(
            m,
            m.random() * Math.min(this.options.firstReadingWithinMs ?? FIRST_READING_WITHIN_MS, m.intervalMs),
          );
        },
      ),
    );
    await Promise.race([Promise.all(connects), timeout]);
    clearTimeout(waitTimer);
    return { ...this.stats };
  }

  private schedule(m: Member, delayMs: number): void {
    if (this.stopped) return;
    m.timer = setTimeout(() => {
      m.timer = undefined;
      this.send(m);
      this.schedule(m, m.intervalMs * (1 + JITTER * (2 * m.random() - 1)));
    }, delayMs);
  }

  private send(m: Member): void {
    // A device that is offline buffers nothing here: the demo shows live data, and gaps are honest.
    if (!m.client.connected) return;
    const ts = this.clock();
    const payload = JSON.stringify({ ts, seq: m.seq++, values: m.generator.next(ts) });
    this.stats.sent++;
    m.client.publish(topics.readings(m.id), payload, 1).then(
      () => this.stats.acknowledged++,
      (err: unknown) =>
        this.log.debug({ deviceId: m.id, err: (err as Error).message }, 'demo reading not acknowledged'),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const m of this.members) if (m.timer !== undefined) clearTimeout(m.timer);
    await Promise.all(this.members.map((m) => m.client.stop()));
  }
}

/** Starts the demo fleet; the caller logs how many devices connected and stops it before the gateway. */
export async function startDemoFleet(options: FleetOptions): Promise<Fleet> {
  const fleet = new Fleet(options);
  await fleet.start();
  return fleet;
}

/** The demo fleet's public secrets, next to the simulators (DESIGN, Secrets). */
export const DEMO_SECRETS_PATH = join(PROJECT_ROOT, 'simulators', 'demo-secrets.json');

/**
 * What `valley start` calls after the gateway is up: reads the demo secrets, connects every demo
 * device to the gateway's MQTT listener and logs how many connected. Never throws: without its
 * secrets file the gateway runs without the demo.
 */
export async function startDemoFleetForGateway(o: {
  mqtt: { address: string; port: number };
  registry: RegistryIndex;
  logger: SimLogger & { child(bindings: object): SimLogger };
  seed?: number;
  secretsPath?: string;
}): Promise<Fleet | undefined> {
  const log = o.logger.child({ module: 'demo-fleet' });
  const host = o.mqtt.address.includes(':') ? `[${o.mqtt.address}]` : o.mqtt.address;
  let secrets: Record<string, string>;
  try {
    secrets = await loadSecretsFile(o.secretsPath ?? DEMO_SECRETS_PATH);
  } catch (err) {
    // The gateway is useful without its demo: say why the fleet is missing and carry on.
    log.error({ err: (err as Error).message }, 'demo fleet not started');
    return undefined;
  }
  const fleet = await startDemoFleet({
    url: `mqtt://${host}:${o.mqtt.port}`,
    registry: o.registry,
    secrets,
    logger: log,
    seed: o.seed ?? 42,
  });
  const { devices, connected } = fleet.stats;
  log.info({ devices, connected }, `demo fleet connected ${connected} of ${devices} devices`);
  return fleet;
}
