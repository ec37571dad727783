import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { KIND_IDS } from '../contract/index.js';
import {
  assertBindAllowed,
  DemoBindError,
  formatRegistryProblems,
  loadRegistryFile,
  parseRegistryText,
  RegistryError,
  type RegistryProblem,
} from './loader.js';
import { STRINGIFY_OPTIONS } from './registry-edit.js';
import { hashSecret, verifySecret } from './secrets.js';

const DEFAULT_REGISTRY = join(import.meta.dirname, 'valmalenco.yaml');
const DEMO_SECRETS = join(import.meta.dirname, '..', 'simulators', 'demo-secrets.json');
const HASH = hashSecret('test-secret');

/** A small valid registry; tests break it on purpose. */
function registryText(devices: string, sites = ''): string {
  return `version: 1
municipalities:
  - id: chiesa
    name: Chiesa in Valmalenco
    istat: '014019'
    lat: 46.266
    lon: 9.85
corridors:
  - id: water
    name: Acqua
  - id: mobility
    name: Mobilità
sites:
  - id: tank
    municipality: chiesa
    type: reservoir
    name: Serbatoio
    lat: 46.27
    lon: 9.845
${sites}devices:
${devices}users: []
`;
}

function device(id: string, kind = 'water_flow', site = 'tank', extra = ''): string {
  return `  - id: ${id}
    kind: ${kind}
    site: ${site}
    lat: 46.27
    lon: 9.845
    interval_s: 60
${extra}    secret_hash: ${HASH}
`;
}

/** 1-based line of the first line containing `marker`, searched from the `nth` occurrence. */
function lineOf(text: string, marker: string, nth = 1): number {
  let seen = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) if (lines[i]!.includes(marker) && ++seen === nth) return i + 1;
  throw new Error(`marker ${marker} not found`);
}

function problemsOf(text: string): RegistryProblem[] {
  try {
    parseRegistryText(text, 'test.yaml');
  } catch (err) {
    if (err instanceof RegistryError) return err.problems;
    throw err;
  }
  throw new Error('expected a RegistryError');
}

describe('the default registry', () => {
  it('loads with at least 40 devices over all 11 kinds, 3 corridors and 4 municipalities', async () => {
    const index = await loadRegistryFile(DEFAULT_REGISTRY);
    const devices = [...index.devices.values()];
    expect(devices.length).toBeGreaterThanOrEqual(40);
    expect(new Set(devices.map((d) => d.device.kind))).toEqual(new Set(KIND_IDS));
    expect(new Set(devices.map((d) => d.corridor))).toEqual(new Set(['water', 'energy', 'mobility']));
    expect(new Set(devices.map((d) => d.municipality.id))).toEqual(
      new Set(['chiesa', 'caspoggio', 'lanzada', 'spriana']),
    );
    expect(index.registry.municipalities.map((m) => m.istat).sort()).toEqual([
      '014013',
      '014019',
      '014036',
      '014062',
    ]);
    expect(index.registry.users).toEqual([]);
  });

  it('has only demo devices, reporting every 60-900 s, placed within 2 km of their site', async () => {
    const index = await loadRegistryFile(DEFAULT_REGISTRY);
    for (const { device, site } of index.devices.values()) {
      expect(device.demo).toBe(true);
      expect(device.interval_s).toBeGreaterThanOrEqual(60);
      expect(device.interval_s).toBeLessThanOrEqual(900);
      const km = Math.hypot((device.lat - site.lat) * 111, (device.lon - site.lon) * 111 * Math.cos(0.807));
      expect({ id: device.id, near: km < 2 }).toEqual({ id: device.id, near: true });
    }
  });

  it('has a secret in simulators/demo-secrets.json for every demo device, matching its hash', async () => {
    const index = await loadRegistryFile(DEFAULT_REGISTRY);
    const file = JSON.parse(await readFile(DEMO_SECRETS, 'utf8')) as {
      version: number;
      secrets: Record<string, string>;
    };
    expect(file.version).toBe(1);
    const demo = index.registry.devices.filter((d) => d.demo === true);
    expect(Object.keys(file.secrets).sort()).toEqual(demo.map((d) => d.id).sort());
    for (const d of demo)
      expect({ id: d.id, ok: verifySecret(file.secrets[d.id] ?? '', d.secret_hash) }).toEqual({
        id: d.id,
        ok: true,
      });
  });

  it('round-trips byte for byte through the yaml library, so edits touch only their own lines', async () => {
    const text = await readFile(DEFAULT_REGISTRY, 'utf8');
    expect(parseDocument(text).toString(STRINGIFY_OPTIONS)).toBe(text);
  });
});

