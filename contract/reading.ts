/** The reading payload devices publish, and the normalized reading the gateway produces. */
import { z } from 'zod';

/**
 * One reading as published. `ts` is checked by `parseTimestamp` (its mistakes have codes of their
 * own) and `values` by the device's kind schema, so here they are only present.
 */
export const readingEnvelopeSchema = z.strictObject({
  ts: z.unknown(),
  seq: z.number({ error: 'seq must be a non-negative whole number' }).int().nonnegative().optional(),
  // Not z.record: it copies keys into a new object, where a `__proto__` key would set the
  // prototype instead of being refused. The kind schema checks the original object's own keys.
  values: z.custom<Record<string, unknown>>((v) => v !== null && typeof v === 'object' && !Array.isArray(v), {
    error: 'values must be an object of metric: number',
  }),
});

export const FLAGS = ['counter_reset'] as const;
export type ReadingFlag = (typeof FLAGS)[number];

export const normalizedReadingSchema = z.object({
  deviceId: z.string(),
  kind: z.string(),
  corridor: z.string(),
  municipality: z.string(),
  site: z.string(),
  /** Epoch milliseconds. */
  ts: z.number(),
  seq: z.number().int().nonnegative().optional(),
  values: z.record(z.string(), z.number()),
  /** Epoch milliseconds when the gateway received it. */
  receivedAt: z.number(),
  flags: z.array(z.enum(FLAGS)).optional(),
});
export type NormalizedReading = z.infer<typeof normalizedReadingSchema>;
