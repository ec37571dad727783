/**
 * The systems under test, each in its own process on 127.0.0.1: bare Aedes, Mosquitto and the
 * gateway (`valley start`, the same code as `npm start`). Every handle samples its process's CPU
 * and RSS from /proc, so the three are measured alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, open, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { statusSchema, type ValleyStatus } from '../../dashboard/status-schema.js';
import { PROJECT_ROOT } from '../../config/project-root.js';
import type { InfluxdHandle } from '../../test/support/influxd.js';
import { freePort } from '../../test/support/ports.js';
import { sampleProc, type ProcSample } from './proc.js';
import type { BenchContext } from '../scenarios/common.js';

const START_TIMEOUT_MS = 60_000;

export interface SystemUnderTest {
  readonly name: string;
  readonly mqttUrl: string;
  readonly pid: number;
  sample(): Promise<ProcSample>;
  stop(): Promise<void>;
}

export interface GatewayUnderTest extends SystemUnderTest {
  readonly httpUrl: string;
  status(): Promise<ValleyStatus>;
  /** Event-loop delay p99 since the last call (ms), measured inside the gateway. */
  lagP99Ms(): Promise<number>;
  /** process.memoryUsage() inside the gateway. */
  memory(): Promise<NodeJS.MemoryUsage>;
}

/**
 * The gateway's environment, the one place the bench sets it. Rate limits are the bench's to set
 * (issue 8): a throughput figure must measure the pipeline, not the per-device limiter, so
 * throughput scenarios turn it off; "realistic" fleets keep the defaults. Env vars, not flags: the
 * gateway ignores unknown env vars but refuses unknown flags, so this works with and without the
 * rate-limit settings in the build.
 */
function gatewayEnv(rateLimits: 'off' | 'defaults'): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env))
    if (key.startsWith('VALLEY_') || key.startsWith('INFLUX_')) delete env[key];
  if (rateLimits === 'off') env.VALLEY_RATE_LIMIT = '0'; // messages/s per device, 0 = off
  return env;
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  child: ChildProcess,
  logFile?: string,
): Promise<T> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  // The last lines of the process's own log say why it did not start.
  const tail = async (): Promise<string> => {
    if (logFile === undefined) return '';
    const text = await readFile(logFile, 'utf8').catch(() => '');
    return `\n--- ${logFile} ---\n${text.split('\n').slice(-20).join('\n')}`;
  };
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`${what}: the process exited (${child.exitCode})${await tail()}`);
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${what}: not ready within ${START_TIMEOUT_MS} ms${await tail()}`);
    }
    await sleep(50);
  }
}

async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Spawns with stdout and stderr appended to `file`; the child keeps its own copy of the descriptor. */
async function spawnLogged(
  file: string,
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; ipc?: boolean },
): Promise<ChildProcess> {
  const log = await open(file, 'a');
  try {
    return spawn(command, args, {
      ...(options.cwd !== undefined && { cwd: options.cwd }),
      ...(options.env !== undefined && { env: options.env }),
      stdio: options.ipc ? ['ignore', log.fd, log.fd, 'ipc'] : ['ignore', log.fd, log.fd],
    });
  } finally {
    await log.close();
  }
}

export async function startBareAedes(dir: string): Promise<SystemUnderTest> {
  const logFile = join(dir, 'aedes.log');
  const child = await spawnLogged(
    logFile,
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'bare-aedes.ts')],
    { cwd: PROJECT_ROOT },
  );
  const port = await waitFor(
    'bare Aedes',
    async () => /port=(\d+)/.exec(await readFile(logFile, 'utf8'))?.[1],
    child,
    logFile,
  );
  return handle('aedes', `mqtt://127.0.0.1:${port}`, child);
}

const MOSQUITTO = '/usr/sbin/mosquitto';

export async function startMosquitto(dir: string): Promise<SystemUnderTest> {
  try {
    await access(MOSQUITTO, constants.X_OK);
  } catch {
    throw new Error(
      `${MOSQUITTO} is missing: \`npm run bench\` installs it in its prebench step (scripts/bench-setup.sh), or apt-get install mosquitto`,
    );
  }
  const port = await freePort();
  const conf = join(dir, `mosquitto-${port}.conf`);
  // No persistence and no logging, like bare Aedes: the broker's own ceiling.
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'log_dest none',
      'max_connections -1',
      '',
    ].join('\n'),
  );
  const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  child.once('error', () => undefined); // surfaces as an exit below
  await waitFor('mosquitto', () => tcpOpen(port), child);
  return handle('mosquitto', `mqtt://127.0.0.1:${port}`, child);
}

