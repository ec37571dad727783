import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { silentLogger } from '../gateway/logger.js';
import { waitFor } from '../test/support/mqtt.js';
import { makeTestRegistry, writeTestRegistry } from '../test/support/registry.js';
import { addDevice } from './registry-edit.js';
import type { RegistryIndex } from './registry-schema.js';
import { RegistryWatcher } from './watcher.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let path: string;
let changes: RegistryIndex[];
let refusals: string[][];
let watcher: RegistryWatcher;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-watch-'));
  path = await writeTestRegistry(dir, makeTestRegistry());
  changes = [];
  refusals = [];
  watcher = new RegistryWatcher({
    path,
    logger: silentLogger(),
    onChange: (index) => void changes.push(index),
    onInvalid: (problems) => void refusals.push(problems),
    debounceMs: 30,
  });
  await watcher.start();
});

afterEach(async () => {
  await watcher.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('RegistryWatcher', () => {
  it('checks the file once at start, then sees a replace by rename (valley device add)', async () => {
    expect(changes).toHaveLength(1);
    await addDevice(path, { id: 't-new-1', kind: 'water_flow', site: 't-reservoir', interval_s: 60 });
    await waitFor(() => changes.length === 2, 5000, 'a second onChange');
    expect(changes[1]!.devices.has('t-new-1')).toBe(true);
    expect(refusals).toEqual([]);
  });

  it('refuses an invalid file with every problem and its line, then takes the fixed one', async () => {
    const good = await readFile(path, 'utf8');
    const bad = good
      .replace('kind: water_level', 'kind: water_levels')
      .replace('site: t-network', 'site: t-nowhere');
    await writeFile(path, bad); // in place: a 'change' event, not a rename
    await waitFor(() => refusals.length === 1, 5000, 'onInvalid');
    expect(refusals[0]).toHaveLength(2);
    expect(refusals[0]![0]).toMatch(/registry\.yaml:\d+: devices\[\d+\]\.(kind|site): unknown/);
    expect(refusals[0]!.join('\n')).toContain('unknown kind "water_levels"');
    expect(refusals[0]!.join('\n')).toContain('unknown site "t-nowhere"');
    expect(changes).toHaveLength(1);
    await writeFile(path, good);
    await waitFor(() => changes.length === 2, 5000, 'onChange after the fix');
  });

  it('ignores a touch and other files, but reload() reads the file anyway', async () => {
    const now = new Date();
    await utimes(path, now, now);
    await writeFile(join(dir, 'other.yaml'), 'x: 1\n');
    await writeFile(`${path}.lock`, String(process.pid));
    await sleep(200);
    expect(changes).toHaveLength(1);
    await watcher.reload();
    expect(changes).toHaveLength(2);
  });

  it('reports a vanished file and keeps watching for its return', async () => {
    const good = await readFile(path, 'utf8');
    await rm(path);
    await waitFor(() => refusals.length === 1, 5000, 'onInvalid for the missing file');
    expect(refusals[0]![0]).toContain('cannot read the registry file: no such file');
    await writeFile(path, good.replace('interval_s: 60', 'interval_s: 61'));
    await waitFor(() => changes.length === 2, 5000, 'onChange after the file came back');
  });

  it('stops watching at stop()', async () => {
    await watcher.stop();
    await addDevice(path, { id: 't-new-2', kind: 'water_flow', site: 't-reservoir', interval_s: 60 });
    await sleep(200);
    expect(changes).toHaveLength(1);
  });
});
