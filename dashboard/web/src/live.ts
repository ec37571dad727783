/**
 * The live side: one Socket.IO connection (same origin, session cookie) and the rooms the current
 * view needs. The server sends a full `snapshot` on every join and full-room `delta`s after that
 * (absolute values; volatile, so one may be lost and the next repairs it). On every (re)connect we
 * join our rooms again and the snapshots replace what we had: a client is correct at once.
 */
import { io, type Socket } from 'socket.io-client';
import type { RoomSnapshot } from '../../aggregate/schemas.js';
import { joinAckSchema, liveSessionSchema, roomMessageSchema, type SessionUser } from './schemas.js';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

export interface LiveListener {
  snapshot(snapshot: RoomSnapshot): void;
  connection(state: ConnectionState): void;
  session(user: SessionUser | null): void;
  /** A message that failed validation: shown as a problem, never trusted. */
  problem(detail: string): void;
  /** The server refused to join a room (an unknown device id in the address bar). */
  refused(room: string, reason: string): void;
  /** The server refused the connection itself (no session): the app checks and shows the login. */
  denied(): void;
}

// Payloads are `unknown` on purpose: nothing from the wire is used before its schema accepts it.
interface ServerEvents {
  snapshot: (payload: unknown) => void;
  delta: (payload: unknown) => void;
  session: (payload: unknown) => void;
}
interface ClientEvents {
  join: (room: string, ack: (res: unknown) => void) => void;
  leave: (room: string) => void;
}

const JOIN_TIMEOUT_MS = 10_000;
const RETRY_DENIED_MS = 5_000;

export class LiveClient {
  private socket: Socket<ServerEvents, ClientEvents> | null = null;
  private rooms = new Set<string>();
  private retry: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly listener: LiveListener) {}

  start(): void {
    if (this.socket) return;
    this.listener.connection('connecting');
    const socket: Socket<ServerEvents, ClientEvents> = io({ path: '/socket.io', withCredentials: true });
    this.socket = socket;
    socket.on('connect', () => {
      this.listener.connection('live');
      for (const room of this.rooms) this.join(room);
    });
    socket.on('disconnect', (reason) => {
      this.listener.connection('reconnecting');
      // The server closed us on purpose (logout, revoked session): Socket.IO will not retry.
      if (reason === 'io server disconnect') this.listener.denied();
    });
    socket.on('connect_error', () => {
      this.listener.connection('reconnecting');
      // `active` false: a middleware refused us (no session); Socket.IO leaves retrying to us.
      if (!socket.active) {
        this.listener.denied();
        this.retryLater();
      }
    });
    socket.on('snapshot', (payload) => this.receive(payload));
    socket.on('delta', (payload) => this.receive(payload));
    socket.on('session', (payload) => {
      const parsed = liveSessionSchema.safeParse(payload);
      if (parsed.success) this.listener.session(parsed.data.user);
      else this.listener.problem(`session: ${parsed.error.message}`);
    });
  }

  stop(): void {
    clearTimeout(this.retry);
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
  }

  /** The rooms the page needs now: leaves the others, joins the new ones. */
  setRooms(next: readonly string[]): void {
    const wanted = new Set(next);
    for (const room of this.rooms) if (!wanted.has(room)) this.socket?.emit('leave', room);
    const added = [...wanted].filter((room) => !this.rooms.has(room));
    this.rooms = wanted;
    if (this.socket?.connected) for (const room of added) this.join(room);
  }

  private retryLater(): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.socket?.connect(), RETRY_DENIED_MS);
  }

  private join(room: string): void {
    this.socket?.timeout(JOIN_TIMEOUT_MS).emit('join', room, (err: Error | null, res: unknown) => {
      if (err) return; // timed out: the reconnect that follows a dead link joins again
      const ack = joinAckSchema.safeParse(res);
      if (!ack.success) this.listener.problem(`join ${room}: ${ack.error.message}`);
      else if (!ack.data.ok) this.listener.refused(room, ack.data.error);
    });
  }

  private receive(payload: unknown): void {
    const parsed = roomMessageSchema.safeParse(payload);
    if (!parsed.success) {
      const room = typeof payload === 'object' && payload && 'room' in payload ? String(payload.room) : '?';
      this.listener.problem(`${room}: ${parsed.error.message}`);
      return;
    }
    // A late message for a room we left: drop it, the view no longer shows it.
    if (this.rooms.has(parsed.data.room)) this.listener.snapshot(parsed.data.data);
  }
}
