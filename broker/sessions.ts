/**
 * The current MQTT session of each device and user id. Only the end of the current session
 * removes an id: the end of an older session of the same id (a takeover), reported after the newer
 * one became current, changes nothing. Users are kept for two reasons: a registry reload may have
 * to close their sessions, and their subscriptions decide whether live readings are worth
 * publishing.
 *
 * Takeovers: Aedes closes the older connection when the newer CONNECT has authenticated but
 * *before* the newer one is ready, so the old one ends while it is still the current session. The
 * newest authenticated connection of each device is therefore tracked from authentication on: the
 * end of a connection that a newer one replaces is no loss of the device (no offline event, and its
 * LWT is not published: see replaced()).
 */
import type { Client } from 'aedes';
import { filterReachesUnder } from '../contract/index.js';
import type { Identity } from './acl.js';

const LIVE_PREFIX = 'valley/live';

export class Sessions {
  private readonly devices = new Map<string, Client>();
  private readonly users = new Map<string, Client>();
  /** Cached answer of hasLiveSubscribers(); undefined after any change of sessions or filters. */
  private liveSubscribed: boolean | undefined;
  /** The newest authenticated connection of each device id, ready or not. */
  private readonly newest = new Map<string, Client>();
  /** Devices whose current session ended for a successor that is not ready yet. */
  private readonly handedOver = new Set<string>();

  /** A connection passed authentication (it is about to take over any older one). */
  authenticated(identity: Identity, client: Client): void {
    if (identity.type === 'device') this.newest.set(identity.id, client);
  }

  /** True when a newer connection with the same device id has authenticated since `client`. */
  replaced(identity: Identity, client: Client): boolean {
    if (identity.type !== 'device') return false;
    const newest = this.newestOf(identity.id);
    return newest !== undefined && newest !== client;
  }

  /**
   * The newest authenticated connection that is still open. One that closed before Aedes
   * registered it never reports its end (no 'clientDisconnect'), so it is forgotten here.
   */
  private newestOf(id: string): Client | undefined {
    const newest = this.newest.get(id);
    if (newest?.closed !== true) return newest;
    this.newest.delete(id);
    return undefined;
  }

  /**
   * A device's connection ended. True when that makes the device offline: it was the current
   * session (or took over one that was) and no newer connection is on its way.
   */
  deviceEnded(identity: Identity & { type: 'device' }, client: Client): boolean {
    const wasCurrent = this.remove(identity, client);
    const newest = this.newest.get(identity.id) === client ? client : this.newestOf(identity.id);
    if (newest !== undefined && newest !== client) {
      if (wasCurrent) this.handedOver.add(identity.id);
      return false;
    }
    if (newest === client) this.newest.delete(identity.id);
    // A successor that took over and then failed before it was ready ends the device too.
    return this.handedOver.delete(identity.id) || wasCurrent;
  }

  add(identity: Identity, client: Client): void {
    if (identity.type === 'device') {
      this.devices.set(identity.id, client);
      this.handedOver.delete(identity.id);
    } else {
      this.users.set(identity.id, client);
      this.liveSubscribed = undefined;
    }
  }

  /** False when `client` is not the current session of its id (it was taken over). */
  remove(identity: Identity, client: Client): boolean {
    const map = identity.type === 'device' ? this.devices : this.users;
    if (map.get(identity.id) !== client) return false;
    map.delete(identity.id);
    if (identity.type === 'user') this.liveSubscribed = undefined;
    return true;
  }

  deviceIds(): string[] {
    return [...this.devices.keys()];
  }

  /** Closes the session of a device or user id, if there is one. */
  close(id: string): void {
    (this.devices.get(id) ?? this.users.get(id))?.close();
  }

  subscriptionsChanged(): void {
    this.liveSubscribed = undefined;
  }

  /**
   * Whether some session may receive `valley/live/...` (only users may subscribe there). Aedes
   * keeps each session's filters in `client.subscriptions`, restored persistent ones included (it
   * emits no 'subscribe' for those); that field is missing from its types, so a session without it
   * counts as subscribed: a needless publish is cheap, a missing one is a bug.
   */
  hasLiveSubscribers(): boolean {
    this.liveSubscribed ??= [...this.users.values()].some((client) => {
      const filters = (client as Client & { subscriptions?: Record<string, unknown> }).subscriptions;
      return filters === undefined || Object.keys(filters).some((f) => filterReachesUnder(f, LIVE_PREFIX));
    });
    return this.liveSubscribed;
  }
}
