/**
 * The `valley` command as a user runs it: a child process, a third-party MQTT client
 * (mosquitto_pub), SIGTERM. Nothing in-process.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeTestRegistry, writeTestRegistry, TEST_DEVICES } from '../support/registry.js';
import { waitFor } from '../support/mqtt.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const valley = (args: string[]) => ['--import', 'tsx', join(root, 'cli', 'main.ts'), ...args];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function valleyExit(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, valley(args), { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('valley check-config', () => {
  it('accepts the default registry', async () => {
    const r = await valleyExit(['check-config', 'config/valmalenco.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/OK: .*4 municipalities/);
  });

  it('prints every problem with its path and exits non-zero', async () => {
    const bad = join(dir, 'bad.yaml');
    const text = makeTestRegistry()
      .yaml.replace('kind: water_pressure', 'kind: water_presure')
      .replace('capacity: 50', 'capacity: -3');
    await writeFile(bad, text);
    const r = await valleyExit(['check-config', bad]);
    expect(r.code).toBe(1);
    const output = r.stdout + r.stderr;
    expect(output).toMatch(/devices\[\d+\]\.kind.*water_presure/);
    expect(output).toMatch(/sites\[\d+\]\.capacity/);
  });
});

describe('valley start', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('serves a mosquitto_pub client, logs counts, and exits 0 on SIGTERM with the reading on disk', async () => {
    const registry = makeTestRegistry();
    const registryPath = await writeTestRegistry(dir, registry);
    const dataDir = join(dir, 'data');
    child = spawn(
      process.execPath,
      valley([
        'start',
        '--registry',
        registryPath,
        '--data-dir',
        dataDir,
        '--mqtt-port',
        '0',
        '--ws-port',
        '0',
        '--http-port',
        '0',
        '--no-demo-fleet',
        '--stats-interval',
        '300ms',
      ]),
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stdout += d.toString()));
    await waitFor(() => /gateway started/.test(stdout), 20_000, 'the start log line');
    const port = /mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)![1]!;
    expect(stdout).toContain('local-only');

    const id = TEST_DEVICES.pressure.id;
    const payload = JSON.stringify({ ts: new Date().toISOString(), values: { pressure_bar: 4.1 } });
    // -q 1: mosquitto_pub exits 0 only after the PUBACK.
    await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-V',
      'mqttv311',
      '-i',
      id,
      '-u',
      id,
      '-P',
      registry.secrets[id]!,
      '-q',
      '1',
      '-t',
      `sensors/${id}/readings`,
      '-m',
      payload,
    ]);
    const refused = run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-V',
      'mqttv311',
      '-i',
      id,
      '-u',
      id,
      '-P',
      'wrong',
      '-q',
      '1',
      '-t',
      `sensors/${id}/readings`,
      '-m',
      payload,
    ]);
    await expect(refused).rejects.toMatchObject({ code: expect.any(Number) as unknown });
    await waitFor(() => /1 accepted/.test(stdout), 5000, 'a stats line with the reading');

    const exit = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    child = undefined;
    const segments = await readdir(join(dataDir, 'outbox'));
    expect(segments.length).toBeGreaterThan(0);
  });

  it('names the setting to change when a port is busy', async () => {
    const net = await import('node:net');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const registryPath = await writeTestRegistry(dir, makeTestRegistry());
    const r = await valleyExit([
      'start',
      '--registry',
      registryPath,
      '--data-dir',
      join(dir, 'd2'),
      '--mqtt-port',
      String(port),
      '--ws-port',
      '0',
      '--http-port',
      '0',
      '--no-demo-fleet',
    ]);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`port ${port}`);
    expect(r.stderr).toContain('VALLEY_MQTT_PORT');
  });

  it('reports every bad setting at once', async () => {
    const r = await valleyExit([
      'start',
      '--mqtt-port',
      'abc',
      '--late-window',
      'soon',
      '--influx-url',
      'http://127.0.0.1:1',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('VALLEY_MQTT_PORT');
    expect(r.stderr).toContain('VALLEY_LATE_WINDOW');
  });
});
