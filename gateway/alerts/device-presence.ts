/**
 * Presence of the registered devices, as DESIGN defines offline: no MQTT session, or status
 * `offline` (published by the device, or its last will) while connected. Each device remembers
 * since when and why it is offline; the system alerts raise an alert once that has lasted longer
 * than the grace, so a quick reconnect does not raise and resolve an alert.
 */

export type OfflineCause = 'startup' | 'added' | 'disconnected' | 'status';

export interface Presence {
  session: boolean;
  /** The device said `offline` on its status topic (or its last will did) in this session. */
  statusOffline: boolean;
  /** When it last went offline (for a device never connected: when it was registered). */
  offlineSince: number;
  cause: OfflineCause;
}

export type Transition = 'went-offline' | 'came-back' | 'none';

export const isOffline = (p: Presence): boolean => !p.session || p.statusOffline;

export class DevicePresence {
  private readonly devices = new Map<string, Presence>();

  get(id: string): Presence | undefined {
    return this.devices.get(id);
  }

  /**
   * Tracks exactly the ids given: new ones start offline since `now` (unless connected), gone ones
   * are forgotten and returned.
   */
  sync(
    ids: Iterable<string>,
    now: number,
    cause: 'startup' | 'added',
    connected: ReadonlySet<string>,
  ): string[] {
    const keep = new Set(ids);
    const removed: string[] = [];
    for (const id of this.devices.keys()) {
      if (!keep.has(id)) {
        this.devices.delete(id);
        removed.push(id);
      }
    }
    for (const id of keep) {
      if (!this.devices.has(id))
        this.devices.set(id, { session: connected.has(id), statusOffline: false, offlineSince: now, cause });
    }
    return removed;
  }

  /** A session began or ended. A new session starts with no status: its device is alive. */
  session(id: string, online: boolean, at: number): Transition {
    return this.update(id, at, 'disconnected', (p) => {
      p.session = online;
      if (online) p.statusOffline = false;
    });
  }

  /** `online` / `offline` on the status topic; anything else says nothing about presence. */
  status(id: string, status: string, at: number): Transition {
    const value = status.trim().toLowerCase();
    if (value !== 'online' && value !== 'offline') return 'none';
    return this.update(id, at, 'status', (p) => (p.statusOffline = value === 'offline'));
  }

  /** Devices offline for at least `graceMs` at `now`. */
  *overdue(now: number, graceMs: number): Generator<[string, Presence]> {
    for (const entry of this.devices) {
      const p = entry[1];
      if (isOffline(p) && now - p.offlineSince >= graceMs) yield entry;
    }
  }

  private update(id: string, at: number, cause: OfflineCause, change: (p: Presence) => void): Transition {
    const p = this.devices.get(id);
    if (p === undefined) return 'none'; // not registered (a revoked device's last will, say)
    const was = isOffline(p);
    change(p);
    const now = isOffline(p);
    if (!was && now) {
      p.offlineSince = at;
      p.cause = cause;
      return 'went-offline';
    }
    return was && !now ? 'came-back' : 'none';
  }
}
