/**
 * Presence as DESIGN defines it, computed from bus events and the clock (never stored as a flag
 * that a missed event could leave wrong):
 * - offline: the device's status is `offline` (its own message or its LWT) and no newer session
 *   started, or it has no session (never connected since the dashboard started, or disconnected);
 * - stale: connected, but its newest reading is older than 3 reporting intervals (`interval_s`);
 *   a connected device that never sent a reading turns stale once connected that long;
 * - nodata: connected, no reading yet, not yet stale;
 * - ok: otherwise.
 */
export const STALE_INTERVALS = 3;

export type Health = 'ok' | 'stale' | 'offline' | 'nodata';

export interface Presence {
  /** Session state from `device.presence`; `unknown` until an event or a reading says otherwise. */
  session: 'online' | 'offline' | 'unknown';
  sessionAt: number | null;
  sessionReason: string | null;
  /** Last payload on `sensors/{id}/status` (`online` / `offline`), from `device.status`. */
  status: string | null;
  statusAt: number | null;
}

export function newPresence(): Presence {
  return { session: 'unknown', sessionAt: null, sessionReason: null, status: null, statusAt: null };
}

export function isConnected(p: Presence): boolean {
  if (p.session !== 'online') return false;
  // A device that said `offline` (or whose LWT did) after its session began is offline, even if
  // the broker has not noticed the dead socket yet; a reconnect (a newer session) clears it.
  const saidOffline = p.status === 'offline' && p.statusAt !== null && p.statusAt >= (p.sessionAt ?? 0);
  return !saidOffline;
}

export function health(p: Presence, lastReadingTs: number | null, intervalS: number, now: number): Health {
  if (!isConnected(p)) return 'offline';
  const staleAfterMs = STALE_INTERVALS * intervalS * 1000;
  if (lastReadingTs === null) {
    return p.sessionAt !== null && now - p.sessionAt > staleAfterMs ? 'stale' : 'nodata';
  }
  return now - lastReadingTs > staleAfterMs ? 'stale' : 'ok';
}
