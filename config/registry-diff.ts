/**
 * What changed between two registries, in the terms a reload acts on: who may no longer connect,
 * whose data would now be filed elsewhere, whose credentials apply from the next CONNECT.
 */
import type { RegistryIndex } from './registry-schema.js';

export interface RegistryDiff {
  /** Nothing at all changed (comments and layout aside). */
  unchanged: boolean;
  added: string[];
  /** Removed devices: disconnected at once, refused afterwards. */
  revoked: string[];
  /** Kind, site or municipality changed: the session and the ingest state belong to the old one. */
  moved: string[];
  /** New secret hash: the current session stays, the next CONNECT needs the new secret. */
  rotated: string[];
  usersAdded: string[];
  usersRemoved: string[];
  /** A role change is a permission change: an operator made viewer must lose its subscriptions. */
  usersRoleChanged: string[];
  passwordsChanged: string[];
}

export function diffRegistries(before: RegistryIndex, after: RegistryIndex): RegistryDiff {
  const diff: RegistryDiff = {
    unchanged: JSON.stringify(before.registry) === JSON.stringify(after.registry),
    added: [],
    revoked: [],
    moved: [],
    rotated: [],
    usersAdded: [],
    usersRemoved: [],
    usersRoleChanged: [],
    passwordsChanged: [],
  };
  if (diff.unchanged) return diff;
  for (const [id, old] of before.devices) {
    const now = after.devices.get(id);
    if (now === undefined) diff.revoked.push(id);
    else if (
      now.device.kind !== old.device.kind ||
      now.site.id !== old.site.id ||
      now.municipality.id !== old.municipality.id
    )
      diff.moved.push(id);
    else if (now.device.secret_hash !== old.device.secret_hash) diff.rotated.push(id);
  }
  for (const id of after.devices.keys()) if (!before.devices.has(id)) diff.added.push(id);
  for (const [id, old] of before.users) {
    const now = after.users.get(id);
    if (now === undefined) diff.usersRemoved.push(id);
    else if (now.role !== old.role) diff.usersRoleChanged.push(id);
    else if (now.password_hash !== old.password_hash) diff.passwordsChanged.push(id);
  }
  for (const id of after.users.keys()) if (!before.users.has(id)) diff.usersAdded.push(id);
  return diff;
}
