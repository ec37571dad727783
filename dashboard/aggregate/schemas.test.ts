/**
 * Every room of the real registry (config/valmalenco.yaml) produces a snapshot that passes the
 * schemas the client validates with, and survives JSON unchanged (plain data, no NaN/undefined).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import { getKind, type NormalizedReading } from '../../contract/index.js';
import { parseRegistryText } from '../../config/loader.js';
import { DashboardAggregator } from './engine.js';
import { t } from './fixtures.js';
import { parseRoom, roomKeySchema } from './rooms.js';
import { roomSnapshotSchema } from './schemas.js';

const registry = parseRegistryText(
  readFileSync(new URL('../../config/valmalenco.yaml', import.meta.url), 'utf8'),
  'valmalenco.yaml',
);
const NOW = t('2026-11-25T10:00:00+01:00');

/** A reading per device with every metric of its kind at a value inside its range. */
function readingFor(deviceId: string, kindId: string, ts: number): NormalizedReading {
  const kind = getKind(kindId);
  if (!kind) throw new Error(kindId);
  const values: Record<string, number> = {};
  for (const [metric, spec] of Object.entries(kind.metrics)) {
    const v = Math.max(spec.min, Math.min(spec.max, 1));
    values[metric] = spec.integer ? Math.round(v) : v;
  }
  const r = registry.devices.get(deviceId);
  return {
    deviceId,
    kind: kindId,
    corridor: r?.corridor ?? '',
    municipality: r?.municipality.id ?? '',
    site: r?.site.id ?? '',
    ts,
    values,
    receivedAt: ts,
  };
}

describe('snapshots of the real registry', () => {
  const agg = new DashboardAggregator({ registry });
  // Every state appears: one alerted, one never connected, one just connected, the others
  // connected for an hour, half of them reporting (ok) and half silent (stale).
  [...registry.devices.values()].forEach((r, i) => {
    const id = r.device.id;
    if (i === 0) {
      agg.onAlert({
        id: `device-offline-${id}`,
        severity: 'warning',
        source: 'system',
        state: 'active',
        since: NOW,
        message: 'offline',
        deviceId: id,
      });
    }
    if (i <= 1) return;
    agg.onPresence({
      deviceId: id,
      state: 'online',
      at: i === 2 ? NOW : NOW - 3_600_000,
      reason: 'connected',
    });
    if (i > 2 && i % 2 === 0)
      agg.onAccepted({ deviceId: id, readings: [readingFor(id, r.device.kind, NOW - 1000)] }, NOW);
  });
  agg.onRejected(
    { deviceId: 'chiesa-wf-primolo', rejects: [{ code: 'E_SCHEMA', message: 'x', receivedAt: NOW }] },
    NOW,
  );

  test.each(agg.rooms())('%s', (room) => {
    const snapshot = agg.snapshot(room, NOW);
    expect(snapshot).not.toBeNull();
    const parsed = roomSnapshotSchema.parse(JSON.parse(JSON.stringify(snapshot)));
    expect(parsed).toEqual(snapshot);
    expect(roomKeySchema.safeParse(room).success).toBe(true);
  });

  test('the map shows every state of the fleet', () => {
    const map = agg.snapshot('map', NOW);
    if (map?.type !== 'map') throw new Error('no map');
    const { ok, stale, ...rest } = map.data.states;
    expect(rest).toEqual({ alert: 1, offline: 1, nodata: 1 });
    expect(ok).toBeGreaterThan(0);
    expect(stale).toBeGreaterThan(0);
    expect(map.data.devices).toHaveLength(registry.devices.size);
  });

  test('unknown rooms: null from the engine, refused by the room schema', () => {
    expect(agg.snapshot('device:no-such-device', NOW)).toBeNull();
    expect(agg.snapshot('municipality:torre', NOW)).toBeNull();
    expect(agg.snapshot('corridor:territory', NOW)).toBeNull();
    for (const bad of ['', 'device:', 'device:../etc', 'admin', 'overview:x', 'device:A']) {
      expect(parseRoom(bad)).toBeNull();
      expect(roomKeySchema.safeParse(bad).success).toBe(false);
    }
  });
});
