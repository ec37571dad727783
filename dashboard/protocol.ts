/**
 * What the dashboard's server and its web client say to each other, as zod schemas and types:
 * the REST answers of /api/session, /api/login, /api/history, /api/registry, /api/geo and the
 * Socket.IO events (docs/http-api.md describes them). The client may import this file (zod only).
 */
import { z } from 'zod';
import { idSchema } from '../contract/index.js';
import { roomSnapshotSchema, type RoomSnapshot } from './aggregate/schemas.js';

export const roleSchema = z.enum(['viewer', 'operator']);
export const principalSchema = z.object({ id: z.string(), role: roleSchema });
export type PrincipalView = z.infer<typeof principalSchema>;

/** `POST /api/login` body. */
export const loginRequestSchema = z.strictObject({
  id: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
});

/** `GET /api/session`, and the answer of `POST /api/login` and `POST /api/logout`. */
export const sessionAnswerSchema = z.object({ user: principalSchema.nullable(), authRequired: z.boolean() });
export type SessionAnswer = z.infer<typeof sessionAnswerSchema>;

export const HISTORY_RANGE_VALUES = ['1h', '24h', '7d'] as const;

/** `GET /api/history` query string. */
export const historyQuerySchema = z.object({
  device: idSchema,
  metric: z
    .string()
    .max(64)
    .regex(/^[a-z][a-z0-9_]*$/, 'a metric name is lower-case letters, digits and "_"'),
  range: z.enum(HISTORY_RANGE_VALUES, { error: 'range is one of 1h, 24h, 7d' }),
});

export const historyAnswerSchema = z.object({
  device: z.string(),
  metric: z.string(),
  unit: z.string(),
  range: z.enum(HISTORY_RANGE_VALUES),
  bucketMs: z.number(),
  /** `[bucket start ms, min, mean, max]`, oldest first; a bucket without readings is absent. */
  points: z.array(z.tuple([z.number(), z.number(), z.number(), z.number()])),
  source: z.enum(['influxdb', 'local']),
  /** How far InfluxDB is behind (age of the oldest unsent reading); null when it is not, or local. */
  sinkLagMs: z.number().nullable(),
  asOf: z.number(),
});
export type HistoryAnswer = z.infer<typeof historyAnswerSchema>;

const metricView = z.object({ unit: z.string(), label: z.string(), counter: z.boolean() });

/** `GET /api/registry`: the registry without any secret hash and without users. */
export const registryAnswerSchema = z.object({
  municipalities: z.array(z.object({ id: z.string(), name: z.string(), istat: z.string() }).loose()),
  corridors: z.array(z.object({ id: z.string(), name: z.string() })),
  sites: z.array(
    z.object({ id: z.string(), municipality: z.string(), type: z.string(), name: z.string() }).loose(),
  ),
  devices: z.array(
    z.object({
      id: z.string(),
      kind: z.string(),
      site: z.string(),
      municipality: z.string(),
      corridor: z.string(),
      lat: z.number(),
      lon: z.number(),
      interval_s: z.number(),
      description: z.string().nullable(),
      demo: z.boolean(),
    }),
  ),
  /** The kinds the devices use: metric names with unit and label. */
  kinds: z.record(
    z.string(),
    z.object({ corridor: z.string(), label: z.string(), metrics: z.record(z.string(), metricView) }),
  ),
});
export type RegistryAnswer = z.infer<typeof registryAnswerSchema>;

/** `GET /api/geo`: the municipal boundaries (GeoJSON FeatureCollection) and their licence text. */
export const geoAnswerSchema = z.object({
  boundaries: z.object({ type: z.literal('FeatureCollection'), features: z.array(z.unknown()) }).loose(),
  attribution: z.object({ it: z.string(), en: z.string() }),
});

// ---- Socket.IO (path /socket.io) ----

export const joinAckSchema = z.union([
  z.object({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
export type JoinAck = z.infer<typeof joinAckSchema>;

/** `snapshot` (at every join) and `delta` (volatile, at most once per push interval per room). */
export const roomMessageSchema = z.object({ room: z.string(), data: roomSnapshotSchema });
export interface RoomMessage {
  room: string;
  data: RoomSnapshot;
}

/** `session`, once on connect. */
export const liveSessionSchema = z.object({ user: principalSchema.nullable() });

/** `deadletter`, to members of the operators' `deadletter` room: at the join and at each change. */
export const liveDeadLetterSchema = z.object({
  records: z.number(),
  bytes: z.number(),
  dropped: z.number(),
  full: z.boolean(),
});
export type LiveDeadLetter = z.infer<typeof liveDeadLetterSchema>;

export interface ServerToClientEvents {
  session: (message: { user: PrincipalView | null }) => void;
  deadletter: (message: LiveDeadLetter) => void;
  snapshot: (message: RoomMessage) => void;
  delta: (message: RoomMessage) => void;
}

/** What a well-behaved client sends; the server checks every argument anyway (room key, ack). */
export interface ClientToServerEvents {
  join: (room: string, ack: (res: JoinAck) => void) => void;
  leave: (room: string, ack: (res: JoinAck) => void) => void;
}

/** The error message of a refused connection (`connect_error`): the client shows its login page. */
export const LIVE_UNAUTHORIZED = 'E_UNAUTHORIZED';
export const LIVE_FORBIDDEN = 'E_FORBIDDEN';
