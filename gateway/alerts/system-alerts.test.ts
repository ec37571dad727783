import { describe, expect, it } from '@jest/globals';
import { Bus, type Alert } from '../../contract/index.js';
import { defaultSettings } from '../../config/settings.js';
import { RegistryIndex } from '../../config/registry-schema.js';
import { makeTestRegistry } from '../../test/support/registry.js';
import type { BackpressureState } from '../backpressure.js';
import type { DrainerState } from '../drainer.js';
import { silentLogger } from '../logger.js';
import type { OutboxStats } from '../types.js';
import { humanSize, SystemAlerts } from './system-alerts.js';

interface Sent {
  topic: string;
  payload: string;
  retain: boolean;
}

const S = 1000;

function setup() {
  let now = 0;
  let registry = makeTestRegistry().index;
  const sent: Sent[] = [];
  const events: Alert[] = [];
  const bus = new Bus();
  bus.on('alert', (a) => events.push(a));
  const sink: { state: DrainerState; lastError?: string; deadLetterBlocked?: boolean } = { state: 'idle' };
  let bp: BackpressureState = {
    holding: false,
    heldAppends: 0,
    heldBytes: 0,
    backlogBytes: 0,
    capBytes: 2 * 1024 ** 3,
    abandonedAppends: 0,
    refusedAppends: 0,
  };
  const dl = { full: false, dropped: 0 };
  const outbox = { backlogRecords: 42, writable: true } as OutboxStats;
  const alerts = new SystemAlerts({
    bus,
    publish: (topic, payload, opts) => {
      sent.push({ topic, payload: payload.toString(), retain: opts.retain });
      return Promise.resolve();
    },
    clock: { now: () => now },
    logger: silentLogger(),
    registry: () => registry,
    settings: defaultSettings({ offlineGraceMs: 60 * S, sinkDownAfterMs: 60 * S }),
    sources: {
      drainer: { stats: () => sink },
      sinkDescription: 'InfluxDB v1 API at http://127.0.0.1:8086, db "valley"',
      outbox: { stats: () => outbox },
      backpressure: { state: () => bp },
      deadLetter: { stats: () => dl },
      connectedDevices: () => ['t-flow-1'],
    },
    checkIntervalMs: 3_600_000, // the test calls check() itself
  });
  return {
    alerts,
    bus,
    sent,
    events,
    sink,
    dl,
    outbox,
    at: (ms: number) => (now = ms),
    setBackpressure: (state: BackpressureState) => (bp = state),
    setRegistry: (next: RegistryIndex) => (registry = next),
    ids: () => alerts.active().map((a) => a.id),
    settle: () => new Promise((r) => setImmediate(r)),
  };
}

