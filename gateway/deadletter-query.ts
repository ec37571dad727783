/**
 * What `GET /api/deadletter` and `POST /api/deadletter/replay` take and answer, as zod schemas: the
 * gateway's replay service, the HTTP routes and the `valley deadletter` command (which parses the
 * answers it gets) share them. zod only, no I/O.
 */
import { z } from 'zod';
import { idSchema, REJECT_CODES, rejectMessageSchema } from '../contract/index.js';

/** `<file number>-<byte offset>-<8 hex of the line's SHA-256>` (gateway/deadletter.ts). */
export const DEADLETTER_ID = /^(\d{1,12})-(\d{1,15})-([0-9a-f]{8})$/;

/** Most records one listing page or one replay takes. */
export const DEADLETTER_MAX_LIMIT = 1000;
export const DEADLETTER_DEFAULT_LIMIT = 100;
/** Most ids one replay names (the JSON body of a state-changing request is capped at 16 KiB). */
export const REPLAY_MAX_IDS = 500;

const recordIdSchema = z
  .string()
  .regex(DEADLETTER_ID, 'a record id looks like 3-1024-0a1b2c3d (from GET /api/deadletter)');

/** Epoch ms (a number, or digits in a query string) or ISO-8601 with a zone. */
const timeSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms =
    typeof value === 'number'
      ? value
      : /^\d+$/.test(value)
        ? Number(value)
        : /(Z|[+-]\d\d:?\d\d)$/i.test(value)
          ? Date.parse(value)
          : Number.NaN;
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: 'a time is epoch milliseconds or ISO-8601 with a zone' });
    return z.NEVER;
  }
  return ms;
});

const limitSchema = z.coerce
  .number({ error: 'limit is a whole number' })
  .int('limit is a whole number')
  .min(1, 'limit is at least 1')
  .max(DEADLETTER_MAX_LIMIT, `limit is at most ${DEADLETTER_MAX_LIMIT}`);

const filterShape = {
  device: idSchema.optional(),
  code: z.enum(REJECT_CODES, { error: `code is one of ${REJECT_CODES.join(', ')}` }).optional(),
  stage: z.enum(['ingest', 'sink'], { error: 'stage is ingest or sink' }).optional(),
  /** `reject.receivedAt` at or after this time. */
  since: timeSchema.optional(),
  /** `reject.receivedAt` before this time. */
  until: timeSchema.optional(),
};
export const FILTER_KEYS = Object.keys(filterShape) as (keyof typeof filterShape)[];

/** The query string of `GET /api/deadletter` (strict: a misspelt parameter is a 400 naming it). */
export const deadLetterQuerySchema = z.strictObject({
  ...filterShape,
  limit: limitSchema.default(DEADLETTER_DEFAULT_LIMIT),
  /** `nextCursor` of the previous page: continue with older records. */
  cursor: recordIdSchema.optional(),
});
export type DeadLetterQuery = z.infer<typeof deadLetterQuerySchema>;
export type DeadLetterFilter = Pick<DeadLetterQuery, (typeof FILTER_KEYS)[number]>;

/** `POST /api/deadletter/replay`: record ids, or filters (at least one) with a limit. */
export const replayRequestSchema = z
  .strictObject({
    ids: z.array(recordIdSchema).min(1).max(REPLAY_MAX_IDS).optional(),
    ...filterShape,
    limit: limitSchema.optional(),
  })
  .superRefine((body, ctx) => {
    const filters = FILTER_KEYS.filter((k) => body[k] !== undefined);
    if (body.ids !== undefined && (filters.length > 0 || body.limit !== undefined))
      ctx.addIssue({ code: 'custom', message: 'give either ids or filters, not both' });
    if (body.ids === undefined && filters.length === 0)
      ctx.addIssue({
        code: 'custom',
        message: `name the records: ids, or at least one of ${FILTER_KEYS.join(', ')}`,
      });
  });
export type ReplayRequest = z.infer<typeof replayRequestSchema>;

/** The last replay of a record: `accepted`/`duplicate` are final (a new replay writes nothing). */
export const replayMarkSchema = z.object({
  at: z.number(),
  outcome: z.enum(['accepted', 'duplicate', 'rejected']),
  readings: z.number().int().nonnegative(),
  code: z.string().optional(),
  message: z.string().optional(),
});
export type ReplayMark = z.infer<typeof replayMarkSchema>;

export const deadLetterViewSchema = z.object({
  id: z.string(),
  device: z.string(),
  topic: z.string(),
  stage: z.enum(['ingest', 'sink']),
  reject: rejectMessageSchema,
  payload: z.string().optional(),
  reading: z.unknown().optional(),
  replay: replayMarkSchema.nullable(),
});
export type DeadLetterView = z.infer<typeof deadLetterViewSchema>;

export const deadLetterPageSchema = z.object({
  records: z.array(deadLetterViewSchema),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type DeadLetterPage = z.infer<typeof deadLetterPageSchema>;

export const replayResultSchema = z.object({
  id: z.string(),
  device: z.string().optional(),
  /** `not-found`: no such record (a wrong id, or the cap deleted its file). */
  outcome: z.enum(['accepted', 'duplicate', 'rejected', 'not-found']),
  readings: z.number().int().nonnegative(),
  code: z.string().optional(),
  message: z.string().optional(),
});
export type ReplayResult = z.infer<typeof replayResultSchema>;

export const replayAnswerSchema = z.object({
  results: z.array(replayResultSchema),
  accepted: z.number(),
  duplicate: z.number(),
  rejected: z.number(),
  notFound: z.number(),
});
export type ReplayAnswer = z.infer<typeof replayAnswerSchema>;

export function matchesFilter(
  filter: DeadLetterFilter,
  r: { device: string; stage: string; reject: { code: string; receivedAt: number } },
): boolean {
  return (
    (filter.device === undefined || r.device === filter.device) &&
    (filter.code === undefined || r.reject.code === filter.code) &&
    (filter.stage === undefined || r.stage === filter.stage) &&
    (filter.since === undefined || r.reject.receivedAt >= filter.since) &&
    (filter.until === undefined || r.reject.receivedAt < filter.until)
  );
}
