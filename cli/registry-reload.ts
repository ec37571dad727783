/**
 * Applies a reloaded registry to the running gateway (DESIGN "Reloaded on change ... a revoked
 * device is disconnected at once"). The new registry goes in force first, so a device cut off
 * here and reconnecting at once is already judged by it; then the sessions it no longer allows
 * are closed. A rotated secret or password needs nothing: credentials are checked at CONNECT only,
 * so the current session stays and the next CONNECT needs the new one.
 */
import type { Bus } from '../contract/index.js';
import { assertBindAllowed, DemoBindError } from '../config/loader.js';
import { diffRegistries, type RegistryDiff } from '../config/registry-diff.js';
import type { RegistryIndex } from '../config/registry-schema.js';
import { RegistryWatcher } from '../config/watcher.js';
import type { Logger } from '../gateway/logger.js';
import type { Clock } from '../gateway/types.js';

export interface RegistryReloaderDeps {
  path: string;
  /** settings.bind: the demo-bind rule applies to a reloaded registry too. */
  bind: string;
  logger: Logger;
  clock: Clock;
  bus: Bus;
  current(): RegistryIndex;
  replace(next: RegistryIndex): void;
  /** Closes the session of a device or user id, if any. */
  disconnect(id: string): void;
  forgetDevice(id: string): void;
  debounceMs?: number;
}

export type ApplyOutcome = 'applied' | 'unchanged' | 'refused';

/** At most this many ids per list in a log line: a registry rewrite can touch thousands. */
const LOGGED_IDS = 20;

export class RegistryReloader {
  private readonly log: Logger;
  private readonly watcher: RegistryWatcher;
  private refusal: string[] = [];

  constructor(private readonly deps: RegistryReloaderDeps) {
    this.log = deps.logger.child({ module: 'registry' });
    this.watcher = new RegistryWatcher({
      path: deps.path,
      logger: deps.logger,
      onChange: (index) => {
        this.apply(index);
      },
      onInvalid: (problems) => (this.refusal = problems),
      ...(deps.debounceMs !== undefined && { debounceMs: deps.debounceMs }),
    });
  }

  /** Why the file on disk is not in force (its problems), or empty when it is. */
  get problems(): readonly string[] {
    return this.refusal;
  }

  start(): Promise<void> {
    return this.watcher.start();
  }

  stop(): Promise<void> {
    return this.watcher.stop();
  }

  /** SIGHUP: read the file now. Never rejects. */
  reload(): Promise<void> {
    return this.watcher.reload();
  }

  apply(next: RegistryIndex): ApplyOutcome {
    const diff = diffRegistries(this.deps.current(), next);
    if (diff.unchanged) {
      this.refusal = [];
      this.log.debug('registry re-read: no change');
      return 'unchanged';
    }
    try {
      assertBindAllowed(next, this.deps.bind);
    } catch (error) {
      if (!(error instanceof DemoBindError)) throw error;
      this.refusal = [error.message];
      this.log.error(`registry refused: ${error.message} The registry in force stays.`);
      return 'refused';
    }
    this.refusal = [];
    this.deps.replace(next);
    for (const id of [...diff.revoked, ...diff.moved]) {
      this.deps.disconnect(id);
      this.deps.forgetDevice(id);
    }
    for (const id of [...diff.usersRemoved, ...diff.usersRoleChanged]) this.deps.disconnect(id);
    this.log.info(summary(diff), `registry reloaded: ${describe(diff)}`);
    this.deps.bus.emit('registry.reloaded', { devices: next.devices.size, at: this.deps.clock.now() });
    return 'applied';
  }
}

function summary(diff: RegistryDiff): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, ids] of Object.entries(diff) as [keyof RegistryDiff, unknown][]) {
    if (Array.isArray(ids) && ids.length > 0) out[key] = (ids as string[]).slice(0, LOGGED_IDS);
  }
  return out;
}

function describe(diff: RegistryDiff): string {
  const parts = [
    [diff.added.length, 'device(s) added'],
    [diff.revoked.length, 'revoked and disconnected'],
    [diff.moved.length, 'moved (kind/site) and disconnected'],
    [diff.rotated.length, 'secret(s) rotated (from the next CONNECT)'],
    [diff.usersAdded.length, 'user(s) added'],
    [diff.usersRemoved.length + diff.usersRoleChanged.length, 'user(s) removed or re-roled and disconnected'],
    [diff.passwordsChanged.length, 'password(s) changed'],
  ] as const;
  const said = parts.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`);
  return said.length > 0 ? said.join(', ') : 'sites, municipalities or device details changed';
}