describe('SystemAlerts: device offline', () => {
  it('raises after the grace, not on a quick reconnect, and resolves when the device is back', async () => {
    const t = setup();
    t.alerts.start();
    t.at(59 * S);
    t.alerts.check();
    expect(t.ids()).toEqual([]);
    // Registered but never connected since the start: raised once the grace is over.
    t.at(60 * S);
    t.alerts.check();
    expect(t.ids()).toContain('device-offline-t-flow-2');
    expect(t.ids()).not.toContain('device-offline-t-flow-1');
    expect(t.alerts.active().find((a) => a.id === 'device-offline-t-flow-2')?.message).toContain(
      'has not connected since the gateway started',
    );

    const presence = (state: 'online' | 'offline', at: number) =>
      t.bus.emit('device.presence', { deviceId: 't-flow-1', state, at, reason: 'x' });
    presence('offline', 70 * S);
    presence('online', 71 * S);
    t.at(200 * S);
    t.alerts.check();
    expect(t.ids()).not.toContain('device-offline-t-flow-1');

    presence('offline', 300 * S);
    t.at(359 * S);
    t.alerts.check();
    expect(t.ids()).not.toContain('device-offline-t-flow-1');
    t.at(360 * S);
    t.alerts.check();
    const alert = t.alerts.active().find((a) => a.id === 'device-offline-t-flow-1');
    expect(alert).toEqual({
      id: 'device-offline-t-flow-1',
      severity: 'warning',
      source: 'system',
      state: 'active',
      since: 300 * S,
      message:
        'Device t-flow-1 (water_flow at t-reservoir, Chiesa in Valmalenco) is offline since ' +
        '1970-01-01T00:05:00.000Z: its MQTT connection ended.',
      deviceId: 't-flow-1',
      corridor: 'water',
      municipality: 'chiesa',
    });

    t.at(400 * S);
    presence('online', 400 * S);
    expect(t.ids()).not.toContain('device-offline-t-flow-1');
    await t.settle();
    const mine = t.sent.filter((m) => m.topic === 'valley/alerts/system/device-offline-t-flow-1');
    expect(
      mine.map((m) => [m.retain, m.payload === '' ? '' : (JSON.parse(m.payload) as Alert).state]),
    ).toEqual([
      [true, 'active'],
      [false, 'resolved'],
      [true, ''],
    ]);
    expect(JSON.parse(mine[1]!.payload)).toMatchObject({
      since: 400 * S,
      message: expect.stringContaining('online again'),
    });
    expect(t.events.filter((e) => e.deviceId === 't-flow-1').map((e) => e.state)).toEqual([
      'active',
      'resolved',
    ]);
    await t.alerts.stop();
  });

  it('counts status "offline" (or a last will) as offline and a new session as back', async () => {
    const t = setup();
    t.alerts.start();
    t.bus.emit('device.status', { deviceId: 't-flow-1', status: 'offline', at: 10 * S });
    t.at(70 * S);
    t.alerts.check();
    expect(t.alerts.active().find((a) => a.id === 'device-offline-t-flow-1')?.message).toContain(
      'reported "offline" on its status topic',
    );
    t.bus.emit('device.status', { deviceId: 't-flow-1', status: 'online', at: 71 * S });
    expect(t.ids()).not.toContain('device-offline-t-flow-1');
    await t.alerts.stop();
  });

  it('resolves the alert of a device removed from the registry and watches an added one', async () => {
    const t = setup();
    t.alerts.start();
    t.at(60 * S);
    t.alerts.check();
    expect(t.ids()).toContain('device-offline-t-flow-2');
    const base = makeTestRegistry([{ id: 't-new-1', kind: 'water_flow', site: 't-reservoir' }]).index
      .registry;
    t.setRegistry(new RegistryIndex({ ...base, devices: base.devices.filter((d) => d.id !== 't-flow-2') }));
    t.bus.emit('registry.reloaded', { devices: 12, at: 60 * S });
    expect(t.ids()).not.toContain('device-offline-t-flow-2');
    t.at(119 * S);
    t.alerts.check();
    expect(t.ids()).not.toContain('device-offline-t-new-1');
    t.at(120 * S);
    t.alerts.check();
    expect(t.alerts.active().find((a) => a.id === 'device-offline-t-new-1')?.message).toContain(
      'since it was added to the registry',
    );
    await t.alerts.stop();
  });
});

