/**
 * A real InfluxDB 1.x (Debian's `influxd`) for integration suites: free loopback ports, its own
 * temp dir, started in `beforeAll` (~100 ms) and stopped in `afterAll`. A missing influxd fails
 * the suite: a part missing in CI is a failure, never a skip (DESIGN, Tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, rmSync } from 'node:fs';
import { mkdtemp, open, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
// From node:timers, not the globals, so a suite using Jest's fake timers cannot stall the harness.
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import vm from 'node:vm';
import { quoteIdent, rowsOf, runInfluxQL, type InfluxCell } from '../../gateway/history/influxql.js';
import { basicAuth } from '../../gateway/sinks/http.js';
import { freePort } from './ports.js';

export type InfluxRow = Record<string, InfluxCell>;

export interface InfluxdHandle {
  /** `http://127.0.0.1:<port>`; stays the same across restart(). */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** influxd's own output (level warn), for diagnosing a failed suite. */
  readonly logFile: string;
  /** With `auth: true`: the admin user the harness created (ALL PRIVILEGES). */
  readonly admin: { username: string; password: string } | undefined;
  /** One InfluxQL statement; rows with columns zipped and GROUP BY tags merged. Times in epoch ms. */
  query(db: string, influxql: string): Promise<InfluxRow[]>;
  createDatabase(name: string): Promise<void>;
  /** Line protocol with ms timestamps; throws unless InfluxDB answers 204. */
  write(db: string, lines: string | readonly string[]): Promise<void>;
  /** Points (not field values) in one measurement, or in all of them. */
  count(db: string, measurement?: string): Promise<number>;
  /** SIGTERM, then SIGKILL after 5 s. Files stay for restart(); they go when the process exits. */
  stop(): Promise<void>;
  /** Stops if running, starts again on the same port and data dir, waits for /ping. */
  restart(): Promise<void>;
  /** SIGKILL (a crash): the WAL is replayed by the next restart(). */
  kill(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

/*
 * Children and temp dirs are killed and removed when the process exits or is interrupted, or when
 * a Jest worker loses its parent, so an interrupted Jest leaves no influxd behind. Jest gives each
 * test file a copy of `process` whose events never fire, so the listeners go on the real one (from
 * the main context), once per process: every test file in the same worker shares the set.
 */
interface LiveSet {
  children: Set<ChildProcess>;
  dirs: Set<string>;
}
const realProcess = vm.runInThisContext('process') as NodeJS.Process;
const LIVE_KEY = Symbol.for('valley-telemetry/test-support/influxd');

function live(): LiveSet {
  const existing = Reflect.get(realProcess, LIVE_KEY) as LiveSet | undefined;
  if (existing !== undefined) return existing;
  const set: LiveSet = { children: new Set(), dirs: new Set() };
  Reflect.set(realProcess, LIVE_KEY, set);
  const cleanup = (): void => {
    for (const child of set.children) child.kill('SIGKILL');
    set.children.clear();
    for (const dir of set.dirs) rmSync(dir, { recursive: true, force: true });
    set.dirs.clear();
  };
  realProcess.once('exit', cleanup);
  // A Jest worker whose parent was killed keeps running its test, but its IPC channel closes. Not
  // a 'disconnect' listener: that refs the channel, and the worker could no longer exit by itself.
  if (realProcess.connected) {
    const watch = setInterval(() => {
      if (realProcess.connected) return;
      clearInterval(watch);
      cleanup();
    }, 250);
    watch.unref();
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      cleanup();
      realProcess.removeListener(signal, onSignal);
      // A listener replaces the default action (exit): restore it unless someone else handles it.
      if (realProcess.listenerCount(signal) === 0) realProcess.kill(realProcess.pid, signal);
    };
    realProcess.on(signal, onSignal);
  }
  return set;
}

function findInfluxd(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir || '.', 'influxd');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  throw new Error(
    'influxd (InfluxDB 1.x) is not on PATH. Run the tests with `npm test`: its pretest step ' +
      '(scripts/test-setup.sh) installs the Debian package influxdb. Integration tests fail, never skip, ' +
      'when a part is missing.',
  );
}

function configToml(dataDir: string, httpPort: number, backupPort: number, auth: boolean): string {
  const s = JSON.stringify; // a JSON string is a valid TOML basic string
  // Top-level keys must come before the first section; the backup RPC bind-address is one of them,
  // and without a port of its own two instances collide on 8088.
  return [
    'reporting-enabled = false',
    `bind-address = ${s(`127.0.0.1:${backupPort}`)}`,
    '[meta]',
    `  dir = ${s(path.join(dataDir, 'meta'))}`,
    '  logging-enabled = false',
    '[data]',
    `  dir = ${s(path.join(dataDir, 'data'))}`,
    `  wal-dir = ${s(path.join(dataDir, 'wal'))}`,
    '  query-log-enabled = false',
    '[monitor]',
    '  store-enabled = false',
    '[continuous_queries]',
    '  enabled = false',
    '[http]',
    `  bind-address = ${s(`127.0.0.1:${httpPort}`)}`,
    '  log-enabled = false',
    `  auth-enabled = ${auth}`,
    '  max-row-limit = 0',
    '[logging]',
    '  level = "warn"',
    '',
  ].join('\n');
}

