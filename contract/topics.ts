/** MQTT topics of the contract: one source of truth for builders and parsers. */
import { z } from 'zod';

/**
 * Device and user ids are MQTT client ids and topic levels, so they exclude `/`, `+`, `#` and
 * anything a shell or a URL would need to quote. MQTT 3.1.1 servers must accept 23 characters;
 * Aedes and Mosquitto accept more, and 64 leaves room for descriptive names.
 */
export const ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
export const idSchema = z
  .string()
  .regex(ID_PATTERN, 'an id is 1-64 characters of a-z, 0-9 and "-", not starting or ending with "-"');

export const CORRIDORS = ['water', 'energy', 'mobility'] as const;
export type CorridorId = (typeof CORRIDORS)[number];

export const topics = {
  readings: (deviceId: string) => `sensors/${deviceId}/readings`,
  status: (deviceId: string) => `sensors/${deviceId}/status`,
  rejects: (deviceId: string) => `sensors/${deviceId}/rejects`,
  live: (corridor: string, municipality: string, kind: string, deviceId: string) =>
    `valley/live/${corridor}/${municipality}/${kind}/${deviceId}`,
  alert: (corridor: string, municipality: string, alertId: string) =>
    `valley/alerts/${corridor}/${municipality}/${alertId}`,
  systemAlert: (alertId: string) => `valley/alerts/system/${alertId}`,
} as const;

/** The subscriptions an operator user may make (MQTT filters). */
export const OPERATOR_FILTERS = ['valley/#', 'sensors/+/status', 'sensors/+/rejects'] as const;

export type SensorTopic = { deviceId: string; channel: 'readings' | 'status' | 'rejects' };

/** Parses `sensors/{id}/{channel}`; anything else (extra levels, wildcards, bad ids) is null. */
export function parseSensorTopic(topic: string): SensorTopic | null {
  const parts = topic.split('/');
  if (parts.length !== 3 || parts[0] !== 'sensors') return null;
  const [, deviceId, channel] = parts as [string, string, string];
  if (!ID_PATTERN.test(deviceId)) return null;
  if (channel !== 'readings' && channel !== 'status' && channel !== 'rejects') return null;
  return { deviceId, channel };
}

/**
 * True when `filter` (an MQTT subscription, possibly with wildcards) only matches topics that
 * `allowed` (also a filter) matches. Used by the ACL: `valley/live/#` is inside `valley/#`,
 * `sensors/#` is not inside `sensors/+/status`.
 */
export function filterWithin(filter: string, allowed: string): boolean {
  const f = filter.split('/');
  const a = allowed.split('/');
  for (let i = 0; i < a.length; i++) {
    const al = a[i];
    const fl = f[i];
    if (al === '#') return fl !== undefined || i > 0;
    if (fl === undefined) return false;
    if (fl === '#') return false;
    if (al === '+') continue;
    if (fl === '+' || fl !== al) return false;
  }
  return f.length === a.length;
}

/**
 * True when `filter` could match some topic under `prefix` (levels, no wildcards), e.g. whether a
 * subscription can receive `valley/live/...`: `valley/#`, `valley/+/water/#` and
 * `valley/live/water/+/+/+` can, `valley/alerts/#` and `valley/live` cannot. Errs towards true for
 * filters that match only topics of the wrong depth below the prefix: a needless publish is cheap.
 */
export function filterReachesUnder(filter: string, prefix: string): boolean {
  const f = filter.split('/');
  const p = prefix.split('/');
  for (let i = 0; i < p.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (level === undefined || (level !== '+' && level !== p[i])) return false;
  }
  return f.length > p.length;
}
