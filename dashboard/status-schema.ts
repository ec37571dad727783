/**
 * The shapes the HTTP API answers with (`/api/status`, `/readyz`), as zod schemas: one source of
 * truth for the server, the tests that parse its answers, and the web client later. Times are
 * epoch milliseconds; a figure that does not exist yet (no backlog, never written) is `null`,
 * never 0 (DESIGN, dashboard truth rules).
 */
import { z } from 'zod';
import { REJECT_CODES, alertSchema } from '../contract/index.js';

const count = z.number().int().nonnegative();
const epochMs = z.number().int();

export const SINK_STATES = ['idle', 'writing', 'backoff', 'misconfigured', 'stopped', 'local-only'] as const;

export const sinkPingSchema = z.object({
  ok: z.boolean(),
  /** X-Influxdb-Version of the answer (1.x and 2.x send it). */
  version: z.string().optional(),
  error: z.string().optional(),
  at: epochMs,
});
export type SinkPing = z.infer<typeof sinkPingSchema>;

export const statusSchema = z.object({
  version: z.string(),
  /** When this snapshot was taken. */
  asOf: epochMs,
  startedAt: epochMs,
  uptimeS: count,
  readings: z.object({
    /** MQTT messages on `sensors/+/readings` (a backlog array is one message). */
    messages: count,
    accepted: count,
    duplicates: count,
    rejected: count,
    /** Every reject code of the contract, 0 included. */
    rejectedByCode: z.record(z.enum(REJECT_CODES), count),
    /** Rejects acknowledged without a dead-letter record (log full or unwritable). */
    deadLetterDropped: count,
  }),
  backlog: z.object({
    /** Durable readings not yet in the sink (local-only mode: readings kept). */
    records: count,
    bytes: count,
    oldestReceivedAt: epochMs.nullable(),
    ageMs: count.nullable(),
    segments: count,
    /** Appends waiting for their fsync. */
    pendingAppends: count,
    writable: z.boolean(),
    abandonedSegments: count,
    /** Local-only mode: readings deleted by retention (counted, never silent). */
    retentionDeletedRecords: count,
    /** With a sink: the cap on `bytes` (VALLEY_OUTBOX_MAX); null without one. */
    capBytes: count.nullable(),
    /** Back-pressure: the backlog reached the cap, PUBACKs are held until the sink takes readings. */
    holding: z.boolean(),
    heldAppends: count,
  }),
  sink: z.object({
    mode: z.enum(['local-only', 'v1', 'v2']),
    /** URL, database or bucket; never a secret. */
    description: z.string(),
    state: z.enum(SINK_STATES),
    /** now − receivedAt of the oldest unsent reading; null in local-only mode or when none waits. */
    lagMs: count.nullable(),
    lastError: z.string().nullable(),
    lastWriteAt: epochMs.nullable(),
    written: count,
    deadLettered: count,
    retries: count,
    batchLines: count.nullable(),
    /** The ping at start; null in local-only mode or while it is still out. */
    ping: sinkPingSchema.nullable(),
  }),
  deadLetter: z.object({
    bytes: count,
    records: count,
    dropped: count,
    full: z.boolean(),
  }),
  devices: z.object({
    registered: count,
    connected: count,
    connectedIds: z.array(z.string()),
  }),
  broker: z.object({
    listening: z.boolean(),
    /** CONNECTs refused, by reason (wrong secret, unknown device, …). */
    connectionsRefused: z.record(z.string(), count),
    aclDenied: count,
    sizeGuardDrops: count,
    /** `readings` messages refused by the per-device rate limit. */
    rateLimited: count,
    /** Every broker refusal by stable code (broker/refusals.ts): CONNECT, ACL, size guard, rate. */
    refusals: z.record(z.string(), count),
    /** Clients dropped for leaving more than VALLEY_OUTPUT_BUFFER_MAX unsent (they stopped reading). */
    slowClientDrops: count,
  }),
  /** Active system alerts; null while the gateway runs without the alerts module. */
  alerts: z.array(alertSchema).nullable(),
});
export type ValleyStatus = z.infer<typeof statusSchema>;

export const readinessCheckSchema = z.object({ ok: z.boolean(), reason: z.string().optional() });

export const readinessSchema = z.object({
  status: z.enum(['ready', 'not ready']),
  /** The failing checks' reasons, in the order of `checks`. */
  reasons: z.array(z.string()),
  checks: z.object({
    broker: readinessCheckSchema,
    outbox: readinessCheckSchema,
    /** Absent in local-only mode: there is no sink to reach. */
    sink: readinessCheckSchema.optional(),
  }),
  asOf: epochMs,
});
export type Readiness = z.infer<typeof readinessSchema>;

/** The dashboard's only window on the gateway: a snapshot, not the modules themselves. */
export interface StatusSource {
  status(): ValleyStatus;
}
