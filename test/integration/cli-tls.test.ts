/**
 * `valley start` with TLS as an operator runs it: a child process, openssl-made certificates,
 * mosquitto_pub with --cafile. Bad settings and bad files stop the start with a message naming
 * the variable and the file (no stack trace); SIGHUP loads a renewed certificate.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeTestRegistry, writeTestRegistry, TEST_DEVICES, type TestRegistry } from '../support/registry.js';
import { waitFor } from '../support/mqtt.js';
import { makeTestCertificates, type TestCertificates } from '../support/tls-certs.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const valley = (args: string[]) => ['--import', 'tsx', join(root, 'cli', 'main.ts'), ...args];
let dir: string;
let certs: TestCertificates;
let renewed: TestCertificates;
let registry: TestRegistry;
let registryPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-cli-tls-'));
  certs = await makeTestCertificates('Valley Test CA');
  renewed = await makeTestCertificates('Valley Renewed CA');
  registry = makeTestRegistry();
  registryPath = await writeTestRegistry(dir, registry);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await certs?.remove();
  await renewed?.remove();
});

const ports = ['--mqtt-port', '0', '--ws-port', '0', '--http-port', '0'];
const tlsPorts = ['--mqtts-port', '0', '--wss-port', '0', '--https-port', '0'];

async function valleyExit(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, valley(args), { cwd: root });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

function startArgs(extra: string[]): string[] {
  return [
    'start',
    '--registry',
    registryPath,
    '--data-dir',
    join(dir, 'data'),
    ...ports,
    ...tlsPorts,
    '--no-demo-fleet',
    ...extra,
  ];
}

/** mosquitto_pub over TLS at QoS 1: exits 0 only after the PUBACK. */
function mosquittoPub(port: string, caPath: string, value: number): Promise<unknown> {
  const id = TEST_DEVICES.pressure.id;
  const payload = JSON.stringify({ ts: new Date().toISOString(), values: { pressure_bar: value } });
  return run('mosquitto_pub', [
    ...['-h', '127.0.0.1', '-p', port, '--cafile', caPath, '-V', 'mqttv311'],
    ...[
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
    ],
  ]);
}

describe('valley start with TLS settings that cannot work', () => {
  it('refuses a certificate without its key, naming both variables', async () => {
    const r = await valleyExit(startArgs(['--tls-cert', certs.certPath]));
    expect(r.code).toBe(2);
    expect(r.output).toMatch(/VALLEY_TLS_CERT.*VALLEY_TLS_KEY.*set both \(TLS on\) or neither/);
  });

  it('refuses a missing or invalid file, naming the file and the variable, without a stack trace', async () => {
    const missing = join(dir, 'missing.crt');
    const absent = await valleyExit(startArgs(['--tls-cert', missing, '--tls-key', certs.keyPath]));
    expect(absent.code).toBe(1);
    expect(absent.output).toContain(`VALLEY_TLS_CERT / --tls-cert: cannot read ${missing}: no such file`);
    expect(absent.output).not.toMatch(/\n\s+at /);

    const garbage = join(dir, 'garbage.key');
    await writeFile(garbage, '-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n');
    const invalid = await valleyExit(startArgs(['--tls-cert', certs.certPath, '--tls-key', garbage]));
    expect(invalid.code).toBe(1);
    expect(invalid.output).toContain(
      `VALLEY_TLS_KEY / --tls-key: ${garbage} is not an unencrypted PEM private key`,
    );
    expect(invalid.output).not.toMatch(/\n\s+at /);
  });
});

describe('valley start with TLS', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('serves mosquitto_pub over TLS and takes a renewed certificate on SIGHUP', async () => {
    // The files the operator points at; a renewal replaces them in place.
    const certPath = join(dir, 'live.crt');
    const keyPath = join(dir, 'live.key');
    await copyFile(certs.certPath, certPath);
    await copyFile(certs.keyPath, keyPath);
    child = spawn(process.execPath, valley(startArgs(['--tls-cert', certPath, '--tls-key', keyPath])), {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(() => /gateway started/.test(output), 20_000, 'the start log line');
    const port = /mqtts:\/\/127\.0\.0\.1:(\d+)/.exec(output)![1]!;
    expect(output).toMatch(/https:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/wss:\/\/127\.0\.0\.1:\d+\/mqtt/);

    await mosquittoPub(port, certs.caPath, 4.1);
    await expect(mosquittoPub(port, renewed.caPath, 4.2)).rejects.toMatchObject({
      code: expect.any(Number) as unknown,
    });

    // A bad file at reload time is refused and the certificate in use stays.
    await writeFile(certPath, 'half-written\n');
    child.kill('SIGHUP');
    await waitFor(() => /TLS reload refused/.test(output), 10_000, 'the refused reload');
    await mosquittoPub(port, certs.caPath, 4.3);

    await copyFile(renewed.certPath, certPath);
    await copyFile(renewed.keyPath, keyPath);
    child.kill('SIGHUP');
    await waitFor(() => /TLS certificate reloaded/.test(output), 10_000, 'the reload log line');
    await mosquittoPub(port, renewed.caPath, 4.4);
    await expect(mosquittoPub(port, certs.caPath, 4.5)).rejects.toMatchObject({
      code: expect.any(Number) as unknown,
    });

    const exit = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    child = undefined;
  });
});
