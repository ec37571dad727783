/**
 * History in local-only mode: the outbox is the store (DESIGN), so the rollups are rebuilt from
 * its retained segments at start (the composition root reads them once and hands each reading to
 * `rebuild`, together with the dashboard's warm start) and then follow 'readings.accepted'.
 * Rebuild and start it after the outbox and before the broker: no reading can be accepted while
 * the segments are read, so none is counted twice (once from disk, once from the bus) and none is
 * missed.
 */
import type { Bus, NormalizedReading } from '../../contract/index.js';
import type { RegistryIndex } from '../../config/registry-schema.js';
import type { Logger } from '../logger.js';
import { Rollups } from './rollups.js';
import { HISTORY_RANGES, type HistoryPoint, type HistoryRequest, type HistorySource } from './source.js';

export interface LocalHistoryDeps {
  bus: Pick<Bus, 'on'>;
  registry: () => RegistryIndex;
  logger: Logger;
}

export class LocalHistory implements HistorySource {
  readonly source = 'local' as const;
  private readonly rollups: Rollups;
  private readonly log: Logger;
  private off: (() => void)[] = [];

  constructor(private readonly deps: LocalHistoryDeps) {
    this.log = deps.logger.child({ module: 'history' });
    this.rollups = new Rollups(deps.registry());
  }

  /** A reading read back from the outbox at start (before `start`). */
  rebuild(reading: NormalizedReading): void {
    this.rollups.add(reading);
  }

  /** Follows the bus from now on. */
  start(): void {
    const { bus, registry } = this.deps;
    this.off = [
      bus.on('readings.accepted', (event) => {
        for (const reading of event.readings) this.rollups.add(reading);
      }),
      bus.on('registry.reloaded', () => this.rollups.setRegistry(registry())),
    ];
    this.log.info({ metrics: this.rollups.metricCount }, 'history rollups rebuilt from the outbox');
  }

  stop(): void {
    for (const off of this.off) off();
    this.off = [];
  }

  points(request: HistoryRequest, now: number): Promise<HistoryPoint[]> {
    const { rangeMs, bucketMs } = HISTORY_RANGES[request.range];
    return Promise.resolve(this.rollups.points(request.device, request.metric, rangeMs, bucketMs, now));
  }

  /** Local-only: there is no sink to lag. */
  sinkLagMs(): null {
    return null;
  }
}