describe('parseRegistryText', () => {
  it('accepts a valid registry', () => {
    const index = parseRegistryText(registryText(device('tank-wf')), 'ok.yaml');
    expect(index.devices.get('tank-wf')?.corridor).toBe('water');
  });

  it('lists every problem at once, with paths and lines', () => {
    const text = registryText(
      device('tank-wf') +
        device('tank-wf') + // duplicate id
        device('tank-x', 'water_flw') + // unknown kind
        device('tank-y', 'water_flow', 'nowhere') + // unknown site
        device('park-1', 'parking', 'park', '    colour: red\n') + // no capacity, unknown key
        device('tank-z').replace('interval_s: 60', 'interval_s: often'),
      `  - id: park
    municipality: chiesa
    type: car_park
    name: Parcheggio senza capienza
    lat: 46.28
    lon: 9.84
`,
    );
    const problems = problemsOf(text);
    const expected = [
      {
        path: 'devices[1].id',
        line: lineOf(text, 'id: tank-wf', 2),
        message: expect.stringContaining('duplicate id "tank-wf"'),
      },
      {
        path: 'devices[2].kind',
        line: lineOf(text, 'kind: water_flw'),
        message: expect.stringContaining('unknown kind "water_flw"'),
      },
      { path: 'devices[3].site', line: lineOf(text, 'site: nowhere'), message: 'unknown site "nowhere"' },
      {
        path: 'devices[4].colour',
        line: lineOf(text, 'colour: red'),
        message: expect.stringContaining('unknown key'),
      },
      {
        path: 'devices[4].site',
        line: lineOf(text, 'site: park'),
        message: expect.stringContaining('needs "capacity"'),
      },
      {
        path: 'devices[5].interval_s',
        line: lineOf(text, 'interval_s: often'),
        message: expect.stringContaining('number'),
      },
    ];
    for (const problem of expected) expect(problems).toContainEqual(problem);
    expect(problems).toHaveLength(expected.length);
    // In file order, for reading next to the editor.
    expect(problems.map((p) => p.line)).toEqual([...problems.map((p) => p.line)].sort((a, b) => a! - b!));
  });

  it('reports a missing field on the line of the object that lacks it', () => {
    const text = registryText(device('tank-wf').replace(/ {4}secret_hash: .*\n/, ''));
    expect(problemsOf(text)).toEqual([
      {
        path: 'devices[0].secret_hash',
        line: lineOf(text, 'id: tank-wf'),
        message: 'missing: a string is required here',
      },
    ]);
  });

  it('explains an unquoted ISTAT code, which YAML reads as a number', () => {
    const text = registryText(device('tank-wf')).replace("istat: '014019'", 'istat: 014019');
    expect(problemsOf(text)).toEqual([
      {
        path: 'municipalities[0].istat',
        line: lineOf(text, 'istat:'),
        message: expect.stringContaining('quoted'),
      },
    ]);
  });

  it('reports YAML syntax errors with their lines, and no schema guesses on top', () => {
    const text = registryText(device('tank-wf')).replace('    interval_s: 60', '    interval_s: [60');
    const problems = problemsOf(text);
    expect(problems.length).toBeGreaterThanOrEqual(1);
    expect(problems[0]).toMatchObject({ path: '', message: expect.stringMatching(/^YAML [A-Z_]+: /) });
    expect(problems[0]!.line).toBeGreaterThanOrEqual(lineOf(text, 'interval_s: [60'));
    expect(problems.every((p) => p.message.startsWith('YAML'))).toBe(true);
  });

  it('reports duplicate keys as YAML errors', () => {
    const text = registryText(
      device('tank-wf').replace('    lon: 9.845\n', '    lon: 9.845\n    lon: 9.9\n'),
    );
    expect(problemsOf(text)).toEqual([
      { path: '', line: lineOf(text, 'lon: 9.9'), message: expect.stringContaining('DUPLICATE_KEY') },
    ]);
  });

  it('reports an empty file as one problem of the whole registry', () => {
    expect(problemsOf('')).toEqual([{ path: '(registry)', message: expect.stringContaining('object') }]);
  });
});

describe('loadRegistryFile and formatRegistryProblems', () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    dirs.push(await mkdtemp(join(tmpdir(), 'valley-loader-')));
    return dirs.at(-1)!;
  };
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('names a missing or unreadable file in one problem', async () => {
    const dir = await tempDir();
    for (const path of [join(dir, 'missing.yaml'), dir]) {
      const err = await loadRegistryFile(path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).code).toBe('E_REGISTRY');
      expect((err as RegistryError).problems).toHaveLength(1);
      expect(formatRegistryProblems(err as RegistryError)[0]).toMatch(
        new RegExp(`^${path}: cannot read the registry file: `),
      );
    }
  });

  it('prints <file>:<line>: <path>: <message>', async () => {
    const dir = await tempDir();
    const file = join(dir, 'broken.yaml');
    const text = registryText(device('tank-wf', 'water_flw'));
    await writeFile(file, text);
    const err = (await loadRegistryFile(file).catch((e: unknown) => e)) as RegistryError;
    expect(formatRegistryProblems(err)).toEqual([
      `${file}:${lineOf(text, 'water_flw')}: devices[0].kind: ${err.problems[0]!.message}`,
    ]);
    expect(err.message).toContain(`${file}:${lineOf(text, 'water_flw')}: devices[0].kind: unknown kind`);
  });
});

describe('assertBindAllowed', () => {
  const demo = parseRegistryText(
    registryText(device('tank-wf', 'water_flow', 'tank', '    demo: true\n')),
    'd.yaml',
  );
  const real = parseRegistryText(registryText(device('tank-wf')), 'r.yaml');

  it('allows loopback addresses with demo devices', () => {
    for (const bind of [
      '127.0.0.1',
      '127.8.9.10',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      'localhost',
      '::ffff:127.0.0.1',
    ]) {
      expect(() => assertBindAllowed(demo, bind)).not.toThrow();
    }
  });

  it('refuses any other address while demo devices are registered, and says why', () => {
    for (const bind of ['0.0.0.0', '::', '192.168.1.20', '10.0.0.1', 'gateway.example', '128.0.0.1']) {
      expect(() => assertBindAllowed(demo, bind)).toThrow(DemoBindError);
    }
    expect(() => assertBindAllowed(demo, '0.0.0.0')).toThrow(
      /refusing to bind 0\.0\.0\.0.*tank-wf.*demo-secrets\.json/,
    );
  });

  it('allows any address without demo devices', () => {
    expect(() => assertBindAllowed(real, '0.0.0.0')).not.toThrow();
  });
});
