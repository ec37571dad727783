import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { chmod, copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRegistryFile, RegistryError } from './loader.js';
import {
  addDevice,
  addUser,
  RegistryEditError,
  revokeDevice,
  rotateDeviceSecret,
  setUserPassword,
} from './registry-edit.js';
import { verifyPassword, verifySecret } from './secrets.js';

const DEFAULT_REGISTRY = join(import.meta.dirname, 'valmalenco.yaml');
const DEMO_SECRETS = join(import.meta.dirname, '..', 'simulators', 'demo-secrets.json');

let dir: string;
let file: string;
let original: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-edit-'));
  file = join(dir, 'registry.yaml');
  await copyFile(DEFAULT_REGISTRY, file);
  original = await readFile(file, 'utf8');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const read = () => readFile(file, 'utf8');
const newDevice = { id: 'chiesa-wf-nuovo', kind: 'water_flow', site: 'chiesa-res-alto', interval_s: 30 };

/** The file without the list entry starting at `- id: <id>` (its lines are indented deeper). */
function withoutEntry(text: string, id: string): string {
  const lines = text.split('\n');
  const start = lines.indexOf(`  - id: ${id}`);
  if (start < 0) throw new Error(`no entry ${id}`);
  let end = start + 1;
  while (end < lines.length && lines[end]!.startsWith('    ')) end++;
  return [...lines.slice(0, start), ...lines.slice(end)].join('\n');
}

async function expectRefused(
  edit: Promise<unknown>,
  error: new (...args: never[]) => Error,
  message: RegExp,
) {
  await expect(edit).rejects.toThrow(error);
  await expect(edit).rejects.toThrow(message);
  expect(await read()).toBe(original);
  expect(await readdir(dir)).toEqual(['registry.yaml']); // no temp file left behind
}

