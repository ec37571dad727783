/**
 * The client's view of the wire: the schemas come from the server's side (dashboard/protocol.ts,
 * aggregate/schemas.ts, status-schema.ts), so both ends parse the same shapes. Everything from
 * the server is parsed before it is shown. Only what exists just for the page is defined here.
 */
import { z } from 'zod';
import {
  geoAnswerSchema,
  HISTORY_RANGE_VALUES,
  historyAnswerSchema,
  joinAckSchema,
  liveSessionSchema,
  principalSchema,
  registryAnswerSchema,
  roomMessageSchema,
  sessionAnswerSchema,
} from '../../protocol.js';

export {
  geoAnswerSchema,
  historyAnswerSchema,
  joinAckSchema,
  liveSessionSchema,
  registryAnswerSchema,
  roomMessageSchema,
  sessionAnswerSchema,
};

export type SessionUser = z.infer<typeof principalSchema>;
export type Session = z.infer<typeof sessionAnswerSchema>;
export type RegistryView = z.infer<typeof registryAnswerSchema>;
export type History = z.infer<typeof historyAnswerSchema>;
export type GeoAnswer = z.infer<typeof geoAnswerSchema>;

export const HISTORY_RANGES = HISTORY_RANGE_VALUES;
export type HistoryRange = (typeof HISTORY_RANGES)[number];

/** Every API error: `{ error: { code, message } }` (dashboard/http-errors.ts). */
export const apiErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
