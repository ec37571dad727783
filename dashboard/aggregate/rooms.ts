/**
 * Room names, shared by the server (Socket.IO rooms) and the client (what it joins):
 * `overview`, `map`, `quality`, `corridor:{id}`, `municipality:{id}`, `device:{id}`.
 */
import { z } from 'zod';
import { ID_PATTERN } from '../../contract/index.js';

export type Room =
  | { type: 'overview' }
  | { type: 'map' }
  | { type: 'quality' }
  | { type: 'corridor'; id: string }
  | { type: 'municipality'; id: string }
  | { type: 'device'; id: string };

export const OVERVIEW = 'overview';
export const MAP = 'map';
export const QUALITY = 'quality';
export const corridorRoom = (id: string) => `corridor:${id}`;
export const municipalityRoom = (id: string) => `municipality:${id}`;
export const deviceRoom = (id: string) => `device:${id}`;

/** For a join request from a client: the shape only (whether the id exists is the engine's call). */
export const roomKeySchema = z
  .string()
  .max(80)
  .refine((key) => parseRoom(key) !== null, 'unknown room');

export function parseRoom(key: string): Room | null {
  if (key === OVERVIEW || key === MAP || key === QUALITY) return { type: key };
  const colon = key.indexOf(':');
  if (colon < 0) return null;
  const type = key.slice(0, colon);
  const id = key.slice(colon + 1);
  if (!ID_PATTERN.test(id)) return null;
  if (type === 'corridor' || type === 'municipality' || type === 'device') return { type, id };
  return null;
}

export function roomKey(room: Room): string {
  return 'id' in room ? `${room.type}:${room.id}` : room.type;
}
