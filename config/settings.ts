/**
 * Settings: one table of every setting with its env var, flag and default, one zod schema, and
 * one resolver with precedence flag > env var > default. Every problem is reported with the name
 * of the variable or flag that caused it, before anything starts.
 */
import { z } from 'zod';
import { parseDurationMs, parseSizeBytes } from './duration.js';
import { tlsSettingProblems } from './tls.js';

type Parse = 'string' | 'port' | 'int' | 'duration' | 'size' | 'bool' | 'level';

interface SettingDef {
  env: string;
  flag: string;
  parse: Parse;
  help: string;
}

/** Every setting: key → env var, flag, parser, help. Defaults live in the schema below. */
export const SETTING_DEFS = {
  bind: { env: 'VALLEY_BIND', flag: 'bind', parse: 'string', help: 'address every listener binds to' },
  mqttPort: { env: 'VALLEY_MQTT_PORT', flag: 'mqtt-port', parse: 'port', help: 'MQTT over TCP' },
  wsPort: { env: 'VALLEY_WS_PORT', flag: 'ws-port', parse: 'port', help: 'MQTT over WebSocket (path /mqtt)' },
  httpPort: { env: 'VALLEY_HTTP_PORT', flag: 'http-port', parse: 'port', help: 'dashboard and API' },
  registryPath: { env: 'VALLEY_REGISTRY', flag: 'registry', parse: 'string', help: 'registry YAML file' },
  dataDir: { env: 'VALLEY_DATA_DIR', flag: 'data-dir', parse: 'string', help: 'outbox, dead-letter, cursor' },
  logLevel: {
    env: 'VALLEY_LOG_LEVEL',
    flag: 'log-level',
    parse: 'level',
    help: 'trace|debug|info|warn|error',
  },
  demoFleet: { env: 'VALLEY_DEMO_FLEET', flag: 'demo-fleet', parse: 'bool', help: 'run the demo fleet' },
  influxUrl: { env: 'INFLUX_URL', flag: 'influx-url', parse: 'string', help: 'InfluxDB base URL' },
  influxDb: { env: 'INFLUX_DB', flag: 'influx-db', parse: 'string', help: 'v1 API: database' },
  influxRp: { env: 'INFLUX_RP', flag: 'influx-rp', parse: 'string', help: 'v1 API: retention policy' },
  influxUsername: { env: 'INFLUX_USERNAME', flag: 'influx-username', parse: 'string', help: 'v1 API: user' },
  influxPassword: {
    env: 'INFLUX_PASSWORD',
    flag: 'influx-password',
    parse: 'string',
    help: 'v1 API: password',
  },
  influxToken: { env: 'INFLUX_TOKEN', flag: 'influx-token', parse: 'string', help: 'v2 API: token' },
  influxOrg: { env: 'INFLUX_ORG', flag: 'influx-org', parse: 'string', help: 'v2 API: organisation' },
  influxBucket: { env: 'INFLUX_BUCKET', flag: 'influx-bucket', parse: 'string', help: 'v2 API: bucket' },
  maxPacketBytes: {
    env: 'VALLEY_MAX_PACKET',
    flag: 'max-packet',
    parse: 'size',
    help: 'largest MQTT packet',
  },
  maxReadingsPerMessage: {
    env: 'VALLEY_MAX_READINGS',
    flag: 'max-readings',
    parse: 'int',
    help: 'readings in one backlog array',
  },
  futureSkewMs: {
    env: 'VALLEY_FUTURE_SKEW',
    flag: 'future-skew',
    parse: 'duration',
    help: 'clock skew allowed',
  },
  lateWindowMs: { env: 'VALLEY_LATE_WINDOW', flag: 'late-window', parse: 'duration', help: 'oldest reading' },
  dedupeWindow: {
    env: 'VALLEY_DEDUPE_WINDOW',
    flag: 'dedupe-window',
    parse: 'int',
    help: 'recent reading ids remembered per device',
  },
  segmentBytes: {
    env: 'VALLEY_SEGMENT_SIZE',
    flag: 'segment-size',
    parse: 'size',
    help: 'outbox segment size',
  },
  retentionAgeMs: {
    env: 'VALLEY_RETENTION_AGE',
    flag: 'retention-age',
    parse: 'duration',
    help: 'local-only: keep readings this long',
  },
  retentionBytes: {
    env: 'VALLEY_RETENTION_SIZE',
    flag: 'retention-size',
    parse: 'size',
    help: 'local-only: keep at most this much',
  },
  outboxMaxBytes: {
    env: 'VALLEY_OUTBOX_MAX',
    flag: 'outbox-max',
    parse: 'size',
    help: 'with InfluxDB: unsent backlog at which PUBACKs are held (back-pressure)',
  },
  heldAppendsMax: {
    env: 'VALLEY_HELD_MAX',
    flag: 'held-max',
    parse: 'int',
    help: 'at the outbox cap: most messages held without PUBACK; beyond, refused and disconnected',
  },
  heldBytesMax: {
    env: 'VALLEY_HELD_SIZE',
    flag: 'held-size',
    parse: 'size',
    help: 'at the outbox cap: most bytes of readings held without PUBACK; beyond, refused',
  },
  drainBatchLines: { env: 'VALLEY_BATCH_LINES', flag: 'batch-lines', parse: 'int', help: 'lines per write' },
  drainBackoffBaseMs: {
    env: 'VALLEY_BACKOFF_BASE',
    flag: 'backoff-base',
    parse: 'duration',
    help: 'first retry',
  },
  drainBackoffMaxMs: {
    env: 'VALLEY_BACKOFF_MAX',
    flag: 'backoff-max',
    parse: 'duration',
    help: 'longest retry',
  },
  sinkTimeoutMs: { env: 'VALLEY_SINK_TIMEOUT', flag: 'sink-timeout', parse: 'duration', help: 'one write' },
  deadLetterMaxBytes: {
    env: 'VALLEY_DEADLETTER_MAX',
    flag: 'deadletter-max',
    parse: 'size',
    help: 'dead-letter log cap',
  },
  deadLetterDeviceBytes: {
    env: 'VALLEY_DEADLETTER_DEVICE_MAX',
    flag: 'deadletter-device-max',
    parse: 'size',
    help: 'dead-letter share of one device',
  },
  offlineGraceMs: {
    env: 'VALLEY_OFFLINE_GRACE',
    flag: 'offline-grace',
    parse: 'duration',
    help: 'a device offline this long raises a system alert',
  },
  sinkDownAfterMs: {
    env: 'VALLEY_SINK_DOWN_AFTER',
    flag: 'sink-down-after',
    parse: 'duration',
    help: 'InfluxDB failing this long raises a system alert',
  },
  loginDelayBaseMs: {
    env: 'VALLEY_LOGIN_DELAY_BASE',
    flag: 'login-delay-base',
    parse: 'duration',
    help: 'delay after a failed login',
  },
  loginDelayMaxMs: {
    env: 'VALLEY_LOGIN_DELAY_MAX',
    flag: 'login-delay-max',
    parse: 'duration',
    help: 'cap of that delay',
  },
  statsIntervalMs: {
    env: 'VALLEY_STATS_INTERVAL',
    flag: 'stats-interval',
    parse: 'duration',
    help: 'log counts',
  },
  shutdownFlushMs: {
    env: 'VALLEY_SHUTDOWN_FLUSH',
    flag: 'shutdown-flush',
    parse: 'duration',
    help: 'time to flush to InfluxDB on shutdown',
  },
  readyBacklogRecords: {
    env: 'VALLEY_READY_BACKLOG',
    flag: 'ready-backlog',
    parse: 'int',
    help: '/readyz: unsent readings tolerated while InfluxDB is unreachable',
  },
  readyLagMs: {
    env: 'VALLEY_READY_LAG',
    flag: 'ready-lag',
    parse: 'duration',
    help: '/readyz: age of the oldest unsent reading tolerated while InfluxDB is unreachable',
  },
  pushIntervalMs: {
    env: 'VALLEY_PUSH_INTERVAL',
    flag: 'push-interval',
    parse: 'duration',
    help: 'dashboard: how often changed rooms are pushed to browsers',
  },
  sessionIdleMs: {
    env: 'VALLEY_SESSION_IDLE',
    flag: 'session-idle',
    parse: 'duration',
    help: 'dashboard: a login session unused this long ends',
  },
  mqttsPort: {
    env: 'VALLEY_MQTTS_PORT',
    flag: 'mqtts-port',
    parse: 'port',
    help: 'MQTT over TLS (with a cert)',
  },
  wssPort: {
    env: 'VALLEY_WSS_PORT',
    flag: 'wss-port',
    parse: 'port',
    help: 'MQTT over secure WebSocket, path /mqtt (with a cert)',
  },
  httpsPort: {
    env: 'VALLEY_HTTPS_PORT',
    flag: 'https-port',
    parse: 'port',
    help: 'dashboard and API over HTTPS (with a cert)',
  },
  tlsCert: {
    env: 'VALLEY_TLS_CERT',
    flag: 'tls-cert',
    parse: 'string',
    help: 'PEM certificate (chain): turns on MQTTS, WSS and HTTPS',
  },
  tlsKey: {
    env: 'VALLEY_TLS_KEY',
    flag: 'tls-key',
    parse: 'string',
    help: 'PEM private key of that certificate',
  },
  tlsCa: {
    env: 'VALLEY_TLS_CA',
    flag: 'tls-ca',
    parse: 'string',
    help: 'PEM intermediate certificates sent with it',
  },
  plaintextPublic: {
    env: 'VALLEY_PLAINTEXT_PUBLIC',
    flag: 'plaintext-public',
    parse: 'bool',
    help: 'with TLS: plain MQTT, WebSocket and HTTP also on VALLEY_BIND, not only on 127.0.0.1',
  },
  rateLimitPerSecond: {
    env: 'VALLEY_RATE_LIMIT',
    flag: 'rate-limit',
    parse: 'int',
    help: 'MQTT messages per second per device (an array counts once); 0 = off',
  },
  rateBurst: {
    env: 'VALLEY_RATE_BURST',
    flag: 'rate-burst',
    parse: 'int',
    help: 'messages a device may send at once above its rate',
  },
  metricsToken: {
    env: 'VALLEY_METRICS_TOKEN',
    flag: 'metrics-token',
    parse: 'string',
    help: '/metrics bearer token; required to scrape when the bind is not loopback',
  },
  outputBufferMaxBytes: {
    env: 'VALLEY_OUTPUT_BUFFER_MAX',
    flag: 'output-buffer-max',
    parse: 'size',
    help: 'MQTT: unsent output one connection may hold; a client that stops reading is dropped beyond',
  },
  sinkGzip: {
    env: 'VALLEY_SINK_GZIP',
    flag: 'sink-gzip',
    parse: 'bool',
    help: 'gzip writes to InfluxDB (Content-Encoding: gzip): less traffic over a WAN, only CPU on loopback',
  },
} as const satisfies Record<string, SettingDef>;

