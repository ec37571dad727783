/**
 * The dashboard after a restart: the saved state (state-store.ts), then every reading the outbox
 * still holds that arrived after that state was saved, read in one pass that also rebuilds the
 * local-only history rollups. Runs after the outbox started and before the broker accepts
 * anything, so no reading is counted twice or missed.
 *
 * `countedSince` (what the page shows when a day figure is partial): the saved state's own when
 * there is one; otherwise the oldest reading the outbox holds (in local-only mode all retained
 * data, with a sink only what InfluxDB has not confirmed), or now when it holds none.
 */
import type { NormalizedReading } from '../contract/index.js';
import type { Logger } from '../gateway/logger.js';
import type { DashboardAggregator } from './aggregate/engine.js';
import type { DashboardStateStore } from './state-store.js';

export interface WarmStartDeps {
  store: DashboardStateStore;
  aggregator: DashboardAggregator;
  outbox: { readAll(): AsyncIterable<readonly NormalizedReading[]> };
  /** Also given every reading the outbox holds (the local-only history rollups). */
  rebuild?: (reading: NormalizedReading) => void;
  now: () => number;
  logger: Logger;
}

export interface WarmStartResult {
  restored: boolean;
  /** Readings the outbox holds. */
  read: number;
  /** Of those, the ones the dashboard had not seen (newer than the saved state). */
  replayed: number;
  countedSince: number;
}

export async function warmStart(deps: WarmStartDeps): Promise<WarmStartResult> {
  const { aggregator, rebuild } = deps;
  const started = performance.now();
  const saved = await deps.store.load();
  if (saved) aggregator.restore(saved, deps.now());
  // Readings received at or before the save are in the saved state already.
  const after = saved?.savedAt ?? -Infinity;
  let read = 0;
  let replayed = 0;
  let oldest = Infinity;
  for await (const chunk of deps.outbox.readAll()) {
    const now = deps.now();
    for (const reading of chunk) {
      rebuild?.(reading);
      if (reading.receivedAt < oldest) oldest = reading.receivedAt;
      if (reading.receivedAt <= after) continue;
      aggregator.replay(reading, now);
      replayed++;
    }
    read += chunk.length;
  }
  const now = deps.now();
  aggregator.countedSince = saved ? saved.countedSince : Math.min(oldest, now);
  deps.logger.child({ module: 'dashboard-state' }).info(
    {
      restored: saved !== undefined,
      savedAt: saved && new Date(saved.savedAt).toISOString(),
      outboxReadings: read,
      replayed,
      countedSince: new Date(aggregator.countedSince).toISOString(),
      ms: Math.round(performance.now() - started),
    },
    saved ? 'dashboard state restored' : 'no saved dashboard state; counting from the outbox',
  );
  return { restored: saved !== undefined, read, replayed, countedSince: aggregator.countedSince };
}
