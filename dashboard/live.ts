/**
 * Socket.IO on the dashboard's HTTP server (path /socket.io): rooms of the aggregation engine
 * (`overview`, `map`, `quality`, `corridor:{id}`, `municipality:{id}`, `device:{id}`).
 *
 * - A join answers the room's full snapshot at once (`snapshot`), so a client that (re)connects
 *   is right immediately; then the ack.
 * - One push loop every `pushIntervalMs` asks the engine which rooms changed and sends each one
 *   that has members its whole snapshot (`delta`). The cost is one snapshot per changed room per
 *   tick, never per reading or per client.
 * - Deltas are volatile in the sense that matters: a client that cannot take them (its previous
 *   write still in flight: a slow link, a stalled tablet) is skipped and never queued for; it is
 *   owed those rooms and gets their *current* snapshot at the first tick it can take one. Not
 *   Socket.IO's `volatile` flag: it drops every emit to a socket after the first of a tick (the
 *   transport stays unwritable until that write completes), so a client in two rooms would lose
 *   one of them, and a dropped room would be repaired only by its next change, which may not come.
 * - Access: the same session cookie as the API, checked in the handshake; a session that ends
 *   (logout, idle, registry reload) disconnects its sockets. A handshake whose Origin is another
 *   site's is refused before any of that (WebSockets have no CORS: cross-site WebSocket hijacking).
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { Server, type Socket } from 'socket.io';
import type { Logger } from '../gateway/logger.js';
import type { Clock } from '../gateway/types.js';
import type { DashboardAggregator, RoomSnapshot } from './aggregate/index.js';
import { roomKeySchema } from './aggregate/index.js';
import { isLoopbackHost, sameOrigin, type AccessMode } from './auth/access.js';
import { sessionIdFrom } from './auth/middleware.js';
import { allows, DEADLETTER_ROOM, roomAccess } from './auth/policy.js';
import type { Principal, SessionStore } from './auth/sessions.js';
import {
  LIVE_FORBIDDEN,
  LIVE_UNAUTHORIZED,
  type ClientToServerEvents,
  type JoinAck,
  type LiveDeadLetter,
  type ServerToClientEvents,
} from './protocol.js';

export interface LiveDeps {
  aggregator: Pick<DashboardAggregator, 'snapshot' | 'changedRooms'>;
  sessions: SessionStore;
  mode: () => AccessMode;
  clock: Clock;
  pushIntervalMs: number;
  logger: Logger;
  /** The dead-letter figures of the operators' `deadletter` room; without it the room is absent. */
  deadLetterStats?: () => LiveDeadLetter;
}

interface SocketData {
  sid: string | undefined;
  user: Principal | null;
}
type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type LiveIo = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** engine.io's Server.attach, which Socket.IO's engine type does not declare. */
interface EngineAttach {
  attach(server: HttpServer | HttpsServer, options: { path: string }): void;
}

/** Rooms one socket may be in at once: the client needs a handful; this bounds a misbehaving one. */
const MAX_ROOMS_PER_SOCKET = 32;
/** How often a connected dashboard renews its session (an open dashboard is in use). */
const TOUCH_EVERY_MS = 30_000; // well inside the shortest idle time (1 min)

export class LiveServer {
  private io: LiveIo | undefined;
  private timer: NodeJS.Timeout | undefined;
  private offSessionEnd: (() => void) | undefined;
  private readonly bySession = new Map<string, Set<LiveSocket>>();
  /** Rooms whose current snapshot a socket has not had yet. */
  private readonly owed = new Map<LiveSocket, Set<string>>();
  private lastTouch = 0;
  /** The `deadletter` room's last message, to send only changes. */
  private lastDeadLetter = '';
  private readonly log: Logger;
  /** Deltas sent since start (one per room per tick). */
  deltas = 0;

  constructor(private readonly deps: LiveDeps) {
    this.log = deps.logger.child({ module: 'live' });
  }

