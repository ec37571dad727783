/** Starts the whole gateway in-process on port 0 with a temp data dir and the test registry. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSettings, type Settings, type SinkConfig } from '../../config/settings.js';
import type { TlsMaterial } from '../../config/tls.js';
import { Valley, type ValleyOptions } from '../../cli/app.js';
import { silentLogger, type Logger } from '../../gateway/logger.js';
import { makeTestRegistry, type TestRegistry } from './registry.js';

export interface TestGateway {
  valley: Valley;
  registry: TestRegistry;
  dataDir: string;
  mqttUrl: string;
  wsUrl: string;
  /** The HTTP server (health, readiness, API). */
  httpUrl: string;
  /** With `tls`: MQTT over TLS, over secure WebSocket, and HTTPS (127.0.0.1, port 0). */
  mqttsUrl?: string;
  wssUrl?: string;
  httpsUrl?: string;
  /** Stops the gateway; `keepData` leaves the data dir for a restart. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export interface TestGatewayOptions {
  sink?: SinkConfig;
  settings?: Partial<Settings>;
  registry?: TestRegistry;
  dataDir?: string;
  sync?: ValleyOptions['sync'];
  /** A registry file to watch (hot reload); `registry` must hold what the file holds. */
  registryPath?: string;
  /** Default: silent. Tests that assert on log lines pass a capturing logger. */
  logger?: Logger;
  /** Default 100 ms, so tests see system alerts promptly. */
  alertCheckIntervalMs?: number;
  /** Certificate and key (test/support/tls-certs.ts): the TLS listeners open on port 0. */
  tls?: TlsMaterial;
  /** Default: the system clock. Tests that compute bounds from the gateway's time pass their own. */
  clock?: ValleyOptions['clock'];
}

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const registry = options.registry ?? makeTestRegistry();
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'valley-gw-')));
  const settings = defaultSettings({
    mqttPort: 0,
    wsPort: 0,
    httpPort: 0,
    mqttsPort: 0,
    wssPort: 0,
    httpsPort: 0,
    dataDir,
    demoFleet: false,
    drainBackoffBaseMs: 50,
    drainBackoffMaxMs: 500,
    sinkTimeoutMs: 2000,
    loginDelayBaseMs: 10,
    loginDelayMaxMs: 100,
    shutdownFlushMs: 2000,
    ...options.settings,
  });
  const valley = new Valley({
    settings,
    sink: options.sink ?? { mode: 'local-only' },
    registry: registry.index,
    logger: options.logger ?? silentLogger(),
    ...(options.sync && { sync: options.sync }),
    ...(options.clock && { clock: options.clock }),
    ...(options.registryPath !== undefined && { registryPath: options.registryPath }),
    alertCheckIntervalMs: options.alertCheckIntervalMs ?? 100,
    ...(options.tls && { tls: options.tls }),
  });
  await valley.start();
  const mqtt = valley.broker.mqttAddress;
  const ws = valley.broker.wsAddress;
  return {
    valley,
    registry,
    dataDir,
    mqttUrl: `mqtt://127.0.0.1:${mqtt.port}`,
    wsUrl: `ws://127.0.0.1:${ws.port}/mqtt`,
    httpUrl: `http://127.0.0.1:${valley.http.address.port}`,
    ...(options.tls && {
      mqttsUrl: `mqtts://127.0.0.1:${valley.broker.mqttsAddress!.port}`,
      wssUrl: `wss://127.0.0.1:${valley.broker.wssAddress!.port}/mqtt`,
      httpsUrl: `https://127.0.0.1:${valley.http.httpsAddress!.port}`,
    }),
    async stop({ keepData = false } = {}) {
      await valley.stop();
      if (!keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
