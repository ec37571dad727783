/**
 * The real command in a child process (`node --import tsx cli/main.ts start`) on port 0, for fault
 * suites that signal it (SIGTERM, SIGKILL) or let the disk fail under it. Its JSON log lines are
 * kept, so a test can wait for one and assert on what it says. Every child still running when the
 * test process exits is killed (the suite's afterAll should kill them first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import vm from 'node:vm';
import { waitFor } from './mqtt.js';

const root = join(import.meta.dirname, '..', '..');

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly mqttUrl: string;
  /** The HTTP server (health, readiness, API). */
  readonly httpUrl: string;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Its JSON log lines so far. */
  logs(): LogLine[];
  /** The exit code (null after a signal). */
  readonly exited: Promise<number | null>;
}

export interface GatewayProcessOptions {
  registryPath: string;
  dataDir: string;
  /** v1 API; without it the gateway runs local-only. */
  influx?: { url: string; db: string };
  /** More flags, e.g. ['--shutdown-flush', '2s']. */
  args?: string[];
}

const realProcess = vm.runInThisContext('process') as NodeJS.Process;
const LIVE_KEY = Symbol.for('valley-telemetry/test-support/gateway-process');

/** Children are killed when the (real) test process exits, so an aborted suite leaves none behind. */
function liveChildren(): Set<ChildProcess> {
  const existing = Reflect.get(realProcess, LIVE_KEY) as Set<ChildProcess> | undefined;
  if (existing !== undefined) return existing;
  const set = new Set<ChildProcess>();
  Reflect.set(realProcess, LIVE_KEY, set);
  realProcess.once('exit', () => {
    for (const child of set) child.kill('SIGKILL');
  });
  return set;
}

export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const args = [
    '--import',
    'tsx',
    join(root, 'cli', 'main.ts'),
    'start',
    ...['--registry', options.registryPath, '--data-dir', options.dataDir],
    ...['--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--no-demo-fleet'],
    ...(options.influx ? ['--influx-url', options.influx.url, '--influx-db', options.influx.db] : []),
    ...['--backoff-base', '50ms', '--backoff-max', '500ms', '--login-delay-base', '10ms'],
    // Fault tests load a device far above its rate; the rate limit has its own test (rate-limit.test.ts).
    ...['--rate-limit', '0'],
    ...(options.args ?? []),
  ];
  // No INFLUX_*/VALLEY_* from the environment of whoever runs the tests.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('INFLUX_') && !k.startsWith('VALLEY_')),
  );
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const live = liveChildren();
  live.add(child);
  let output = '';
  const lines: LogLine[] = [];
  let partial = '';
  child.stdout.on('data', (d: Buffer) => {
    const text = d.toString();
    output += text;
    partial += text;
    const complete = partial.split('\n');
    partial = complete.pop() ?? '';
    for (const line of complete) {
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  let started: LogLine | undefined;
  await waitFor(
    () => {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`the gateway exited at start:\n${output}`);
      started = lines.find((l) => l.msg === 'Valley Telemetry gateway started');
      return started !== undefined;
    },
    30_000,
    'the JSON start log line',
  );
  const mqttPort = new URL(String(started!.mqtt)).port;
  return {
    child,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    httpUrl: String(started!.dashboard),
    output: () => output,
    logs: () => lines,
    exited,
  };
}

/** Kills every gateway child still running (afterAll). */
export function killGatewayProcesses(): void {
  for (const child of liveChildren()) child.kill('SIGKILL');
}