describe('addDevice', () => {
  it('adds the device, keeps every other byte of the file, and stores only the hash', async () => {
    const secret = await addDevice(file, { ...newDevice, description: 'Nuovo contatore' });
    const text = await read();
    expect(withoutEntry(text, 'chiesa-wf-nuovo')).toBe(original);
    expect(text).not.toContain(secret);
    const { device, site } = (await loadRegistryFile(file)).devices.get('chiesa-wf-nuovo')!;
    expect(verifySecret(secret, device.secret_hash)).toBe(true);
    expect(device).toMatchObject({ kind: 'water_flow', interval_s: 30, description: 'Nuovo contatore' });
    expect(device.demo).toBeUndefined();
    expect([device.lat, device.lon]).toEqual([site.lat, site.lon]);
    expect(await readdir(dir)).toEqual(['registry.yaml']);
  });

  it('takes explicit coordinates and keeps the file mode', async () => {
    await chmod(file, 0o600);
    await addDevice(file, { ...newDevice, lat: 46.2711, lon: 9.8451 });
    const { device } = (await loadRegistryFile(file)).devices.get('chiesa-wf-nuovo')!;
    expect([device.lat, device.lon]).toEqual([46.2711, 9.8451]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('refuses a duplicate id and leaves the file untouched', async () => {
    await expectRefused(
      addDevice(file, { ...newDevice, id: 'chiesa-wf-primolo' }),
      RegistryEditError,
      /"chiesa-wf-primolo" is already a device id/,
    );
  });

  it('refuses an unknown kind or site, naming what exists', async () => {
    await expectRefused(
      addDevice(file, { ...newDevice, kind: 'water_flw' }),
      RegistryEditError,
      /unknown kind.*water_flow/,
    );
    await expectRefused(
      addDevice(file, { ...newDevice, site: 'chiesa-res' }),
      RegistryEditError,
      /unknown site "chiesa-res" \(similar: .*chiesa-res-alto/,
    );
  });

  it('refuses an id that is a user id or not a valid id', async () => {
    await addUser(file, { id: 'anna', role: 'operator', password: 'correct horse battery' });
    original = await read();
    await expectRefused(
      addDevice(file, { ...newDevice, id: 'anna' }),
      RegistryEditError,
      /already a user id/,
    );
    await expectRefused(
      addDevice(file, { ...newDevice, id: 'Bad_Id' }),
      RegistryEditError,
      /invalid device id/,
    );
  });

  it('validates the result before writing: a car park counter needs a site with a capacity', async () => {
    await expectRefused(
      addDevice(file, { ...newDevice, kind: 'parking' }),
      RegistryEditError,
      /not changed.*\n.*needs "capacity"/,
    );
  });

  it('refuses to edit a registry that is already invalid, listing its problems', async () => {
    original = original.replace('kind: water_level', 'kind: water_lvl');
    await writeFile(file, original);
    await expectRefused(addDevice(file, newDevice), RegistryError, /water_lvl/);
  });

  it('never loses a device when edits race: they take turns', async () => {
    const ids = ['chiesa-wf-a', 'chiesa-wf-b', 'chiesa-wf-c'];
    const secrets = await Promise.all(ids.map((id) => addDevice(file, { ...newDevice, id })));
    const index = await loadRegistryFile(file);
    ids.forEach((id, i) =>
      expect(verifySecret(secrets[i]!, index.devices.get(id)!.device.secret_hash)).toBe(true),
    );
    expect(await readdir(dir)).toEqual(['registry.yaml']); // lock released
  });
});

describe('rotateDeviceSecret', () => {
  it('replaces only the hash line; the old secret stops verifying', async () => {
    const demo = JSON.parse(await readFile(DEMO_SECRETS, 'utf8')) as { secrets: Record<string, string> };
    const oldSecret = demo.secrets['lanzada-wl-ganda']!;
    const secret = await rotateDeviceSecret(file, 'lanzada-wl-ganda');
    const { device } = (await loadRegistryFile(file)).devices.get('lanzada-wl-ganda')!;
    expect(verifySecret(secret, device.secret_hash)).toBe(true);
    expect(verifySecret(oldSecret, device.secret_hash)).toBe(false);
    const before = original.split('\n');
    const after = (await read()).split('\n');
    expect(after).toHaveLength(before.length);
    expect(after.filter((line, i) => line !== before[i])).toEqual([`    secret_hash: ${device.secret_hash}`]);
  });

  it('refuses an unknown device', async () => {
    await expectRefused(rotateDeviceSecret(file, 'nessuno'), RegistryEditError, /no device "nessuno"/);
  });
});

describe('revokeDevice', () => {
  it('removes exactly the entry', async () => {
    await revokeDevice(file, 'lanzada-wl-ganda');
    expect(await read()).toBe(withoutEntry(original, 'lanzada-wl-ganda'));
    expect((await loadRegistryFile(file)).devices.has('lanzada-wl-ganda')).toBe(false);
  });

  it('keeps the section comment above a removed entry for the next one', async () => {
    expect(original).toContain('  # --- Water: Caspoggio ---\n  - id: caspoggio-wf-sorgente\n');
    await revokeDevice(file, 'caspoggio-wf-sorgente');
    expect(await read()).toContain('\n\n  # --- Water: Caspoggio ---\n  - id: caspoggio-wf-serbatoio\n');
  });

  it('refuses an unknown device', async () => {
    await expectRefused(revokeDevice(file, 'nessuno'), RegistryEditError, /no device "nessuno"/);
  });
});

describe('users', () => {
  it('adds a user to the empty list with a verifiable password hash, keeping the comments', async () => {
    await addUser(file, { id: 'anna', role: 'viewer', password: 'correct horse battery' });
    const text = await read();
    expect(text.replace(/\nusers:\n {2}- id: anna\n(?: {4}.*\n)+$/, '\nusers: []\n')).toBe(original);
    const user = (await loadRegistryFile(file)).users.get('anna')!;
    expect(user.role).toBe('viewer');
    expect(await verifyPassword('correct horse battery', user.password_hash)).toBe(true);
    expect(text).not.toContain('correct horse battery');
  });

  it('refuses duplicates, device ids, unknown roles and short passwords', async () => {
    await addUser(file, { id: 'anna', role: 'viewer', password: 'correct horse battery' });
    original = await read();
    await expectRefused(
      addUser(file, { id: 'anna', role: 'operator', password: 'another long one' }),
      RegistryEditError,
      /already a user id/,
    );
    await expectRefused(
      addUser(file, { id: 'chiesa-wf-primolo', role: 'viewer', password: 'another long one' }),
      RegistryEditError,
      /already a device id/,
    );
    await expectRefused(
      addUser(file, { id: 'bruno', role: 'admin' as 'viewer', password: 'another long one' }),
      RegistryEditError,
      /unknown role/,
    );
    await expectRefused(
      addUser(file, { id: 'bruno', role: 'viewer', password: 'short' }),
      RegistryEditError,
      /too short/,
    );
  });

  it('sets a new password: the new one verifies, the old one no longer does', async () => {
    await addUser(file, { id: 'anna', role: 'operator', password: 'correct horse battery' });
    await setUserPassword(file, 'anna', 'a completely new passphrase');
    const user = (await loadRegistryFile(file)).users.get('anna')!;
    expect(await verifyPassword('a completely new passphrase', user.password_hash)).toBe(true);
    expect(await verifyPassword('correct horse battery', user.password_hash)).toBe(false);
    await expect(setUserPassword(file, 'nessuno', 'a completely new passphrase')).rejects.toThrow(
      /no user "nessuno"/,
    );
  });
});
