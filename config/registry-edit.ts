/**
 * Edits of the registry YAML that keep its comments and layout: the file is parsed into a yaml
 * Document, one node is changed, and the Document is written back. The yaml library re-renders
 * the whole file, so a file in its canonical layout (the default registry is) changes only on the
 * edited lines; `STRINGIFY_OPTIONS` keeps long lines and `[1, 2]` flow lists as they are.
 *
 * Every edit checks the file as it is first (so problems are reported with their real lines),
 * validates the result with the schema before writing, and writes atomically (temp file, fsync,
 * rename), so a crash or a refused edit never leaves a half-written registry for the watcher.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { basename, dirname, join } from 'node:path';
import { isMap, isSeq, type Document, type ToStringOptions, type YAMLMap, type YAMLSeq } from 'yaml';
import { ID_PATTERN, KINDS } from '../contract/index.js';
import { parseRegistryDocument, parseRegistryText, readRegistryText, RegistryError } from './loader.js';
import type { RegistryIndex } from './registry-schema.js';
import { generateSecret, hashPassword, hashSecret } from './secrets.js';

export const STRINGIFY_OPTIONS: ToStringOptions = { lineWidth: 0, flowCollectionPadding: false };

/** People choose passwords; 12 characters is a floor, not advice. */
export const MIN_PASSWORD_LENGTH = 12;

export class RegistryEditError extends Error {
  readonly code = 'E_REGISTRY_EDIT';
}

/**
 * Applies `edit` to the registry Document and writes the result, always validated first. With
 * `requireValid` off (scripts/make-demo-secrets.ts fills in missing hashes) the input may be invalid.
 */
export async function editRegistryFile<T>(
  file: string,
  edit: (doc: Document.Parsed, index: RegistryIndex | undefined) => T,
  { requireValid = true }: { requireValid?: boolean } = {},
): Promise<T> {
  return withLock(file, async () => {
    const text = await readRegistryText(file);
    const index = requireValid ? parseRegistryText(text, file) : undefined;
    const { doc } = parseRegistryDocument(text);
    if (doc.errors.length > 0) parseRegistryText(text, file); // throws with the YAML errors and lines
    const result = edit(doc, index);
    const next = doc.toString(STRINGIFY_OPTIONS);
    try {
      parseRegistryText(next, file);
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      const problems = err.problems.map((p) => `  ${p.path ? `${p.path}: ` : ''}${p.message}`);
      throw new RegistryEditError(
        `${file} was not changed: the edit would make it invalid:\n${problems.join('\n')}`,
      );
    }
    await writeAtomic(file, next, text);
    return result;
  });
}

const LOCK_WAIT_MS = 5000;

/**
 * `<file>.lock`, created exclusively and holding our pid, serialises edits: two `valley device
 * add` at once must not both read the old file and lose one device. A lock whose process is gone
 * (a crash) is taken over; a live one is waited for, then reported.
 */
async function withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (await lockIsStale(lock)) await rm(lock, { force: true });
      else if (Date.now() > deadline) {
        throw new RegistryEditError(
          `${file} was not changed: another edit holds ${lock} (remove it if none runs)`,
        );
      } else await sleep(10 + Math.random() * 40);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

