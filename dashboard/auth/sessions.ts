/**
 * Dashboard login sessions, in memory: a gateway restart logs everyone out, which is acceptable
 * for a handful of technicians and keeps session ids off the disk. A session id is 32 random bytes
 * (DESIGN "Secrets": always crypto.randomBytes) and is the whole credential, so it is compared by
 * Map look-up only and never logged.
 *
 * A session ends after `idleMs` without use (an open dashboard counts as use: the live server
 * touches its sessions), on logout, and at a registry reload that removes its user, changes the
 * user's role (an operator made viewer must lose operator rights at once) or the password (a
 * password is changed because it leaked). Memory is bounded: expired sessions are swept when a new
 * one is made, and past `maxSessions` the least recently used one goes.
 */
import { randomBytes } from 'node:crypto';
import type { RegistryIndex, User } from '../../config/registry-schema.js';
import type { Clock } from '../../gateway/types.js';

export type Role = User['role'];
export interface Principal {
  id: string;
  role: Role;
}

interface Session {
  user: Principal;
  /** The hash the user logged in against: a changed password ends the session. */
  passwordHash: string;
  lastUsedAt: number;
}

export interface SessionStoreOptions {
  clock: Clock;
  idleMs: number;
  maxSessions?: number;
}

export type SessionEndReason = 'logout' | 'idle' | 'revoked' | 'evicted';

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly listeners = new Set<(sid: string, reason: SessionEndReason) => void>();
  private readonly maxSessions: number;

  constructor(private readonly options: SessionStoreOptions) {
    this.maxSessions = options.maxSessions ?? 10_000;
  }

  /** A new session for a user whose password was just checked; returns its id (the cookie value). */
  create(user: User): string {
    this.sweep();
    const sid = randomBytes(32).toString('base64url');
    this.sessions.set(sid, {
      user: { id: user.id, role: user.role },
      passwordHash: user.password_hash,
      lastUsedAt: this.options.clock.now(),
    });
    if (this.sessions.size > this.maxSessions) {
      const oldest = this.sessions.keys().next().value as string;
      this.end(oldest, 'evicted');
    }
    return sid;
  }

  /** The session's user, or undefined when it does not exist or has expired; a hit counts as use. */
  get(sid: string | undefined): Principal | undefined {
    if (sid === undefined) return undefined;
    const session = this.sessions.get(sid);
    if (!session) return undefined;
    const now = this.options.clock.now();
    if (now - session.lastUsedAt > this.options.idleMs) {
      this.end(sid, 'idle');
      return undefined;
    }
    session.lastUsedAt = now;
    // Re-inserted, so Map order is least recently used first (for eviction).
    this.sessions.delete(sid);
    this.sessions.set(sid, session);
    return session.user;
  }

  destroy(sid: string | undefined): void {
    if (sid !== undefined && this.sessions.has(sid)) this.end(sid, 'logout');
  }

  /** Ends the sessions the new registry no longer allows; returns how many. */
  setRegistry(index: RegistryIndex): number {
    let revoked = 0;
    for (const [sid, session] of [...this.sessions]) {
      const user = index.users.get(session.user.id);
      if (user && user.role === session.user.role && user.password_hash === session.passwordHash) continue;
      this.end(sid, 'revoked');
      revoked++;
    }
    return revoked;
  }

  /** Called with every session that ends (the live server disconnects its sockets). */
  onEnd(listener: (sid: string, reason: SessionEndReason) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.options.clock.now();
    // Least recently used first: the expired ones are at the front. (Deleting the current entry
    // while iterating a Map is safe.)
    for (const [sid, session] of this.sessions) {
      if (now - session.lastUsedAt <= this.options.idleMs) return;
      this.end(sid, 'idle');
    }
  }

  private end(sid: string, reason: SessionEndReason): void {
    this.sessions.delete(sid);
    for (const listener of this.listeners) listener(sid, reason);
  }
}