function tcpOpen(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(undefined));
  });
}

function handle(name: string, mqttUrl: string, child: ChildProcess): SystemUnderTest {
  return {
    name,
    mqttUrl,
    pid: child.pid!,
    sample: () => sampleProc(child.pid!),
    stop: () => stopChild(child),
  };
}

export interface GatewayOptions {
  /** The scenario's scratch directory, and `--profile`'s directory if given. */
  ctx: Pick<BenchContext, 'dir' | 'profileDir'>;
  registryPath: string;
  rateLimits: 'off' | 'defaults';
  /** InfluxDB 1.x; without it local-only. */
  influx?: { url: string; db: string };
}

/**
 * The gateway runs as `npm start` runs it: compiled (dist/, `npm run build`, which `prebench` and
 * `pretest` run), without the TypeScript loader, whose memory is no part of the gateway's. Only
 * presence is checked: a bench or a smoke test started by hand after editing the sources runs the
 * last build, so build first.
 */
async function built(file: string): Promise<string> {
  const path = join(PROJECT_ROOT, 'dist', file);
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new Error(`${path} is missing: run "npm run build" first (npm run bench and npm test do)`);
  }
  return path;
}

/** The database the scenarios write into. */
export const BENCH_DB = 'bench';

/** A gateway writing into database `db` (created first) of the bench's own influxd. */
export async function startGatewayIntoInflux(
  ctx: GatewayOptions['ctx'],
  registryPath: string,
  influxd: InfluxdHandle,
  options: { rateLimits?: GatewayOptions['rateLimits']; db?: string } = {},
): Promise<GatewayUnderTest> {
  const { rateLimits = 'off', db = BENCH_DB } = options;
  await influxd.createDatabase(db);
  return startGateway({ ctx, registryPath, rateLimits, influx: { url: influxd.url, db } });
}

export async function startGateway(opts: GatewayOptions): Promise<GatewayUnderTest> {
  const { dir, profileDir } = opts.ctx;
  const logFile = join(dir, `gateway-${Date.now()}.log`);
  const args = [
    '--import',
    await built('bench/systems/probe.js'),
    ...(profileDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
    await built('cli/main.js'),
    'start',
    '--registry',
    opts.registryPath,
    '--data-dir',
    join(dir, `data-${Date.now()}`),
    '--mqtt-port',
    '0',
    '--ws-port',
    '0',
    '--http-port',
    '0',
    '--no-demo-fleet',
    '--stats-interval',
    '1h',
    '--shutdown-flush',
    '1s',
    ...(opts.influx ? ['--influx-url', opts.influx.url, '--influx-db', opts.influx.db] : []),
  ];
  const child = await spawnLogged(logFile, process.execPath, args, {
    cwd: PROJECT_ROOT,
    env: gatewayEnv(opts.rateLimits),
    ipc: true,
  });
  const started = await waitFor(
    'gateway',
    async () => {
      const log = await readFile(logFile, 'utf8');
      const mqtt = /"mqtt":"(mqtt:\/\/[^"]+)"/.exec(log)?.[1];
      const http = /"dashboard":"(http:\/\/[^"]+)"/.exec(log)?.[1];
      return mqtt !== undefined && http !== undefined ? { mqtt, http } : undefined;
    },
    child,
    logFile,
  );
  const lagAnswers: ((ms: number) => void)[] = [];
  const memoryAnswers: ((usage: NodeJS.MemoryUsage) => void)[] = [];
  child.on('message', (m: { type?: string; p99Ms?: number; usage?: NodeJS.MemoryUsage }) => {
    if (m.type === 'lag') lagAnswers.shift()?.(m.p99Ms ?? NaN);
    if (m.type === 'memory' && m.usage) memoryAnswers.shift()?.(m.usage);
  });
  return {
    ...handle('gateway', started.mqtt, child),
    httpUrl: started.http.replace(/\/+$/, ''),
    async status() {
      const res = await fetch(`${started.http.replace(/\/+$/, '')}/api/status`);
      return statusSchema.parse(await res.json());
    },
    lagP99Ms() {
      return new Promise<number>((resolve) => {
        lagAnswers.push(resolve);
        child.send({ type: 'lag' });
        child.send({ type: 'lag-reset' });
      });
    },
    memory() {
      return new Promise<NodeJS.MemoryUsage>((resolve) => {
        memoryAnswers.push(resolve);
        child.send({ type: 'memory' });
      });
    },
  };
}