  /** Socket.IO clients connected right now (for /metrics). */
  clientCount(): number {
    return this.io?.sockets.sockets.size ?? 0;
  }

  attach(server: HttpServer): void {
    const io: LiveIo = new Server(server, {
      path: '/socket.io',
      serveClient: false, // the client bundles socket.io-client; nothing is fetched from elsewhere
      maxHttpBufferSize: 16 * 1024, // join/leave messages are tiny
      allowRequest: (req, callback) => callback(null, sameOrigin(req.headers.origin, req.headers.host)),
    });
    io.use((socket, next) => {
      const refusal = this.admit(socket);
      next(refusal === undefined ? undefined : new Error(refusal));
    });
    io.on('connection', (socket) => this.onConnection(socket));
    this.offSessionEnd = this.deps.sessions.onEnd((sid) => this.disconnectSession(sid));
    this.timer = setInterval(() => this.push(), this.deps.pushIntervalMs);
    this.io = io;
  }

  /**
   * The same Socket.IO server on a second listener (HTTPS next to HTTP): one engine, so rooms,
   * pushes and session ends reach the clients of both. Socket.IO attaches to one server only.
   */
  attachAlso(server: HttpServer | HttpsServer): void {
    if (!this.io) throw new Error('attach() first');
    (this.io.engine as unknown as EngineAttach).attach(server, { path: '/socket.io' });
  }

  /** Disconnects every client and stops the loop; closes the HTTP server too (Socket.IO does). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.offSessionEnd?.();
    this.offSessionEnd = undefined;
    const io = this.io;
    this.io = undefined;
    this.bySession.clear();
    this.owed.clear();
    await io?.close();
  }

  /** After a registry reload: a dashboard that now needs a login drops its anonymous clients. */
  enforceAccess(): void {
    if (!this.io || this.deps.mode() === 'open') return;
    for (const socket of this.io.sockets.sockets.values()) {
      if (socket.data.sid === undefined) socket.disconnect(true);
    }
  }

  get clients(): number {
    return this.io?.engine.clientsCount ?? 0;
  }

  /** Undefined to let the socket in; otherwise the `connect_error` message. */
  private admit(socket: LiveSocket): string | undefined {
    const req: IncomingMessage = socket.request;
    const mode = this.deps.mode();
    socket.data = { sid: undefined, user: null };
    if (mode === 'open') return isLoopbackHost(req.headers.host) ? undefined : LIVE_FORBIDDEN;
    if (mode === 'closed') return LIVE_UNAUTHORIZED;
    const sid = sessionIdFrom(req.headers.cookie);
    const user = this.deps.sessions.get(sid);
    if (!user || sid === undefined) return LIVE_UNAUTHORIZED;
    socket.data = { sid, user };
    return undefined;
  }

  private onConnection(socket: LiveSocket): void {
    const { sid, user } = socket.data;
    if (sid !== undefined) {
      let set = this.bySession.get(sid);
      if (!set) this.bySession.set(sid, (set = new Set()));
      set.add(socket);
      socket.on('disconnect', () => {
        set.delete(socket);
        if (set.size === 0) this.bySession.delete(sid);
      });
    }
    socket.on('disconnect', () => this.owed.delete(socket));
    socket.emit('session', { user });
    socket.on('join', (room, ack) => this.join(socket, room, reply(ack)));
    socket.on('leave', (room, ack) => {
      const parsed =
        room === DEADLETTER_ROOM ? { success: true as const, data: room } : roomKeySchema.safeParse(room);
      if (parsed.success) {
        void socket.leave(parsed.data);
        this.owed.get(socket)?.delete(parsed.data);
      }
      reply(ack)(parsed.success ? { ok: true } : { ok: false, error: 'unknown room' });
    });
  }

