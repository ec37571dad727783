/** The reject message a device receives on `sensors/{id}/rejects`, and the dead-letter record. */
import { z } from 'zod';
import { REJECT_CODES } from './codes.js';

export const rejectMessageSchema = z.object({
  code: z.enum(REJECT_CODES),
  message: z.string(),
  /** Where in the reading the problem is, e.g. `values.pressure_bar`. */
  path: z.string().optional(),
  /** Index of the element in a backlog array. */
  index: z.number().int().nonnegative().optional(),
  seq: z.number().int().nonnegative().optional(),
  /** The reading's timestamp in epoch ms, when it could be read. */
  ts: z.number().optional(),
  /** When the gateway received the message, epoch ms. */
  receivedAt: z.number(),
  /** E_RATE_LIMIT only: messages refused since the previous notice (one notice per second at most). */
  dropped: z.number().int().positive().optional(),
});
export type RejectMessage = z.infer<typeof rejectMessageSchema>;

export const DEADLETTER_VERSION = 1;

export const deadLetterRecordSchema = z.object({
  v: z.literal(DEADLETTER_VERSION),
  reject: rejectMessageSchema,
  device: z.string(),
  topic: z.string(),
  stage: z.enum(['ingest', 'sink']),
  /** Raw payload (base64) for stage `ingest`. */
  payload: z.string().optional(),
  /** The normalized reading for stage `sink`. */
  reading: z.unknown().optional(),
});
export type DeadLetterRecord = z.infer<typeof deadLetterRecordSchema>;