describe('SystemAlerts: sink, outbox, dead-letter', () => {
  it('raises sink-down after the threshold of backing off, and misconfigured at once', async () => {
    const t = setup();
    t.sink.state = 'backoff';
    t.sink.lastError = 'connect ECONNREFUSED 127.0.0.1:8086';
    t.at(1 * S);
    t.alerts.check();
    t.at(60 * S);
    t.alerts.check();
    expect(t.ids()).not.toContain('sink-down');
    t.at(61 * S);
    t.alerts.check();
    const down = t.alerts.active().find((a) => a.id === 'sink-down');
    expect(down).toMatchObject({ severity: 'warning', since: 1 * S });
    expect(down?.message).toContain('InfluxDB v1 API at http://127.0.0.1:8086');
    expect(down?.message).toContain('ECONNREFUSED');
    expect(down?.message).toContain('42 readings wait in the outbox');

    t.sink.state = 'misconfigured';
    t.sink.lastError = 'HTTP 401: authorization failed';
    t.alerts.check();
    expect(t.ids().filter((id) => id.startsWith('sink'))).toEqual(['sink-misconfigured']);
    expect(t.alerts.active().find((a) => a.id === 'sink-misconfigured')).toMatchObject({
      severity: 'critical',
    });

    t.sink.state = 'writing';
    t.alerts.check();
    expect(t.ids().filter((id) => id.startsWith('sink'))).toEqual([]);
    await t.settle();
    expect(t.sent.filter((m) => m.topic === 'valley/alerts/system/sink-down').map((m) => m.retain)).toEqual([
      true,
      false,
      true,
    ]);
  });

  it('follows outbox back-pressure and a full dead-letter log', () => {
    const t = setup();
    t.setBackpressure({
      holding: true,
      since: 5 * S,
      heldAppends: 3,
      heldBytes: 900,
      backlogBytes: 2 * 1024 ** 3 + 1000,
      capBytes: 2 * 1024 ** 3,
      abandonedAppends: 0,
      refusedAppends: 0,
    });
    t.dl.full = true;
    t.dl.dropped = 7;
    t.alerts.check();
    const [bp, dl] = ['outbox-backpressure', 'deadletter-full'].map((id) =>
      t.alerts.active().find((a) => a.id === id),
    );
    expect(bp).toMatchObject({ severity: 'critical', since: 5 * S });
    expect(bp?.message).toContain('(VALLEY_OUTBOX_MAX = 2 GiB)');
    expect(dl?.message).toContain('cap 64 MiB, VALLEY_DEADLETTER_MAX');
    expect(dl?.message).toContain('7 so far');
    t.setBackpressure({
      holding: false,
      heldAppends: 0,
      heldBytes: 0,
      backlogBytes: 0,
      capBytes: 2 * 1024 ** 3,
      abandonedAppends: 1,
      refusedAppends: 2,
    });
    t.dl.full = false;
    t.alerts.check();
    expect(t.ids()).toEqual([]);
  });

  it('keeps the dead-letter alert while the drainer cannot record a reading InfluxDB refused', () => {
    const t = setup();
    t.sink.state = 'writing';
    t.sink.deadLetterBlocked = true;
    t.alerts.check();
    const alert = t.alerts.active().find((a) => a.id === 'deadletter-full');
    expect(alert?.message).toContain('the outbox is not sent past it');
    // A write of another record clears `full` for a moment; the blocked drainer keeps the alert.
    t.dl.full = false;
    t.alerts.check();
    expect(t.ids()).toEqual(['deadletter-full']);
    t.sink.deadLetterBlocked = false;
    t.alerts.check();
    expect(t.ids()).toEqual([]);
  });

  it('raises outbox-unwritable while the outbox cannot write to disk, with the error, and resolves', () => {
    const t = setup();
    t.at(7 * S);
    t.outbox.writable = false;
    t.outbox.writeError = 'ENOSPC: no space left on device, write';
    t.alerts.check();
    const alert = t.alerts.active().find((a) => a.id === 'outbox-unwritable');
    expect(alert).toMatchObject({ severity: 'critical', since: 7 * S });
    expect(alert?.message).toContain('(ENOSPC: no space left on device, write)');
    expect(alert?.message).toContain('new readings are not acknowledged');
    t.outbox.writable = true;
    delete t.outbox.writeError;
    t.alerts.check();
    expect(t.ids()).toEqual([]);
  });

  it('formats sizes for people', () => {
    expect([humanSize(512), humanSize(1536), humanSize(64 * 1024 ** 2), humanSize(2.5 * 1024 ** 3)]).toEqual([
      '512 B',
      '1.5 KiB',
      '64 MiB',
      '2.5 GiB',
    ]);
  });
});