  private join(socket: LiveSocket, room: unknown, ack: (res: JoinAck) => void): void {
    const parsed =
      room === DEADLETTER_ROOM ? { success: true as const, data: room } : roomKeySchema.safeParse(room);
    if (!parsed.success) return ack({ ok: false, error: 'unknown room' });
    const key = parsed.data;
    const needed = roomAccess(key);
    // The open (loopback) dashboard makes everyone an operator (auth/access.ts).
    const role = this.deps.mode() === 'open' ? 'operator' : (socket.data.user?.role ?? null);
    if (needed !== undefined && !allows(role, needed))
      return ack({ ok: false, error: `${LIVE_FORBIDDEN}: the ${key} room needs the ${needed} role` });
    // The socket's own id is one of its rooms.
    if (!socket.rooms.has(key) && socket.rooms.size > MAX_ROOMS_PER_SOCKET)
      return ack({ ok: false, error: `at most ${MAX_ROOMS_PER_SOCKET} rooms at once` });
    if (key === DEADLETTER_ROOM) {
      const stats = this.deps.deadLetterStats?.();
      if (stats === undefined) return ack({ ok: false, error: `no such room: ${key}` });
      void socket.join(key);
      socket.emit('deadletter', stats);
      return ack({ ok: true });
    }
    const data = this.deps.aggregator.snapshot(key, this.deps.clock.now());
    if (data === null) return ack({ ok: false, error: `no such room: ${key}` });
    void socket.join(key);
    socket.emit('snapshot', { room: key, data });
    ack({ ok: true });
  }

  private push(): void {
    const io = this.io;
    if (!io) return;
    try {
      const now = this.deps.clock.now();
      // Called every tick, members or not: it also clears the engine's set of changed rooms.
      for (const room of this.deps.aggregator.changedRooms(now)) {
        for (const id of io.sockets.adapter.rooms.get(room) ?? []) {
          const socket = io.sockets.sockets.get(id);
          if (!socket) continue;
          let rooms = this.owed.get(socket);
          if (!rooms) this.owed.set(socket, (rooms = new Set()));
          rooms.add(room);
        }
      }
      const snapshots = new Map<string, RoomSnapshot | null>();
      for (const [socket, rooms] of this.owed) {
        // Still writing the last batch: skip it rather than queue; it stays owed.
        if (!socket.conn.transport.writable) continue;
        this.owed.delete(socket);
        for (const room of rooms) {
          if (!socket.rooms.has(room)) continue;
          let data = snapshots.get(room);
          if (data === undefined) snapshots.set(room, (data = this.deps.aggregator.snapshot(room, now)));
          if (data === null) continue;
          socket.emit('delta', { room, data });
          this.deltas++;
        }
      }
      this.pushDeadLetter(io);
      if (now - this.lastTouch >= TOUCH_EVERY_MS) {
        this.lastTouch = now;
        for (const sid of this.bySession.keys()) this.deps.sessions.get(sid);
      }
    } catch (err) {
      // An interval callback that throws would end the process: log it, try again next tick.
      this.log.error({ err }, 'dashboard push failed');
    }
  }

  /** The operators' room: the dead-letter figures when they changed (small, so sent whole). */
  private pushDeadLetter(io: LiveIo): void {
    // Members first: the figures come from the whole status snapshot, not worth it for nobody.
    if ((io.sockets.adapter.rooms.get(DEADLETTER_ROOM)?.size ?? 0) === 0) return;
    const stats = this.deps.deadLetterStats?.();
    if (stats === undefined) return;
    const text = JSON.stringify(stats);
    if (text === this.lastDeadLetter) return;
    this.lastDeadLetter = text;
    io.to(DEADLETTER_ROOM).emit('deadletter', stats);
  }

  private disconnectSession(sid: string): void {
    const sockets = this.bySession.get(sid);
    if (!sockets) return;
    this.bySession.delete(sid);
    for (const socket of sockets) socket.disconnect(true);
  }
}

/** The client's ack callback, or a no-op when it sent none (or something else). */
function reply(ack: unknown): (res: JoinAck) => void {
  return typeof ack === 'function' ? (res) => (ack as (res: JoinAck) => void)(res) : () => {};
}