export type SettingKey = keyof typeof SETTING_DEFS;

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();

/**
 * The longest duration a setting may have: Node fires a timer with a longer delay after 1 ms, so a
 * larger value would turn a wait into a busy loop. About 24.8 days.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;
/** A duration setting in milliseconds, at least `min`, at most MAX_DURATION_MS. */
const duration = (min: number) =>
  z
    .number()
    .int()
    .min(min)
    .max(MAX_DURATION_MS, {
      error: `at most ${MAX_DURATION_MS} ms (24d 20h 31m): longer delays overflow Node's timers`,
    });

export const settingsSchema = z.strictObject({
  bind: z.string().min(1).default('127.0.0.1'),
  mqttPort: port.default(1883),
  wsPort: port.default(8083),
  httpPort: port.default(3000),
  registryPath: z.string().min(1).default('config/valmalenco.yaml'),
  dataDir: z.string().min(1).default('data'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'),
  demoFleet: z.boolean().default(true),
  influxUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  influxDb: z.string().min(1).optional(),
  influxRp: z.string().min(1).optional(),
  influxUsername: z.string().min(1).optional(),
  influxPassword: z.string().optional(),
  influxToken: z.string().min(1).optional(),
  influxOrg: z.string().min(1).optional(),
  influxBucket: z.string().min(1).optional(),
  maxPacketBytes: z
    .number()
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(1024 * 1024),
  maxReadingsPerMessage: positiveInt.default(5000),
  futureSkewMs: duration(0).default(120_000),
  lateWindowMs: duration(1).default(7 * 86_400_000),
  dedupeWindow: positiveInt.default(4096),
  segmentBytes: z
    .number()
    .int()
    .min(4096)
    .default(64 * 1024 * 1024),
  // Local-only: the outbox is the store; 8 days covers the dashboard's 7-day history.
  retentionAgeMs: duration(1).default(8 * 86_400_000),
  retentionBytes: positiveInt.default(1024 ** 3),
  // With a sink nothing unsent is evicted: at the cap new readings wait for their PUBACK instead.
  outboxMaxBytes: positiveInt.default(2 * 1024 ** 3),
  // Held messages keep their readings in memory and their connection open; a device whose hold
  // outlives its keepalive reconnects and sends again. Bounded, so the memory is.
  heldAppendsMax: positiveInt.default(10_000),
  heldBytesMax: positiveInt.default(64 * 1024 ** 2),
  drainBatchLines: positiveInt.max(100_000).default(5000),
  drainBackoffBaseMs: duration(1).default(500),
  drainBackoffMaxMs: duration(1).default(30_000),
  sinkTimeoutMs: duration(1).default(10_000),
  deadLetterMaxBytes: positiveInt.default(64 * 1024 * 1024),
  deadLetterDeviceBytes: positiveInt.default(4 * 1024 * 1024),
  // Long enough for a device's reconnect (or a gateway takeover) not to raise and resolve an alert.
  offlineGraceMs: duration(0).default(60_000),
  // InfluxDB restarts and short outages are normal (DESIGN): alert only on a lasting one.
  sinkDownAfterMs: duration(0).default(60_000),
  loginDelayBaseMs: duration(0).default(200),
  loginDelayMaxMs: duration(0).default(10_000),
  statsIntervalMs: duration(1).default(10_000),
  shutdownFlushMs: duration(0).default(5000),
  // An outage is normal (DESIGN); /readyz fails only once it has left more than this behind.
  readyBacklogRecords: z.number().int().nonnegative().default(100_000),
  readyLagMs: duration(1).default(5 * 60_000),
  // Twice a second: "within a second of the readings" (issue 6) with one snapshot per room per tick.
  pushIntervalMs: z.number().int().min(50).max(60_000).default(500),
  // A working day on a tablet in a pumping station; a connected dashboard keeps its session alive.
  sessionIdleMs: duration(60_000).default(8 * 3_600_000),
  // The TLS listeners exist only when a certificate is configured (see config/tls.ts).
  mqttsPort: port.default(8883),
  // 8084: the port EMQX and HiveMQ use for MQTT over secure WebSocket.
  wssPort: port.default(8084),
  httpsPort: port.default(3443),
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  tlsCa: z.string().min(1).optional(),
  // With TLS on, cleartext passwords and session cookies stay off the network unless asked for.
  plaintextPublic: z.boolean().default(false),
  rateLimitPerSecond: z.number().int().nonnegative().default(20),
  rateBurst: positiveInt.default(100),
  // Long enough that guessing it is hopeless; Prometheus reads it from a file (bearer_token_file).
  metricsToken: z.string().min(16, { error: 'at least 16 characters' }).optional(),
  // Room for a burst of retained alerts and a few seconds of live readings to an operator on a
  // slow link; beyond, the client has stopped reading and the gateway stops holding its output.
  outputBufferMaxBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .default(1024 * 1024),
  // Off by default: on loopback or a LAN the compression is pure CPU on the hot machine.
  sinkGzip: z.boolean().default(false),
});

export type Settings = z.infer<typeof settingsSchema>;

export type SinkConfig =
  | { mode: 'local-only' }
  | { mode: 'v1'; url: string; db: string; rp?: string; username?: string; password?: string }
  | { mode: 'v2'; url: string; token: string; org: string; bucket: string };

export class SettingsError extends Error {
  readonly code = 'E_SETTINGS';
  constructor(readonly problems: string[]) {
    super(`invalid settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

function describe(key: SettingKey): string {
  const def = SETTING_DEFS[key];
  return `${def.env} / --${def.flag}`;
}

function parseRaw(key: SettingKey, raw: string): { value?: unknown; problem?: string } {
  const kind: Parse = SETTING_DEFS[key].parse;
  switch (kind) {
    case 'string':
    case 'level':
      return { value: raw };
    case 'port':
    case 'int': {
      if (!/^\s*\d+\s*$/.test(raw)) return { problem: `${describe(key)}: "${raw}" is not a whole number` };
      return { value: Number(raw) };
    }
    case 'duration': {
      const ms = parseDurationMs(raw);
      if (ms === undefined)
        return { problem: `${describe(key)}: "${raw}" is not a duration (e.g. 500ms, 90s, 2m, 7d)` };
      return { value: ms };
    }
    case 'size': {
      const bytes = parseSizeBytes(raw);
      if (bytes === undefined)
        return { problem: `${describe(key)}: "${raw}" is not a size (e.g. 1048576, 64MiB)` };
      return { value: bytes };
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return { value: true };
      if (['0', 'false', 'no', 'off'].includes(v)) return { value: false };
      return { problem: `${describe(key)}: "${raw}" is not true/false` };
    }
  }
}

/**
 * Resolves settings from flags (already split into `name → value`), env vars and defaults.
 * Empty env vars count as unset, as shells and compose files often export `VAR=`.
 */
export function resolveSettings(
  env: NodeJS.ProcessEnv,
  flags: Readonly<Record<string, string | boolean>> = {},
  overrides: Partial<Settings> = {},
): { settings: Settings; sink: SinkConfig } {
  const problems: string[] = [];
  const input: Record<string, unknown> = {};
  const knownFlags = new Set<string>(Object.values(SETTING_DEFS).map((d) => d.flag));
  for (const name of Object.keys(flags)) {
    const base = name.startsWith('no-') ? name.slice(3) : name;
    if (!knownFlags.has(name) && !knownFlags.has(base)) problems.push(`--${name}: unknown option`);
  }
  for (const [key, def] of Object.entries(SETTING_DEFS) as [SettingKey, SettingDef][]) {
    let raw: string | undefined;
    const flag = flags[def.flag];
    if (flag !== undefined) raw = flag === true ? 'true' : String(flag);
    else if (def.parse === 'bool' && flags[`no-${def.flag}`] === true) raw = 'false';
    else if (env[def.env] !== undefined && env[def.env] !== '') raw = env[def.env];
    if (raw === undefined) continue;
    const parsed = parseRaw(key, raw);
    if (parsed.problem) problems.push(parsed.problem);
    else input[key] = parsed.value;
  }
  Object.assign(input, overrides);
  const result = settingsSchema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path[0];
      const where =
        typeof key === 'string' && key in SETTING_DEFS ? describe(key as SettingKey) : String(key);
      problems.push(`${where}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !result.success) throw new SettingsError(problems);
  const settings = result.data;
  const sink = resolveSink(settings, problems);
  problems.push(...tlsSettingProblems(settings));
  if (problems.length > 0) throw new SettingsError(problems);
  return { settings, sink };
}

function resolveSink(s: Settings, problems: string[]): SinkConfig {
  const v2Keys = ['influxToken', 'influxOrg', 'influxBucket'] as const;
  const v2Given = v2Keys.filter((k) => s[k] !== undefined);
  const v1Given = s.influxDb !== undefined;
  if (s.influxUrl === undefined) {
    const stray = [...v2Given, ...(v1Given ? (['influxDb'] as const) : [])];
    if (stray.length > 0) {
      problems.push(`INFLUX_URL is missing, but ${stray.map((k) => SETTING_DEFS[k].env).join(', ')} is set`);
    }
    return { mode: 'local-only' };
  }
  if (v2Given.length > 0) {
    const missing = v2Keys.filter((k) => s[k] === undefined).map((k) => SETTING_DEFS[k].env);
    if (missing.length > 0) {
      problems.push(`v2 API (INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET): missing ${missing.join(', ')}`);
      return { mode: 'local-only' };
    }
    if (v1Given)
      problems.push('INFLUX_DB (v1 API) and INFLUX_TOKEN/ORG/BUCKET (v2 API) are both set: choose one');
    return {
      mode: 'v2',
      url: s.influxUrl,
      token: s.influxToken!,
      org: s.influxOrg!,
      bucket: s.influxBucket!,
    };
  }
  if (!v1Given) {
    problems.push(
      'INFLUX_URL is set: add INFLUX_DB (v1 API, InfluxDB 1.x) or INFLUX_TOKEN + INFLUX_ORG + INFLUX_BUCKET (v2 API)',
    );
    return { mode: 'local-only' };
  }
  if ((s.influxUsername === undefined) !== (s.influxPassword === undefined)) {
    problems.push('INFLUX_USERNAME and INFLUX_PASSWORD go together: set both or neither');
  }
  return {
    mode: 'v1',
    url: s.influxUrl,
    db: s.influxDb!,
    ...(s.influxRp !== undefined && { rp: s.influxRp }),
    ...(s.influxUsername !== undefined && { username: s.influxUsername }),
    ...(s.influxPassword !== undefined && { password: s.influxPassword }),
  };
}

/** Settings for tests and embedding: defaults plus overrides, no env. */
export function defaultSettings(overrides: Partial<Settings> = {}): Settings {
  return settingsSchema.parse(overrides);
}
