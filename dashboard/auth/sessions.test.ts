import { describe, expect, it } from '@jest/globals';
import { RegistryIndex, type User } from '../../config/registry-schema.js';
import { testRegistry } from '../aggregate/fixtures.js';
import { SessionStore, type SessionEndReason } from './sessions.js';

const HASH_A = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
const HASH_B = 'scrypt$16384$8$1$BBBBBBBBBBBBBBBBBBBBBB==$BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=';
const ada: User = { id: 'ada', role: 'operator', password_hash: HASH_A };
const bob: User = { id: 'bob', role: 'viewer', password_hash: HASH_A };

function withUsers(users: User[]): RegistryIndex {
  return new RegistryIndex({ ...testRegistry().registry, users });
}

function store(idleMs = 1000, maxSessions?: number) {
  const clock = { t: 0, now: () => clock.t };
  const sessions = new SessionStore({ clock, idleMs, ...(maxSessions !== undefined && { maxSessions }) });
  const ended: [string, SessionEndReason][] = [];
  sessions.onEnd((sid, reason) => ended.push([sid, reason]));
  return { clock, sessions, ended };
}

describe('SessionStore', () => {
  it('makes 32-byte random ids and answers the user until logout', () => {
    const { sessions, ended } = store();
    const a = sessions.create(ada);
    const b = sessions.create(ada);
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(sessions.get(a)).toEqual({ id: 'ada', role: 'operator' });
    expect(sessions.get('forged')).toBeUndefined();
    expect(sessions.get(undefined)).toBeUndefined();
    sessions.destroy(a);
    expect(sessions.get(a)).toBeUndefined();
    expect(sessions.get(b)).toBeDefined();
    expect(ended).toEqual([[a, 'logout']]);
  });

  it('ends a session idle longer than idleMs; every use renews it', () => {
    const { clock, sessions, ended } = store(1000);
    const sid = sessions.create(bob);
    clock.t = 900;
    expect(sessions.get(sid)).toBeDefined();
    clock.t = 1800; // 900 ms after the last use
    expect(sessions.get(sid)).toBeDefined();
    clock.t = 2801;
    expect(sessions.get(sid)).toBeUndefined();
    expect(ended).toEqual([[sid, 'idle']]);
  });

  it('sweeps idle sessions when a new one is made, and evicts the least recently used past the cap', () => {
    const { clock, sessions, ended } = store(1000, 2);
    const old = sessions.create(bob);
    clock.t = 2000;
    const a = sessions.create(ada);
    expect(ended).toEqual([[old, 'idle']]);
    const b = sessions.create(bob);
    sessions.get(a); // a is now the most recently used
    sessions.create(ada);
    expect(sessions.size).toBe(2);
    expect(sessions.get(b)).toBeUndefined();
    expect(ended.at(-1)).toEqual([b, 'evicted']);
  });

  it('a registry reload ends the sessions of removed users, changed roles and changed passwords', () => {
    const { sessions, ended } = store();
    const keep = sessions.create(ada);
    const removed = sessions.create(bob);
    const carol: User = { id: 'carol', role: 'operator', password_hash: HASH_A };
    const dave: User = { id: 'dave', role: 'viewer', password_hash: HASH_A };
    const demoted = sessions.create(carol);
    const rotated = sessions.create(dave);
    const revoked = sessions.setRegistry(
      withUsers([ada, { ...carol, role: 'viewer' }, { ...dave, password_hash: HASH_B }]),
    );
    expect(revoked).toBe(3);
    expect(sessions.get(keep)).toEqual({ id: 'ada', role: 'operator' });
    for (const sid of [removed, demoted, rotated]) expect(sessions.get(sid)).toBeUndefined();
    expect(ended.map(([, reason]) => reason)).toEqual(['revoked', 'revoked', 'revoked']);
  });
});