class Influxd implements InfluxdHandle {
  readonly url: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private running = false;

  constructor(
    readonly port: number,
    readonly dataDir: string,
    readonly logFile: string,
    readonly admin: { username: string; password: string } | undefined,
    private readonly bin: string,
    private readonly configFile: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  async launch(): Promise<void> {
    const log = await open(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.bin, ['run', '-config', this.configFile], { stdio: ['ignore', log.fd, log.fd] });
    } finally {
      await log.close(); // the child holds its own copy of the descriptor
    }
    this.child = child;
    this.running = true;
    live().children.add(child);
    this.exited = new Promise((resolve) => {
      const done = (): void => {
        this.running = false;
        live().children.delete(child);
        resolve();
      };
      child.once('exit', done);
      child.once('error', done); // spawn failure: 'exit' may never come
    });
    await this.waitReady();
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`influxd exited during start-up\n${await this.logTail()}`);
      try {
        const res = await fetch(`${this.url}/ping`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 204) return;
      } catch {
        // not listening yet
      }
      await sleep(25);
    }
    await this.kill();
    throw new Error(`influxd did not answer GET /ping with 204 within 15 s\n${await this.logTail()}`);
  }

  async logTail(lines = 30): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return `--- last lines of ${this.logFile} ---\n${text.split('\n').slice(-lines).join('\n')}`;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async kill(): Promise<void> {
    if (this.child === undefined || !this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  private get authorization(): { authorization: string } | undefined {
    return this.admin && { authorization: basicAuth(this.admin.username, this.admin.password) };
  }

  async query(db: string, influxql: string): Promise<InfluxRow[]> {
    // POST: 1.x wants it for statements that change things, and accepts it for reads.
    const req = { url: this.url, params: { db }, method: 'POST' as const, ...this.authorization };
    return rowsOf((await runInfluxQL(req, influxql)).series);
  }

  async createDatabase(name: string): Promise<void> {
    const req = { url: this.url, params: {}, method: 'POST' as const, ...this.authorization };
    await runInfluxQL(req, `CREATE DATABASE ${quoteIdent(name)}`);
  }

  /** Before any other statement works with auth on, 1.x needs an admin (creatable without credentials). */
  async createAdmin(): Promise<void> {
    if (this.admin === undefined) return;
    const { username, password } = this.admin; // hex: nothing to escape in the quoted password
    const statement = `CREATE USER ${quoteIdent(username)} WITH PASSWORD '${password}' WITH ALL PRIVILEGES`;
    await runInfluxQL({ url: this.url, params: {}, method: 'POST' }, statement);
  }

  async write(db: string, lines: string | readonly string[]): Promise<void> {
    const body = typeof lines === 'string' ? lines : lines.join('\n');
    const params = new URLSearchParams({ db, precision: 'ms' });
    const res = await fetch(`${this.url}/write?${params.toString()}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8', ...this.authorization },
      body,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status !== 204)
      throw new Error(`influxd refused the write to "${db}" (HTTP ${res.status}): ${text}`);
  }

  async count(db: string, measurement?: string): Promise<number> {
    // COUNT(*) counts per field, so points with different fields would be miscounted: count rows.
    const from = measurement === undefined ? '/.*/' : quoteIdent(measurement);
    return (await this.query(db, `SELECT * FROM ${from}`)).length;
  }
}

async function twoFreePorts(): Promise<[number, number]> {
  const first = await freePort();
  let second = await freePort();
  while (second === first) second = await freePort();
  return [first, second];
}

export async function startInfluxd(opts: { dataDir?: string; auth?: boolean } = {}): Promise<InfluxdHandle> {
  const bin = findInfluxd();
  const dir = await mkdtemp(path.join(tmpdir(), 'valley-influxd-'));
  live().dirs.add(dir);
  const dataDir = opts.dataDir ?? path.join(dir, 'db');
  const configFile = path.join(dir, 'influxd.toml');
  const admin = opts.auth ? { username: 'admin', password: randomBytes(16).toString('hex') } : undefined;
  // A free port can be taken by another suite between freePort() and influxd's bind: retry.
  for (let attempt = 1; ; attempt++) {
    const [httpPort, backupPort] = await twoFreePorts();
    await writeFile(configFile, configToml(dataDir, httpPort, backupPort, opts.auth ?? false));
    const server = new Influxd(httpPort, dataDir, path.join(dir, 'influxd.log'), admin, bin, configFile);
    try {
      await server.launch();
    } catch (err) {
      await server.kill();
      if (attempt < 3 && (await server.logTail()).includes('address already in use')) continue;
      throw err;
    }
    await server.createAdmin();
    return server;
  }
}
