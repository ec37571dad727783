/**
 * Assembles the status snapshot the HTTP server shows from the running modules. It lives in cli/
 * because only the composition root knows every module; the dashboard gets the snapshot alone.
 */
import { REJECT_CODES, type Alert, type RejectCode } from '../contract/index.js';
import type { RegistryIndex } from '../config/registry-schema.js';
import type { SinkConfig } from '../config/settings.js';
import type { SinkPing, ValleyStatus } from '../dashboard/status-schema.js';
import type { DrainerStats } from '../gateway/drainer.js';
import type { IngestCounts } from '../gateway/ingest/ingest.js';
import type { OutboxStats } from '../gateway/types.js';
import type { BrokerCounts } from '../broker/broker.js';

/** Readers of each module's figures; called on every request, so they must be cheap. */
export interface StatusParts {
  version: string;
  startedAt: number;
  now: number;
  sinkConfig: SinkConfig;
  sinkDescription: string | undefined;
  drainer: DrainerStats | undefined;
  ping: SinkPing | undefined;
  ingest: IngestCounts;
  outbox: OutboxStats;
  deadLetter: { bytes: number; records: number; dropped: number; full: boolean };
  registry: RegistryIndex;
  broker: { listening: boolean; counts: BrokerCounts; connectedDevices: string[] };
  /** Undefined while no alerts module is wired. */
  alerts: Alert[] | undefined;
}

export function buildStatus(p: StatusParts): ValleyStatus {
  const rejectedByCode = Object.fromEntries(REJECT_CODES.map((code) => [code, 0])) as Record<
    RejectCode,
    number
  >;
  let rejected = 0;
  for (const code of REJECT_CODES) {
    // Rate-limited messages are refused by the broker before ingest sees them.
    const n = (p.ingest.rejected[code] ?? 0) + (code === 'E_RATE_LIMIT' ? p.broker.counts.rateLimited : 0);
    rejectedByCode[code] = n;
    rejected += n;
  }
  const oldest = p.outbox.oldestReceivedAt ?? null;
  const ageMs = oldest === null ? null : Math.max(0, p.now - oldest);
  const d = p.drainer;
  return {
    version: p.version,
    asOf: p.now,
    startedAt: p.startedAt,
    uptimeS: Math.max(0, Math.floor((p.now - p.startedAt) / 1000)),
    readings: {
      messages: p.ingest.messages,
      accepted: p.ingest.accepted,
      duplicates: p.ingest.duplicates,
      rejected,
      rejectedByCode,
      deadLetterDropped: p.ingest.deadLetterDropped,
    },
    backlog: {
      records: p.outbox.backlogRecords,
      bytes: p.outbox.backlogBytes,
      oldestReceivedAt: oldest,
      ageMs,
      segments: p.outbox.segments,
      pendingAppends: p.outbox.pendingAppends,
      writable: p.outbox.writable,
      abandonedSegments: p.outbox.abandonedSegments ?? 0,
      retentionDeletedRecords: p.outbox.retentionDeletedRecords ?? 0,
      capBytes: p.outbox.capBytes ?? null,
      holding: p.outbox.holding ?? false,
      heldAppends: p.outbox.heldAppends ?? 0,
    },
    sink: {
      mode: p.sinkConfig.mode,
      description: p.sinkDescription ?? 'local-only: no InfluxDB configured; the outbox is the store',
      state: d?.state ?? 'local-only',
      // The drainer's lag is the backlog's age; without a sink nothing lags.
      lagMs: d === undefined ? null : ageMs,
      lastError: d?.lastError ?? null,
      lastWriteAt: d?.lastWriteAt ?? null,
      written: d?.written ?? 0,
      deadLettered: d?.deadLettered ?? 0,
      retries: d?.retries ?? 0,
      batchLines: d?.batchLines ?? null,
      ping: p.ping ?? null,
    },
    deadLetter: { ...p.deadLetter },
    devices: {
      registered: p.registry.devices.size,
      connected: p.broker.connectedDevices.length,
      connectedIds: [...p.broker.connectedDevices].sort(),
    },
    broker: {
      listening: p.broker.listening,
      connectionsRefused: { ...p.broker.counts.connectionsRefused },
      aclDenied: p.broker.counts.aclDenied,
      sizeGuardDrops: p.broker.counts.sizeGuardDrops,
      rateLimited: p.broker.counts.rateLimited,
      refusals: { ...p.broker.counts.refusals },
      slowClientDrops: p.broker.counts.slowClientDrops,
    },
    alerts: p.alerts === undefined ? null : p.alerts.filter((a) => a.state === 'active'),
  };
}
