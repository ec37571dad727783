/**
 * Who may call what: every HTTP route and every Socket.IO event of the dashboard with the least
 * role it needs, in one table (docs/http-api.md has the same table; a test walks this one against
 * a real gateway for every role). `anonymous`: anyone who reaches the server; `viewer`: a session
 * (any role); `operator`: a session of an operator. On the open dashboard (no users, loopback)
 * everyone is an operator (access.ts).
 *
 * `accessGuard` enforces the HTTP part for the routes listed; an /api path not listed still needs
 * a session (server.ts), so a route added without a row here fails closed.
 */
import type { RequestHandler } from 'express';
import { parseRoom, type Room } from '../aggregate/rooms.js';
import { requireRole, requireSession } from './middleware.js';
import type { Role } from './sessions.js';

export type Access = 'anonymous' | Role;

export interface RouteRule {
  method: 'GET' | 'POST';
  path: string;
  access: Access;
  /** An example request that succeeds for a role that may (the access test sends it). */
  example?: { query?: string; body?: unknown };
}

export const HTTP_ACCESS: readonly RouteRule[] = [
  { method: 'GET', path: '/healthz', access: 'anonymous' },
  { method: 'GET', path: '/readyz', access: 'anonymous' },
  { method: 'GET', path: '/', access: 'anonymous' }, // the web client (and its files), which shows the login
  { method: 'GET', path: '/api/session', access: 'anonymous' },
  { method: 'POST', path: '/api/login', access: 'anonymous' },
  { method: 'POST', path: '/api/logout', access: 'anonymous' },
  { method: 'GET', path: '/api/status', access: 'viewer' },
  { method: 'GET', path: '/api/registry', access: 'viewer' },
  { method: 'GET', path: '/api/geo', access: 'viewer' },
  {
    method: 'GET',
    path: '/api/history',
    access: 'viewer',
    example: { query: 'device=t-flow-1&metric=flow_l_s&range=1h' },
  },
  // Raw device payloads: operators only, as `sensors/+/rejects` over MQTT (DESIGN "Contract").
  { method: 'GET', path: '/api/deadletter', access: 'operator' },
  {
    method: 'POST',
    path: '/api/deadletter/replay',
    access: 'operator',
    example: { body: { ids: ['1-0-00000000'] } },
  },
];

/** Socket.IO (path /socket.io): the connection, then the events a client sends. */
export const LIVE_ACCESS: readonly { event: string; access: Access; note: string }[] = [
  { event: 'connection', access: 'viewer', note: 'the handshake carries the session cookie' },
  { event: 'join', access: 'viewer', note: 'and the room role of ROOM_ACCESS' },
  { event: 'leave', access: 'viewer', note: 'always allowed to a connected client' },
];

/**
 * The live dead-letter figures (records, bytes, dropped, full) for operators: served by the live
 * server itself, not by the aggregation engine, and named outside its room list.
 */
export const DEADLETTER_ROOM = 'deadletter';

/** The least role per room type that a `join` needs. */
export const ROOM_ACCESS: Readonly<Record<Room['type'] | typeof DEADLETTER_ROOM, Role>> = {
  overview: 'viewer',
  map: 'viewer',
  quality: 'viewer',
  corridor: 'viewer',
  municipality: 'viewer',
  device: 'viewer',
  deadletter: 'operator',
};

/** The role a room key needs; undefined for a key that names no room. */
export function roomAccess(key: string): Role | undefined {
  if (key === DEADLETTER_ROOM) return ROOM_ACCESS.deadletter;
  const room = parseRoom(key);
  return room ? ROOM_ACCESS[room.type] : undefined;
}

const RANK: Record<Access, number> = { anonymous: 0, viewer: 1, operator: 2 };

/** Whether a principal of `role` (null: anonymous) has `needed`. */
export function allows(role: Role | null, needed: Access): boolean {
  return RANK[role ?? 'anonymous'] >= RANK[needed];
}

const guards: Record<Access, RequestHandler[]> = {
  anonymous: [],
  viewer: [requireSession],
  operator: [requireSession, requireRole('operator')],
};

/** The role check of the table's route for this request (HEAD as GET); others pass through. */
export function accessGuard(): RequestHandler {
  const byKey = new Map(HTTP_ACCESS.map((r) => [`${r.method} ${r.path}`, guards[r.access]]));
  return (req, res, next) => {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const chain = byKey.get(`${method} ${req.path}`) ?? [];
    const run = (i: number): void => {
      const handler = chain[i];
      if (!handler) return next();
      void handler(req, res, () => run(i + 1));
    };
    run(0);
  };
}