async function lockIsStale(lock: string): Promise<boolean> {
  const pid = Number(await readFile(lock, 'utf8').catch(() => ''));
  if (!Number.isInteger(pid) || pid <= 0) return false; // being written right now
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Temp file + fsync + rename + directory fsync; refuses when someone changed the file meanwhile. */
async function writeAtomic(file: string, text: string, original: string): Promise<void> {
  const { mode } = await stat(file);
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', mode & 0o777);
  try {
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The lock keeps our own commands apart; this catches an editor saving the file meanwhile.
    if ((await readRegistryText(file)) !== original) {
      throw new RegistryEditError(
        `${file} was not changed: it changed while being edited; run the command again`,
      );
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync(); // makes the rename itself durable
  } finally {
    await dir.close();
  }
}

function list(doc: Document, key: 'devices' | 'users'): YAMLSeq {
  const node = doc.get(key, true);
  if (isSeq(node)) {
    node.flow = false; // `users: []` becomes a block list once it has an entry
    return node;
  }
  const seq = doc.createNode([]) as YAMLSeq;
  doc.set(key, seq);
  return seq;
}

function findEntry(
  doc: Document,
  key: 'devices' | 'users',
  id: string,
): { seq: YAMLSeq; at: number; map: YAMLMap } {
  const seq = list(doc, key);
  const at = seq.items.findIndex((item) => isMap(item) && item.get('id') === id);
  const map = seq.items[at];
  if (at < 0 || !isMap(map)) throw new RegistryEditError(`no ${key.slice(0, -1)} "${id}" in the registry`);
  return { seq, at, map };
}

function checkNewId(index: RegistryIndex, id: string, what: 'device' | 'user'): void {
  if (!ID_PATTERN.test(id)) {
    throw new RegistryEditError(
      `invalid ${what} id "${id}": 1-64 characters of a-z, 0-9 and "-", not at the ends`,
    );
  }
  if (index.devices.has(id)) throw new RegistryEditError(`"${id}" is already a device id`);
  if (index.users.has(id)) throw new RegistryEditError(`"${id}" is already a user id`);
}

export interface NewDevice {
  id: string;
  kind: string;
  site: string;
  lat?: number;
  lon?: number;
  interval_s: number;
  description?: string;
}

/** Adds a device with a new random secret; writes only its hash and returns the secret. */
export async function addDevice(file: string, spec: NewDevice): Promise<string> {
  const secret = generateSecret();
  await editRegistryFile(file, (doc, index) => {
    if (!index) throw new Error('unreachable: editRegistryFile validates first');
    checkNewId(index, spec.id, 'device');
    if (!KINDS.has(spec.kind)) {
      throw new RegistryEditError(`unknown kind "${spec.kind}" (known: ${[...KINDS.keys()].join(', ')})`);
    }
    const site = index.registry.sites.find((s) => s.id === spec.site);
    if (!site) throw new RegistryEditError(unknownSite(index, spec.site));
    if ((spec.lat === undefined) !== (spec.lon === undefined)) {
      throw new RegistryEditError('give both lat and lon, or neither (the site position is used)');
    }
    if (!Number.isInteger(spec.interval_s) || spec.interval_s < 1 || spec.interval_s > 86400) {
      throw new RegistryEditError(
        `interval must be a whole number of seconds, 1-86400 (got ${spec.interval_s})`,
      );
    }
    list(doc, 'devices').items.push(
      doc.createNode({
        id: spec.id,
        kind: spec.kind,
        site: spec.site,
        lat: spec.lat ?? site.lat,
        lon: spec.lon ?? site.lon,
        interval_s: spec.interval_s,
        ...(spec.description !== undefined && { description: spec.description }),
        secret_hash: hashSecret(secret),
      }),
    );
  });
  return secret;
}

function unknownSite(index: RegistryIndex, id: string): string {
  const prefix = id.split('-')[0] ?? id;
  const ids = index.registry.sites.map((s) => s.id);
  // Closest first: ids containing what was typed, then ids of the same municipality prefix.
  const containing = ids.filter((s) => s.includes(id) || id.includes(s));
  const near = [
    ...containing,
    ...ids.filter((s) => s.startsWith(`${prefix}-`) && !containing.includes(s)),
  ].slice(0, 8);
  return `unknown site "${id}"${near.length > 0 ? ` (similar: ${near.join(', ')})` : ''}`;
}

/** Replaces a device's secret; the old one stops working at the next reload. Returns the new one. */
export async function rotateDeviceSecret(file: string, id: string): Promise<string> {
  const secret = generateSecret();
  await editRegistryFile(file, (doc) =>
    findEntry(doc, 'devices', id).map.set('secret_hash', hashSecret(secret)),
  );
  return secret;
}

/** Removes a device; the gateway disconnects it when it reloads the registry. */
export async function revokeDevice(file: string, id: string): Promise<void> {
  await editRegistryFile(file, (doc) => removeEntry(findEntry(doc, 'devices', id)));
}

/**
 * Removes a list entry. Comments above an entry are usually section headers ("--- Lanzada ---")
 * that belong to the group, so they move to the next entry (or after the list) instead of vanishing.
 */
function removeEntry({ seq, at, map }: { seq: YAMLSeq; at: number; map: YAMLMap }): void {
  seq.items.splice(at, 1);
  const next = seq.items[at];
  if (map.commentBefore) {
    if (next && isMap(next)) {
      next.commentBefore = next.commentBefore
        ? `${map.commentBefore}\n${next.commentBefore}`
        : map.commentBefore;
    } else {
      seq.comment = seq.comment ? `${map.commentBefore}\n${seq.comment}` : map.commentBefore;
    }
  }
  if (map.spaceBefore && next && isMap(next)) next.spaceBefore = true;
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new RegistryEditError(`the password is too short: at least ${MIN_PASSWORD_LENGTH} characters`);
  }
}

export interface NewUser {
  id: string;
  role: 'viewer' | 'operator';
  password: string;
  name?: string;
}

/** Adds a user with a scrypt hash of the password (hashed before the file is read, it takes a while). */
export async function addUser(file: string, spec: NewUser): Promise<void> {
  if (spec.role !== 'viewer' && spec.role !== 'operator') {
    throw new RegistryEditError(`unknown role "${String(spec.role)}" (viewer or operator)`);
  }
  checkPassword(spec.password);
  const password_hash = await hashPassword(spec.password);
  await editRegistryFile(file, (doc, index) => {
    if (!index) throw new Error('unreachable: editRegistryFile validates first');
    checkNewId(index, spec.id, 'user');
    const user = {
      id: spec.id,
      role: spec.role,
      ...(spec.name !== undefined && { name: spec.name }),
      password_hash,
    };
    list(doc, 'users').items.push(doc.createNode(user));
  });
}

/** Replaces a user's password hash. */
export async function setUserPassword(file: string, id: string, password: string): Promise<void> {
  checkPassword(password);
  const hash = await hashPassword(password);
  await editRegistryFile(file, (doc) => findEntry(doc, 'users', id).map.set('password_hash', hash));
}
