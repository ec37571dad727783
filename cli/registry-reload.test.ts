import { describe, expect, it } from '@jest/globals';
import { Bus, type BusEvents } from '../contract/index.js';
import { RegistryIndex, type Registry } from '../config/registry-schema.js';
import { hashSecret } from '../config/secrets.js';
import { silentLogger } from '../gateway/logger.js';
import { makeTestRegistry } from '../test/support/registry.js';
import { RegistryReloader } from './registry-reload.js';

// A scrypt-shaped hash: the reload never checks passwords, only compares them.
const PW = (n: number) =>
  `scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$${String(n).padStart(4, '0')}aGFzaGhhc2hoYXNoaGFzaA==`;

function setup(bind = '127.0.0.1') {
  const base = makeTestRegistry().index.registry;
  const start: Registry = {
    ...base,
    users: [
      { id: 'ops', role: 'operator', password_hash: PW(1) },
      { id: 'eve', role: 'operator', password_hash: PW(2) },
      { id: 'ann', role: 'viewer', password_hash: PW(3) },
    ],
  };
  let current = new RegistryIndex(start);
  const disconnected: string[] = [];
  const forgotten: string[] = [];
  const reloaded: BusEvents['registry.reloaded'][] = [];
  const bus = new Bus();
  bus.on('registry.reloaded', (e) => reloaded.push(e));
  const reloader = new RegistryReloader({
    path: '/nonexistent/registry.yaml',
    bind,
    logger: silentLogger(),
    clock: { now: () => 1234 },
    bus,
    current: () => current,
    replace: (next) => (current = next),
    disconnect: (id) => disconnected.push(id),
    forgetDevice: (id) => forgotten.push(id),
  });
  return { start, reloader, disconnected, forgotten, reloaded, current: () => current };
}

describe('RegistryReloader.apply', () => {
  it('puts the new registry in force and closes exactly the sessions it no longer allows', () => {
    const t = setup();
    const devices = t.start.devices
      .filter((d) => d.id !== 't-flow-2') // revoked
      .map((d) => {
        if (d.id === 't-level-1') return { ...d, secret_hash: hashSecret('rotated') }; // rotated
        if (d.id === 't-flow-1') return { ...d, site: 't-network' }; // moved: other site
        if (d.id === 't-quality-1') return { ...d, kind: 'water_level' }; // moved: other kind
        if (d.id === 't-energy-1') return { ...d, interval_s: 900 }; // detail only
        return d;
      });
    devices.push({ ...t.start.devices[0]!, id: 't-added-1' });
    const users = [
      { id: 'ops', role: 'operator' as const, password_hash: PW(9) }, // password changed
      { id: 'ann', role: 'operator' as const, password_hash: PW(3) }, // role changed
      { id: 'bob', role: 'viewer' as const, password_hash: PW(4) }, // added; eve removed
    ];
    const next = new RegistryIndex({ ...t.start, devices, users });
    expect(t.reloader.apply(next)).toBe('applied');
    expect(t.current()).toBe(next);
    expect(t.disconnected.sort()).toEqual(['ann', 'eve', 't-flow-1', 't-flow-2', 't-quality-1']);
    expect(t.forgotten.sort()).toEqual(['t-flow-1', 't-flow-2', 't-quality-1']);
    expect(t.reloaded).toEqual([{ devices: t.start.devices.length, at: 1234 }]);
    expect(t.reloader.problems).toEqual([]);
  });

  it('does nothing for a registry equal to the one in force', () => {
    const t = setup();
    const before = t.current();
    expect(t.reloader.apply(new RegistryIndex(structuredClone(t.start)))).toBe('unchanged');
    expect(t.current()).toBe(before);
    expect(t.reloaded).toEqual([]);
  });

  it('refuses a registry with demo devices while bound to a public address', () => {
    const t = setup('0.0.0.0');
    const before = t.current();
    const devices = t.start.devices.map((d, i) => (i === 0 ? { ...d, demo: true } : d));
    expect(t.reloader.apply(new RegistryIndex({ ...t.start, devices }))).toBe('refused');
    expect(t.current()).toBe(before);
    expect(t.disconnected).toEqual([]);
    expect(t.reloaded).toEqual([]);
    expect(t.reloader.problems[0]).toContain('refusing to bind 0.0.0.0');
    // Without demo devices the same bind takes it.
    const plain = t.start.devices.filter((d) => d.id !== 't-flow-2');
    expect(t.reloader.apply(new RegistryIndex({ ...t.start, devices: plain }))).toBe('applied');
    expect(t.reloader.problems).toEqual([]);
  });
});
